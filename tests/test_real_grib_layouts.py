"""Every grid layout a forecast centre writes, read to the venues.

Each file is written with ecCodes on the grid of a real model family (global 0-360 and
-180..180 regular grids crossing the dateline, ECMWF N and O reduced Gaussian grids, a
COSMO-like rotated grid, an Eta/NAM-like Lambert grid, a CMC-like polar stereographic grid,
a Mercator grid), with every required field. The venue values are checked against an
independent computation: the four nearest grid points by great-circle distance over the
points' coordinates as ecCodes gives them, and the analytic field at the venue. Grid-relative
winds (a uniform 10 m s-1 westerly written in grid components with the projection's own
convergence formula) must come back as that westerly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from bulletin.extract import extract_venues
from bulletin.forecast import open_forecast
from bulletin.readers.eccodes_loader import load_eccodes
from bulletin.venues import Venue

EARTH_RADIUS_M = 6371229.0  # shapeOfTheEarth 6 (WMO Code table 3.2)
WESTERLY_MS = 10.0


@dataclass(frozen=True)
class Layout:
    sample: str
    keys: dict
    venues: tuple[tuple[float, float], ...]
    dims: tuple[str, ...]
    grid_type: str
    pl: tuple[int, ...] | None = None
    #: Bearing of the grid's y axis from true north (degrees) at (lat, lon), for grid-relative
    #: winds; None when the winds are written east/north.
    grid_north: object = None
    #: Humidity field written: relative humidity (2r) or, where the edition's tables have no
    #: 2r (ECMWF GRIB1), dew point (2d).
    humidity: str = "2r"


def _lambert_north(lat, lon):
    # Tangent Lambert conformal: convergence = n (lon - LoV), n = sin(Latin) (Snyder 1987,
    # USGS Prof. Paper 1395, eq. 15-4 and the convergence of meridians).
    return np.sin(np.radians(25.0)) * (((lon - 265.0) + 180.0) % 360.0 - 180.0)


def _polar_north(lat, lon):
    # North polar stereographic: grid north turns with longitude one for one (Snyder 1987,
    # chapter 21).
    return ((lon - 249.0) + 180.0) % 360.0 - 180.0


def _rotated_north(lat, lon):
    # Initial bearing from the point to the rotated north pole (40 N, 190 E): spherical
    # trigonometry (great-circle initial course).
    phi1, phi2 = np.radians(lat), np.radians(40.0)
    dlon = np.radians(190.0 - lon)
    y = np.sin(dlon) * np.cos(phi2)
    x = np.cos(phi1) * np.sin(phi2) - np.sin(phi1) * np.cos(phi2) * np.cos(dlon)
    return np.degrees(np.arctan2(y, x))


def _laea_north(lat, lon):
    # Numerically from PROJ's forward projection: the direction true north takes on the
    # projection plane, 1e-4 degree north of the point.
    import pyproj

    proj = pyproj.Proj(f"+proj=laea +lat_0=52 +lon_0=10 +R={EARTH_RADIUS_M}")
    x0, y0 = proj(lon, lat)
    x1, y1 = proj(lon, lat + 1e-4)
    return -np.degrees(np.arctan2(x1 - x0, y1 - y0))


_O32_PL = tuple(20 + 4 * i for i in range(32))

LAYOUTS = {
    "regular_ll_0_360": Layout(
        "regular_ll_sfc_grib2",
        dict(
            Ni=144,
            Nj=73,
            latitudeOfFirstGridPointInDegrees=90.0,
            longitudeOfFirstGridPointInDegrees=0.0,
            latitudeOfLastGridPointInDegrees=-90.0,
            longitudeOfLastGridPointInDegrees=357.5,
            iDirectionIncrementInDegrees=2.5,
            jDirectionIncrementInDegrees=2.5,
        ),
        venues=((40.0, 178.9), (10.0, -1.0), (-30.0, 359.2), (61.0, -45.0)),
        dims=("latitude", "longitude"),
        grid_type="regular_ll",
    ),
    "regular_ll_0_360_closed": Layout(  # 0 and 360 both written, as some archives do
        "regular_ll_sfc_grib2",
        dict(
            Ni=145,
            Nj=73,
            latitudeOfFirstGridPointInDegrees=90.0,
            longitudeOfFirstGridPointInDegrees=0.0,
            latitudeOfLastGridPointInDegrees=-90.0,
            longitudeOfLastGridPointInDegrees=360.0,
            iDirectionIncrementInDegrees=2.5,
            jDirectionIncrementInDegrees=2.5,
        ),
        venues=((40.0, 178.9), (10.0, -1.0), (-30.0, 0.3)),
        dims=("latitude", "longitude"),
        grid_type="regular_ll",
    ),
    "regular_ll_180": Layout(
        "regular_ll_sfc_grib2",
        dict(
            Ni=144,
            Nj=73,
            latitudeOfFirstGridPointInDegrees=-90.0,
            longitudeOfFirstGridPointInDegrees=-180.0,
            latitudeOfLastGridPointInDegrees=90.0,
            longitudeOfLastGridPointInDegrees=177.5,
            iDirectionIncrementInDegrees=2.5,
            jDirectionIncrementInDegrees=2.5,
            jScansPositively=1,
        ),
        venues=((40.0, 179.0), (-20.0, -179.5), (45.0, 7.0)),
        dims=("latitude", "longitude"),
        grid_type="regular_ll",
    ),
    "reduced_gg_n48": Layout(
        "reduced_gg_pl_48_grib2",
        {},
        venues=((46.0, 7.5), (40.5, 115.9), (-33.9, 151.2), (64.0, -179.9)),
        dims=("cell",),
        grid_type="reduced_gg",
    ),
    "reduced_gg_o32": Layout(
        "reduced_gg_pl_32_grib2",
        dict(N=32),
        venues=((46.0, 7.5), (40.5, 115.9), (70.0, 179.5)),
        dims=("cell",),
        grid_type="reduced_gg",
        pl=_O32_PL + _O32_PL[::-1],
    ),
    "rotated_ll": Layout(
        "rotated_ll_sfc_grib2",
        dict(
            Ni=41,
            Nj=31,
            latitudeOfFirstGridPointInDegrees=-3.0,
            longitudeOfFirstGridPointInDegrees=-4.0,
            latitudeOfLastGridPointInDegrees=3.0,
            longitudeOfLastGridPointInDegrees=4.0,
            iDirectionIncrementInDegrees=0.2,
            jDirectionIncrementInDegrees=0.2,
            jScansPositively=1,
            latitudeOfSouthernPoleInDegrees=-40.0,
            longitudeOfSouthernPoleInDegrees=10.0,
            uvRelativeToGrid=1,
        ),
        venues=((50.5, 10.5), (47.4, 11.0), (52.0, 14.5)),
        dims=("y", "x"),
        grid_type="rotated_ll",
        grid_north=_rotated_north,
    ),
    "lambert": Layout(
        "regular_ll_sfc_grib2",
        dict(
            gridDefinitionTemplateNumber=30,
            shapeOfTheEarth=6,
            Nx=40,
            Ny=30,
            latitudeOfFirstGridPointInDegrees=30.0,
            longitudeOfFirstGridPointInDegrees=250.0,
            LaDInDegrees=25.0,
            LoVInDegrees=265.0,
            Latin1InDegrees=25.0,
            Latin2InDegrees=25.0,
            DxInMetres=40000.0,
            DyInMetres=40000.0,
            jScansPositively=1,
            uvRelativeToGrid=1,
        ),
        venues=((35.0, -105.0), (39.0, -96.0), (33.0, -108.0)),
        dims=("y", "x"),
        grid_type="lambert",
        grid_north=_lambert_north,
    ),
    "polar_stereographic": Layout(
        "regular_ll_sfc_grib2",
        dict(
            gridDefinitionTemplateNumber=20,
            shapeOfTheEarth=6,
            Nx=40,
            Ny=30,
            latitudeOfFirstGridPointInDegrees=40.0,
            longitudeOfFirstGridPointInDegrees=230.0,
            LaDInDegrees=60.0,
            orientationOfTheGridInDegrees=249.0,
            DxInMetres=60000.0,
            DyInMetres=60000.0,
            jScansPositively=1,
            resolutionAndComponentFlags=8,  # Code table 3.3 bit 5: relative to the grid
        ),
        venues=((50.0, -115.0), (53.5, -113.5), (47.0, -122.0)),
        dims=("y", "x"),
        grid_type="polar_stereographic",
        grid_north=_polar_north,
    ),
    "regular_gg": Layout(
        "regular_gg_sfc_grib2",
        {},
        venues=((46.0, 7.5), (40.5, 115.9), (-80.0, 179.9), (0.0, -0.5)),
        dims=("latitude", "longitude"),
        grid_type="regular_gg",
    ),
    "regular_ll_grib1": Layout(
        "regular_ll_sfc_grib1",
        dict(
            Ni=144,
            Nj=73,
            latitudeOfFirstGridPointInDegrees=90.0,
            longitudeOfFirstGridPointInDegrees=0.0,
            latitudeOfLastGridPointInDegrees=-90.0,
            longitudeOfLastGridPointInDegrees=357.5,
            iDirectionIncrementInDegrees=2.5,
            jDirectionIncrementInDegrees=2.5,
        ),
        venues=((40.0, 178.9), (10.0, -1.0)),
        dims=("latitude", "longitude"),
        grid_type="regular_ll",
        humidity="2d",
    ),
    "rotated_ll_grib1": Layout(
        "rotated_ll_sfc_grib1",
        dict(
            Ni=41,
            Nj=31,
            latitudeOfFirstGridPointInDegrees=-3.0,
            longitudeOfFirstGridPointInDegrees=-4.0,
            latitudeOfLastGridPointInDegrees=3.0,
            longitudeOfLastGridPointInDegrees=4.0,
            iDirectionIncrementInDegrees=0.2,
            jDirectionIncrementInDegrees=0.2,
            jScansPositively=1,
            latitudeOfSouthernPoleInDegrees=-40.0,
            longitudeOfSouthernPoleInDegrees=10.0,
            uvRelativeToGrid=1,
        ),
        venues=((50.5, 10.5), (47.4, 11.0)),
        dims=("y", "x"),
        grid_type="rotated_ll",
        grid_north=_rotated_north,
        humidity="2d",
    ),
    "lambert_azimuthal_equal_area": Layout(
        "regular_ll_sfc_grib2",
        dict(
            gridDefinitionTemplateNumber=140,
            shapeOfTheEarth=6,
            Nx=40,
            Ny=30,
            latitudeOfFirstGridPointInDegrees=44.0,
            longitudeOfFirstGridPointInDegrees=0.0,
            standardParallelInDegrees=52.0,
            centralLongitudeInDegrees=10.0,
            xDirectionGridLengthInMetres=40000.0,
            yDirectionGridLengthInMetres=40000.0,
            jScansPositively=1,
            resolutionAndComponentFlags=8,
        ),
        venues=((48.0, 8.0), (51.0, 14.0), (46.5, 3.0)),
        dims=("y", "x"),
        grid_type="lambert_azimuthal_equal_area",
        grid_north=_laea_north,
    ),
    "mercator": Layout(
        "regular_ll_sfc_grib2",
        dict(
            gridDefinitionTemplateNumber=10,
            shapeOfTheEarth=6,
            Ni=40,
            Nj=30,
            latitudeOfFirstGridPointInDegrees=20.0,
            longitudeOfFirstGridPointInDegrees=100.0,
            latitudeOfLastGridPointInDegrees=30.0,
            longitudeOfLastGridPointInDegrees=112.0,
            LaDInDegrees=20.0,
            DiInMetres=33000.0,
            DjInMetres=38000.0,
            jScansPositively=1,
            orientationOfTheGridInDegrees=0.0,
        ),
        venues=((22.0, 108.0), (25.0, 102.7), (28.2, 111.0)),
        dims=("y", "x"),
        grid_type="mercator",
    ),
}


def temperature_k(lat, lon, step: int):
    """A smooth field on the sphere, continuous across the dateline and the poles."""
    lat_r, lon_r = np.radians(lat), np.radians(lon)
    return 265.0 + 10.0 * np.sin(lat_r) + 5.0 * np.cos(lat_r) * np.cos(lon_r - 0.5) + step


def _number_of_points(layout: Layout, eccodes, handle) -> int:
    if layout.pl is not None:
        return sum(layout.pl)
    for ni, nj in (("Ni", "Nj"), ("Nx", "Ny")):
        if ni in layout.keys:
            return layout.keys[ni] * layout.keys[nj]
    return int(eccodes.codes_get(handle, "numberOfPoints"))


def write_layout(path: Path, layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """2t, 2r, 10u, 10v at steps 0 and 1 h on ``layout``; returns the points' (lat, lon) as
    ecCodes computes them from the grid description."""
    eccodes = load_eccodes()
    points = None
    with path.open("wb") as stream:
        for step in (0, 1):
            for name in ("2t", layout.humidity, "10u", "10v"):
                handle = eccodes.codes_grib_new_from_samples(layout.sample)
                try:
                    for key, value in layout.keys.items():
                        eccodes.codes_set(handle, key, value)
                    if layout.pl is not None:
                        eccodes.codes_set_array(handle, "pl", list(layout.pl))
                    size = _number_of_points(layout, eccodes, handle)
                    eccodes.codes_set_values(handle, np.zeros(size))
                    lat = np.asarray(eccodes.codes_get_array(handle, "latitudes"))
                    lon = np.asarray(eccodes.codes_get_array(handle, "longitudes"))
                    points = (lat, lon)
                    eccodes.codes_set(handle, "dataDate", 20220204)
                    eccodes.codes_set(handle, "dataTime", 0)
                    eccodes.codes_set(handle, "shortName", name)
                    eccodes.codes_set(handle, "stepRange", str(step))
                    gamma = (
                        np.zeros(size)
                        if layout.grid_north is None
                        else np.radians(layout.grid_north(lat, lon))
                    )
                    values = {
                        "2t": temperature_k(lat, lon, step),
                        "2r": np.full(size, 70.0),
                        "2d": temperature_k(lat, lon, step) - 5.0,
                        # grid components of a westerly: u_g = U cos g, v_g = U sin g
                        "10u": WESTERLY_MS * np.cos(gamma),
                        "10v": WESTERLY_MS * np.sin(gamma),
                    }[name]
                    eccodes.codes_set(handle, "bitsPerValue", 24)
                    eccodes.codes_set_values(handle, values)
                    eccodes.codes_write(handle, stream)
                finally:
                    eccodes.codes_release(handle)
    assert points is not None
    return points


def _great_circle(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlon = np.radians(lon2 - lon1)
    return np.arccos(
        np.clip(np.sin(p1) * np.sin(p2) + np.cos(p1) * np.cos(p2) * np.cos(dlon), -1.0, 1.0)
    )


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_layout_is_read_to_the_venues(tmp_path, name):
    layout = LAYOUTS[name]
    path = tmp_path / f"{name}.grib2"
    lat, lon = write_layout(path, layout)
    ds = open_forecast(path)
    assert ds.attrs["grid_type"] == layout.grid_type
    assert tuple(d for d in ds["t2m"].dims if d not in ("time", "member")) == layout.dims
    if layout.dims == ("latitude", "longitude"):
        assert ds.attrs.get("global_longitude") == 1
    assert float(ds["longitude"].min()) >= -180.0 and float(ds["longitude"].max()) <= 180.0

    venues = [
        Venue(f"v{i}", f"V{i}", vlat, vlon, 0.0, timezone="UTC")
        for i, (vlat, vlon) in enumerate(layout.venues)
    ]
    at = extract_venues(ds, venues, lapse_rate_correction=False)
    for k, (vlat, vlon) in enumerate(layout.venues):
        nearest = np.argsort(_great_circle(vlat, vlon, lat, lon))[:4]
        for step in (0, 1):
            got_c = float(at["t2m"].isel(time=step, venue=k))
            neighbours = temperature_k(lat[nearest], lon[nearest], step) - 273.15
            assert neighbours.min() - 0.01 <= got_c <= neighbours.max() + 0.01, (
                name,
                (vlat, vlon),
                got_c,
                neighbours,
            )
            expected = temperature_k(vlat, vlon, step) - 273.15
            assert abs(got_c - expected) < 0.6, (name, (vlat, vlon), got_c, expected)
    np.testing.assert_allclose(at["u10"].values, WESTERLY_MS, atol=0.05)
    np.testing.assert_allclose(at["v10"].values, 0.0, atol=0.05)
    np.testing.assert_allclose(at["wind10"].values, WESTERLY_MS, atol=0.05)


def test_lambert_coordinates_agree_with_proj(tmp_path):
    # The 2-D coordinates of the Lambert grid, against PROJ run on the grid definition:
    # first point + i Dx, j Dy in the projection plane.
    import pyproj

    layout = LAYOUTS["lambert"]
    path = tmp_path / "lambert.grib2"
    write_layout(path, layout)
    ds = open_forecast(path)
    proj = pyproj.Proj(
        f"+proj=lcc +lat_1=25 +lat_2=25 +lat_0=25 +lon_0=265 +R={EARTH_RADIUS_M} +units=m"
    )
    x0, y0 = proj(250.0 - 360.0, 30.0)
    x = x0 + 40000.0 * np.arange(40)
    y = y0 + 40000.0 * np.arange(30)
    xx, yy = np.meshgrid(x, y)
    lon, lat = proj(xx, yy, inverse=True)
    np.testing.assert_allclose(ds["latitude"].values, lat, atol=1e-4)
    np.testing.assert_allclose(ds["longitude"].values, lon, atol=1e-4)


def test_grid_relative_winds_are_left_when_the_grid_says_earth_relative(tmp_path):
    # The same Lambert file with the component flag cleared: the grid components are then
    # east/north already and must not be turned.
    layout = LAYOUTS["lambert"]
    keys = dict(layout.keys, uvRelativeToGrid=0)
    plain = Layout(layout.sample, keys, layout.venues, layout.dims, layout.grid_type)
    assert plain.grid_north is None
    path = tmp_path / "lambert_earth.grib2"
    write_layout(path, plain)
    ds = open_forecast(path)
    np.testing.assert_allclose(ds["u10"].values, WESTERLY_MS, atol=0.01)
    np.testing.assert_allclose(ds["v10"].values, 0.0, atol=0.01)


def _write_plain(path: Path, messages: list[dict]) -> None:
    """Messages on a 2.5 degree global grid, each dict of ecCodes keys (set in order)."""
    eccodes = load_eccodes()
    layout = LAYOUTS["regular_ll_0_360"]
    with path.open("wb") as stream:
        for keys in messages:
            handle = eccodes.codes_grib_new_from_samples(layout.sample)
            try:
                for key, value in {**layout.keys, **keys}.items():
                    if not key.startswith("_"):
                        eccodes.codes_set(handle, key, value)
                eccodes.codes_set_values(handle, np.full(144 * 73, float(keys["_value"])))
                eccodes.codes_write(handle, stream)
            finally:
                eccodes.codes_release(handle)


_VALUES = {"2t": 270.0, "2d": 265.0, "10u": 3.0, "10v": 4.0}


def test_analyses_at_several_times_are_one_series(tmp_path):
    # ERA5 as the CDS delivers it: step 0 at each analysis time.
    path = tmp_path / "analyses.grib2"
    _write_plain(
        path,
        [
            {"dataDate": 20220204, "dataTime": time, "shortName": name, "_value": value}
            for time in (0, 600, 1200)
            for name, value in _VALUES.items()
        ],
    )
    ds = open_forecast(path)
    assert ds["time"].values.astype("datetime64[h]").astype(str).tolist() == [
        "2022-02-04T00",
        "2022-02-04T06",
        "2022-02-04T12",
    ]
    np.testing.assert_allclose(ds["wind10"].values, 5.0, atol=0.01)


def test_ensemble_members_are_the_member_dimension(tmp_path):
    path = tmp_path / "ens.grib2"
    _write_plain(
        path,
        [
            {
                "dataDate": 20220204,
                "dataTime": 0,
                "setLocalDefinition": 1,
                "localDefinitionNumber": 1,
                "productDefinitionTemplateNumber": 1,
                "type": "pf",
                "number": member,
                "numberOfForecastsInEnsemble": 3,
                "shortName": name,
                "stepRange": str(step),
                "_value": value + member,
            }
            for step in (0, 1)
            for member in (1, 2, 3)
            for name, value in _VALUES.items()
        ],
    )
    ds = open_forecast(path)
    assert ds.sizes["member"] == 3 and ds.sizes["time"] == 2
    np.testing.assert_allclose(
        ds["t2m"].isel(time=0, latitude=0, longitude=0).values,
        [271 - 273.15, 272 - 273.15, 273 - 273.15],
        atol=0.01,
    )
