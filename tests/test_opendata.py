"""Fetching ECMWF open data (bulletin.readers.opendata) from a real HTTP server on 127.0.0.1.

The server serves files in the open-data layout that the tests write with ecCodes
(samples/grib_writer.py): ``YYYYMMDD/HHz/ifs/0p25/oper/YYYYMMDDHH0000-<step>h-oper-fc.grib2``
and the ``.index`` beside each (JSON lines: MARS keys, ``_offset``, ``_length``), answering
HTTP byte-range requests (single ranges and multipart/byteranges) as ECMWF's server does. It
counts every request and can be told to answer HTTP 500 to everything.
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import http.server
import json
import math
import re
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from bulletin.daily.config import ConfigError, load_config
from bulletin.errors import ForecastError
from bulletin.readers.eccodes_loader import load_eccodes
from bulletin.readers.opendata import (
    MODELS,
    PARAMS,
    OpenDataNotReady,
    OpenDataSettings,
    candidate_runs,
    day_end_utc,
    fetch_latest_run,
    grib_short_names,
    steps_to,
)
from samples.grib_writer import write_grib

from .clirun import REPO, run_cli
from .test_daily_config import write_config

SHANGHAI = dt.timezone(dt.timedelta(hours=8))  # Asia/Shanghai has had no DST since 1991
VENUE = "genting-snow-park"  # 40.95 N, 115.42 E
LATS = np.arange(39.5, 42.51, 0.25)
LONS = np.arange(114.0, 117.01, 0.25)
#: A field the open data publishes that the bulletin does not need: it must not be fetched.
UNNEEDED = "msl"


# -- the server --------------------------------------------------------------------------------
class OpenDataHandler(http.server.BaseHTTPRequestHandler):
    """GET and HEAD of the files under the server's root, with byte ranges."""

    server: OpenDataServer

    def log_message(self, format, *args):  # the test output stays quiet
        pass

    def do_HEAD(self):
        self._serve(send_body=False)

    def do_GET(self):
        self._serve(send_body=True)

    def _serve(self, send_body: bool) -> None:
        server = self.server
        path = self.path.split("?", 1)[0]
        with server.lock:
            server.hits[path] += 1
        if server.fail_status:
            self.send_error(server.fail_status)
            return
        file = (server.root / path.lstrip("/")).resolve()
        if server.root not in file.parents or not file.is_file():
            self.send_error(404)
            return
        data = file.read_bytes()
        ranges = self._ranges(len(data))
        if ranges is None:
            self._reply(200, data, send_body, {"Content-Type": "application/octet-stream"})
            return
        if len(ranges) == 1:
            start, end = ranges[0]
            headers = {
                "Content-Type": "application/octet-stream",
                "Content-Range": f"bytes {start}-{end}/{len(data)}",
            }
            self._reply(206, data[start : end + 1], send_body, headers)
            return
        boundary = "opendata-test-boundary"
        body = b""
        for start, end in ranges:
            body += (
                (
                    f"--{boundary}\r\nContent-Type: application/octet-stream\r\n"
                    f"Content-Range: bytes {start}-{end}/{len(data)}\r\n\r\n"
                ).encode()
                + data[start : end + 1]
                + b"\r\n"
            )
        body += f"--{boundary}--\r\n".encode()
        headers = {"Content-Type": f"multipart/byteranges; boundary={boundary}"}
        self._reply(206, body, send_body, headers, served=sum(e - s + 1 for s, e in ranges))

    def _ranges(self, size: int) -> list[tuple[int, int]] | None:
        header = self.headers.get("Range")
        if not header:
            return None
        match = re.fullmatch(r"bytes=([\d\-, ]+)", header.strip())
        assert match, header
        ranges = []
        for piece in match.group(1).split(","):
            first, last = piece.strip().split("-")
            start = int(first)
            end = min(int(last) if last else size - 1, size - 1)
            ranges.append((start, end))
        return ranges

    def _reply(self, status, body, send_body, headers, served=None):
        self.send_response(status)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)
            with self.server.lock:
                self.server.served[self.path] += len(body) if served is None else served


