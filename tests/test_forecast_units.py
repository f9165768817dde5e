"""Units, accumulation windows, derived fields and the GRIB writer's own conventions."""

from __future__ import annotations

import sys
from pathlib import Path

import dask.array
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bulletin.errors import ForecastError
from bulletin.forecast import DEFAULT_SNOW_DENSITY_KG_M3, open_forecast
from bulletin.readers.accumulation import interval_mean_rate
from bulletin.readers.eccodes_loader import load_eccodes
from bulletin.units import UnitsError, convert, ureg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "samples"))
from grib_writer import gfs_window_start, write_grib

INIT = pd.Timestamp("2022-02-04T00:00")
LATS = np.array([40.0, 40.5])
LONS = np.array([115.0, 115.5, 116.0])


def _one(value: float, units: str, target: str, *contexts: str) -> float:
    return float(convert(xr.DataArray(value), units, target, contexts))


# ------------------------------------------------------------------------------ units


def test_dobson_unit_and_ozone_column_mass():
    assert _one(1.0, "DU", "m") == pytest.approx(1e-5)
    # CAMS: total column ozone 1 DU = 2.1415e-5 kg m-2.
    assert _one(2.1415e-5, "kg m-2", "DU", "ozone") == pytest.approx(1.0, rel=1e-3)
    assert _one(300.0, "DU", "kg m-2", "ozone") == pytest.approx(300 * 2.1415e-5, rel=1e-3)


def test_liquid_water_equivalent():
    assert _one(1.0, "m of water equivalent", "kg m-2", "lwe") == pytest.approx(1000.0)
    assert _one(1.0, "kg m-2 s-1", "mm h-1", "lwe") == pytest.approx(3600.0)
    assert _one(0.002, "m", "mm") == pytest.approx(2.0)
    with pytest.raises(UnitsError):  # mass and depth only convert through the context
        _one(1.0, "kg m-2", "mm")


def test_grib_and_cf_unit_strings():
    assert _one(0.4, "(0 - 1)", "1") == pytest.approx(0.4)
    assert _one(40.0, "%", "1") == pytest.approx(0.4)
    assert _one(5.0, "m s**-1", "m s-1") == pytest.approx(5.0)
    assert _one(268.15, "K", "degC") == pytest.approx(-5.0)
    assert _one(3600.0, "J m**-2 h-1", "W m-2") == pytest.approx(1.0)


def test_uv_dose_rate_to_uv_index_and_geopotential_to_height():
    assert _one(0.1, "W m-2", "1", "erythemal") == pytest.approx(4.0)  # UVI = 40 x uvbed
    assert _one(9806.65, "m2 s-2", "m", "geopotential") == pytest.approx(1000.0)


def test_unknown_units_raise():
    with pytest.raises(UnitsError, match="cannot be parsed"):
        _one(1.0, "bananas", "m")
    with pytest.raises(UnitsError, match="cannot be converted"):
        _one(1.0, "K", "m")


def test_convert_stays_lazy():
    data = xr.DataArray(dask.array.from_array(np.array([273.15, 283.15]), chunks=1))
    out = convert(data, "K", "degC")
    assert isinstance(out.data, dask.array.Array)
    np.testing.assert_allclose(out.compute(), [0.0, 10.0])
    assert out.attrs["units"] == "degC"
    assert "dobson_unit" in ureg


# ------------------------------------------------------------------------------ windows


def _series(values, hours):
    times = INIT + pd.to_timedelta(hours, "h")
    return xr.DataArray(np.asarray(values, dtype=float), dims="time", coords={"time": times})


def _starts(hours):
    return (INIT + pd.to_timedelta(hours, "h")).values


def test_rates_from_accumulation_since_start():
    amounts = _series([0, 2, 5, 11], [0, 1, 2, 4])  # ECMWF: windows 0-0, 0-1, 0-2, 0-4
    rate = interval_mean_rate(amounts, _starts([0, 0, 0, 0]), kind="accumulated", where="t")
    np.testing.assert_allclose(rate, [np.nan, 2, 3, 3])


def test_rates_from_resetting_accumulation():
    # NCEP: windows 0-3, 0-6, 6-9, 6-12 (3-hourly output, 6-hourly resets).
    amounts = _series([3, 9, 6, 9], [3, 6, 9, 12])
    rate = interval_mean_rate(amounts, _starts([0, 0, 6, 6]), kind="accumulated", where="t")
    np.testing.assert_allclose(rate, [1, 2, 2, 1])


def test_rates_from_resetting_averages():
    # Means over 0-1, 0-2, 0-3 then 3-4: the interval means are 10, 20, 30, 40.
    means = _series([10, 15, 20, 40], [1, 2, 3, 4])
    rate = interval_mean_rate(means, _starts([0, 0, 0, 3]), kind="average", where="t")
    np.testing.assert_allclose(rate, [10, 20, 30, 40])


def test_overlapping_windows_are_refused():
    amounts = _series([1, 2], [3, 6])
    with pytest.raises(ForecastError, match="overlaps"):
        interval_mean_rate(amounts, _starts([0, 2]), kind="accumulated", where="t")
    with pytest.raises(ForecastError, match="ends before"):
        interval_mean_rate(amounts, _starts([0, 7]), kind="accumulated", where="t")


def test_rates_stay_lazy_on_dask():
    amounts = _series([0, 2, 5, 11], [0, 1, 2, 4]).chunk(time=2)
    rate = interval_mean_rate(amounts, _starts([0, 0, 0, 0]), kind="accumulated", where="t")
    assert isinstance(rate.data, dask.array.Array)
    np.testing.assert_allclose(rate.compute(), [np.nan, 2, 3, 3])


