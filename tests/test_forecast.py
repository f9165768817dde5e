"""open_forecast on real files written here: ECMWF- and GFS-style GRIB2, CF NetCDF (netCDF4,
h5netcdf, classic), Zarr, ensembles, time bounds, laziness."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dask
import dask.array
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from dask.callbacks import Callback

from bulletin.errors import ForecastError
from bulletin.forecast import DEFAULT_SNOW_DENSITY_KG_M3, open_forecast
from bulletin.readers.cf import open_cf
from bulletin.readers.detect import Format, detect_format
from bulletin.readers.eccodes_loader import load_eccodes
from bulletin.schema import FIELDS_BY_NAME

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "samples"))
from grib_writer import write_grib

INIT = pd.Timestamp("2022-02-04T12:00")
LATS = np.array([39.5, 40.0, 40.5])  # ascending; the writer stores them north to south
LONS = np.array([115.0, 115.5, 116.0, 116.5])


def _truth(steps: np.ndarray, lats=LATS, lons=LONS, seed: int = 1) -> dict[str, np.ndarray]:
    """Physically plausible fields on (step, lat, lon); rates are means over the interval
    that ends at each step (the first over 0..step[0])."""
    rng = np.random.default_rng(seed)
    shape = (steps.size, lats.size, lons.size)
    hours = steps[:, None, None].astype(float)
    t_c = -8 + 6 * np.sin(2 * np.pi * hours / 24) + rng.normal(0, 1, shape)
    rh = np.clip(55 + 25 * np.sin(hours / 5) + rng.normal(0, 5, shape), 10, 98)
    return {
        "t_c": t_c,
        "rh": rh,
        "td_c": _dewpoint(t_c, rh),
        "u": rng.normal(2, 4, shape),
        "v": rng.normal(-1, 4, shape),
        "tcc": rng.uniform(0, 1, shape),
        "rsds": np.clip(500 * np.sin(np.pi * (hours - 1) / 10), 0, None)
        * rng.uniform(0.5, 1, shape),
        "precip": rng.gamma(0.5, 0.6, shape),
        "snowfall": rng.gamma(0.5, 0.3, shape),
        "snow_depth": rng.uniform(0, 0.8, shape),
        "msl": rng.normal(102000, 300, shape),
        "vis": rng.uniform(200, 30000, shape),
        "orog": rng.uniform(50, 2100, shape[1:]),
    }


def _dewpoint(t_c: np.ndarray, rh: np.ndarray) -> np.ndarray:
    """Inverse of the reader's Magnus formula (Alduchov & Eskridge 1996)."""
    a, b = 17.625, 243.04
    gamma = np.log(rh / 100.0) + a * t_c / (b + t_c)
    return b * gamma / (a - gamma)


