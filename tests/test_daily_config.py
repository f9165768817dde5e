"""`bulletin daily` refusals (config, forecast, venues, output root, lock) and `schedule`.

Each case runs the real command line and stops before any bulletin is built, so these tests
are quick; the runs that build bulletins are in test_daily_run.py.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from pathlib import Path

import pytest

from bulletin.daily.config import ConfigError, load_config
from bulletin.daily.lock import LOCK_NAME
from bulletin.daily.schedule import DailyJob, make_scheduler, parse_time_of_day

from .clirun import REPO, run_cli

SAMPLE = REPO / "samples" / "forecast_cf.nc"


def write_config(folder: Path, **keys) -> Path:
    """A TOML config in ``folder`` with sensible defaults, overridden (or dropped: None) by
    ``keys``; values are written as TOML literals with repr-like quoting."""
    values = {
        "forecast": str(SAMPLE),
        "output": "out",
        "venues": ["genting-snow-park"],
        "languages": ["en"],
        "avatar": "procedural",
        "tts": "pyttsx3",
    }
    values.update(keys)
    lines = []
    for key, value in values.items():
        if value is None:
            continue
        lines.append(f"{key} = {_toml(value)}")
    path = folder / "bulletin.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _toml(value) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def daily(config: Path, *args: str):
    return run_cli("daily", "--config", str(config), *args, timeout=300)


def one_line_error(result, *needles: str) -> str:
    """The single stderr error line, checked for each needle (no traceback)."""
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


# -- the configuration file --------------------------------------------------------------------
def test_config_paths_resolve_against_the_file_and_placeholders_fill(tmp_path):
    path = write_config(
        tmp_path,
        forecast=["fc/{date:%Y%m%d}/*.nc", "/abs/{yesterday:%Y-%m-%d}.grib2"],
        output="out/../published",
        templates="tpl",
        languages=["zh", "en", "zh"],
    )
    config = load_config(path)
    assert config.output == tmp_path / "published"
    assert config.templates == tmp_path / "tpl"
    assert config.languages == ("zh", "en")
    assert config.forecast_patterns(dt.date(2022, 2, 5)) == [
        str(tmp_path / "fc/20220205/*.nc"),
        "/abs/2022-02-04.grib2",
    ]


@pytest.mark.parametrize(
    ("keys", "needle"),
    [
        ({"outptu": "x"}, "'outptu'"),
        ({"languages": "zh"}, "'languages'"),
        ({"languages": ["fr"]}, "'fr'"),
        ({"tts": "festival"}, "'festival'"),
        ({"forecast": None}, "'forecast'"),
        ({"forecast": "fc/{day:%Y}.nc"}, "{day}"),
        ({"venues": [1, 2]}, "'venues'"),
    ],
)
def test_bad_config_values_are_errors_naming_the_key(tmp_path, keys, needle):
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, **keys))
    assert needle in str(caught.value)
    assert caught.value.exit_code == 2


def test_bad_config_exits_2_with_one_line(tmp_path):
    result = daily(write_config(tmp_path, outptu="x"))
    assert result.returncode == 2, result.stderr
    one_line_error(result, "unknown config key 'outptu'")
    result = daily(tmp_path / "absent.toml")
    assert result.returncode == 2, result.stderr
    one_line_error(result, "absent.toml")
    (tmp_path / "bad.toml").write_text("forecast = [\n", encoding="utf-8")
    result = daily(tmp_path / "bad.toml")
    assert result.returncode == 2
    one_line_error(result, "not valid TOML")


def test_usage_errors_exit_2(tmp_path):
    config = write_config(tmp_path)
    assert daily(config, "--workers", "0").returncode == 2
    assert daily(config, "--workers", "2", "--scheduler", "tcp://127.0.0.1:1").returncode == 2
    result = daily(config, "--date", "5 Feb")
    assert result.returncode == 2
    one_line_error(result, "--date")


# -- inputs that are not there (yet) -----------------------------------------------------------
def test_missing_forecast_is_75_and_says_retry(tmp_path):
    result = daily(write_config(tmp_path, forecast="incoming/{date:%Y%m%d}/*.nc"))
    assert result.returncode == 75, result.stderr
    one_line_error(result, "nothing matches", str(tmp_path / "incoming"), "retry later")
    result = daily(write_config(tmp_path, forecast="incoming/fc.nc"), "--date", "2022-02-05")
    assert result.returncode == 75, result.stderr
    one_line_error(result, "incoming/fc.nc does not exist", "retry later")
    assert not (tmp_path / "out" / "2022-02-04").exists()


def test_dates_the_forecast_does_not_cover(tmp_path):
    config = write_config(tmp_path)
    later = daily(config, "--date", "2022-02-09")  # the sample ends on 2022-02-08 08 local
    assert later.returncode == 75, later.stderr
    one_line_error(later, "does not cover all of 2022-02-09", "retry later")
    earlier = daily(config, "--date", "2022-02-04")  # starts 2022-02-04 20:00 local
    assert earlier.returncode == 1, earlier.stderr
    one_line_error(earlier, "starts after the beginning of 2022-02-04")
    # Nothing was published: the run folder holds no unit, manifest or page.
    run_folder = tmp_path / "out" / "2022-02-04" / "12Z"
    assert not run_folder.exists() or not any(run_folder.iterdir())


@pytest.mark.parametrize(
    ("keys", "needle"),
    [
        ({"venues": ["no-such-venue"]}, "unknown venue id 'no-such-venue'"),
        ({"venues": ["../etc"]}, "invalid venue id '../etc'"),
        ({"venues": ["_overview"]}, "invalid venue id '_overview'"),
    ],
)
def test_bad_venues_in_the_config_exit_2(tmp_path, keys, needle):
    result = daily(write_config(tmp_path, **keys))
    assert result.returncode == 2, result.stderr
    one_line_error(result, needle)


def test_venue_file_with_a_path_in_an_id_exits_1(tmp_path):
    (tmp_path / "venues.csv").write_text(
        "id,name,lat,lon,elevation_m\n../../x,Escape,40.9,115.4,1800\n", encoding="utf-8"
    )
    result = daily(write_config(tmp_path, venues=None, venues_file="venues.csv"))
    assert result.returncode == 1, result.stderr
    one_line_error(result, "'../../x'")
    assert not (tmp_path / "x").exists()


def test_unwritable_output_root_exits_1(tmp_path):
    (tmp_path / "a-file").write_text("not a folder\n", encoding="utf-8")
    result = daily(write_config(tmp_path, output="a-file/out"))
    assert result.returncode == 1, result.stderr
    one_line_error(result, "output root", "a-file")


def test_second_run_refuses_the_held_lock(tmp_path):
    config = write_config(tmp_path)
    root = tmp_path / "out"
    root.mkdir()
    with open(root / LOCK_NAME, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        result = daily(config)
    assert result.returncode == 1, result.stderr
    one_line_error(result, str(root / LOCK_NAME), f"pid {os.getpid()}", "--wait")


# -- bulletin schedule -------------------------------------------------------------------------
def test_schedule_fires_daily_at_0530_shanghai(tmp_path):
    job = DailyJob(write_config(tmp_path))
    scheduler, scheduled = make_scheduler(job, "05:30", "Asia/Shanghai")
    assert scheduled.coalesce is True
    assert scheduled.max_instances == 1
    assert scheduled.misfire_grace_time == 3600
    utc = dt.UTC
    # 08:00 in Shanghai: the next run is tomorrow at 05:30 local = 21:30 UTC today.
    now = dt.datetime(2026, 1, 1, 0, 0, tzinfo=utc)
    first = scheduled.trigger.get_next_fire_time(None, now)
    assert first.astimezone(utc) == dt.datetime(2026, 1, 1, 21, 30, tzinfo=utc)
    second = scheduled.trigger.get_next_fire_time(first, first + dt.timedelta(seconds=1))
    assert second - first == dt.timedelta(days=1)
    assert not scheduler.running


def test_schedule_job_runs_the_daily_job_and_survives_its_failure(tmp_path):
    job = DailyJob(write_config(tmp_path, forecast="incoming/*.nc"))
    assert job() == 75  # the forecast is not there: logged, not raised
    assert job.last_exit_code == 75


def test_schedule_refuses_bad_times_and_zones(tmp_path):
    assert parse_time_of_day("5:30") == (5, 30)
    config = write_config(tmp_path)
    for args in (["--at", "25:00"], ["--tz", "Mars/Olympus"]):
        result = run_cli("schedule", "--config", str(config), *args)
        assert result.returncode == 2, result.stderr
        one_line_error(result, args[1])


def test_a_unit_is_finished_only_for_its_day_and_venues(tmp_path):
    import json

    from bulletin.daily.run import OVERVIEW_FILES, is_complete

    folder = tmp_path / "_overview" / "en"
    folder.mkdir(parents=True)
    for name in OVERVIEW_FILES:
        (folder / name).write_bytes(b"")
    day = dt.date(2022, 2, 5)
    script = {"date": "2022-02-05", "venue_ids": ["a", "b"]}
    (folder / "script.json").write_text(json.dumps(script), encoding="utf-8")
    assert is_complete(folder, OVERVIEW_FILES)
    assert is_complete(folder, OVERVIEW_FILES, day, ["a", "b"])
    assert not is_complete(folder, OVERVIEW_FILES, day + dt.timedelta(days=1), ["a", "b"])
    assert not is_complete(folder, OVERVIEW_FILES, day, ["a", "b", "c"])
    (folder / "speech.wav").unlink()
    assert not is_complete(folder, OVERVIEW_FILES)
