"""Time series: analyses at several times (step 0), ERA5-style accumulations as time x step,
consecutive runs joined along valid time, overlapping runs refused unless the newest is
asked for. GRIB written here with ecCodes (samples/grib_writer.py)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bulletin.errors import ForecastError
from bulletin.forecast import open_forecast

from .clirun import run_cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "samples"))
from grib_writer import write_grib

LATS = np.array([39.5, 40.0, 40.5])
LONS = np.array([115.0, 115.5, 116.0, 116.5])
DAY = pd.Timestamp("2022-02-04T00:00")


def _temperature_k(valid: pd.DatetimeIndex) -> np.ndarray:
    """A value that depends on valid time and place only, so any run gives the same."""
    hours = ((valid - DAY) / pd.Timedelta(1, "h")).to_numpy()[:, None, None]
    return 265.0 + 0.5 * hours + 0.1 * LATS[:, None] + 0.01 * LONS[None, :]


def _rate_mm_h(valid: pd.DatetimeIndex) -> np.ndarray:
    """Hourly precipitation rate over the hour ending at each valid time."""
    hours = ((valid - DAY) / pd.Timedelta(1, "h")).to_numpy()[:, None, None]
    return 0.1 + 0.05 * (hours % 7) + 0.0 * LATS[:, None] + 0.0 * LONS[None, :]


def _write_run(path: Path, init: pd.Timestamp, steps, *, precipitation: bool = True) -> Path:
    steps = np.asarray(steps)
    valid = init + pd.to_timedelta(steps, "h")
    t = _temperature_k(valid)
    fields = {
        "2t": t,
        "2d": t - 5.0,
        "10u": np.full(t.shape, 3.0),
        "10v": np.full(t.shape, -4.0),
    }
    if precipitation:
        # accumulated since the run's start; hourly steps, so the amount is the sum of rates
        fields["tp"] = np.cumsum(_rate_mm_h(valid), axis=0) / 1000.0
    return write_grib(
        path, fields, lats=LATS, lons=LONS, init_time=init, steps_hours=steps, style="ecmwf"
    )


def _concatenate(path: Path, parts: list[Path]) -> Path:
    path.write_bytes(b"".join(p.read_bytes() for p in parts))
    return path


def _analyses(tmp_path: Path, hours) -> list[Path]:
    return [
        _write_run(
            tmp_path / f"an_{h:02d}.grib2", DAY + pd.Timedelta(h, "h"), [0], precipitation=False
        )
        for h in hours
    ]


def test_analyses_at_several_times_in_one_file_are_a_series(tmp_path):
    path = _concatenate(tmp_path / "era5.grib2", _analyses(tmp_path, range(4)))
    ds = open_forecast(path)
    valid = DAY + pd.to_timedelta(np.arange(4), "h")
    np.testing.assert_array_equal(ds["time"].values, valid.to_numpy())
    assert "forecast_reference_time" not in ds.coords
    np.testing.assert_allclose(ds["t2m"].values, _temperature_k(valid) - 273.15, atol=0.01)
    np.testing.assert_allclose(ds["wind10"].values, 5.0, atol=0.01)


def test_analyses_in_separate_files_join_along_valid_time(tmp_path):
    paths = _analyses(tmp_path, [2, 0, 1])
    ds = open_forecast(paths)
    valid = DAY + pd.to_timedelta(np.arange(3), "h")
    np.testing.assert_array_equal(ds["time"].values, valid.to_numpy())
    np.testing.assert_allclose(ds["t2m"].values, _temperature_k(valid) - 273.15, atol=0.01)


def test_era5_accumulations_time_by_step_are_a_series(tmp_path):
    """ERA5 as the CDS delivers its accumulations: forecasts from 06 and 18 UTC, steps
    1..12 (cfgrib: time x step); one series of 24 hourly valid times."""
    runs = [
        _write_run(tmp_path / "06.grib2", DAY + pd.Timedelta(6, "h"), range(1, 13)),
        _write_run(tmp_path / "18.grib2", DAY + pd.Timedelta(18, "h"), range(1, 13)),
    ]
    path = _concatenate(tmp_path / "era5_accum.grib2", runs)
    ds = open_forecast(path)
    valid = DAY + pd.to_timedelta(np.arange(7, 31), "h")
    np.testing.assert_array_equal(ds["time"].values, valid.to_numpy())
    np.testing.assert_allclose(ds["t2m"].values, _temperature_k(valid) - 273.15, atol=0.01)
    # each run's first step is the mean over its first hour; the rest are differences
    np.testing.assert_allclose(ds["precip"].values, _rate_mm_h(valid), atol=1e-3)


def test_consecutive_runs_in_several_files_join_along_valid_time(tmp_path, caplog):
    first = _write_run(tmp_path / "00.grib2", DAY, range(0, 6))
    second = _write_run(tmp_path / "06.grib2", DAY + pd.Timedelta(6, "h"), range(0, 6))
    with caplog.at_level(logging.INFO, logger="bulletin.forecast"):
        ds = open_forecast([second, first])
    valid = DAY + pd.to_timedelta(np.arange(12), "h")
    np.testing.assert_array_equal(ds["time"].values, valid.to_numpy())
    assert "forecast_reference_time" not in ds.coords
    np.testing.assert_allclose(ds["t2m"].values, _temperature_k(valid) - 273.15, atol=0.01)
    rates = _rate_mm_h(valid)
    precip = ds["precip"].values
    assert np.isnan(precip[[0, 6]]).all()  # step 0 of each run: an empty window
    keep = [i for i in range(12) if i not in (0, 6)]
    np.testing.assert_allclose(precip[keep], rates[keep], atol=1e-3)
    assert any("joined 2 forecast runs" in r.getMessage() for r in caplog.records)


def test_overlapping_runs_are_refused_naming_both(tmp_path):
    first = _write_run(tmp_path / "00.grib2", DAY, range(0, 13))
    second = _write_run(tmp_path / "06.grib2", DAY + pd.Timedelta(6, "h"), range(0, 13))
    with pytest.raises(ForecastError) as info:
        open_forecast([first, second])
    message = str(info.value)
    assert "\n" not in message
    for fragment in ("overlap in valid time", "00.grib2", "06.grib2", "--latest-run"):
        assert fragment in message, message


def test_latest_run_takes_the_newest_run_where_runs_overlap(tmp_path, caplog):
    first = _write_run(tmp_path / "00.grib2", DAY, range(0, 13))
    second = _write_run(tmp_path / "06.grib2", DAY + pd.Timedelta(6, "h"), range(0, 13))
    with caplog.at_level(logging.INFO, logger="bulletin.forecast"):
        ds = open_forecast([first, second], latest_run=True)
    valid = DAY + pd.to_timedelta(np.arange(19), "h")
    np.testing.assert_array_equal(ds["time"].values, valid.to_numpy())
    np.testing.assert_allclose(ds["t2m"].values, _temperature_k(valid) - 273.15, atol=0.01)
    precip = ds["precip"].values
    # 00 run for 01..05, the 06 run from 06 (its step 0: empty window) on
    np.testing.assert_allclose(precip[1:6], _rate_mm_h(valid)[1:6], atol=1e-3)
    assert np.isnan(precip[6]).all()
    np.testing.assert_allclose(precip[7:], _rate_mm_h(valid)[7:], atol=1e-3)
    assert any("times before 2022-02-04T06:00 kept" in r.getMessage() for r in caplog.records)


def test_latest_run_drops_an_older_run_the_newer_one_covers(tmp_path):
    first = _write_run(tmp_path / "00.grib2", DAY, range(6, 13))
    second = _write_run(tmp_path / "06.grib2", DAY + pd.Timedelta(6, "h"), range(0, 7))
    ds = open_forecast([first, second], latest_run=True)
    assert ds["forecast_reference_time"].values == np.datetime64("2022-02-04T06:00", "ns")
    assert ds.sizes["time"] == 7


def test_latest_run_on_the_command_line(tmp_path):
    """``bulletin indices`` refuses overlapping runs in one line, and ``--latest-run`` reads
    them as one series (the ``script``, ``speak`` and ``run`` commands share the option)."""
    first = _write_run(tmp_path / "00.grib2", DAY, range(0, 13))
    second = _write_run(tmp_path / "06.grib2", DAY + pd.Timedelta(6, "h"), range(0, 13))
    table = tmp_path / "table.csv"
    args = ["indices", str(first), str(second), "--venue", "national-stadium", "-o", str(table)]
    refused = run_cli(*args)
    assert refused.returncode != 0 and not table.exists()
    assert "--latest-run" in refused.stderr and "Traceback" not in refused.stderr
    read = run_cli(*args, "--latest-run", "--no-summary")
    assert read.returncode == 0, read.stderr
    rows = pd.read_csv(table)
    assert len(rows) == 19  # 00 UTC run for 00-05, the 06 UTC run for 06-18
    for command in ("script", "speak", "run"):
        assert "--latest-run" in run_cli(command, "--help").stdout


def test_one_file_with_overlapping_runs_is_one_line(tmp_path):
    runs = [
        _write_run(tmp_path / "00.grib2", DAY, range(0, 13)),
        _write_run(tmp_path / "06.grib2", DAY + pd.Timedelta(6, "h"), range(0, 13)),
    ]
    path = _concatenate(tmp_path / "both.grib2", runs)
    with pytest.raises(ForecastError) as info:
        open_forecast(path)
    message = str(info.value)
    assert "\n" not in message and "both.grib2" in message
    assert "two messages valid at 2022-02-04T06:00" in message


def test_netcdf_converted_by_cfgrib_with_a_reference_time_per_valid_time_is_a_series(tmp_path):
    """cfgrib's NetCDF of analyses (as cfgrib's own era5-levels-members.nc): ``time`` is the
    reference time (standard_name forecast_reference_time), ``valid_time(time)`` the valid
    time, ``step`` a scalar."""
    import xarray as xr

    references = (DAY + pd.to_timedelta(np.arange(0, 12, 3), "h")).to_numpy()
    t = _temperature_k(pd.DatetimeIndex(references))
    attrs = {"GRIB_paramId": 167, "GRIB_shortName": "2t", "GRIB_stepType": "instant"}
    ds = xr.Dataset(
        {
            "t2m": (("time", "latitude", "longitude"), t, {**attrs, "units": "K"}),
            "d2m": (
                ("time", "latitude", "longitude"),
                t - 5.0,
                {"GRIB_paramId": 168, "GRIB_shortName": "2d", "units": "K"},
            ),
            "si10": (
                ("time", "latitude", "longitude"),
                np.full(t.shape, 5.0),
                {"GRIB_paramId": 207, "GRIB_shortName": "10si", "units": "m s**-1"},
            ),
        },
        coords={
            "time": ("time", references, {"standard_name": "forecast_reference_time"}),
            "step": ((), np.timedelta64(0, "ns"), {"standard_name": "forecast_period"}),
            "valid_time": ("time", references, {"standard_name": "time"}),
            "latitude": ("latitude", LATS, {"units": "degrees_north"}),
            "longitude": ("longitude", LONS, {"units": "degrees_east"}),
        },
    )
    path = tmp_path / "analyses.nc"
    ds.isel(latitude=slice(None, None, -1)).to_netcdf(path)
    got = open_forecast(path)
    np.testing.assert_array_equal(got["time"].values, references)
    assert "forecast_reference_time" not in got.coords
    np.testing.assert_allclose(got["t2m"].values, t - 273.15, atol=1e-4)
