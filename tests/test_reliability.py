"""Honest failures and crash hygiene of the command line, with real faults: a full tmpfs, a
read-only mount, symbolic link loops, forecasts with an all-missing required field, a closed
stdout pipe, a process killed inside an atomic write."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bulletin.errors import ForecastError
from bulletin.forecast import open_forecast
from bulletin.output import (
    FREE_SPACE_MARGIN,
    OutputError,
    check_free_space,
    remove_stale_temporaries,
    storage_error,
)

from .clirun import REPO, run_cli

SAMPLE_NC = REPO / "samples" / "forecast_cf.nc"
VENUE = "genting-snow-park"


def error_lines(stderr: str) -> list[str]:
    """The lines of ``stderr`` that are not log lines (``bulletin: `` without ``error``)."""
    return [
        line
        for line in stderr.strip().splitlines()
        if not line.startswith("bulletin: ")
        or line.startswith(("bulletin: error", "bulletin: internal"))
    ]


def one_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode == 1, result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("bulletin: error: "), lines
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    return lines[0]


# -- a tiny file system: full, or read-only ----------------------------------------------------
def _mount_tmpfs(where: Path, options: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (the tests run as an ordinary user)")
    if shutil.which("mount") is None:
        pytest.skip("no mount(8) on this machine")
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")


@pytest.fixture
def full_disk(tmp_path):
    """A 2 MiB tmpfs filled to its last few KiB."""
    where = tmp_path / "full"
    _mount_tmpfs(where, "size=2m")
    try:
        with open(where / "ballast", "wb") as handle:
            try:
                while True:
                    handle.write(b"\0" * 65536)
                    handle.flush()
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
        (where / "ballast").write_bytes(b"")  # free it again ...
        (where / "ballast").write_bytes(b"\0" * (2 * 2**20 - 16 * 1024))  # ... but 16 KiB
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture
def read_only_disk(tmp_path):
    where = tmp_path / "ro"
    _mount_tmpfs(where, "size=1m,ro")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_full_disk_is_named_when_the_table_is_written(full_disk):
    target = full_disk / "indices.csv"
    result = run_cli("-q", "indices", str(SAMPLE_NC), "-o", str(target))
    one_error(result, str(target), "the disk is full", "ENOSPC")
    assert sorted(p.name for p in full_disk.iterdir()) == ["ballast"]  # no temporary left


def test_full_disk_stops_bulletin_run_before_the_speech(full_disk):
    out = full_disk / "out"
    result = run_cli(
        "run", str(SAMPLE_NC), "--venue", VENUE, "--lang", "en", "--avatar", "procedural",
        "-o", str(out),
    )  # fmt: skip
    one_error(result, "the disk is nearly full", str(out), "ENOSPC")
    assert "pyttsx3" not in result.stderr


def test_free_space_check_names_the_folder_and_the_need(full_disk, tmp_path):
    with pytest.raises(OutputError, match=r"nearly full: .* MiB free, the speech needs at least"):
        check_free_space(full_disk, what="the speech")
    check_free_space(tmp_path, needed=1)
    assert FREE_SPACE_MARGIN >= 2**20


def test_read_only_folder_is_named(read_only_disk):
    result = run_cli("-q", "indices", str(SAMPLE_NC), "-o", str(read_only_disk / "x.csv"))
    one_error(result, str(read_only_disk), "read-only", "EROFS")
    result = run_cli(
        "script", str(SAMPLE_NC), "--venue", VENUE, "--lang", "en",
        "-o", str(read_only_disk / "script"),
    )  # fmt: skip
    one_error(result, "read-only", "EROFS")


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.ENOSPC, "the disk is full"),
        (errno.EDQUOT, "the disk quota is exceeded"),
        (errno.EROFS, "the file system is read-only"),
        (errno.ELOOP, "a symbolic link loop"),
    ],
)
def test_storage_errors_are_one_line_with_the_cause(code, words):
    error = OSError(code, os.strerror(code), "/data/out/x.csv")
    message = str(storage_error(error))
    assert message == (f"/data/out/x.csv: {words}: {os.strerror(code)} ({errno.errorcode[code]})")


# -- symbolic link loops and directories ---------------------------------------------------------
@pytest.fixture
def loop(tmp_path) -> Path:
    (tmp_path / "loop_a").symlink_to(tmp_path / "loop_b")
    (tmp_path / "loop_b").symlink_to(tmp_path / "loop_a")
    return tmp_path / "loop_a"


def test_symlink_loop_as_forecast_is_a_one_line_error(loop, tmp_path):
    result = run_cli("-q", "indices", str(loop), "--venue", VENUE, "-o", str(tmp_path / "x.csv"))
    one_error(result, "Symlink loop", "loop_a")


def test_symlink_loop_as_output_is_a_one_line_error(loop):
    result = run_cli("-q", "indices", str(SAMPLE_NC), "--venue", VENUE, "-o", str(loop))
    one_error(result, str(loop), "a symbolic link loop", "ELOOP")
    result = run_cli("script", str(SAMPLE_NC), "--venue", VENUE, "--lang", "en", "-o", str(loop))
    one_error(result, "a symbolic link loop", "ELOOP")


def test_symlink_loop_as_venues_file_is_a_one_line_error(loop, tmp_path):
    result = run_cli(
        "-q", "indices", str(SAMPLE_NC), "--venues-file", str(loop), "-o", str(tmp_path / "x.csv")
    )
    one_error(result, "loop_a")


def test_directory_as_script_output_file_is_refused(tmp_path):
    (tmp_path / "script.txt").mkdir()
    result = run_cli(
        "script", str(SAMPLE_NC), "--venue", VENUE, "--lang", "en", "-o", str(tmp_path)
    )
    one_error(result, "script.txt", "directory")


def test_failed_script_leaves_no_folder_behind(tmp_path):
    out = tmp_path / "new" / "script"
    result = run_cli(
        "script", str(tmp_path / "missing.nc"), "--venue", VENUE, "--lang", "en", "-o", str(out)
    )
    one_error(result, "missing.nc")
    assert list(tmp_path.iterdir()) == []


def test_failed_script_keeps_a_folder_that_was_there(tmp_path):
    out = tmp_path / "script"
    out.mkdir()
    result = run_cli("script", str(SAMPLE_NC), "--venue", VENUE, "--lang", "en",
                     "--date", "2030-01-01", "-o", str(out))  # fmt: skip
    assert result.returncode != 0
    assert out.is_dir() and list(out.iterdir()) == []


# -- all-missing required fields -----------------------------------------------------------------
def _forecast(tmp_path: Path, **missing: str) -> Path:
    """A small CF forecast (tas, hurs or dew point, uas/vas) with the named variables NaN."""
    times = pd.date_range("2022-02-05T00:00", periods=6, freq="h")
    lat, lon = np.linspace(40.0, 41.0, 3), np.linspace(115.0, 116.0, 4)
    shape = (times.size, lat.size, lon.size)
    dims = ("time", "lat", "lon")
    values = {
        "tas": (268.0, "air_temperature", "K"),
        "hurs": (60.0, "relative_humidity", "%"),
        "uas": (3.0, "eastward_wind", "m s-1"),
        "vas": (-2.0, "northward_wind", "m s-1"),
    }
    data_vars = {
        name: (
            dims,
            np.full(shape, np.nan if name in missing else value, np.float32),
            {"standard_name": standard_name, "units": units},
        )
        for name, (value, standard_name, units) in values.items()
    }
    ds = xr.Dataset(
        data_vars,
        coords={
            "time": ("time", times.values, {"standard_name": "time"}),
            "lat": ("lat", lat, {"standard_name": "latitude", "units": "degrees_north"}),
            "lon": ("lon", lon, {"standard_name": "longitude", "units": "degrees_east"}),
        },
    )
    path = tmp_path / f"nan_{'_'.join(sorted(missing)) or 'none'}.nc"
    ds.to_netcdf(path, engine="netcdf4")
    return path


@pytest.mark.parametrize(
    ("missing", "words"),
    [
        ({"uas": "", "vas": ""}, "all 10 m wind speeds are missing"),
        ({"hurs": ""}, "all 2 m relative humidities are missing"),
        ({"tas": ""}, "all 2 m temperatures are missing"),
    ],
)
def test_all_missing_required_field_is_an_error(tmp_path, missing, words):
    path = _forecast(tmp_path, **missing)
    with pytest.raises(ForecastError) as info:
        open_forecast(path)
    assert words in str(info.value) and path.name in str(info.value)


def test_all_missing_wind_fails_bulletin_indices(tmp_path):
    path = _forecast(tmp_path, uas="", vas="")
    result = run_cli("-q", "indices", str(path), "-o", str(tmp_path / "x.csv"))
    one_error(result, "all 10 m wind speeds are missing")
    assert not (tmp_path / "x.csv").exists()


def test_a_forecast_with_every_field_opens(tmp_path):
    assert float(open_forecast(_forecast(tmp_path))["wind10"].max()) > 0


# -- a closed stdout pipe ----------------------------------------------------------------------
def _with_closed_stdout(*args: str) -> subprocess.CompletedProcess:
    """Run the command line with stdout a pipe whose reader has already gone."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "bulletin", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            timeout=300,
            check=False,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "args",
    [
        ("venues",),
        ("venues", "--format", "csv"),
        ("-q", "indices", str(SAMPLE_NC), "--venue", VENUE, "-o", "-"),
        ("script", str(SAMPLE_NC), "--venue", VENUE, "--lang", "en"),
    ],
    ids=["venues", "venues-csv", "indices", "script"],
)
def test_closed_stdout_exits_non_zero_quietly(args):
    result = _with_closed_stdout(*args)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "Exception ignored" not in result.stderr
    assert "BrokenPipe" not in result.stderr
    assert error_lines(result.stderr) == []