def _since_start(rate_per_hour: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Accumulation from step 0 of interval mean rates (first interval: 0..steps[0])."""
    dt = np.diff(steps, prepend=0).astype(float)[:, None, None]
    return np.cumsum(rate_per_hour * dt, axis=0)


def _write_ecmwf(path: Path, truth: dict, steps: np.ndarray, **kwargs) -> Path:
    fields = {
        "2t": truth["t_c"] + 273.15,
        "2d": truth["td_c"] + 273.15,
        "10u": truth["u"],
        "10v": truth["v"],
        "tcc": truth["tcc"],
        "ssrd": _since_start(truth["rsds"] * 3600.0, steps),  # J m-2
        "tp": _since_start(truth["precip"], steps) / 1000.0,  # m
        "sf": _since_start(truth["snowfall"], steps) / 1000.0,  # m of water equivalent
        "sd": truth["snow_depth"] * DEFAULT_SNOW_DENSITY_KG_M3 / 1000.0,  # m of water equivalent
        "msl": truth["msl"],
    }
    if "members" in kwargs:
        # Same fields for every member, except a temperature offset of +member K.
        fields = {k: np.stack([v] * len(kwargs["members"])) for k, v in fields.items()}
        fields["2t"] = fields["2t"] + np.asarray(kwargs["members"])[:, None, None, None]
    return write_grib(
        path,
        fields,
        lats=LATS,
        lons=LONS,
        init_time=INIT,
        steps_hours=steps,
        style="ecmwf",
        orography=truth["orog"],
        bits_per_value=24,
        **kwargs,
    )


def _grib_keys(path: Path, short_name: str, key: str) -> list[str]:
    eccodes = load_eccodes()
    found = []
    with path.open("rb") as stream:
        while (handle := eccodes.codes_grib_new_from_file(stream)) is not None:
            if eccodes.codes_get(handle, "shortName") == short_name:
                found.append(str(eccodes.codes_get(handle, key)))
            eccodes.codes_release(handle)
    return found


def _assert_schema(ds: xr.Dataset) -> None:
    for name, var in ds.data_vars.items():
        spec = FIELDS_BY_NAME[name]
        assert var.dtype == np.float32, name
        assert var.attrs["standard_name"] == spec.standard_name
        assert var.attrs["units"] == spec.units
        assert var.attrs["long_name"] == spec.long_name
    assert np.all(np.diff(ds["latitude"].values) > 0)
    assert np.all(np.diff(ds["longitude"].values) > 0)
    assert ds["longitude"].min() >= -180 and ds["longitude"].max() < 180
    assert np.all(np.diff(ds["time"].values) > np.timedelta64(0))


def test_ecmwf_grib_round_trip(tmp_path):
    steps = np.arange(0, 13)
    truth = _truth(steps)
    path = _write_ecmwf(tmp_path / "ifs.grib2", truth, steps)
    assert set(_grib_keys(path, "tp", "stepRange")) == {f"0-{s}" if s else "0" for s in steps}

    ds = open_forecast(path)
    _assert_schema(ds)
    assert ds.attrs["source_convention"] == "ecmwf"
    assert ds.attrs["source_files"] == [str(path.resolve())]
    assert ds["forecast_reference_time"].values == np.datetime64(INIT)
    np.testing.assert_array_equal(ds["time"].values, (INIT + pd.to_timedelta(steps, "h")).values)
    np.testing.assert_allclose(ds["latitude"], LATS)
    np.testing.assert_allclose(ds.t2m, truth["t_c"], atol=1e-3)
    np.testing.assert_allclose(ds.rh2m, truth["rh"], atol=0.01)
    np.testing.assert_allclose(ds.wind10, np.hypot(truth["u"], truth["v"]), atol=1e-3)
    np.testing.assert_allclose(ds.tcc, truth["tcc"], atol=1e-5)
    np.testing.assert_allclose(ds.snow_depth, truth["snow_depth"], atol=1e-4)
    np.testing.assert_allclose(ds.msl, truth["msl"], atol=0.1)
    np.testing.assert_allclose(ds.orography, truth["orog"], atol=0.01)
    # Accumulated from step 0: step 0 has an empty window, later steps the interval means.
    for name in ("rsds", "precip", "snowfall"):
        assert np.isnan(ds[name][0]).all(), name
    np.testing.assert_allclose(ds.rsds[1:], truth["rsds"][1:], atol=0.05)
    np.testing.assert_allclose(ds.precip[1:], truth["precip"][1:], atol=1e-3)
    np.testing.assert_allclose(ds.snowfall[1:], truth["snowfall"][1:], atol=1e-3)


def test_ecmwf_first_step_after_zero_is_mean_since_start(tmp_path):
    steps = np.array([6, 12, 18])
    truth = _truth(steps)
    ds = open_forecast(_write_ecmwf(tmp_path / "late.grib2", truth, steps))
    np.testing.assert_allclose(ds.precip, truth["precip"], atol=1e-3)  # 0-6 h mean first


def _write_gfs(path: Path, truth: dict, steps: np.ndarray, lats, lons) -> Path:
    fields = {
        "2t": truth["t_c"] + 273.15,
        "2r": truth["rh"],
        "10u": truth["u"],
        "10v": truth["v"],
        "tcc": truth["tcc"] * 100.0,  # percent
        # Averages and accumulations since step 0; the writer re-bases them to 6-h windows.
        "sdswrf": _since_start(truth["rsds"], steps) / np.maximum(steps, 1)[:, None, None],
        "tp": _since_start(truth["precip"], steps),  # kg m-2
        "sde": truth["snow_depth"],
        "prmsl": truth["msl"],
        "vis": truth["vis"],
    }
    return write_grib(
        path,
        fields,
        lats=lats,
        lons=lons,
        init_time=INIT,
        steps_hours=steps,
        style="gfs",
        orography=truth["orog"],
        bits_per_value=24,
    )


def test_gfs_grib_round_trip_with_6_hour_resets_and_0_360_longitudes(tmp_path):
    steps = np.arange(0, 13)
    lats = np.array([30.0, 0.0, -30.0])  # north to south, as GFS
    lons = np.arange(0.0, 360.0, 30.0)  # 0..330
    truth = _truth(steps, lats, lons)
    path = _write_gfs(tmp_path / "gfs.grib2", truth, steps, lats, lons)
    windows = _grib_keys(path, "tp", "stepRange")
    assert "0-6" in windows and "6-7" in windows and "6-12" in windows

    ds = open_forecast(path)
    _assert_schema(ds)
    assert ds.attrs["source_convention"] == "gfs"
    order = np.argsort((lons + 180) % 360 - 180)
    np.testing.assert_allclose(ds["longitude"], np.arange(-180.0, 180.0, 30.0))
    np.testing.assert_allclose(ds["latitude"], lats[::-1])

    def expected(array):  # truth on the file grid -> schema order
        return array[..., ::-1, :][..., order]

    np.testing.assert_allclose(ds.t2m, expected(truth["t_c"]), atol=1e-3)
    np.testing.assert_allclose(ds.rh2m, expected(truth["rh"]), atol=1e-3)
    np.testing.assert_allclose(ds.tcc, expected(truth["tcc"]), atol=1e-5)
    np.testing.assert_allclose(ds.snow_depth, expected(truth["snow_depth"]), atol=1e-5)
    np.testing.assert_allclose(ds.visibility, expected(truth["vis"]), atol=0.01)
    np.testing.assert_allclose(ds.orography, expected(truth["orog"]), atol=0.01)
    # GFS has no accumulation at the analysis step; then 6-hourly resetting windows.
    assert np.isnan(ds.precip[0]).all() and np.isnan(ds.rsds[0]).all()
    np.testing.assert_allclose(ds.precip[1:], expected(truth["precip"])[1:], atol=1e-3)
    np.testing.assert_allclose(ds.rsds[1:], expected(truth["rsds"])[1:], atol=0.01)


def test_gfs_precipitation_rate_averages_and_snow_water_equivalent(tmp_path):
    """Without APCP and SNOD: PRATE (6-hour resetting averages) and WEASD (kg m-2)."""
    steps = np.arange(0, 13, 3)
    truth = _truth(steps)
    fields = {
        "2t": truth["t_c"] + 273.15,
        "2r": truth["rh"],
        "10u": truth["u"],
        "10v": truth["v"],
        # mean rate since step 0, kg m-2 s-1
        "prate": _since_start(truth["precip"], steps)
        / np.maximum(steps, 1)[:, None, None]
        / 3600.0,
        "sdwe": truth["snow_depth"] * DEFAULT_SNOW_DENSITY_KG_M3,
    }
    path = write_grib(
        tmp_path / "gfs.grib2",
        fields,
        lats=LATS,
        lons=LONS,
        init_time=INIT,
        steps_hours=steps,
        style="gfs",
        bits_per_value=24,
    )
    assert set(_grib_keys(path, "prate", "stepRange")) == {"0-3", "0-6", "6-9", "6-12"}
    ds = open_forecast(path)
    assert np.isnan(ds.precip[0]).all()
    np.testing.assert_allclose(ds.precip[1:], truth["precip"][1:], atol=1e-3)
    np.testing.assert_allclose(ds.snow_depth, truth["snow_depth"], atol=1e-5)


def test_gfs_cloud_layers_and_averages_do_not_shadow_total_cloud(tmp_path):
    """Real GFS files carry TCDC on several layers and as 6-hour averages under one paramId;
    only the instantaneous entire-atmosphere field is the total cloud cover."""
    steps = np.arange(0, 7, 3)
    truth = _truth(steps)
    path = _write_gfs(tmp_path / "gfs.grib2", truth, steps, LATS, LONS)
    eccodes = load_eccodes()
    extra = []
    with path.open("rb") as stream:
        while (handle := eccodes.codes_grib_new_from_file(stream)) is not None:
            if eccodes.codes_get(handle, "shortName") == "tcc":
                step = eccodes.codes_get(handle, "endStep", ktype=int)
                low = eccodes.codes_clone(handle)  # TCDC:low cloud layer
                eccodes.codes_set(low, "typeOfFirstFixedSurface", 214)
                eccodes.codes_set_values(low, np.full(LATS.size * LONS.size, 3.0))
                extra.append(eccodes.codes_get_message(low))
                eccodes.codes_release(low)
                if step > 0:  # TCDC:entire atmosphere:0-N hour ave
                    ave = eccodes.codes_clone(handle)
                    eccodes.codes_set(ave, "productDefinitionTemplateNumber", 8)
                    eccodes.codes_set(ave, "typeOfStatisticalProcessing", 0)
                    eccodes.codes_set(ave, "stepRange", f"0-{step}")
                    eccodes.codes_set_values(ave, np.full(LATS.size * LONS.size, 97.0))
                    extra.append(eccodes.codes_get_message(ave))
                    eccodes.codes_release(ave)
            eccodes.codes_release(handle)
    with path.open("ab") as stream:
        stream.write(b"".join(extra))
    assert "lowCloudLayer" in _grib_keys(path, "tcc", "typeOfLevel")
    assert "avg" in _grib_keys(path, "tcc", "stepType")

    ds = open_forecast(path)
    np.testing.assert_allclose(ds.tcc, truth["tcc"], atol=1e-5)


def test_gfs_one_file_per_step(tmp_path):
    steps = np.arange(0, 13, 3)
    truth = _truth(steps)
    whole = _write_gfs(tmp_path / "all.grib2", truth, steps, LATS, LONS)
    # Split the messages into one file per step, as NOMADS serves them.
    eccodes = load_eccodes()
    per_step: dict[int, list[bytes]] = {}
    with whole.open("rb") as stream:
        while (handle := eccodes.codes_grib_new_from_file(stream)) is not None:
            end = eccodes.codes_get(handle, "endStep", ktype=int)
            per_step.setdefault(end, []).append(eccodes.codes_get_message(handle))
            eccodes.codes_release(handle)
    paths = []
    for step, messages in sorted(per_step.items(), reverse=True):  # order must not matter
        paths.append(tmp_path / f"gfs.f{step:03d}")
        paths[-1].write_bytes(b"".join(messages))

    ds = open_forecast(paths)
    reference = open_forecast(whole)
    assert len(ds.attrs["source_files"]) == len(steps)
    xr.testing.assert_allclose(ds.drop_attrs(), reference.drop_attrs())
    np.testing.assert_allclose(ds.precip[1:], truth["precip"][1:], atol=1e-3)


def test_grib1_with_step_0_amount_encoded_as_instant(tmp_path):
    """GRIB edition 1 (ERA5-style files) read through the same path; an encoder that writes
    the empty step-0 accumulation as an instantaneous field does not break the windows."""
    eccodes = load_eccodes()
    path = tmp_path / "era.grib1"
    with path.open("wb") as stream:
        for step in (0, 6):
            for short_name, value in (
                ("2t", 270.0),
                ("2d", 265.0),
                ("10u", 3.0),
                ("10v", -4.0),
                ("tp", 0.002 * step),
            ):
                handle = eccodes.codes_grib_new_from_samples("regular_ll_sfc_grib1")
                for key, setting in (
                    ("centre", "ecmf"),
                    ("Ni", LONS.size),
                    ("Nj", LATS.size),
                    ("latitudeOfFirstGridPointInDegrees", LATS[-1]),
                    ("latitudeOfLastGridPointInDegrees", LATS[0]),
                    ("longitudeOfFirstGridPointInDegrees", LONS[0]),
                    ("longitudeOfLastGridPointInDegrees", LONS[-1]),
                    ("iDirectionIncrementInDegrees", 0.5),
                    ("jDirectionIncrementInDegrees", 0.5),
                    ("dataDate", int(INIT.strftime("%Y%m%d"))),
                    ("dataTime", INIT.hour * 100),
                    ("shortName", short_name),
                ):
                    eccodes.codes_set(handle, key, setting)
                if short_name == "tp" and step:
                    eccodes.codes_set(handle, "timeRangeIndicator", 4)  # accumulation
                    eccodes.codes_set(handle, "stepRange", f"0-{step}")
                else:
                    eccodes.codes_set(handle, "stepRange", str(step))
                eccodes.codes_set_values(handle, np.full(LATS.size * LONS.size, value))
                eccodes.codes_write(handle, stream)
                eccodes.codes_release(handle)
    assert _grib_keys(path, "tp", "stepType") == ["instant", "accum"]
    assert _grib_keys(path, "2t", "stepRange") == ["0", "6"]

    ds = open_forecast(path)
    assert ds.attrs["source_convention"] == "ecmwf"
    np.testing.assert_allclose(ds.t2m, -3.15, atol=1e-3)
    np.testing.assert_allclose(ds.wind10, 5.0, atol=1e-4)
    assert np.isnan(ds.precip[0]).all()
    np.testing.assert_allclose(ds.precip[1], 2.0, atol=1e-4)  # 12 mm in 6 h


def test_ensemble_grib(tmp_path):
    steps = np.arange(0, 7, 3)
    truth = _truth(steps)
    members = [0, 1, 2]
    ds = open_forecast(_write_ecmwf(tmp_path / "ens.grib2", truth, steps, members=members))
    assert ds.t2m.dims == ("member", "time", "latitude", "longitude")
    np.testing.assert_array_equal(ds["member"], members)
    for m in members:
        np.testing.assert_allclose(ds.t2m.sel(member=m), truth["t_c"] + m, atol=1e-3)
    np.testing.assert_allclose(ds.precip.sel(member=2)[1:], truth["precip"][1:], atol=1e-3)
    assert ds.orography.dims == ("latitude", "longitude")


def _cf_dataset(truth: dict, steps: np.ndarray) -> xr.Dataset:
    """CMIP-style CF dataset: lat descending, lon in 0..360, fluxes and percent cloud."""
    times = INIT + pd.to_timedelta(steps, "h")
    dims = ("time", "lat", "lon")
    flip = slice(None, None, -1)

    def var(values, standard_name, units, **attrs):
        return (
            dims,
            values[:, flip, :].astype(np.float32),
            {"standard_name": standard_name, "units": units, **attrs},
        )

    return xr.Dataset(
        {
            "tas": var(truth["t_c"] + 273.15, "air_temperature", "K"),
            "hurs": var(truth["rh"], "relative_humidity", "%"),
            "uas": var(truth["u"], "eastward_wind", "m s-1"),
            "vas": var(truth["v"], "northward_wind", "m s-1"),
            "clt": var(truth["tcc"] * 100, "cloud_area_fraction", "%"),
            "rsds": var(truth["rsds"], "surface_downwelling_shortwave_flux_in_air", "W m-2"),
            "pr": var(truth["precip"] / 3600.0, "precipitation_flux", "kg m-2 s-1"),
            "snd": var(truth["snow_depth"], "surface_snow_thickness", "m"),
            "psl": var(truth["msl"] / 100.0, "air_pressure_at_mean_sea_level", "hPa"),
            "orog": (
                ("lat", "lon"),
                truth["orog"][flip],
                {"standard_name": "surface_altitude", "units": "m"},
            ),
        },
        coords={
            "time": ("time", times.values, {"standard_name": "time", "axis": "T"}),
            "lat": ("lat", LATS[flip], {"standard_name": "latitude", "units": "degrees_north"}),
            "lon": ("lon", LONS, {"standard_name": "longitude", "units": "degrees_east"}),
            "forecast_reference_time": (
                (),
                np.datetime64(INIT, "ns"),
                {"standard_name": "forecast_reference_time"},
            ),
        },
        attrs={"Conventions": "CF-1.8"},
    )


def _check_cf(ds: xr.Dataset, truth: dict) -> None:
    _assert_schema(ds)
    assert ds.attrs["source_convention"] == "cf"
    np.testing.assert_allclose(ds.t2m, truth["t_c"], atol=1e-3)
    np.testing.assert_allclose(ds.rh2m, truth["rh"], atol=1e-3)
    np.testing.assert_allclose(ds.wind10, np.hypot(truth["u"], truth["v"]), rtol=1e-5)
    np.testing.assert_allclose(ds.tcc, truth["tcc"], atol=1e-5)
    np.testing.assert_allclose(ds.rsds, truth["rsds"], rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(ds.precip, truth["precip"], rtol=1e-5)
    np.testing.assert_allclose(ds.msl, truth["msl"], rtol=1e-6)
    np.testing.assert_allclose(ds.orography, truth["orog"], rtol=1e-6)
    assert "snowfall" not in ds and "uv_index_model" not in ds


@pytest.mark.parametrize(
    ("engine", "fmt", "expected"),
    [
        ("netcdf4", "NETCDF4", Format.NETCDF4),
        ("h5netcdf", "NETCDF4", Format.NETCDF4),
        ("netcdf4", "NETCDF3_64BIT", Format.NETCDF3),
        ("netcdf4", "NETCDF3_CLASSIC", Format.NETCDF3),
        ("scipy", "NETCDF3_64BIT", Format.NETCDF3),
    ],
)
def test_cf_netcdf(tmp_path, engine, fmt, expected):
    steps = np.arange(0, 6)
    truth = _truth(steps)
    path = tmp_path / "forecast.data"  # no suffix: the content decides
    _cf_dataset(truth, steps).to_netcdf(path, engine=engine, format=fmt)
    assert detect_format(path) is expected
    _check_cf(open_forecast(path), truth)


@pytest.mark.parametrize("compression", ["zstd", "bzip2", "zlib"])
def test_cf_netcdf4_compressed_by_netcdf_c(tmp_path, compression):
    # netCDF-C 4.9+ writes these filters (HDF5 registered filters 32015 and 307; zlib is
    # HDF5's deflate); they read through hdf5plugin's filters for h5py.
    steps = np.arange(0, 4)
    truth = _truth(steps)
    ds = _cf_dataset(truth, steps)
    encoding = {name: {"compression": compression, "complevel": 4} for name in ds.data_vars}
    path = tmp_path / f"{compression}.nc"
    ds.to_netcdf(path, engine="netcdf4", encoding=encoding)
    _check_cf(open_forecast(path), truth)


def test_cdf5_is_a_one_line_error_naming_the_format(tmp_path):
    steps = np.arange(0, 3)
    path = tmp_path / "cdf5.nc"
    _cf_dataset(_truth(steps), steps).to_netcdf(path, engine="netcdf4", format="NETCDF3_64BIT_DATA")
    with pytest.raises(ForecastError, match=r"CDF-5 .* nccopy -k netCDF-4") as info:
        open_forecast(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_h5netcdf_engine_reads_netcdf4(tmp_path):
    steps = np.arange(0, 3)
    path = tmp_path / "f.nc"
    _cf_dataset(_truth(steps), steps).to_netcdf(path, engine="netcdf4")
    raw = open_cf(path, Format.NETCDF4, None, engines=("h5netcdf",))
    assert raw["tas"].attrs["standard_name"] == "air_temperature"


def test_zarr_store(tmp_path):
    steps = np.arange(0, 4)
    truth = _truth(steps)
    path = tmp_path / "forecast.zarr"
    _cf_dataset(truth, steps).to_zarr(path, consolidated=False)
    assert detect_format(path) is Format.ZARR
    _check_cf(open_forecast(path), truth)


def test_cf_dewpoint_matches_metpy(tmp_path):
    import metpy.calc
    from metpy.units import units

    steps = np.arange(0, 3)
    truth = _truth(steps)
    ds = _cf_dataset(truth, steps).drop_vars("hurs")
    ds["tdps"] = ds["tas"].copy(data=(truth["td_c"][:, ::-1, :]).astype(np.float32))
    ds["tdps"].attrs = {"standard_name": "dew_point_temperature", "units": "degC"}
    path = tmp_path / "dew.nc"
    ds.to_netcdf(path)

    out = open_forecast(path)
    reference = (
        metpy.calc.relative_humidity_from_dewpoint(
            units.Quantity(truth["t_c"], "degC"), units.Quantity(truth["td_c"], "degC")
        )
        .to("percent")
        .magnitude
    )
    # MetPy uses Bolton's (1980) Magnus coefficients; they differ from Alduchov & Eskridge's
    # by < 0.2 % RH over -35..35 °C.
    np.testing.assert_allclose(out.rh2m, reference, atol=0.25)
    assert "Alduchov" in out.rh2m.attrs["comment"]


def test_cf_amounts_with_time_bounds_reset_every_6_hours(tmp_path):
    steps = np.arange(1, 13)
    truth = _truth(steps)
    times = INIT + pd.to_timedelta(steps, "h")
    starts = INIT + pd.to_timedelta((steps - 1) // 6 * 6, "h")
    window_amount = np.empty_like(truth["precip"])
    for k, step in enumerate(steps):
        in_window = (steps > (step - 1) // 6 * 6) & (steps <= step)
        window_amount[k] = truth["precip"][in_window].sum(axis=0)
    ds = _cf_dataset(truth, steps).drop_vars(["pr", "rsds"])
    ds["precip_amount"] = (
        ("time", "lat", "lon"),
        window_amount[:, ::-1, :],
        {"standard_name": "precipitation_amount", "units": "kg m-2", "cell_methods": "time: sum"},
    )
    ds = ds.drop_vars("forecast_reference_time")  # windows must come from the bounds
    ds["time_bnds"] = (("time", "bnds"), np.stack([starts.values, times.values], axis=1))
    ds["time"].attrs["bounds"] = "time_bnds"
    ds["time"].encoding["units"] = ds["time_bnds"].encoding["units"] = "hours since 2022-02-04"
    path = tmp_path / "bounds.nc"
    ds.to_netcdf(path)

    out = open_forecast(path)
    assert "forecast_reference_time" not in out.coords
    np.testing.assert_allclose(out.precip, truth["precip"], rtol=1e-5, atol=1e-6)


def test_ensemble_netcdf_realization(tmp_path):
    steps = np.arange(0, 3)
    truth = _truth(steps)
    base = _cf_dataset(truth, steps)
    ens = xr.concat([base, base], dim="realization")
    ens["tas"] = (ens["tas"] + xr.DataArray([0.0, 2.0], dims="realization")).assign_attrs(
        base["tas"].attrs
    )
    ens["orog"] = base["orog"]
    ens = ens.assign_coords(realization=("realization", [5, 7], {"standard_name": "realization"}))
    path = tmp_path / "ens.nc"
    ens.to_netcdf(path)

    out = open_forecast(path)
    np.testing.assert_array_equal(out["member"], [5, 7])
    np.testing.assert_allclose(out.t2m.sel(member=7), truth["t_c"] + 2.0, atol=1e-3)
    assert out.orography.dims == ("latitude", "longitude")

    # One member per file, as a scalar realization coordinate: concatenated along member.
    per_member = []
    for member in (7, 5):
        one = ens.sel(realization=member)
        assert one["realization"].ndim == 0
        per_member.append(tmp_path / f"member{member}.nc")
        one.to_netcdf(per_member[-1])
    xr.testing.assert_identical(open_forecast(per_member).drop_attrs(), out.drop_attrs())


def test_partial_nans_are_carried_through(tmp_path):
    steps = np.arange(0, 4)
    truth = _truth(steps)
    truth["t_c"][1, 0, 2] = np.nan
    truth["rh"][2, 1, 1] = np.nan
    grib = _write_ecmwf(tmp_path / "holes.grib2", truth, steps)
    ds = open_forecast(grib)
    assert np.isnan(ds.t2m[1, 0, 2]) and np.isnan(ds.rh2m[1, 0, 2])  # RH needs T
    assert int(np.isnan(ds.t2m).sum()) == 1
    np.testing.assert_allclose(ds.t2m[0], truth["t_c"][0], atol=1e-3)

    nc = tmp_path / "holes.nc"
    _cf_dataset(truth, steps).to_netcdf(nc)
    out = open_forecast(nc)
    assert np.isnan(out.rh2m[2, 1, 1]) and int(np.isnan(out.rh2m).sum()) == 1


class _ComputeCounter(Callback):
    def __init__(self):
        super().__init__()
        self.computes = 0

    def _start(self, dsk):
        self.computes += 1


@pytest.mark.parametrize("kind", ["grib", "netcdf"])
def test_chunks_keep_the_result_lazy_and_compute_once(tmp_path, kind):
    steps = np.arange(0, 7)
    truth = _truth(steps)
    if kind == "grib":
        path = _write_ecmwf(tmp_path / "lazy.grib2", truth, steps)
    else:
        path = tmp_path / "lazy.nc"
        _cf_dataset(truth, steps).to_netcdf(path)
    with _ComputeCounter() as counter:
        ds = open_forecast(path, chunks={"time": 3})
    assert counter.computes == 1  # the validation reductions, all in one graph
    for name, var in ds.data_vars.items():
        assert isinstance(var.data, dask.array.Array), name
    assert ds.t2m.chunks[0] == (3, 3, 1)
    np.testing.assert_allclose(ds.t2m.compute(), truth["t_c"], atol=1e-3)
    assert dask.is_dask_collection(ds.precip)


def test_open_then_pyproj_exits_cleanly(tmp_path):
    """eccodes bundles PROJ and loads it globally; pyproj imported later used to crash the
    interpreter (segfault at exit). bulletin.forecast imports pyproj first."""
    steps = np.arange(0, 2)
    path = tmp_path / "f.nc"
    _cf_dataset(_truth(steps), steps).to_netcdf(path)
    code = (
        "import sys; from bulletin.forecast import open_forecast; "
        f"open_forecast({str(path)!r}); import pyproj; "
        "print(pyproj.CRS.from_epsg(4326).name)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "WGS 84" in result.stdout


def test_ecmwf_maximum_gust_is_read_as_the_gust(tmp_path):
    """ECMWF 10fg (paramId 49) is the maximum gust over the preceding window, GRIB2 product
    template 4.8 with typeOfStatisticalProcessing 2 (stepType max): read as ``gust10``, at the
    window's end; the wind speed 10si stays the wind."""
    steps = np.array([0, 6, 12])
    shape = (steps.size, LATS.size, LONS.size)
    t = np.full(shape, 270.0)
    source = write_grib(
        tmp_path / "base.grib2",
        {"2t": t, "2d": t - 3.0, "10si": np.full(shape, 5.0)},
        lats=LATS,
        lons=LONS,
        init_time=INIT,
        steps_hours=steps,
        style="ecmwf",
    )
    eccodes = load_eccodes()
    path = tmp_path / "gust.grib2"
    with source.open("rb") as stream, path.open("wb") as out:
        while (handle := eccodes.codes_grib_new_from_file(stream)) is not None:
            eccodes.codes_write(handle, out)
            step = eccodes.codes_get(handle, "step")
            if eccodes.codes_get(handle, "shortName") == "10si" and step > 0:
                eccodes.codes_set(handle, "productDefinitionTemplateNumber", 8)
                eccodes.codes_set(handle, "typeOfStatisticalProcessing", 2)
                eccodes.codes_set(handle, "stepRange", f"{step - 6}-{step}")
                eccodes.codes_set(handle, "paramId", 49)
                eccodes.codes_set_values(handle, np.full(LATS.size * LONS.size, 14.0))
                assert eccodes.codes_get(handle, "shortName") == "10fg"
                eccodes.codes_write(handle, out)
            eccodes.codes_release(handle)
    ds = open_forecast(path)
    assert ds["gust10"].attrs["standard_name"] == "wind_speed_of_gust"
    assert np.isnan(ds["gust10"].values[0]).all()  # no gust message at step 0
    np.testing.assert_allclose(ds["gust10"].values[1:], 14.0, atol=0.01)
    np.testing.assert_allclose(ds["wind10"].values, 5.0, atol=0.01)
    assert "u10" not in ds  # a speed without components gives no direction
