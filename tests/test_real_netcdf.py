"""NetCDF as the models write it: WRF ``wrfout``, ICON unstructured cells, ERA5 from the new
CDS, CF curvilinear (rotated pole). The files are written here with netCDF4, with the variable
names, dimensions, types and attributes those models write (WRF-ARW User's Guide, wrfout
variables; DWD ICON database reference; ECMWF "GRIB to netCDF conversion on new CDS and ADS
systems"); the expected values are computed here independently of the reader."""

from __future__ import annotations

import logging
from pathlib import Path

import netCDF4
import numpy as np
import pyproj
import pytest

from bulletin.errors import ForecastError
from bulletin.forecast import open_forecast

# A WRF-like Lambert conformal domain over Zhangjiakou / Yanqing (WRF's sphere, R = 6370 km).
WRF_PROJ = pyproj.Proj(proj="lcc", lat_1=30.0, lat_2=60.0, lat_0=40.7, lon_0=115.0, R=6370000.0)
NY, NX = 9, 11
DX = 9000.0
START = "2022-02-04_00:00:00"


def _wrf_grid() -> tuple[np.ndarray, np.ndarray]:
    x = (np.arange(NX) - NX // 2) * DX + 40000.0
    y = (np.arange(NY) - NY // 2) * DX
    xx, yy = np.meshgrid(x, y)
    lon, lat = WRF_PROJ(xx, yy, inverse=True)
    return lat, lon


def _wrf_alpha(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Angle (radians) of the grid x axis anticlockwise from east: minus PROJ's meridian
    convergence (the angle from true north to grid north, clockwise)."""
    return -np.radians(WRF_PROJ.get_factors(lon, lat).meridian_convergence)


def _saturation_hpa(t_degc):
    return 6.1094 * np.exp(17.625 * t_degc / (t_degc + 243.04))


def _wrf_truth(n_times: int, first_hour: int = 0) -> dict[str, np.ndarray]:
    lat, lon = _wrf_grid()
    hours = np.arange(first_hour, first_hour + n_times)[:, None, None]
    t2 = 263.0 + 0.3 * hours + 0.1 * (lat - 40.0) + 0.05 * (lon - 115.0)
    rh = np.clip(55.0 + 2.0 * hours + 0.0 * lat, 0, 100)
    psfc = 90000.0 - 50.0 * (lon - 115.0) + 0.0 * hours
    # mixing ratio for that RH: e = RH e_s / 100, r = eps e / (p - e) (WMO-No. 8, Annex 4.B)
    e = rh / 100.0 * _saturation_hpa(t2 - 273.15) * 100.0
    q2 = 0.62198 * e / (psfc - e)
    u_earth = 6.0 + 0.2 * hours + 0.0 * lat
    v_earth = -3.0 + 0.0 * hours + 0.1 * (lat - 40.0)
    total_precip = 0.4 * hours**1.5 + 0.0 * lat
    return {
        "lat": lat,
        "lon": lon,
        "t2": t2,
        "rh": rh,
        "psfc": psfc,
        "q2": q2,
        "u": u_earth,
        "v": v_earth,
        "precip": total_precip,
        "hours": hours[:, 0, 0],
    }


def _write_wrfout(
    path: Path,
    n_times: int = 4,
    *,
    first_hour: int = 0,
    alpha: bool = True,
    drop: tuple[str, ...] = (),
    times: list[str] | None = None,
    moving: bool = False,
    bucket_mm: float = -1.0,
) -> tuple[Path, dict[str, np.ndarray]]:
    truth = _wrf_truth(n_times, first_hour)
    lat, lon = truth["lat"], truth["lon"]
    a = _wrf_alpha(lat, lon)
    # grid-relative components of the earth-relative truth (inverse rotation)
    u_grid = truth["u"] * np.cos(a) + truth["v"] * np.sin(a)
    v_grid = -truth["u"] * np.sin(a) + truth["v"] * np.cos(a)
    with netCDF4.Dataset(path, "w", format="NETCDF4") as nc:
        nc.createDimension("Time", None)
        nc.createDimension("DateStrLen", 19)
        nc.createDimension("south_north", NY)
        nc.createDimension("west_east", NX)
        nc.createDimension("bottom_top", 3)
        nc.createDimension("west_east_stag", NX + 1)
        nc.setncatts(
            {
                "TITLE": " OUTPUT FROM WRF V4.3 MODEL",
                "START_DATE": START,
                "SIMULATION_START_DATE": START,
                "WEST-EAST_GRID_DIMENSION": NX + 1,
                "SOUTH-NORTH_GRID_DIMENSION": NY + 1,
                "DX": DX,
                "DY": DX,
                "MAP_PROJ": 1,
                "MAP_PROJ_CHAR": "Lambert Conformal",
                "CEN_LAT": 40.7,
                "CEN_LON": 115.0,
                "TRUELAT1": 30.0,
                "TRUELAT2": 60.0,
                "MOAD_CEN_LAT": 40.7,
                "STAND_LON": 115.0,
                "BUCKET_MM": bucket_mm,
            }
        )
        stamps = times or [
            str(np.datetime64("2022-02-04T00:00") + np.timedelta64(int(h), "h")).replace("T", "_")
            + ":00"
            for h in truth["hours"]
        ]
        times_var = nc.createVariable("Times", "S1", ("Time", "DateStrLen"))
        times_var[:] = netCDF4.stringtochar(np.array(stamps, dtype="S19"))

        def var(name, values, units, description, dims=("Time", "south_north", "west_east")):
            if name in drop:
                return
            v = nc.createVariable(name, "f4", dims)
            v.FieldType = 104
            v.MemoryOrder = "XY "
            v.description = description
            v.units = units
            v.stagger = ""
            v.coordinates = "XLONG XLAT XTIME"
            v[:] = values

        shape = (n_times, NY, NX)
        lat_t = np.broadcast_to(lat, shape).copy()
        if moving:
            lat_t[-1] += 0.1
        var("XLAT", lat_t, "degree_north", "LATITUDE, SOUTH IS NEGATIVE")
        var("XLONG", np.broadcast_to(lon, shape), "degree_east", "LONGITUDE, WEST IS NEGATIVE")
        xtime = nc.createVariable("XTIME", "f4", ("Time",))
        xtime.units = "minutes since 2022-02-04 00:00:00"
        xtime.description = "minutes since 2022-02-04 00:00:00"
        xtime[:] = truth["hours"] * 60.0
        var("T2", truth["t2"], "K", "TEMP at 2 M")
        var("Q2", truth["q2"], "kg kg-1", "QV at 2 M")
        var("PSFC", truth["psfc"], "Pa", "SFC PRESSURE")
        var("U10", u_grid, "m s-1", "U at 10 M")
        var("V10", v_grid, "m s-1", "V at 10 M")
        if alpha:
            var("COSALPHA", np.broadcast_to(np.cos(a), shape), "", "Local cosine of map rotation")
            var("SINALPHA", np.broadcast_to(np.sin(a), shape), "", "Local sine of map rotation")
        var("HGT", np.broadcast_to(500.0 + 10.0 * (lat - 40.0), shape), "m", "Terrain Height")
        rainc, rainnc = 0.25 * truth["precip"], 0.75 * truth["precip"]
        if bucket_mm > 0:  # WRF's bucket option: I_RAIN* counts the emptied buckets
            for name, amount in (("I_RAINC", rainc), ("I_RAINNC", rainnc)):
                counter = nc.createVariable(name, "i4", ("Time", "south_north", "west_east"))
                counter.description = "BUCKET FOR " + name[2:]
                counter[:] = np.floor(amount / bucket_mm)
            rainc = rainc % bucket_mm
            rainnc = rainnc % bucket_mm
        var("RAINC", rainc, "mm", "ACCUMULATED TOTAL CUMULUS PRECIPITATION")
        var("RAINNC", rainnc, "mm", "ACCUMULATED TOTAL GRID SCALE PRECIPITATION")
        var("SWDOWN", np.full(shape, 300.0), "W m-2", "DOWNWARD SHORT WAVE FLUX AT GROUND SURFACE")
        var("SNOWH", np.full(shape, 0.4), "m", "PHYSICAL SNOW DEPTH")
        var("SNOW", np.full(shape, 100.0), "kg m-2", "SNOW WATER EQUIVALENT")
        var("WSPD10MAX", np.full(shape, 20.0), "m s-1", "WIND SPD MAX 10 M")
        var(
            "CLDFRA",
            np.full((n_times, 3, NY, NX), 0.5),
            "",
            "CLOUD FRACTION",
            dims=("Time", "bottom_top", "south_north", "west_east"),
        )
        var(
            "U",
            np.zeros((n_times, 3, NY, NX + 1)),
            "m s-1",
            "x-wind component",
            dims=("Time", "bottom_top", "south_north", "west_east_stag"),
        )
    return path, truth


# --------------------------------------------------------------------------- WRF


def test_wrfout_is_read_on_the_structured_layout(tmp_path, caplog):
    path, truth = _write_wrfout(tmp_path / "wrfout_d01_2022-02-04_00:00:00")
    with caplog.at_level(logging.INFO):
        ds = open_forecast(path)
    assert ds.attrs["grid_type"] == "wrf"
    assert ds.attrs["source_convention"] == "wrf"
    assert ds["t2m"].dims == ("time", "y", "x")
    assert ds["latitude"].dims == ("y", "x") and ds["longitude"].dims == ("y", "x")
    np.testing.assert_allclose(ds["latitude"].values, truth["lat"], atol=1e-4)
    np.testing.assert_allclose(ds["longitude"].values, truth["lon"], atol=1e-4)
    expected_times = np.datetime64("2022-02-04T00:00", "ns") + truth["hours"].astype(
        "timedelta64[h]"
    )
    np.testing.assert_array_equal(ds["time"].values, expected_times)
    assert ds["forecast_reference_time"].values == np.datetime64("2022-02-04T00:00", "ns")

    np.testing.assert_allclose(ds["t2m"].values, truth["t2"] - 273.15, atol=1e-3)
    np.testing.assert_allclose(ds["rh2m"].values, truth["rh"], atol=0.01)
    # earth-relative winds recovered from the grid-relative U10/V10 and COSALPHA/SINALPHA
    np.testing.assert_allclose(
        ds["u10"].values, np.broadcast_to(truth["u"], (4, NY, NX)), atol=1e-4
    )
    np.testing.assert_allclose(ds["v10"].values, truth["v"] + 0 * truth["t2"], atol=1e-4)
    np.testing.assert_allclose(
        ds["wind10"].values, np.hypot(truth["u"], truth["v"]) + 0 * truth["t2"], atol=1e-4
    )
    np.testing.assert_allclose(
        ds["orography"].values, 500.0 + 10.0 * (truth["lat"] - 40.0), atol=1e-3
    )
    np.testing.assert_allclose(ds["rsds"].values, 300.0)
    np.testing.assert_allclose(ds["snow_depth"].values, 0.4, atol=1e-6)
    # RAINC + RAINNC accumulated since the start: hourly rates are the differences
    precip = truth["precip"][:, 0, 0]
    assert np.isnan(ds["precip"].values[0]).all()  # step 0: empty window
    np.testing.assert_allclose(ds["precip"].values[1:, 0, 0], np.diff(precip), rtol=1e-5)
    assert "gust10" not in ds and "tcc" not in ds  # WSPD10MAX is no gust, CLDFRA is 3-D
    assert any("CLDFRA" in r.getMessage() for r in caplog.records)
    assert any(
        "total cloud cover" in r.getMessage() and "clear sky" in r.getMessage()
        for r in caplog.records
    )


def test_wrfout_without_cosalpha_rotates_from_the_coordinates(tmp_path):
    path, truth = _write_wrfout(tmp_path / "wrfout_d02", alpha=False)
    ds = open_forecast(path)
    np.testing.assert_allclose(ds["u10"].values, truth["u"] + 0 * truth["t2"], atol=0.01)
    np.testing.assert_allclose(ds["v10"].values, truth["v"] + 0 * truth["t2"], atol=0.01)


def test_hourly_wrfout_files_join_into_one_run(tmp_path):
    paths = []
    for hour in range(3):
        path, _ = _write_wrfout(tmp_path / f"wrfout_{hour:02d}", n_times=1, first_hour=hour)
        paths.append(path)
    ds = open_forecast(paths[::-1])
    assert ds.sizes["time"] == 3
    assert ds["forecast_reference_time"].values == np.datetime64("2022-02-04T00:00", "ns")
    _, truth = _write_wrfout(tmp_path / "all", n_times=3)
    np.testing.assert_allclose(ds["t2m"].values, truth["t2"] - 273.15, atol=1e-3)
    precip = truth["precip"][:, 0, 0]
    np.testing.assert_allclose(ds["precip"].values[1:, 0, 0], np.diff(precip), rtol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "fragments"),
    [
        ({"drop": ("PSFC",)}, ("Q2", "PSFC")),
        ({"drop": ("V10",)}, ("U10 without V10",)),
        ({"times": ["2022-02-04 00:00", "x", "y", "z"]}, ("Times", "YYYY-MM-DD_hh:mm:ss")),
        ({"moving": True}, ("XLAT", "moving nest")),
    ],
)
def test_malformed_wrfout_is_one_line(tmp_path, kwargs, fragments):
    path, _ = _write_wrfout(tmp_path / "wrfout_bad", **kwargs)
    with pytest.raises(ForecastError) as info:
        open_forecast(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    for fragment in fragments:
        assert fragment in message, message


# --------------------------------------------------------------------------- ICON


def _write_icon(path: Path, *, cdi_time: bool = True) -> tuple[Path, dict[str, np.ndarray]]:
    rng = np.random.default_rng(3)
    n_cells = 40
    clat = np.radians(rng.uniform(39.0, 42.0, n_cells))
    clon = np.radians(rng.uniform(113.0, 118.0, n_cells))
    t = 260.0 + np.arange(3)[:, None] + np.degrees(clat)[None, :] * 0.1
    with netCDF4.Dataset(path, "w", format="NETCDF4") as nc:
        nc.createDimension("ncells", n_cells)
        nc.createDimension("vertices", 3)
        nc.createDimension("time", None)
        nc.createDimension("height_2", 1)
        nc.createDimension("height_10", 1)
        nc.CDI = "Climate Data Interface version 2.0.5"
        nc.Conventions = "CF-1.6"
        nc.title = "ICON-D2 output"
        nc.number_of_grid_used = 47
        nc.uuidOfHGrid = "0f1e7d66-637e-11e8-913b-51232bb4d8f9"
        time = nc.createVariable("time", "f8", ("time",))
        time.standard_name = "time"
        time.axis = "T"
        if cdi_time:
            time.units = "day as %Y%m%d.%f"
            time.calendar = "proleptic_gregorian"
            time[:] = [20220204.0, 20220204.0 + 1 / 24, 20220204.0 + 2 / 24]
        else:
            time.units = "minutes since 2022-02-04 00:00:00"
            time.calendar = "proleptic_gregorian"
            time[:] = [0.0, 60.0, 120.0]
        for name, values, std in (("clat", clat, "latitude"), ("clon", clon, "longitude")):
            v = nc.createVariable(name, "f8", ("ncells",))
            v.standard_name = std
            v.long_name = f"center {std}"
            v.units = "radian"
            v.bounds = f"{name}_bnds"
            v[:] = values
            b = nc.createVariable(f"{name}_bnds", "f8", ("ncells", "vertices"))
            b[:] = values[:, None] + np.array([-0.001, 0.0, 0.001])
        for name, height in (("height_2", 2.0), ("height_10", 10.0)):
            h = nc.createVariable(name, "f8", (name,))
            h.standard_name = "height"
            h.units = "m"
            h.axis = "Z"
            h[:] = height

        def var(name, values, units, std, height, long_name):
            v = nc.createVariable(name, "f4", ("time", height, "ncells"))
            v.standard_name = std
            v.long_name = long_name
            v.units = units
            v.param = "0.0.0"
            v.CDI_grid_type = "unstructured"
            v.number_of_grid_in_reference = 1
            v.coordinates = "clat clon"
            v[:] = values[:, None, :]

        var("t_2m", t, "K", "air_temperature", "height_2", "Temperature")
        var("td_2m", t - 4.0, "K", "dew_point_temperature", "height_2", "Dew point temperature")
        var("u_10m", np.full((3, n_cells), 3.0), "m s-1", "eastward_wind", "height_10", "U")
        var("v_10m", np.full((3, n_cells), 4.0), "m s-1", "northward_wind", "height_10", "V")
        var(
            "vmax_10m",
            np.full((3, n_cells), 9.0),
            "m s-1",
            "wind_speed_of_gust",
            "height_10",
            "gust",
        )
        clct = nc.createVariable("clct", "f4", ("time", "ncells"))
        clct.standard_name = "cloud_area_fraction"
        clct.units = "%"
        clct.coordinates = "clat clon"
        clct[:] = np.full((3, n_cells), 40.0)
    return path, {"lat": np.degrees(clat), "lon": np.degrees(clon), "t": t}


@pytest.mark.parametrize("cdi_time", [True, False])
def test_icon_cells_are_read_on_the_unstructured_layout(tmp_path, cdi_time):
    path, truth = _write_icon(tmp_path / "icon.nc", cdi_time=cdi_time)
    ds = open_forecast(path)
    assert ds.attrs["grid_type"] == "unstructured"
    assert ds["t2m"].dims == ("time", "cell")
    assert ds["latitude"].dims == ("cell",)
    np.testing.assert_allclose(ds["latitude"].values, truth["lat"], atol=1e-6)
    np.testing.assert_allclose(ds["longitude"].values, truth["lon"], atol=1e-6)
    np.testing.assert_array_equal(
        ds["time"].values,
        np.datetime64("2022-02-04T00:00", "ns") + np.arange(3).astype("timedelta64[h]"),
    )
    np.testing.assert_allclose(ds["t2m"].values, truth["t"] - 273.15, atol=1e-4)
    np.testing.assert_allclose(ds["wind10"].values, 5.0, atol=1e-5)
    np.testing.assert_allclose(ds["gust10"].values, 9.0)
    np.testing.assert_allclose(ds["tcc"].values, 0.4, atol=1e-6)
    es = _saturation_hpa
    expected_rh = 100 * es(truth["t"] - 277.15) / es(truth["t"] - 273.15)
    np.testing.assert_allclose(ds["rh2m"].values, expected_rh, rtol=1e-4)


def test_icon_time_that_is_no_date_is_one_line(tmp_path):
    path, _ = _write_icon(tmp_path / "icon.nc")
    with netCDF4.Dataset(path, "a") as nc:
        nc["time"][:] = [20221399.0, 20221399.5, 20221400.0]
    with pytest.raises(ForecastError, match=r"not a date YYYYMMDD") as info:
        open_forecast(path)
    assert "\n" not in str(info.value) and "icon.nc" in str(info.value)


# --------------------------------------------------------------------------- ERA5 (new CDS)


def _write_era5_cds(path: Path, *, stream: str = "instant") -> tuple[Path, dict[str, np.ndarray]]:
    """As the new CDS writes ERA5 single levels (cfgrib-based converter): dimension
    ``valid_time``, latitudes 90..-90, longitudes 0..359.75, ``number`` and ``expver``
    coordinates, cfgrib's GRIB_* variable attributes; ``stream`` "instant" or "accum" (the
    CDS delivers each stepType in its own file), or "both" (the two merged by a user)."""
    lat = np.arange(90.0, -90.1, -22.5)
    lon = np.arange(0.0, 360.0, 45.0)
    hours = np.arange(3)
    base = np.datetime64("2022-02-04T00:00", "s").astype(np.int64)
    grid = np.add.outer(lat, lon)
    t2m = 250.0 + hours[:, None, None] + 0.1 * grid[None]
    with netCDF4.Dataset(path, "w", format="NETCDF4") as nc:
        nc.GRIB_centre = "ecmf"
        nc.GRIB_centreDescription = "European Centre for Medium-Range Weather Forecasts"
        nc.GRIB_subCentre = 0
        nc.Conventions = "CF-1.7"
        nc.institution = "European Centre for Medium-Range Weather Forecasts"
        nc.history = "2024-09-10T09:08 GRIB to CDM+CF via cfgrib-0.9.14.1/ecCodes-2.36.0"
        nc.createDimension("valid_time", hours.size)
        nc.createDimension("latitude", lat.size)
        nc.createDimension("longitude", lon.size)
        number = nc.createVariable("number", "i8", ())
        number.long_name = "ensemble member numerical id"
        number.units = "1"
        number.standard_name = "realization"
        number.assignValue(0)
        vt = nc.createVariable("valid_time", "i8", ("valid_time",))
        vt.long_name = "time"
        vt.standard_name = "time"
        vt.units = "seconds since 1970-01-01"
        vt.calendar = "proleptic_gregorian"
        vt[:] = base + hours * 3600
        for name, values, std, units in (
            ("latitude", lat, "latitude", "degrees_north"),
            ("longitude", lon, "longitude", "degrees_east"),
        ):
            v = nc.createVariable(name, "f8", (name,))
            v.standard_name = std
            v.long_name = std
            v.units = units
            v[:] = values
        expver = nc.createVariable("expver", str, ("valid_time",))
        expver.long_name = "Experiment version"
        for i in range(hours.size):
            expver[i] = "0001"

        def var(name, short, param_id, values, units, long_name, step_type="instant"):
            v = nc.createVariable(name, "f4", ("valid_time", "latitude", "longitude"))
            v.GRIB_paramId = param_id
            v.GRIB_dataType = "an" if step_type == "instant" else "fc"
            v.GRIB_numberOfPoints = lat.size * lon.size
            v.GRIB_typeOfLevel = "surface"
            v.GRIB_stepUnits = 1
            v.GRIB_stepType = step_type
            v.GRIB_gridType = "regular_ll"
            v.GRIB_units = units
            v.GRIB_name = long_name
            v.GRIB_shortName = short
            v.GRIB_cfVarName = name
            v.long_name = long_name
            v.units = units
            v.standard_name = "unknown"
            v.coordinates = "number valid_time latitude longitude expver"
            v[:] = values

        if stream in ("accum", "both"):
            tp = np.full(t2m.shape, 0.0004)
            var("tp", "tp", 228, tp, "m", "Total precipitation", step_type="accum")
        if stream == "accum":
            return path, {"lat": lat, "lon": lon, "t2m": t2m}
        var("t2m", "2t", 167, t2m, "K", "2 metre temperature")
        var("d2m", "2d", 168, t2m - 3.0, "K", "2 metre dewpoint temperature")
        var("u10", "10u", 165, np.full(t2m.shape, -4.0), "m s**-1", "10 metre U wind component")
        var("v10", "10v", 166, np.full(t2m.shape, 3.0), "m s**-1", "10 metre V wind component")
        var("i10fg", "i10fg", 228029, np.full(t2m.shape, 11.0), "m s**-1", "Instantaneous gust")
    return path, {"lat": lat, "lon": lon, "t2m": t2m}


def test_era5_from_the_new_cds_is_read_as_a_global_regular_grid(tmp_path):
    path, truth = _write_era5_cds(tmp_path / "data_stream-oper_stepType-instant.nc")
    ds = open_forecast(path)
    assert ds.attrs["grid_type"] == "regular_ll"
    assert ds.attrs["global_longitude"] == 1
    assert "forecast_reference_time" not in ds.coords and "member" not in ds.dims
    assert ds["t2m"].dims == ("time", "latitude", "longitude")
    np.testing.assert_array_equal(ds["latitude"].values, truth["lat"][::-1])
    np.testing.assert_array_equal(ds["longitude"].values, np.arange(-180.0, 180.0, 45.0))
    # an independent look-up: (lat 45, lon 270 = -90) in the file's own order
    i, j = int(np.flatnonzero(truth["lat"] == 45.0)[0]), int(np.flatnonzero(truth["lon"] == 270)[0])
    got = ds["t2m"].sel(latitude=45.0, longitude=-90.0).values
    np.testing.assert_allclose(got, truth["t2m"][:, i, j] - 273.15, atol=1e-4)
    np.testing.assert_allclose(ds["wind10"].values, 5.0, atol=1e-5)
    np.testing.assert_allclose(ds["u10"].values, -4.0)
    np.testing.assert_allclose(ds["gust10"].values, 11.0)


# --------------------------------------------------------------------------- CF curvilinear


def _write_rotated_pole(path: Path, *, grid_relative: bool) -> tuple[Path, dict]:
    """A COSMO-like CF file: rotated-pole rlat/rlon, 2-D lat/lon, ``grid_mapping``."""
    crs = pyproj.CRS.from_cf(
        {
            "grid_mapping_name": "rotated_latitude_longitude",
            "grid_north_pole_latitude": 40.0,
            "grid_north_pole_longitude": -170.0,
        }
    )
    rlat = np.linspace(-1.0, 1.0, 7)
    rlon = np.linspace(-1.5, 1.5, 9)
    rr_lon, rr_lat = np.meshgrid(rlon, rlat)
    to_geo = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = to_geo.transform(rr_lon, rr_lat)
    t = 265.0 + 0.2 * (lat - 50.0)[None] + np.arange(2)[:, None, None]
    with netCDF4.Dataset(path, "w", format="NETCDF4") as nc:
        nc.Conventions = "CF-1.8"
        nc.createDimension("time", None)
        nc.createDimension("rlat", rlat.size)
        nc.createDimension("rlon", rlon.size)
        time = nc.createVariable("time", "f8", ("time",))
        time.standard_name = "time"
        time.units = "hours since 2022-02-04 00:00:00"
        time[:] = [0.0, 1.0]
        for name, values, std in (
            ("rlat", rlat, "grid_latitude"),
            ("rlon", rlon, "grid_longitude"),
        ):
            v = nc.createVariable(name, "f8", (name,))
            v.standard_name = std
            v.units = "degrees"
            v[:] = values
        for name, values, std, units in (
            ("lat", lat, "latitude", "degrees_north"),
            ("lon", lon, "longitude", "degrees_east"),
        ):
            v = nc.createVariable(name, "f8", ("rlat", "rlon"))
            v.standard_name = std
            v.units = units
            v[:] = values
        mapping = nc.createVariable("rotated_pole", "i4", ())
        mapping.grid_mapping_name = "rotated_latitude_longitude"
        mapping.grid_north_pole_latitude = 40.0
        mapping.grid_north_pole_longitude = -170.0

        def var(name, values, std, units):
            v = nc.createVariable(name, "f4", ("time", "rlat", "rlon"))
            v.standard_name = std
            v.units = units
            v.coordinates = "lat lon"
            v.grid_mapping = "rotated_pole"
            v[:] = values

        var("T_2M", t, "air_temperature", "K")
        var("RELHUM_2M", np.full(t.shape, 70.0), "relative_humidity", "%")
        if grid_relative:
            # a wind blowing from the west everywhere, in the rotated grid's components
            cos_a, sin_a = _rotation_by_projection(to_geo, rr_lon, rr_lat)
            u_e, v_e = 10.0, 0.0
            var(
                "U_10M",
                np.broadcast_to(u_e * cos_a + v_e * sin_a, t.shape),
                "grid_eastward_wind",
                "m s-1",
            )
            var(
                "V_10M",
                np.broadcast_to(-u_e * sin_a + v_e * cos_a, t.shape),
                "grid_northward_wind",
                "m s-1",
            )
        else:
            var("U_10M", np.full(t.shape, 10.0), "eastward_wind", "m s-1")
            var("V_10M", np.zeros(t.shape), "northward_wind", "m s-1")
    return path, {"lat": lat, "lon": lon, "t": t}


def _rotation_by_projection(to_geo, rr_lon, rr_lat, step=1e-4):
    """cos/sin of the grid x axis against east, by moving a tiny step along the rotated
    longitude with PROJ (independent of the reader's finite differences)."""
    lon0, lat0 = to_geo.transform(rr_lon, rr_lat)
    lon1, lat1 = to_geo.transform(rr_lon + step, rr_lat)
    east = (lon1 - lon0) * np.cos(np.radians(lat0))
    north = lat1 - lat0
    norm = np.hypot(east, north)
    return east / norm, north / norm


@pytest.mark.parametrize("grid_relative", [False, True])
def test_cf_curvilinear_rotated_pole_is_read_on_the_structured_layout(tmp_path, grid_relative):
    path, truth = _write_rotated_pole(tmp_path / "cosmo.nc", grid_relative=grid_relative)
    ds = open_forecast(path)
    assert ds.attrs["grid_type"] == "curvilinear"
    assert ds["t2m"].dims == ("time", "y", "x")
    np.testing.assert_allclose(ds["latitude"].values, truth["lat"], atol=1e-9)
    np.testing.assert_allclose(ds["longitude"].values, truth["lon"], atol=1e-9)
    np.testing.assert_allclose(ds["t2m"].values, truth["t"] - 273.15, atol=1e-4)
    np.testing.assert_allclose(ds["u10"].values, 10.0, atol=0.01)
    np.testing.assert_allclose(ds["v10"].values, 0.0, atol=0.01)


# --------------------------------------------------------------------------- venues


def _nearest_idw(lat2d, lon2d, field, venue_lat, venue_lon, k=4):
    """Independent check: haversine distances to every cell, the ``k`` nearest, weights
    1/d**2 (Shepard 1968, exponent 2)."""
    lat = np.radians(np.asarray(lat2d, dtype=np.float64).reshape(-1))
    lon = np.radians(np.asarray(lon2d, dtype=np.float64).reshape(-1))
    p, q = np.radians(venue_lat), np.radians(venue_lon)
    h = np.sin((lat - p) / 2) ** 2 + np.cos(p) * np.cos(lat) * np.sin((lon - q) / 2) ** 2
    distance = 2 * np.arcsin(np.sqrt(h))
    nearest = np.argsort(distance)[:k]
    weights = 1.0 / distance[nearest] ** 2
    values = np.asarray(field, dtype=np.float64).reshape(field.shape[0], -1)[:, nearest]
    return values @ (weights / weights.sum())


@pytest.mark.parametrize("layout", ["wrf", "icon", "curvilinear"])
def test_venue_values_on_each_layout_match_the_nearest_points(tmp_path, layout):
    from bulletin.extract import extract_venues
    from bulletin.venues import Venue

    if layout == "wrf":
        path, truth = _write_wrfout(tmp_path / "wrfout_d01")
        lat, lon, t = truth["lat"], truth["lon"], truth["t2"]
    elif layout == "icon":
        path, truth = _write_icon(tmp_path / "icon.nc")
        lat, lon, t = truth["lat"], truth["lon"], truth["t"]
    else:
        path, truth = _write_rotated_pole(tmp_path / "cosmo.nc", grid_relative=True)
        lat, lon, t = truth["lat"], truth["lon"], truth["t"]
    # a venue well inside the grid (near the middle of its cells), off any cell
    venue = Venue(
        "v", "Venue", float(np.mean(lat)) + 0.013, float(np.mean(lon)) + 0.021, elevation_m=900.0
    )
    ds = open_forecast(path)
    at = extract_venues(ds, [venue], lapse_rate_correction=False)
    expected = _nearest_idw(lat, lon, t - 273.15, venue.lat, venue.lon)
    np.testing.assert_allclose(at["t2m"].isel(venue=0).values, expected, atol=1e-3)


def test_icon_gust_and_wind_direction_reach_the_venue_table(tmp_path):
    from bulletin.extract import venue_table
    from bulletin.venues import Venue

    path, truth = _write_icon(tmp_path / "icon.nc")
    venue = Venue(
        "v",
        "Venue",
        float(np.mean(truth["lat"])),
        float(np.mean(truth["lon"])),
        elevation_m=900.0,
        timezone="Asia/Shanghai",
    )
    table = venue_table(open_forecast(path), [venue])
    np.testing.assert_allclose(table["wind_gust_kmh"].astype(float), 9.0 * 3.6, atol=0.1)
    # u = 3, v = 4 m/s blows towards the north-east: from 180 + atan2(3, 4) = 216.9 degrees
    np.testing.assert_allclose(table["wind_direction_deg"].astype(float), 216.87, atol=0.5)


def test_each_fallback_is_logged_naming_what_was_looked_for(tmp_path, caplog):
    path, _ = _write_era5_cds(tmp_path / "era5.nc")
    with caplog.at_level(logging.INFO, logger="bulletin.forecast"):
        open_forecast(path)
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]

    def line(what: str) -> str:
        found = [m for m in lines if m.startswith(f"no {what} in ")]
        assert len(found) == 1, (what, lines)
        return found[0]

    assert "GRIB shortName tcc" in line("total cloud cover (0-1)")
    assert "clear sky" in line("total cloud cover (0-1)")
    assert "climatology" in line("total column ozone")
    assert "standard_name surface_snow_thickness" in line("physical snow depth")
    assert "GRIB shortName tp" in line(
        "precipitation rate, liquid water equivalent (mean over the preceding interval)"
    )
    assert "GRIB shortName vis" in line("horizontal visibility")
    assert "venue elevation" in line("model surface height (2-D)")
    # the file has winds and a gust: no line for them
    assert not [m for m in lines if "wind direction" in m or "wind gusts" in m]


def test_era5_cds_accumulations_without_windows_are_left_out_with_a_warning(tmp_path, caplog):
    path, _ = _write_era5_cds(tmp_path / "era5_merged.nc", stream="both")
    with caplog.at_level(logging.WARNING, logger="bulletin.forecast"):
        ds = open_forecast(path)
    assert "t2m" in ds and "precip" not in ds
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("'tp'" in m and "time bounds" in m and "era5_merged.nc" in m for m in warnings)


def test_era5_cds_accumulation_file_alone_is_one_line(tmp_path):
    accum, _ = _write_era5_cds(tmp_path / "data_stream-oper_stepType-accum.nc", stream="accum")
    with pytest.raises(ForecastError) as info:
        open_forecast(accum)
    message = str(info.value)
    assert "\n" not in message and "stepType-accum.nc" in message
    assert "'tp'" in message and "no time bounds" in message


def test_latitudes_beyond_90_degrees_are_one_line(tmp_path):
    path, _ = _write_icon(tmp_path / "icon.nc")
    with netCDF4.Dataset(path, "a") as nc:  # degrees labelled as radians
        nc["clat"][:] = np.degrees(nc["clat"][:])
    with pytest.raises(ForecastError) as info:
        open_forecast(path)
    message = str(info.value)
    assert "\n" not in message and "icon.nc" in message
    assert "latitude 'clat'" in message and "beyond 90" in message and "'radian'" in message


def test_wrfout_with_wrong_units_is_one_line(tmp_path):
    path, _ = _write_wrfout(tmp_path / "wrfout_units")
    with netCDF4.Dataset(path, "a") as nc:
        nc["Q2"].units = "g kg-1"
    with pytest.raises(ForecastError) as info:
        open_forecast(path)
    message = str(info.value)
    assert "\n" not in message and "wrfout_units" in message
    assert "Q2" in message and "'g kg-1'" in message


def test_wrfout_precipitation_buckets_are_added_back(tmp_path):
    path, truth = _write_wrfout(tmp_path / "wrfout_bucket", n_times=6, bucket_mm=1.0)
    with netCDF4.Dataset(path) as nc:
        assert int(np.max(nc["I_RAINNC"][:])) >= 2  # the buckets were emptied
    ds = open_forecast(path)
    precip = truth["precip"][:, 0, 0]
    np.testing.assert_allclose(ds["precip"].values[1:, 0, 0], np.diff(precip), rtol=1e-4)