class OpenDataServer(http.server.ThreadingHTTPServer):
    def __init__(self, root: Path):
        super().__init__(("127.0.0.1", 0), OpenDataHandler)
        self.root = root.resolve()
        self.lock = threading.Lock()
        self.hits: collections.Counter[str] = collections.Counter()
        self.served: collections.Counter[str] = collections.Counter()
        self.fail_status: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    def hits_under(self, prefix: str) -> int:
        with self.lock:
            return sum(n for path, n in self.hits.items() if path.startswith(prefix))


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    httpd = OpenDataServer(root)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


# -- the data ----------------------------------------------------------------------------------
def run_path(init: dt.datetime, model: str = "ifs") -> tuple[str, str]:
    """The run's folder on the server (URL path) and the file names' type."""
    spec = MODELS[model]
    stream = spec.stream
    kind = "ef" if spec.type in ("cf", "pf") else spec.type  # the client's URL type
    return f"/{init:%Y%m%d}/{init:%H}z/{spec.client_model}/0p25/{stream}/", kind


def weather(init: dt.datetime, step: int) -> dict[str, np.ndarray]:
    """Plausible winter weather at the venue (GRIB units; accumulations since step 0): a
    diurnal cycle of temperature (coldest at 06 local, 22:00 UTC), steady wind, half cloud,
    daylight sunshine, light snow."""
    shape = (1, LATS.size, LONS.size)
    valid = init + dt.timedelta(hours=step)
    local_hour = (valid.hour + 8) % 24
    t2m = 263.0 + 5.0 * math.sin((local_hour - 9) / 24 * 2 * math.pi)
    south = np.linspace(1.0, -1.0, LATS.size)[:, None] * np.ones((1, LONS.size))
    hours = np.arange(step)
    sun = np.array(
        [max(0.0, math.sin(((init.hour + 8 + h) % 24 - 6) / 12 * math.pi)) for h in hours]
    )
    ssrd = float((400.0 * sun).sum() * 3600.0)
    return {
        "2t": np.full(shape, t2m) + south,
        "2d": np.full(shape, t2m - 6.0),
        "10u": np.full(shape, 4.0),
        "10v": np.full(shape, -2.0),
        "tcc": np.full(shape, 0.5),
        "ssrd": np.full(shape, ssrd),
        "tp": np.full(shape, 0.0001 * step),
        "sf": np.full(shape, 0.0001 * step),
        "sd": np.full(shape, 0.08),
        "rsn": np.full(shape, 250.0),
        UNNEEDED: np.full(shape, 102000.0),
    }


def write_index(grib: Path, init: dt.datetime, model: str = "ifs") -> None:
    """The ``.index`` of an open-data GRIB file: one JSON line per message with its MARS keys
    and byte extent (ECMWF's open-data documentation, "Index files")."""
    eccodes = load_eccodes()
    spec = MODELS[model]
    lines = []
    with open(grib, "rb") as handle:
        while (message := eccodes.codes_grib_new_from_file(handle)) is not None:
            try:
                number = int(eccodes.codes_get(message, "number")) if spec.stream == "enfo" else 0
                line = {
                    "domain": "g",
                    "date": f"{init:%Y%m%d}",
                    "time": f"{init:%H%M}",
                    "expver": "0001",
                    "class": "ai" if model == "aifs" else "od",
                    "type": ("pf" if number else "cf") if spec.stream == "enfo" else spec.type,
                    "stream": spec.stream,
                    "step": str(eccodes.codes_get(message, "endStep")),
                    "levtype": "sfc",
                    **({"number": str(number)} if number else {}),
                    "param": eccodes.codes_get_string(message, "shortName"),
                    "_offset": int(eccodes.codes_get(message, "offset")),
                    "_length": int(eccodes.codes_get(message, "totalLength")),
                }
            finally:
                eccodes.codes_release(message)
            lines.append(json.dumps(line))
    grib.with_suffix(".index").write_text("\n".join(lines) + "\n", encoding="utf-8")


