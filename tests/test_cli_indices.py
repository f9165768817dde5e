"""``bulletin indices`` end to end through the real command line, good and bad input."""

from __future__ import annotations

import csv
import io
import json
import os

import numpy as np
import pandas as pd
import pytest

from bulletin.extract import CORE_COLUMNS

from .clirun import REPO, run_cli
from .synthetic import cf_dataset

SAMPLE_GRIB = REPO / "samples" / "forecast_ecmwf.grib2"
SAMPLE_NC = REPO / "samples" / "forecast_cf.nc"


def assert_clean_failure(result, out_dir, *needles: str, code: int = 1):
    assert result.returncode == code, (result.returncode, result.stderr)
    # Progress logs may precede it, but the error itself is exactly one line.
    lines = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(lines) == 1 and lines[0].startswith("bulletin: error: "), result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    # Neither the output nor its temporary file is left behind.
    assert list(out_dir.iterdir()) == []


def test_indices_csv_from_the_grib_sample(tmp_path):
    out = tmp_path / "out.csv"
    result = run_cli("indices", str(SAMPLE_GRIB), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # data only to the file
    text = out.read_text()
    header = next(csv.reader(io.StringIO(text)))
    assert header[: len(CORE_COLUMNS)] == list(CORE_COLUMNS)
    table = pd.read_csv(out)
    assert table["venue_id"].nunique() == 8
    assert "Daily worst levels" in result.stderr  # the summary goes to stderr


def test_netcdf_and_grib_samples_agree(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert (
        run_cli(
            "indices",
            str(SAMPLE_GRIB),
            "-o",
            str(a),
            "--venue",
            "genting-snow-park",
            "--no-summary",
        ).returncode
        == 0
    )
    assert (
        run_cli(
            "indices", str(SAMPLE_NC), "-o", str(b), "--venue", "genting-snow-park", "--no-summary"
        ).returncode
        == 0
    )
    ta, tb = pd.read_csv(a), pd.read_csv(b)
    assert len(ta) == len(tb)
    np.testing.assert_allclose(ta["temperature_degC"], tb["temperature_degC"], atol=0.15)
    np.testing.assert_allclose(ta["wind_speed_10m_kmh"], tb["wind_speed_10m_kmh"], atol=0.3)
    agree = (ta["wind_chill_level"] == tb["wind_chill_level"]).mean()
    assert agree > 0.95


def test_stdout_json_and_parquet(tmp_path):
    result = run_cli("indices", str(SAMPLE_NC), "--venue", "national-stadium", "-o", "-")
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(io.StringIO(result.stdout))
    assert list(table.columns[: len(CORE_COLUMNS)]) == list(CORE_COLUMNS)
    assert "Daily worst levels" not in result.stdout
    result = run_cli(
        "indices", str(SAMPLE_NC), "--venue", "national-stadium", "-o", "-", "--format", "json"
    )
    records = json.loads(result.stdout)
    assert records[0]["venue_id"] == "national-stadium" and len(records) == len(table)
    out = tmp_path / "t.parquet"
    assert (
        run_cli("indices", str(SAMPLE_NC), "--venue", "national-stadium", "-o", str(out)).returncode
        == 0
    )
    parquet = pd.read_parquet(out)
    assert list(parquet.columns) == list(table.columns) and len(parquet) == len(table)


def write_nc(ds, path):
    ds.to_netcdf(path)
    return path


@pytest.fixture
def out_dir(tmp_path):
    d = tmp_path / "outdir"
    d.mkdir()
    return d


def run_indices(path, out_dir, *extra):
    return run_cli("indices", str(path), "-o", str(out_dir / "out.csv"), *extra)


def test_missing_file(out_dir, tmp_path):
    result = run_indices(tmp_path / "nowhere.nc", out_dir)
    assert_clean_failure(result, out_dir, "nowhere.nc")


def test_truncated_grib(out_dir, tmp_path):
    data = SAMPLE_GRIB.read_bytes()
    path = tmp_path / "cut.grib2"
    path.write_bytes(data[: len(data) // 3])
    assert_clean_failure(run_indices(path, out_dir), out_dir, "cut.grib2")


def test_truncated_netcdf(out_dir, tmp_path):
    path = tmp_path / "cut.nc"
    path.write_bytes(SAMPLE_NC.read_bytes()[:5000])
    assert_clean_failure(run_indices(path, out_dir), out_dir, "cut.nc")


def test_not_a_forecast(out_dir, tmp_path):
    text = tmp_path / "table.nc"
    text.write_text("a,b\n1,2\n")
    assert_clean_failure(run_indices(text, out_dir), out_dir, "table.nc")
    ds = cf_dataset().rename({"tas": "x", "hurs": "y", "uas": "z", "vas": "w"})
    for name in ds.data_vars:
        ds[name].attrs = {"units": "1"}
    path = write_nc(ds, tmp_path / "unrelated.nc")
    assert_clean_failure(run_indices(path, out_dir), out_dir, "unrelated.nc")


def test_missing_required_variable(out_dir, tmp_path):
    path = write_nc(cf_dataset().drop_vars("hurs"), tmp_path / "nohum.nc")
    assert_clean_failure(run_indices(path, out_dir), out_dir, "humidity")


def test_celsius_label_on_kelvin_numbers(out_dir, tmp_path):
    ds = cf_dataset()
    ds["tas"].attrs["units"] = "degC"
    path = write_nc(ds, tmp_path / "kelvin.nc")
    assert_clean_failure(run_indices(path, out_dir), out_dir, "kelvin.nc", "temperature")


def test_humidity_far_above_100(out_dir, tmp_path):
    ds = cf_dataset()
    ds["hurs"].values[:] = 180.0
    path = write_nc(ds, tmp_path / "wet.nc")
    assert_clean_failure(run_indices(path, out_dir), out_dir, "humidity")


def test_all_nan_temperature(out_dir, tmp_path):
    ds = cf_dataset()
    ds["tas"].values[:] = np.nan
    path = write_nc(ds, tmp_path / "nan.nc")
    assert_clean_failure(run_indices(path, out_dir), out_dir, "temperature")


def test_empty_time_axis(out_dir, tmp_path):
    path = write_nc(cf_dataset().isel(time=slice(0, 0)), tmp_path / "empty.nc")
    assert_clean_failure(run_indices(path, out_dir), out_dir, "time")


def test_unknown_venue(out_dir):
    result = run_indices(SAMPLE_NC, out_dir, "--venue", "atlantis")
    assert_clean_failure(result, out_dir, "unknown venue id 'atlantis'", code=2)


def test_venue_outside_the_grid(out_dir, tmp_path):
    venues = tmp_path / "v.csv"
    venues.write_text("id,name,lat,lon,elevation_m\nharbin,Harbin,45.75,126.65,150\n")
    result = run_indices(SAMPLE_NC, out_dir, "--venues-file", str(venues))
    assert_clean_failure(result, out_dir, "harbin", "outside the forecast grid")


def test_unwritable_output_folder(tmp_path):
    result = run_cli("indices", str(SAMPLE_NC), "-o", str(tmp_path / "no" / "such" / "x.csv"))
    assert result.returncode == 1 and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_format_is_a_usage_error(out_dir):
    result = run_indices(SAMPLE_NC, out_dir, "--format", "xlsx")
    assert result.returncode == 2


def test_output_file_gets_ordinary_permissions(tmp_path):
    out = tmp_path / "perm.csv"
    result = run_cli(
        "indices", str(SAMPLE_NC), "--venue", "national-stadium", "-o", str(out), "--no-summary"
    )
    assert result.returncode == 0, result.stderr
    mode = out.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["perm.csv"]
