"""Fetching the latest complete run of ECMWF open data with the ``ecmwf-opendata`` client.

``forecast = "ecmwf-opendata:ifs"`` (or ``aifs``, ``ens``) in the daily configuration names
this source. :func:`fetch_latest_run` looks for the newest run, downloads only the surface
parameters of :data:`PARAMS` at the steps that reach the end of the bulletin day, and keeps
the result in a cache folder per model and run, so a rerun reads the same file again.

Where the data come from (ECMWF, "ECMWF open data: real-time forecasts from IFS and AIFS";
the ``ecmwf-opendata`` README, "Time steps", and ``ecmwf/opendata/client.py``):

* files ``ROOT/YYYYMMDD/HHz/<model>/<resol>/<stream>/YYYYMMDDHH0000-<step>h-<stream>-<type>.grib2``,
  each with a ``.index`` file of JSON lines (MARS keys, ``_offset``, ``_length``) that the
  client reads to fetch only the wanted fields by HTTP byte ranges;
* the models: IFS HRES (``ifs``: stream ``oper``, type ``fc``; 00/12 UTC to 240 h, 06/18 UTC
  to 90 h), AIFS Single (``aifs``: client model ``aifs-single``; every 6 h to 360 h) and the
  ENS control forecast (``ens``: stream ``enfo``, type ``cf``; 00/12 UTC to 360 h, 06/18 UTC
  to 144 h). IFS and ENS steps are 3-hourly to 144 h and 6-hourly after.

A run is *not started* when the index of its first step is absent (HTTP 404 or 403, as the
cloud mirrors answer for a missing object), *incomplete* when a later step's index is absent,
and complete otherwise. An incomplete newest run raises :class:`OpenDataNotReady` (exit code
75, "retry later"), or with ``incomplete = "previous"`` the newest complete run is taken
instead. Failing requests (HTTP 5xx, 429, timeouts, refused connections) are retried by the
client itself (``multiurl.robust``) with a back-off doubling from ``retry_wait_s`` to
``retry_max_wait_s``, ``retries`` times; then a :class:`~bulletin.errors.ForecastError` names
the URL and the last answer.

A parameter the model does not publish is simply absent from its index: the client skips it,
and the fetch logs which of :data:`PARAMS` it got and which it did not (the forecast reader
then applies its documented fallback, or names a missing required field).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ForecastError
from ..output import OutputError, atomic_path, write_text

log = logging.getLogger("bulletin.opendata")

#: The prefix of a ``forecast`` value that names ECMWF open data.
PREFIX = "ecmwf-opendata:"

#: The exit code of "the run is not there yet" (sysexits' EX_TEMPFAIL, as ``bulletin daily``).
EXIT_NOT_READY = 75

#: The surface parameters asked for (ecCodes shortNames): what the forecast reader turns into
#: the schema (bulletin.readers.catalogue): 2 m temperature and dewpoint, 10 m wind
#: components, total cloud cover, surface solar radiation downwards, total precipitation,
#: snowfall, snow depth (water equivalent) and snow density, the 10 m gust, and the surface
#: geopotential (the model orography for the lapse-rate correction).
PARAMS = ("2t", "2d", "10u", "10v", "tcc", "ssrd", "tp", "sf", "sd", "rsn", "10fg", "z")

#: The cache's record of a fetched run, written after the GRIB file (its presence marks a
#: complete download).
RECORD_NAME = "fetch.json"
GRIB_NAME = "forecast.grib2"
#: Client sources that are not URLs (``ecmwf.opendata.urls``).
NAMED_SOURCES = ("ecmwf", "aws", "azure", "google")
INCOMPLETE_POLICIES = ("wait", "previous")


class OpenDataNotReady(ForecastError):
    """The open-data run is not published completely yet: retry later (exit code 75)."""

    exit_code = EXIT_NOT_READY


@dataclass(frozen=True)
class Model:
    """One open-data forecast system: the client's ``model``, ``stream`` and ``type``, and
    the steps each run hour publishes as ``(first, last, every)`` hour ranges."""

    name: str
    client_model: str
    stream: str
    type: str
    step_ranges: dict[int, tuple[tuple[int, int, int], ...]]

    @property
    def run_hours(self) -> tuple[int, ...]:
        return tuple(sorted(self.step_ranges))

    def steps(self, run_hour: int) -> tuple[int, ...]:
        """Every step (h) a run at ``run_hour`` UTC publishes, ascending."""
        steps: set[int] = set()
        for first, last, every in self.step_ranges[run_hour]:
            steps.update(range(first, last + 1, every))
        return tuple(sorted(steps))


_HRES_LONG = ((0, 144, 3), (150, 240, 6))
_ENS_LONG = ((0, 144, 3), (150, 360, 6))
#: The forecast systems (module docstring for the sources).
MODELS: dict[str, Model] = {
    "ifs": Model(
        "ifs",
        "ifs",
        "oper",
        "fc",
        {0: _HRES_LONG, 6: ((0, 90, 3),), 12: _HRES_LONG, 18: ((0, 90, 3),)},
    ),
    "aifs": Model("aifs", "aifs-single", "oper", "fc", {h: ((0, 360, 6),) for h in (0, 6, 12, 18)}),
    "ens": Model(
        "ens",
        "ifs",
        "enfo",
        "cf",
        {0: _ENS_LONG, 6: ((0, 144, 3),), 12: _ENS_LONG, 18: ((0, 144, 3),)},
    ),
}


@dataclass(frozen=True)
class OpenDataSettings:
    """How to fetch: the model (a key of :data:`MODELS`), the client's ``source`` (a name of
    :data:`NAMED_SOURCES` or a base URL) and ``resol``, the cache root (runs go to
    ``cache/<model>/<YYYYMMDD>/<HH>z/``), the retry policy, what to do with an incomplete
    newest run (``"wait"``: exit 75; ``"previous"``: take the newest complete run), the run
    hours to consider, and how far back to look for a run (hours)."""

    model: str
    cache: Path
    source: str = "ecmwf"
    resol: str = "0p25"
    retries: int = 4
    retry_wait_s: float = 10.0
    retry_max_wait_s: float = 160.0
    incomplete: str = "wait"
    run_hours: tuple[int, ...] = (0, 6, 12, 18)
    search_hours: int = 48

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ForecastError(
                f"unknown ECMWF open-data model {self.model!r}; use {', '.join(MODELS)}"
            )
        if self.incomplete not in INCOMPLETE_POLICIES:
            raise ForecastError(
                f"unknown policy for an incomplete run {self.incomplete!r}; use "
                f"{', '.join(INCOMPLETE_POLICIES)}"
            )
        if self.retries < 0 or self.retry_wait_s < 0 or self.retry_max_wait_s < self.retry_wait_s:
            raise ForecastError(
                "retries must be >= 0 and 0 <= retry_wait_s <= retry_max_wait_s "
                f"(got {self.retries}, {self.retry_wait_s}, {self.retry_max_wait_s})"
            )
        if not (self.source in NAMED_SOURCES or self.source.startswith(("http://", "https://"))):
            raise ForecastError(
                f"ECMWF open-data source {self.source!r} is neither one of "
                f"{', '.join(NAMED_SOURCES)} nor an http(s) URL"
            )

    @property
    def spec(self) -> Model:
        return MODELS[self.model]

    def retry_after(self) -> float | tuple[float, float, float]:
        """The client's ``retry_after``: a back-off doubling from the first to the longest
        wait (``multiurl.robust`` takes ``(minimum, maximum, ratio)``), or one fixed wait."""
        if self.retry_max_wait_s > self.retry_wait_s:
            return (self.retry_wait_s, self.retry_max_wait_s, 2)
        return self.retry_wait_s

    def run_folder(self, init: dt.datetime) -> Path:
        return self.cache / self.model / f"{init:%Y%m%d}" / f"{init:%H}z"


@dataclass(frozen=True)
class FetchedRun:
    """A run on disk: its model, init time (UTC), the GRIB file and its SHA-256 and size,
    the steps, the parameters it holds and those the model did not publish, where it came
    from, and whether an earlier fetch's cache was reused."""

    model: str
    init: dt.datetime
    path: Path
    sha256: str
    bytes: int
    steps: tuple[int, ...]
    params: tuple[str, ...]
    absent_params: tuple[str, ...]
    source: str
    reused: bool
    urls: tuple[str, ...] = field(default=(), compare=False)

    def to_manifest(self) -> dict[str, Any]:
        """JSON-ready description for the daily manifest."""
        return {
            "source": f"{PREFIX}{self.model}",
            "server": self.source,
            "init_utc": self.init.isoformat().replace("+00:00", "Z"),
            "steps": list(self.steps),
            "params": list(self.params),
            "absent_params": list(self.absent_params),
            "reused_cache": self.reused,
            "files": [{"path": str(self.path), "sha256": self.sha256, "bytes": self.bytes}],
        }