def publish_run(
    server: OpenDataServer, init: dt.datetime, last_step: int, *, missing=(), model="ifs"
) -> list[int]:
    """Write an IFS run's files (steps 0..last_step as the model publishes them, but
    ``missing``) under the server's root; returns the steps written."""
    folder_path, kind = run_path(init, model)
    folder = server.root / folder_path.strip("/")
    folder.mkdir(parents=True, exist_ok=True)
    stream = MODELS[model].stream
    written = []
    for step in MODELS[model].steps(init.hour):
        if step > last_step:
            break
        if step in missing:
            continue
        path = folder / f"{init:%Y%m%d%H%M%S}-{step}h-{stream}-{kind}.grib2"
        orography = np.full((LATS.size, LONS.size), 1700.0) if step == 0 else None
        fields = weather(init, step)
        members = None
        if MODELS[model].stream == "enfo":  # control 0 and two perturbed members, 1 K apart
            members = [0, 1, 2]
            fields = {
                k: np.stack([v + (n if k == "2t" else 0) for n in members])
                for k, v in fields.items()
            }
        write_grib(
            path,
            fields,
            lats=LATS,
            lons=LONS,
            init_time=np.datetime64(init.replace(tzinfo=None)),
            steps_hours=[step],
            members=members,
            orography=orography,
        )
        write_index(path, init, model)
        written.append(step)
    return written


def settings_for(server: OpenDataServer, tmp_path: Path, **keys) -> OpenDataSettings:
    values = {
        "model": "ifs",
        "cache": tmp_path / "cache",
        "source": server.url,
        "retries": 2,
        "retry_wait_s": 0.01,
        "retry_max_wait_s": 0.04,
        "search_hours": 30,
    }
    values.update(keys)
    return OpenDataSettings(**values)


NOW = dt.datetime(2026, 12, 2, 14, 20, tzinfo=dt.UTC)
NEWEST = dt.datetime(2026, 12, 2, 12, tzinfo=dt.UTC)
PREVIOUS = dt.datetime(2026, 12, 2, 0, tzinfo=dt.UTC)
OLDER = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)


def needed_steps(init: dt.datetime) -> tuple[int, ...]:
    return steps_to(MODELS["ifs"], init, day_end_utc(init, [SHANGHAI], None))


# -- which run and which steps -----------------------------------------------------------------
def test_steps_reach_the_end_of_the_first_whole_local_day():
    # 12 UTC is 20:00 in Beijing: the first whole local day is 3 December, which ends at
    # 16 UTC that day, 28 h after the run's start; IFS steps are 3-hourly there: up to 30 h.
    end = day_end_utc(NEWEST, [SHANGHAI], None)
    assert end == dt.datetime(2026, 12, 3, 16, tzinfo=dt.UTC)
    steps = steps_to(MODELS["ifs"], NEWEST, end)
    assert steps == tuple(range(0, 31, 3))
    # a given day that the run does not reach is None; 06 UTC runs stop at 90 h
    far = day_end_utc(NEWEST, [SHANGHAI], dt.date(2026, 12, 20))
    assert steps_to(MODELS["ifs"], NEWEST, far) is None
    run_06 = dt.datetime(2026, 12, 2, 6, tzinfo=dt.UTC)
    assert MODELS["ifs"].steps(6)[-1] == 90
    assert steps_to(MODELS["aifs"], run_06, day_end_utc(run_06, [SHANGHAI], None))[-1] == 36


def test_candidate_runs_newest_first_and_restricted_to_the_hours_asked():
    settings = OpenDataSettings(
        model="ifs", cache=Path("/unused"), run_hours=(0, 12), search_hours=30
    )
    assert candidate_runs(settings, NOW) == [NEWEST, PREVIOUS, OLDER]


# -- fetching ----------------------------------------------------------------------------------
def test_the_latest_complete_run_is_fetched_with_only_the_fields_and_steps_needed(server, tmp_path):
    publish_run(server, OLDER, 60)
    publish_run(server, PREVIOUS, 60)
    settings = settings_for(server, tmp_path)
    fetched = fetch_latest_run(settings, [SHANGHAI], now=NOW)

    # 12 UTC is not published at all (not started), 06 UTC neither: 00 UTC is the newest
    assert fetched.init == PREVIOUS
    assert fetched.reused is False
    assert fetched.steps == needed_steps(PREVIOUS)
    assert fetched.path == tmp_path / "cache" / "ifs" / "20261202" / "00z" / "forecast.grib2"
    assert fetched.sha256 == hashlib.sha256(fetched.path.read_bytes()).hexdigest()
    names = grib_short_names(fetched.path)
    assert UNNEEDED not in names
    assert set(names) == set(PARAMS) - {"10fg"} and fetched.absent_params == ("10fg",)
    folder, _ = run_path(PREVIOUS)
    # only the needed steps' files were asked for, and by byte ranges (not whole files)
    asked = {path for path in server.hits if path.startswith(folder) and path.endswith(".grib2")}
    assert asked == {
        f"{folder}{PREVIOUS:%Y%m%d%H%M%S}-{step}h-oper-fc.grib2" for step in fetched.steps
    }
    for path in asked:
        size = (server.root / path.lstrip("/")).stat().st_size
        assert 0 < server.served[path] < size, path
    assert server.hits_under(run_path(OLDER)[0]) == 0

    # the file is a forecast the reader reads, with the venue's fields
    from bulletin import open_forecast

    dataset = open_forecast([fetched.path])
    assert {"t2m", "rh2m", "wind10", "tcc", "rsds", "orography"} <= set(dataset.data_vars)
    assert dataset["time"].size == len(fetched.steps)
    record = json.loads((fetched.path.parent / "fetch.json").read_text())
    assert record["sha256"] == fetched.sha256 and record["steps"] == list(fetched.steps)