def test_gfs_window_starts():
    assert [gfs_window_start(s) for s in (1, 5, 6, 7, 12, 13, 123)] == [0, 0, 0, 6, 6, 12, 120]
    with pytest.raises(ValueError):
        gfs_window_start(0)


# ------------------------------------------------------------------------------ derived fields


def _cf(**data_vars) -> xr.Dataset:
    shape = (2, LATS.size, LONS.size)
    dims = ("time", "lat", "lon")
    base = {
        "tas": (dims, np.full(shape, 268.0), {"standard_name": "air_temperature", "units": "K"}),
        "hurs": (dims, np.full(shape, 60.0), {"standard_name": "relative_humidity", "units": "%"}),
        "sfcWind": (dims, np.full(shape, 4.0), {"standard_name": "wind_speed", "units": "m s-1"}),
    }
    return xr.Dataset(
        {**base, **{k: (dims, np.broadcast_to(v[0], shape), v[1]) for k, v in data_vars.items()}},
        coords={
            "time": INIT + pd.to_timedelta([0, 1], "h"),
            "lat": ("lat", LATS, {"units": "degrees_north"}),
            "lon": ("lon", LONS, {"units": "degrees_east"}),
        },
    )


def test_ozone_uv_and_snow_from_cf(tmp_path):
    ds = _cf(
        tco3=(
            np.array(300 * 2.1415e-5),
            {"standard_name": "atmosphere_mass_content_of_ozone", "units": "kg m-2"},
        ),
        uvbed=(np.array(0.15), {"units": "W m-2"}),  # recognised by name + units
        snw=(np.array(50.0), {"standard_name": "surface_snow_amount", "units": "kg m-2"}),
    )
    path = tmp_path / "extra.nc"
    ds.to_netcdf(path)
    out = open_forecast(path)
    np.testing.assert_allclose(out.ozone, 300.0, rtol=1e-3)
    np.testing.assert_allclose(out.uv_index_model, 6.0, rtol=1e-6)
    np.testing.assert_allclose(out.snow_depth, 50.0 / DEFAULT_SNOW_DENSITY_KG_M3, rtol=1e-6)
    assert "assumed density" in out.snow_depth.attrs["comment"]


def test_uv_index_without_units_is_dimensionless(tmp_path):
    path = tmp_path / "uvi.nc"
    _cf(uvi=(np.array(7.0), {"standard_name": "ultraviolet_index"})).to_netcdf(path)
    np.testing.assert_allclose(open_forecast(path).uv_index_model, 7.0)


def test_ecmwf_snow_density_and_wind_speed_fields(tmp_path):
    shape = (2, LATS.size, LONS.size)
    swe = np.full(shape, 0.06)  # m of water equivalent
    swe[:, 0, 0] = 0.0  # no snow: depth 0 whatever the density
    rsn = np.full(shape, 300.0)
    path = write_grib(
        tmp_path / "snow.grib2",
        {
            "2t": np.full(shape, 265.0),
            "2d": np.full(shape, 260.0),
            "10si": np.full(shape, 7.5),
            "sd": swe,
            "rsn": rsn,
        },
        lats=LATS,
        lons=LONS,
        init_time=INIT,
        steps_hours=[0, 3],
        bits_per_value=24,
    )
    out = open_forecast(path)
    expected = np.where(swe > 0, swe * 1000.0 / 300.0, 0.0)
    np.testing.assert_allclose(out.snow_depth, expected, atol=1e-5)
    np.testing.assert_allclose(out.wind10, 7.5, atol=1e-5)
    assert "model's snow density" in out.snow_depth.attrs["comment"]


# ------------------------------------------------------------------------------ writer


def test_writer_stores_rows_north_to_south_and_refuses_bad_input(tmp_path):
    shape = (1, LATS.size, LONS.size)
    field = np.arange(np.prod(shape), dtype=float).reshape(shape) + 250.0
    path = write_grib(
        tmp_path / "w.grib2",
        {"2t": field},
        lats=LATS,
        lons=LONS,
        init_time="2022-02-04T06:00",
        steps_hours=[0],
        bits_per_value=24,
    )
    eccodes = load_eccodes()
    with path.open("rb") as stream:
        handle = eccodes.codes_grib_new_from_file(stream)
        try:
            assert eccodes.codes_get(handle, "jScansPositively") == 0
            assert eccodes.codes_get(handle, "latitudeOfFirstGridPointInDegrees") == 40.5
            assert eccodes.codes_get(handle, "dataTime") == 600
            values = eccodes.codes_get_values(handle).reshape(LATS.size, LONS.size)
        finally:
            eccodes.codes_release(handle)
    np.testing.assert_allclose(values, field[0, ::-1], atol=1e-3)
    assert (path.stat().st_mode & 0o044) != 0  # not left private by the temporary file

    with pytest.raises(ValueError, match="shape"):
        write_grib(
            tmp_path / "x.grib2",
            {"2t": field[0]},
            lats=LATS,
            lons=LONS,
            init_time=INIT,
            steps_hours=[0],
        )
    with pytest.raises(ValueError, match="cannot write"):
        write_grib(
            tmp_path / "x.grib2",
            {"sdswrf": field},
            lats=LATS,
            lons=LONS,
            init_time=INIT,
            steps_hours=[0],
            style="ecmwf",
        )
    with pytest.raises(ValueError, match="needs step 6"):
        write_grib(
            tmp_path / "x.grib2",
            {"tp": np.zeros((2, *shape[1:]))},
            lats=LATS,
            lons=LONS,
            init_time=INIT,
            steps_hours=[3, 9],
            style="gfs",
        )
    assert not (tmp_path / "x.grib2").exists()
    assert not list(tmp_path.glob(".x.grib2.*"))  # no temporary file left behind