def model_of(forecast: str) -> str | None:
    """The model a ``forecast`` value names (``"ecmwf-opendata:ifs"`` -> ``"ifs"``), or None
    when it does not start with :data:`PREFIX`. An unknown model is a ForecastError."""
    if not forecast.startswith(PREFIX):
        return None
    model = forecast[len(PREFIX) :]
    if model not in MODELS:
        raise ForecastError(
            f"unknown ECMWF open-data model {model!r} in {forecast!r}; use "
            + ", ".join(PREFIX + name for name in MODELS)
        )
    return model


# -- which run, which steps ---------------------------------------------------------------------
def day_end_utc(init: dt.datetime, zones: Sequence[dt.tzinfo], day: dt.date | None) -> dt.datetime:
    """The end (next local midnight, in UTC) of the bulletin day at the last venue to finish
    it. Without ``day``: the first local day that starts at or after ``init`` at every venue
    (the widest reading of the daily run's default day, so the fetched steps cover it)."""
    if day is None:
        starts = []
        for zone in zones:
            local = init.astimezone(zone)
            midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
            starts.append(local.date() if local == midnight else local.date() + dt.timedelta(1))
        day = max(starts)
    following = day + dt.timedelta(days=1)
    return max(
        dt.datetime.combine(following, dt.time(0), tzinfo=zone).astimezone(dt.UTC) for zone in zones
    )