@pytest.mark.parametrize("unbuffered", ["1", ""], ids=["PYTHONUNBUFFERED=1", "buffered"])
def test_head_of_the_table_exits_non_zero_quietly(unbuffered):
    # Unbuffered, stdout is the raw file: a write cut short by the closed pipe returned a
    # partial count, the rest of the table was dropped and the command exited 0.
    process = subprocess.Popen(
        [sys.executable, "-m", "bulletin", "-q", "indices", str(SAMPLE_NC), "-o", "-",
         "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": unbuffered},
    )  # fmt: skip
    header = process.stdout.readline()
    process.stdout.close()  # `| head -1`: the 0.5 MB table is far larger than the pipe
    stderr = process.stderr.read().decode()
    process.wait(timeout=300)
    assert header == b"[\n"
    assert process.returncode != 0
    assert "Exception ignored" not in stderr and "Traceback" not in stderr


# -- temporaries of killed processes -------------------------------------------------------------
KILLED_INSIDE_A_WRITE = textwrap.dedent(
    """
    import os, signal, sys
    from bulletin.output import atomic_folder, atomic_path
    with atomic_folder(sys.argv[1] + "/en") as folder:
        (folder / "speech.wav").write_bytes(b"x" * 1000)
        with atomic_path(sys.argv[1] + "/en.txt") as tmp:
            tmp.write_bytes(b"partial")
            os.kill(os.getpid(), signal.SIGKILL)
    """
)