@pytest.mark.parametrize("model", ["aifs", "ens"])
def test_aifs_and_the_ens_control_forecast_are_fetched_from_their_folders(server, tmp_path, model):
    publish_run(server, PREVIOUS, 60, model=model)
    fetched = fetch_latest_run(settings_for(server, tmp_path, model=model), [SHANGHAI], now=NOW)
    assert fetched.init == PREVIOUS and fetched.model == model
    folder, kind = run_path(PREVIOUS, model)
    assert (
        folder
        == {"aifs": "/20261202/00z/aifs-single/0p25/oper/", "ens": "/20261202/00z/ifs/0p25/enfo/"}[
            model
        ]
    )
    assert kind == {"aifs": "fc", "ens": "ef"}[model]
    assert fetched.steps == steps_to(
        MODELS[model], PREVIOUS, day_end_utc(PREVIOUS, [SHANGHAI], None)
    )
    assert fetched.steps[1] == {"aifs": 6, "ens": 3}[model]
    eccodes = load_eccodes()
    numbers = set()
    with open(fetched.path, "rb") as handle:
        while (message := eccodes.codes_grib_new_from_file(handle)) is not None:
            if eccodes.codes_is_defined(message, "number"):
                numbers.add(int(eccodes.codes_get(message, "number")))
            else:
                numbers.add(0)
            eccodes.codes_release(message)
    assert numbers == {0}  # the ENS control forecast only (AIFS Single has no members)
    from bulletin import open_forecast

    dataset = open_forecast([fetched.path])
    assert "member" not in dataset.dims
    assert float(dataset["t2m"].isel(time=0).mean()) == pytest.approx(
        float(weather(PREVIOUS, 0)["2t"].mean()) - 273.15, abs=0.05
    )


def test_an_incomplete_newest_run_is_not_ready_yet_exit_75(server, tmp_path):
    publish_run(server, PREVIOUS, 60)
    publish_run(server, NEWEST, 60, missing=(24,))
    settings = settings_for(server, tmp_path)
    with pytest.raises(OpenDataNotReady) as caught:
        fetch_latest_run(settings, [SHANGHAI], now=NOW)
    assert caught.value.exit_code == 75
    text = str(caught.value)
    assert "2026-12-02 12Z is incomplete: step 24 h of 0-30 h is not published yet" in text
    assert "retry later" in text and "\n" not in text
    # nothing was downloaded: no data file asked for, no cache folder left
    assert not any(path.endswith(".grib2") for path in server.hits)
    assert not (tmp_path / "cache" / "ifs" / "20261202" / "12z").exists()

    # with incomplete = "previous" the newest complete run is taken instead
    fetched = fetch_latest_run(
        settings_for(server, tmp_path, incomplete="previous"), [SHANGHAI], now=NOW
    )
    assert fetched.init == PREVIOUS


def test_a_rerun_reuses_the_cache_without_asking_for_the_run_again(server, tmp_path):
    publish_run(server, PREVIOUS, 60)
    settings = settings_for(server, tmp_path)
    first = fetch_latest_run(settings, [SHANGHAI], now=NOW)
    folder, _ = run_path(PREVIOUS)
    before = server.hits_under(folder)
    assert before > 0
    second = fetch_latest_run(settings, [SHANGHAI], now=NOW)
    assert second.reused is True
    assert (second.path, second.sha256, second.steps) == (first.path, first.sha256, first.steps)
    assert server.hits_under(folder) == before  # not one request for the cached run
    # a cache file that no longer matches its record is fetched again
    second.path.write_bytes(second.path.read_bytes()[:-10])
    third = fetch_latest_run(settings, [SHANGHAI], now=NOW)
    assert third.reused is False and third.sha256 == first.sha256
    assert server.hits_under(folder) > before