def day_start_utc(zones: Sequence[dt.tzinfo], day: dt.date) -> dt.datetime:
    """The first moment of ``day`` at any venue, in UTC."""
    return min(
        dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC) for zone in zones
    )


def steps_to(model: Model, init: dt.datetime, end: dt.datetime) -> tuple[int, ...] | None:
    """The run's published steps from 0 up to the first one at or after ``end``; None when
    the run does not reach ``end``."""
    hours = math.ceil((end - init).total_seconds() / 3600)
    steps = model.steps(init.hour)
    if steps[-1] < hours:
        return None
    last = next(step for step in steps if step >= hours)
    return tuple(step for step in steps if step <= last)


def candidate_runs(settings: OpenDataSettings, now: dt.datetime) -> list[dt.datetime]:
    """The run times (UTC) to try, newest first: the model's run hours that the settings
    allow, from ``now`` back ``search_hours``."""
    hours = [h for h in settings.spec.run_hours if h in settings.run_hours]
    now = now.astimezone(dt.UTC)
    latest = now.replace(minute=0, second=0, microsecond=0)
    runs = []
    moment = latest
    stop = now - dt.timedelta(hours=settings.search_hours)
    while moment >= stop:
        if moment.hour in hours:
            runs.append(moment)
        moment -= dt.timedelta(hours=1)
    return runs


# -- the cache ---------------------------------------------------------------------------------
def file_sha256(path: Path) -> str:
    """SHA-256 of a file (``hashlib.file_digest``)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def read_cached(
    settings: OpenDataSettings, init: dt.datetime, steps: Sequence[int]
) -> FetchedRun | None:
    """The cached fetch of this run when it is complete (record and file there, the file's
    SHA-256 as recorded) and holds at least ``steps``; otherwise None."""
    folder = settings.run_folder(init)
    try:
        record = json.loads((folder / RECORD_NAME).read_text(encoding="utf-8"))
        path = folder / record["file"]
        if record.get("model") != settings.model or not set(steps) <= set(record["steps"]):
            return None
        if record.get("requested_params") != list(PARAMS):
            return None
        sha256 = file_sha256(path)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if sha256 != record.get("sha256"):
        log.warning("cached %s does not match its record (sha256); fetching it again", path)
        return None
    return FetchedRun(
        model=settings.model,
        init=init,
        path=path,
        sha256=sha256,
        bytes=path.stat().st_size,
        steps=tuple(record["steps"]),
        params=tuple(record["params"]),
        absent_params=tuple(record["absent_params"]),
        source=record.get("source", settings.source),
        reused=True,
    )


def grib_short_names(path: Path) -> list[str]:
    """The shortNames of the messages of a GRIB file, in file order, once each."""
    from .eccodes_loader import load_eccodes

    eccodes = load_eccodes()
    names: dict[str, None] = {}
    with open(path, "rb") as handle:
        while (message := eccodes.codes_grib_new_from_file(handle)) is not None:
            try:
                names[eccodes.codes_get_string(message, "shortName")] = None
            finally:
                eccodes.codes_release(message)
    return list(names)


# -- fetching ----------------------------------------------------------------------------------
class _RunAbsent(Exception):
    """The index of a run's first step is not there: the run has not started."""