def _killed_write(folder: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", KILLED_INSIDE_A_WRITE, str(folder)], cwd=REPO, check=False
    )
    assert done.returncode == -signal.SIGKILL


def test_temporaries_of_a_killed_process_are_removed_and_a_live_ones_kept(tmp_path):
    _killed_write(tmp_path)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert len(left) == 2 and all(name.startswith((".en.", ".en.txt.")) for name in left)
    (tmp_path / f".en.{os.getpid()}-0123456789ab.tmp").mkdir()  # this live process's
    (tmp_path / ".en.not-ours.tmp").mkdir()  # not a temporary of bulletin.output
    removed = remove_stale_temporaries(tmp_path)
    assert sorted(p.name for p in removed) == left
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f".en.{os.getpid()}-0123456789ab.tmp",
        ".en.not-ours.tmp",
    ]


def test_bulletin_run_removes_the_stale_temporaries_of_its_units(tmp_path):
    out = tmp_path / "out"
    unit_parent = out / VENUE
    unit_parent.mkdir(parents=True)
    _killed_write(unit_parent)
    stale = sorted(p.name for p in unit_parent.iterdir())
    live = unit_parent / f".en.{os.getpid()}-0123456789ab.tmp"
    live.mkdir()
    other = out / "other-venue"
    other.mkdir()
    _killed_write(other)  # not a venue of this run: left alone
    result = run_cli(
        "run", str(tmp_path / "missing.nc"), "--venue", VENUE, "--lang", "en",
        "--avatar", "procedural", "-o", str(out),
    )  # fmt: skip
    assert result.returncode == 1 and "missing.nc" in result.stderr
    unit_stale = [name for name in stale if not name.startswith(".en.txt.")]
    assert len(unit_stale) == 1  # the unit folder; en.txt's temporary is not a unit's
    assert sorted(p.name for p in unit_parent.iterdir()) == sorted(
        [live.name, *(set(stale) - set(unit_stale))]
    )
    assert unit_stale[0] in result.stderr
    assert len(list(other.iterdir())) == 2


