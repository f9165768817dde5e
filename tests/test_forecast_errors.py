"""Every bad input open_forecast must refuse, with a one-line ForecastError naming the cause."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bulletin.errors import BulletinError, ForecastError
from bulletin.forecast import open_forecast

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "samples"))
from grib_writer import write_grib

INIT = pd.Timestamp("2022-02-04T00:00")
LATS = np.array([40.0, 40.5])
LONS = np.array([115.0, 115.5, 116.0])


def _cf(n_times: int = 3, **overrides) -> xr.Dataset:
    """A small valid CF forecast; ``overrides`` replace or add variables (None removes)."""
    shape = (n_times, LATS.size, LONS.size)
    times = INIT + pd.to_timedelta(np.arange(n_times), "h")
    dims = ("time", "lat", "lon")
    data_vars = {
        "tas": (dims, np.full(shape, 268.0), {"standard_name": "air_temperature", "units": "K"}),
        "hurs": (dims, np.full(shape, 60.0), {"standard_name": "relative_humidity", "units": "%"}),
        "sfcWind": (dims, np.full(shape, 4.0), {"standard_name": "wind_speed", "units": "m s-1"}),
    }
    for name, value in overrides.items():
        if value is None:
            data_vars.pop(name)
        else:
            data_vars[name] = value
    return xr.Dataset(
        data_vars,
        coords={
            "time": ("time", times.values, {"standard_name": "time"}),
            "lat": ("lat", LATS, {"standard_name": "latitude", "units": "degrees_north"}),
            "lon": ("lon", LONS, {"standard_name": "longitude", "units": "degrees_east"}),
        },
    )


def _write(ds: xr.Dataset, path: Path) -> Path:
    ds.to_netcdf(path)
    return path


def _refuses(path_or_paths, *fragments: str) -> str:
    with pytest.raises(ForecastError) as info:
        open_forecast(path_or_paths)
    message = str(info.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def test_valid_small_file_opens(tmp_path):
    ds = open_forecast(_write(_cf(), tmp_path / "ok.nc"))
    np.testing.assert_allclose(ds.t2m, -5.15, atol=1e-4)


def test_missing_file(tmp_path):
    _refuses(tmp_path / "nowhere.grib2", "not found", "nowhere.grib2")


def test_error_is_a_bulletin_error(tmp_path):
    with pytest.raises(BulletinError):
        open_forecast(tmp_path / "nowhere.nc")


def test_csv_is_not_a_forecast(tmp_path):
    path = tmp_path / "forecast.grib2"  # the suffix lies
    path.write_text("time,lat,lon,t2m\n2022-02-04,40,115,-5\n")
    _refuses(path, "forecast.grib2", "not a GRIB, NetCDF or Zarr")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.nc"
    path.write_bytes(b"")
    _refuses(path, "empty.nc", "empty")


def test_directory_that_is_not_zarr(tmp_path):
    (tmp_path / "dir").mkdir()
    _refuses(tmp_path / "dir", "not a Zarr store")


def test_truncated_grib(tmp_path):
    path = tmp_path / "f.grib2"
    field = np.full((2, LATS.size, LONS.size), 270.0)
    write_grib(
        path,
        {"2t": field, "2d": field - 5, "10u": field * 0 + 3, "10v": field * 0},
        lats=LATS,
        lons=LONS,
        init_time=INIT,
        steps_hours=[0, 1],
    )
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])
    _refuses(path, "f.grib2", "truncated or corrupt")


def test_truncated_netcdf(tmp_path):
    path = _write(_cf(), tmp_path / "cut.nc")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _refuses(path, "cut.nc", "cannot read")


def test_netcdf_without_known_field(tmp_path):
    shape = (2, LATS.size, LONS.size)
    ds = _cf(
        2,
        tas=None,
        hurs=None,
        sfcWind=None,
        salinity=(
            ("time", "lat", "lon"),
            np.zeros(shape),
            {"standard_name": "sea_water_salinity", "units": "1e-3"},
        ),
    )
    _refuses(_write(ds, tmp_path / "ocean.nc"), "ocean.nc", "no known forecast field")


def test_name_alone_does_not_identify(tmp_path):
    """A variable called t2m whose units are not a temperature is not a temperature."""
    shape = (2, LATS.size, LONS.size)
    ds = _cf(2, tas=None, t2m=(("time", "lat", "lon"), np.zeros(shape), {"units": "m s-1"}))
    _refuses(
        _write(ds, tmp_path / "odd.nc"),
        "no 2 m air temperature",
        "standard_name air_temperature",
        "GRIB shortName 2t",
    )


@pytest.mark.parametrize(
    ("missing", "fragments"),
    [
        ("tas", ("no 2 m air temperature", "air_temperature", "2t")),
        ("hurs", ("relative humidity or dew point", "dew_point_temperature", "2r", "2d")),
        ("sfcWind", ("no 10 m wind", "wind_speed", "10si", "eastward_wind", "10u", "10v")),
    ],
)
def test_missing_required_field_says_what_was_looked_for(tmp_path, missing, fragments):
    _refuses(_write(_cf(**{missing: None}), tmp_path / "partial.nc"), "partial.nc", *fragments)


def test_only_one_wind_component_is_not_enough(tmp_path):
    shape = (3, LATS.size, LONS.size)
    ds = _cf(
        sfcWind=None,
        uas=(
            ("time", "lat", "lon"),
            np.ones(shape),
            {"standard_name": "eastward_wind", "units": "m s-1"},
        ),
    )
    _refuses(_write(ds, tmp_path / "u_only.nc"), "no 10 m wind")


def test_kelvin_numbers_labelled_celsius(tmp_path):
    shape = (3, LATS.size, LONS.size)
    ds = _cf(
        tas=(
            ("time", "lat", "lon"),
            np.full(shape, 268.0),
            {"standard_name": "air_temperature", "units": "degC"},
        )
    )
    _refuses(_write(ds, tmp_path / "kelvin.nc"), "kelvin.nc", "'tas'", "268", "-100..60", "Kelvin")


def test_relative_humidity_above_110_percent(tmp_path):
    shape = (3, LATS.size, LONS.size)
    values = np.full(shape, 60.0)
    values[2, 1, 0] = 180.0
    ds = _cf(
        hurs=(("time", "lat", "lon"), values, {"standard_name": "relative_humidity", "units": "%"})
    )
    message = _refuses(_write(ds, tmp_path / "wet.nc"), "wet.nc", "'hurs'", "180", "0..110")
    assert "2022-02-04T02:00" in message  # the offending time is named


def test_relative_humidity_as_fraction_labelled_percent_is_fine_but_percent_labelled_one_is_not(
    tmp_path,
):
    shape = (3, LATS.size, LONS.size)
    fraction = _cf(
        hurs=(
            ("time", "lat", "lon"),
            np.full(shape, 0.6),
            {"standard_name": "relative_humidity", "units": "1"},
        )
    )
    np.testing.assert_allclose(open_forecast(_write(fraction, tmp_path / "f.nc")).rh2m, 60.0)
    mislabelled = _cf(
        hurs=(
            ("time", "lat", "lon"),
            np.full(shape, 60.0),
            {"standard_name": "relative_humidity", "units": "1"},
        )
    )
    _refuses(_write(mislabelled, tmp_path / "m.nc"), "6000", "0..110")


def test_negative_wind_speed(tmp_path):
    shape = (3, LATS.size, LONS.size)
    values = np.full(shape, 4.0)
    values[0, 0, 0] = -3.0
    ds = _cf(
        sfcWind=(("time", "lat", "lon"), values, {"standard_name": "wind_speed", "units": "m s-1"})
    )
    _refuses(_write(ds, tmp_path / "neg.nc"), "neg.nc", "'sfcWind'", "-3", "10 m wind speed")


def test_cloud_percent_labelled_as_fraction(tmp_path):
    shape = (3, LATS.size, LONS.size)
    ds = _cf(
        clt=(
            ("time", "lat", "lon"),
            np.full(shape, 75.0),
            {"standard_name": "cloud_area_fraction", "units": "1"},
        )
    )
    _refuses(_write(ds, tmp_path / "clt.nc"), "clt.nc", "'clt'", "75", "-0.05..1.05")


def test_units_that_are_not_a_temperature(tmp_path):
    shape = (3, LATS.size, LONS.size)
    ds = _cf(
        tas=(
            ("time", "lat", "lon"),
            np.full(shape, 268.0),
            {"standard_name": "air_temperature", "units": "m s-1"},
        )
    )
    _refuses(_write(ds, tmp_path / "units.nc"), "units.nc", "'tas'", "'m s-1'", "'degC'")


def test_unparseable_units(tmp_path):
    shape = (3, LATS.size, LONS.size)
    ds = _cf(
        tas=(
            ("time", "lat", "lon"),
            np.full(shape, 268.0),
            {"standard_name": "air_temperature", "units": "furlongs of fog"},
        )
    )
    _refuses(_write(ds, tmp_path / "fog.nc"), "fog.nc", "furlongs of fog", "cannot be parsed")


def test_all_nan_temperature(tmp_path):
    shape = (3, LATS.size, LONS.size)
    ds = _cf(
        tas=(
            ("time", "lat", "lon"),
            np.full(shape, np.nan),
            {"standard_name": "air_temperature", "units": "K"},
        )
    )
    _refuses(_write(ds, tmp_path / "nan.nc"), "nan.nc", "all 2 m temperatures are missing")


def test_empty_time_axis(tmp_path):
    _refuses(_write(_cf(0), tmp_path / "notime.nc"), "notime.nc", "empty time axis")


def test_files_from_different_runs(tmp_path):
    first = _cf().assign_coords(forecast_reference_time=np.datetime64("2022-02-04T00", "ns"))
    second = _cf().assign_coords(forecast_reference_time=np.datetime64("2022-02-04T12", "ns"))
    a = _write(first, tmp_path / "a.nc")
    b = _write(second, tmp_path / "b.nc")
    _refuses([a, b], "runs that overlap in valid time", "a.nc", "b.nc", "--latest-run")


def test_same_times_twice(tmp_path):
    a = _write(_cf(), tmp_path / "a.nc")
    b = _write(_cf(), tmp_path / "b.nc")
    _refuses([a, b], "is in both", "a.nc", "b.nc")


def test_decreasing_accumulation_without_bounds(tmp_path):
    shape = (3, LATS.size, LONS.size)
    amounts = np.zeros(shape)
    amounts[1], amounts[2] = 5.0, 1.0  # "accumulated" since the start, yet decreasing
    ds = _cf(
        tp=(
            ("time", "lat", "lon"),
            amounts,
            {"standard_name": "precipitation_amount", "units": "kg m-2"},
        )
    )
    ds = ds.assign_coords(forecast_reference_time=np.datetime64(INIT, "ns"))
    _refuses(_write(ds, tmp_path / "acc.nc"), "acc.nc", "'tp'", "-4", "precipitation")


def test_accumulation_without_bounds_or_reference_time(tmp_path):
    shape = (3, LATS.size, LONS.size)
    ds = _cf(
        tp=(
            ("time", "lat", "lon"),
            np.zeros(shape),
            {"standard_name": "precipitation_amount", "units": "kg m-2"},
        )
    )
    _refuses(
        _write(ds, tmp_path / "acc.nc"), "acc.nc", "'tp'", "time bounds", "forecast_reference_time"
    )


def test_latitude_and_longitude_on_different_layouts_are_refused(tmp_path):
    """1-D latitude with 2-D longitude is none of the three layouts: the error says which
    dimensions each is on and what is read."""
    shape = (3, LATS.size, LONS.size)
    _, lon2d = np.meshgrid(LATS, LONS, indexing="ij")
    ds = xr.Dataset(
        {
            "tas": (
                ("time", "y", "x"),
                np.full(shape, 268.0),
                {"standard_name": "air_temperature", "units": "K"},
            )
        },
        coords={
            "time": INIT + pd.to_timedelta(np.arange(3), "h"),
            "lat": ("y", LATS, {"standard_name": "latitude", "units": "degrees_north"}),
            "lon": (("y", "x"), lon2d, {"standard_name": "longitude", "units": "degrees_east"}),
        },
    )
    _refuses(
        _write(ds, tmp_path / "mixed.nc"),
        "mixed.nc",
        "grid not supported",
        "latitude 'lat' on ['y']",
        "longitude 'lon' on ['y', 'x']",
        "curvilinear",
        "the file has dimensions",
    )


def test_temperature_only_names_humidity_and_wind_at_once(tmp_path):
    message = _refuses(
        _write(_cf(hurs=None, sfcWind=None), tmp_path / "t_only.nc"),
        "t_only.nc",
        "2 required fields missing",
        "2 m relative humidity or dew point",
        "10 m wind",
        "wind_speed",
    )
    assert "2 m air temperature" not in message