class _RunIncomplete(Exception):
    """The index of a later step is not there."""

    def __init__(self, step: str, url: str) -> None:
        super().__init__(url)
        self.step = step
        self.url = url


_STEP_IN_URL = re.compile(r"-(\d+)h-[^/]*$")


def _client(settings: OpenDataSettings) -> Any:
    from ecmwf.opendata import Client

    spec = settings.spec
    return Client(
        source=settings.source,
        model=spec.client_model,
        resol=settings.resol,
        maximum_retries=settings.retries + 1,
        retry_after=settings.retry_after(),
        use_server_retry_after=False,  # our bound on the waits holds
    )


def _download(
    settings: OpenDataSettings, init: dt.datetime, steps: Sequence[int], target: Path
) -> tuple[str, ...]:
    """One ``Client.retrieve`` of the run's steps into ``target``; the data URLs read."""
    import requests

    spec = settings.spec
    client = _client(settings)
    request = {
        "date": f"{init:%Y%m%d}",
        "time": init.hour,
        "stream": spec.stream,
        "type": spec.type,
        "step": list(steps),
        "levtype": "sfc",
        "param": list(PARAMS),
    }
    notes = io.StringIO()
    try:
        # The client prints ECMWF's licence note (CC BY 4.0 attribution) on stdout, where the
        # daily command writes its result: it goes to the log instead.
        with contextlib.redirect_stdout(notes):
            result = client.retrieve(request, target=str(target))
    except requests.HTTPError as exc:
        response = exc.response
        url = response.url if response is not None else "?"
        status = response.status_code if response is not None else None
        if status in (403, 404):
            match = _STEP_IN_URL.search(url)
            step = match.group(1) if match else "?"
            if step == str(steps[0]):
                raise _RunAbsent(url) from None
            raise _RunIncomplete(step, url) from None
        tries = settings.retries + 1
        raise ForecastError(
            f"ECMWF open data at {settings.source} answered HTTP {status} "
            f"{response.reason if response is not None else ''} for {url} "
            f"(after {tries} tries)"
        ) from None
    except requests.RequestException as exc:
        raise ForecastError(
            f"cannot reach ECMWF open data at {settings.source}: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''} (after {settings.retries + 1} tries)"
        ) from None
    except ValueError as exc:  # the client: no index entry matches the request
        raise ForecastError(
            f"ECMWF open data {settings.model} run {init:%Y-%m-%d %H}Z at {settings.source} "
            f"holds none of the parameters {', '.join(PARAMS)}: {exc}"
        ) from None
    finally:
        for line in notes.getvalue().splitlines():
            if line.strip():
                log.info("ecmwf-opendata: %s", line.strip())
    return tuple(url if isinstance(url, str) else url[0] for url in result.urls)


def _remove_empty(folder: Path, root: Path) -> None:
    """Remove ``folder`` and its parents below ``root`` while they are empty."""
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def fetch_run(settings: OpenDataSettings, init: dt.datetime, steps: Sequence[int]) -> FetchedRun:
    """Download ``steps`` of the run at ``init`` into its cache folder (atomically: the GRIB
    file, then its record). Raises ``_RunAbsent`` / ``_RunIncomplete`` (module-internal)
    when indexes are missing, :class:`ForecastError` when the server keeps failing."""
    folder = settings.run_folder(init)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot create the forecast cache folder {folder}: {exc.strerror or exc}"
        ) from None
    path = folder / GRIB_NAME
    try:
        with atomic_path(path, suffix=".tmp.grib2") as tmp:
            urls = _download(settings, init, steps, tmp)
            present = grib_short_names(tmp)
    except (_RunAbsent, _RunIncomplete):
        _remove_empty(folder, settings.cache)
        raise
    sha256 = file_sha256(path)
    params = tuple(p for p in PARAMS if p in present)
    absent = tuple(p for p in PARAMS if p not in present)
    record = {
        "model": settings.model,
        "source": settings.source,
        "init_utc": init.isoformat().replace("+00:00", "Z"),
        "file": GRIB_NAME,
        "sha256": sha256,
        "bytes": path.stat().st_size,
        "steps": list(steps),
        "requested_params": list(PARAMS),
        "params": list(params),
        "absent_params": list(absent),
        "urls": list(urls),
        "fetched_utc": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
    }
    write_text(folder / RECORD_NAME, json.dumps(record, indent=1) + "\n")
    return FetchedRun(
        model=settings.model,
        init=init,
        path=path,
        sha256=sha256,
        bytes=record["bytes"],
        steps=tuple(steps),
        params=params,
        absent_params=absent,
        source=settings.source,
        reused=False,
        urls=urls,
    )