# -- very large venue files ----------------------------------------------------------------------
def _venues_csv(path: Path, rows: int) -> Path:
    lines = ["id,name,lat,lon,elevation_m,timezone"]
    lines += [f"v{i},Venue {i},40.5,115.5,1000,Asia/Shanghai" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    return path


def test_venue_file_above_the_limit_is_refused_before_the_forecast_is_read(tmp_path):
    from bulletin.venues import MAX_VENUES, load_venues_file

    assert len(load_venues_file(_venues_csv(tmp_path / "ok.csv", MAX_VENUES))) == MAX_VENUES
    big = _venues_csv(tmp_path / "big.csv", MAX_VENUES + 1)
    result = run_cli(
        "-q", "indices", str(tmp_path / "missing.nc"), "--venues-file", str(big),
        "-o", str(tmp_path / "x.csv"),
    )  # fmt: skip
    one_error(result, f"{big} has {MAX_VENUES + 1} rows", f"at most {MAX_VENUES} venues")


def test_huge_venue_file_is_refused_before_it_is_read(tmp_path):
    from bulletin.venues import MAX_VENUES_FILE_BYTES, VenueError, load_venues_file

    huge = tmp_path / "huge.csv"
    with open(huge, "wb") as handle:  # sparse: the size without the bytes
        handle.truncate(MAX_VENUES_FILE_BYTES + 1)
    with pytest.raises(VenueError, match=r"huge.csv has 4 MiB of venues; at most"):
        load_venues_file(huge)


def test_full_disk_stops_bulletin_daily_before_its_units(full_disk, tmp_path):
    from .test_daily_config import write_config

    config = write_config(tmp_path, output=str(full_disk / "daily"), date="2022-02-05")
    result = run_cli("daily", "--config", str(config))
    one_error(result, "the disk is nearly full", "the daily run needs at least", "ENOSPC")
    assert "pyttsx3" not in result.stderr
    files = [p.name for p in (full_disk / "daily").rglob("*") if not p.is_dir()]
    assert files == [".bulletin-daily.lock"]  # no unit was started


def test_gridded_indices_onto_a_disk_that_fills_up_is_a_one_line_error(tmp_path):
    # Past the up-front check (a 72 MiB disk), the product (about 120 MB) does not fit. Its
    # bytes are reserved with fallocate before HDF5 writes (bulletin/grid_output.py), so the
    # full disk is named before h5netcdf starts: a failed h5netcdf write crashed the process
    # (SIGSEGV) when it closed the file again.
    where = tmp_path / "small"
    _mount_tmpfs(where, "size=72m")
    try:
        times = pd.date_range("2022-02-05T00:00", periods=72, freq="h")
        lat, lon = np.linspace(39.0, 42.0, 200), np.linspace(114.0, 117.0, 200)
        shape = (times.size, lat.size, lon.size)
        rng = np.random.default_rng(0)
        dims = ("time", "lat", "lon")
        forecast = xr.Dataset(
            {
                "tas": (dims, (265 + 5 * rng.random(shape)).astype("f4"),
                        {"standard_name": "air_temperature", "units": "K"}),
                "hurs": (dims, (60 + 20 * rng.random(shape)).astype("f4"),
                         {"standard_name": "relative_humidity", "units": "%"}),
                "sfcWind": (dims, (5 * rng.random(shape)).astype("f4"),
                            {"standard_name": "wind_speed", "units": "m s-1"}),
            },
            coords={
                "time": ("time", times.values, {"standard_name": "time"}),
                "lat": ("lat", lat, {"standard_name": "latitude", "units": "degrees_north"}),
                "lon": ("lon", lon, {"standard_name": "longitude", "units": "degrees_east"}),
            },
        )  # fmt: skip
        source = tmp_path / "grid.nc"
        forecast.to_netcdf(source, engine="netcdf4")
        result = run_cli("-q", "indices", str(source), "--grid", "-o", str(where / "g.nc"))
        assert result.returncode == 1, result.stderr  # not -11
        one_error(result, str(where), "the disk is full", "ENOSPC")
        assert list(where.iterdir()) == []
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