def test_a_failing_server_is_retried_then_a_clear_error(server, tmp_path, caplog):
    publish_run(server, PREVIOUS, 60)
    server.fail_status = 500
    settings = settings_for(server, tmp_path, retries=2)
    with pytest.raises(ForecastError) as caught:
        fetch_latest_run(settings, [SHANGHAI], now=NOW)
    assert not isinstance(caught.value, OpenDataNotReady)
    text = str(caught.value)
    newest_index = f"{run_path(NEWEST)[0]}{NEWEST:%Y%m%d%H%M%S}-0h-oper-fc.index"
    assert f"answered HTTP 500 Internal Server Error for {server.url}{newest_index}" in text
    assert "(after 3 tries)" in text and "\n" not in text
    assert server.hits[newest_index] == 3  # the first try and 2 retries, then it gives up
    # the waits double from retry_wait (the client's multiurl.robust logs each one)
    waits = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Retrying in")]
    assert waits == ["Retrying in 0.01 seconds", "Retrying in 0.02 seconds"]


def test_an_unreachable_server_is_retried_then_a_clear_error(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = OpenDataSettings(
        model="ifs",
        cache=tmp_path / "cache",
        source=f"http://127.0.0.1:{port}",
        retries=1,
        retry_wait_s=0.01,
        retry_max_wait_s=0.01,
    )
    with pytest.raises(
        ForecastError,
        match=r"cannot reach ECMWF open data at http://127\.0\.0\.1:\d+: ConnectionError: .*\(after 2 tries\)$",
    ):
        fetch_latest_run(settings, [SHANGHAI], now=NOW)


def test_no_run_covering_the_day_is_not_ready_yet(server, tmp_path):
    publish_run(server, PREVIOUS, 60)
    with pytest.raises(OpenDataNotReady, match="no complete ECMWF open data ifs run covering"):
        fetch_latest_run(settings_for(server, tmp_path), [SHANGHAI], dt.date(2026, 12, 30), now=NOW)


# -- configuration -----------------------------------------------------------------------------
def write_opendata_config(folder: Path, table: str, **keys) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = write_config(folder, forecast="ecmwf-opendata:ifs", **keys)
    path.write_text(path.read_text(encoding="utf-8") + table, encoding="utf-8")
    return path


def test_config_opendata_table(tmp_path):
    path = write_opendata_config(
        tmp_path,
        '\n[opendata]\nsource = "http://127.0.0.1:9/od/"\nretries = 1\nretry_wait = 0.5\n'
        'retry_max_wait = 2\nincomplete = "previous"\ntimes = [12, 0]\ncache = "fc"\n',
    )
    config = load_config(path)
    settings = config.opendata
    assert config.forecast == ("ecmwf-opendata:ifs",)
    assert settings.model == "ifs" and settings.source == "http://127.0.0.1:9/od"
    assert settings.cache == tmp_path / "fc"
    assert (settings.retries, settings.retry_after()) == (1, (0.5, 2.0, 2))
    assert settings.incomplete == "previous" and settings.run_hours == (0, 12)
    # default cache: under the output root
    default = load_config(write_opendata_config(tmp_path / "d", "", output="out"))
    assert default.opendata.cache == tmp_path / "d" / "out" / "opendata"
    (tmp_path / "p").mkdir()
    assert load_config(write_config(tmp_path / "p")).opendata is None


@pytest.mark.parametrize(
    ("forecast", "table", "needle"),
    [
        ("ecmwf-opendata:gfs", "", "unknown ECMWF open-data model 'gfs'"),
        (
            "ecmwf-opendata:ifs",
            "\n[opendata]\nretrys = 2\n",
            "unknown config key 'opendata.retrys'",
        ),
        ("ecmwf-opendata:ifs", '\n[opendata]\nincomplete = "skip"\n', "'opendata.incomplete'"),
        (
            "ecmwf-opendata:ifs",
            "\n[opendata]\ntimes = [3]\n",
            "'opendata.times' must list run hours",
        ),
        ("ecmwf-opendata:ifs", '\n[opendata]\nsource = "ftp://x"\n', "'opendata.source'"),
        ("ecmwf-opendata:ifs", "\n[opendata]\nretries = -1\n", "'opendata.retries' must be >= 0"),
        ("ecmwf-opendata:ifs", "\n[opendata]\nretry_wait = 9\nretry_max_wait = 1\n", "retry_wait"),
        ("samples/x.grib2", "\n[opendata]\nretries = 1\n", "only used with forecast"),
    ],
)
def test_config_opendata_errors(tmp_path, forecast, table, needle):
    path = write_config(tmp_path, forecast=forecast)
    path.write_text(path.read_text(encoding="utf-8") + table, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(needle)):
        load_config(path)


# -- the daily command -------------------------------------------------------------------------
def test_daily_command_exits_75_while_the_run_is_incomplete(server, tmp_path):
    now = dt.datetime.now(dt.UTC)
    newest = now.replace(hour=now.hour // 12 * 12, minute=0, second=0, microsecond=0)
    publish_run(server, newest, 60, missing=(6,))
    config = write_opendata_config(
        tmp_path,
        f'\n[opendata]\nsource = "{server.url}"\nretries = 0\ntimes = [0, 12]\n',
        venues=[VENUE],
    )
    result = run_cli("daily", "--config", str(config), timeout=300)
    assert result.returncode == 75, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "incomplete" in line]
    assert len(errors) == 1, result.stderr
    assert f"{newest:%Y-%m-%d %H}Z is incomplete: step 6 h" in errors[0]
    assert result.stdout == ""
    assert not list((tmp_path / "out").glob("20*"))  # no run folder


@pytest.mark.slow
@pytest.mark.media
def test_daily_command_builds_the_bulletins_from_the_fetched_forecast(server, tmp_path):
    now = dt.datetime.now(dt.UTC)
    latest = now.replace(hour=now.hour // 12 * 12, minute=0, second=0, microsecond=0)
    init = latest - dt.timedelta(hours=12)  # the newest run is not published yet
    publish_run(server, init, 72)
    config = write_opendata_config(
        tmp_path,
        f'\n[opendata]\nsource = "{server.url}"\nretries = 0\ntimes = [0, 12]\n',
        venues=[VENUE],
        languages=["en"],
        templates=str(REPO / "tests" / "daily_templates" / "short"),
    )
    result = run_cli("daily", "--config", str(config), timeout=900)
    assert result.returncode == 0, result.stderr
    run_folder = tmp_path / "out" / f"{init:%Y-%m-%d}" / f"{init:%H}Z"
    assert result.stdout.strip() == str(run_folder / "index.html")
    manifest = json.loads((run_folder / "manifest.json").read_text(encoding="utf-8"))
    cached = (
        tmp_path / "out" / "opendata" / "ifs" / f"{init:%Y%m%d}" / f"{init:%H}z" / "forecast.grib2"
    )
    digest = hashlib.sha256(cached.read_bytes()).hexdigest()
    assert manifest["inputs"] == [
        {"path": str(cached), "sha256": digest, "bytes": cached.stat().st_size}
    ]
    opendata = manifest["opendata"]
    assert opendata["source"] == "ecmwf-opendata:ifs" and opendata["reused_cache"] is False
    assert opendata["init_utc"] == init.isoformat().replace("+00:00", "Z")
    assert opendata["files"] == manifest["inputs"]
    assert manifest["forecast_init_utc"] == opendata["init_utc"]
    assert [(u["venue_id"], u["lang"], u["status"]) for u in manifest["units"]] == [
        (VENUE, "en", "ok")
    ]
    assert (run_folder / VENUE / "en" / "bulletin.mp4").is_file()

    # a rerun asks nothing of the cached run and skips the finished unit
    folder, _ = run_path(init)
    before = server.hits_under(folder)
    again = run_cli("daily", "--config", str(config), timeout=900)
    assert again.returncode == 0, again.stderr
    assert server.hits_under(folder) == before
    rerun = json.loads((run_folder / "manifest.json").read_text(encoding="utf-8"))
    assert rerun["opendata"]["reused_cache"] is True
    assert rerun["opendata"]["files"] == opendata["files"]
    assert [u["status"] for u in rerun["units"]] == ["skipped"]