def fetch_latest_run(
    settings: OpenDataSettings,
    zones: Sequence[dt.tzinfo],
    day: dt.date | None = None,
    *,
    now: dt.datetime | None = None,
) -> FetchedRun:
    """The newest run (module docstring) with every step up to the end of the bulletin
    ``day`` at the venues of time zones ``zones`` (without ``day``: the first local day
    starting at or after the run's init), from the cache when an earlier fetch is there.

    Raises :class:`OpenDataNotReady` (exit code 75) while the newest run is incomplete (with
    ``incomplete = "wait"``) or when no run in the last ``search_hours`` covers the day, and
    :class:`ForecastError` when the server keeps failing."""
    if not zones:
        raise ForecastError("no venue to fetch ECMWF open data for")
    spec = settings.spec
    now = now or dt.datetime.now(dt.UTC)
    label = f"ECMWF open data {settings.model}"
    incomplete: list[str] = []
    short: list[str] = []
    for init in candidate_runs(settings, now):
        if day is not None and init > day_start_utc(zones, day):
            short.append(f"{init:%Y-%m-%d %H}Z starts after {day}")
            continue
        end = day_end_utc(init, zones, day)
        steps = steps_to(spec, init, end)
        if steps is None:
            short.append(f"{init:%Y-%m-%d %H}Z ends before {end:%Y-%m-%d %H:%M}Z")
            continue
        cached = read_cached(settings, init, steps)
        if cached is not None:
            log.info("%s run %s: reusing the cache %s", label, f"{init:%Y-%m-%d %H}Z", cached.path)
            return cached
        try:
            fetched = fetch_run(settings, init, steps)
        except _RunAbsent:
            log.debug("%s run %s: not published", label, f"{init:%Y-%m-%d %H}Z")
            continue
        except _RunIncomplete as missing:
            text = (
                f"{label} run {init:%Y-%m-%d %H}Z is incomplete: step {missing.step} h of "
                f"0-{steps[-1]} h is not published yet ({missing.url})"
            )
            if settings.incomplete == "wait":
                raise OpenDataNotReady(f"{text}; exit 75: retry later") from None
            log.info("%s; trying the previous run", text)
            incomplete.append(f"{init:%Y-%m-%d %H}Z")
            continue
        log.info(
            "%s run %sZ: fetched steps 0-%d h (%d), %s%s -> %s",
            label,
            f"{init:%Y-%m-%d %H}",
            steps[-1],
            len(steps),
            ", ".join(fetched.params),
            f"; not published: {', '.join(fetched.absent_params)}" if fetched.absent_params else "",
            fetched.path,
        )
        return fetched
    details = "; ".join(
        part
        for part in (
            f"incomplete: {', '.join(incomplete)}" if incomplete else "",
            f"too short for the day: {', '.join(short)}" if short else "",
        )
        if part
    )
    raise OpenDataNotReady(
        f"no complete {label} run covering the bulletin day in the last {settings.search_hours} h "
        f"at {settings.source}{f' ({details})' if details else ''}; exit 75: retry later"
    )


__all__ = [
    "EXIT_NOT_READY",
    "MODELS",
    "PARAMS",
    "PREFIX",
    "FetchedRun",
    "Model",
    "OpenDataNotReady",
    "OpenDataSettings",
    "candidate_runs",
    "day_end_utc",
    "fetch_latest_run",
    "fetch_run",
    "model_of",
    "read_cached",
    "steps_to",
]
