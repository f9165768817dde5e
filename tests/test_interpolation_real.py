"""Venues on the real GRIB files of ``tests/data/real`` (a global regular GFS grid, an Eta
Lambert grid, an ECMWF TIGGE reduced Gaussian grid), checked against ecCodes' own nearest-point
search (``codes_grib_find_nearest``) on the same messages and a brute-force computation."""

from __future__ import annotations

from pathlib import Path

import eccodes
import numpy as np
import pytest

from bulletin import open_forecast
from bulletin.extract import extract_venues
from bulletin.venues import Venue

from .test_interpolation import brute_force_idw, haversine

REAL = Path(__file__).resolve().parent / "data" / "real"
#: 0 degC in kelvin (the Celsius scale's definition, BIPM SI Brochure, 9th ed., 2019).
ZERO_CELSIUS_K = 273.15


def venue(vid, lat, lon):
    return Venue(vid, vid, lat, lon, 0.0, timezone="UTC")


def nearest_by_eccodes(path: Path, short_name: str, venues, npoints: int):
    """For each venue, ecCodes' nearest points of the message ``short_name``: (lat, lon,
    value, distance km) tuples."""
    found = []
    with path.open("rb") as stream:
        while (handle := eccodes.codes_grib_new_from_file(stream)) is not None:
            try:
                if eccodes.codes_get(handle, "shortName") == short_name:
                    for v in venues:
                        points = eccodes.codes_grib_find_nearest(
                            handle, v.lat, v.lon, npoints=npoints
                        )
                        found.append([(p.lat, p.lon, p.value, p.distance) for p in points])
                    return found
            finally:
                eccodes.codes_release(handle)
    raise AssertionError(f"no {short_name} message in {path}")


GLOBAL_VENUES = [
    venue("yanqing", 40.5, 115.8),
    venue("east-of-dateline", 65.3, 179.9),
    venue("west-of-dateline", -33.0, -179.9),
    venue("greenwich", 51.5, -0.1),
]


def test_global_regular_gfs_is_bilinear_on_the_eccodes_corners_across_the_dateline_and_0():
    path = REAL / "gfs_2p5deg_surface.grib2"
    forecast = open_forecast(path)
    assert forecast.attrs["grid_type"] == "regular_ll"
    points = extract_venues(forecast, GLOBAL_VENUES, lapse_rate_correction=False)
    corners = nearest_by_eccodes(path, "2t", GLOBAL_VENUES, npoints=4)
    for at, (v, around) in enumerate(zip(GLOBAL_VENUES, corners, strict=True)):
        lats = sorted({round(c[0], 6) for c in around})
        lons = sorted({round(c[1] % 360.0, 6) for c in around})
        assert len(lats) == 2 and len(lons) == 2, around
        lon0, lon1 = lons if lons[1] - lons[0] < 180 else (lons[1], lons[0] + 360.0)
        fy = (v.lat - lats[0]) / (lats[1] - lats[0])
        fx = ((v.lon - lon0) % 360.0) / (lon1 - lon0)
        expected = 0.0
        for lat, lon, value, _ in around:
            wy = fy if round(lat, 6) == lats[1] else 1 - fy
            wx = fx if round(lon % 360.0, 6) == round(lon1 % 360.0, 6) else 1 - fx
            expected += wy * wx * (value - ZERO_CELSIUS_K)
        np.testing.assert_allclose(points["t2m"].values[0, at], expected, atol=2e-3)


@pytest.mark.parametrize(
    ("name", "grid_type", "venues"),
    [
        (
            "eta_lambert_surface.grib2",
            "lambert",
            [venue("boulder", 40.0, -105.3), venue("minneapolis", 45.0, -93.2)],
        ),
        ("ecmwf_tigge_reduced_gg_surface.grib2", "reduced_gg", GLOBAL_VENUES),
    ],
    ids=["lambert", "reduced-gaussian"],
)
def test_projected_and_reduced_grids_are_inverse_distance_on_the_nearest_cells(
    name, grid_type, venues
):
    path = REAL / name
    forecast = open_forecast(path)
    assert forecast.attrs["grid_type"] == grid_type
    points = extract_venues(forecast, venues, lapse_rate_correction=False)
    lat = np.asarray(forecast["latitude"].values, dtype=np.float64)
    lon = np.asarray(forecast["longitude"].values, dtype=np.float64)
    t2m = forecast["t2m"].values.reshape(forecast.sizes["time"], -1).astype(np.float64)
    nearest = nearest_by_eccodes(path, "2t", venues, npoints=1)
    for at, (v, (point,)) in enumerate(zip(venues, nearest, strict=True)):
        # The reader's nearest cell is ecCodes' nearest grid point, with the same value.
        d = haversine(v.lat, v.lon, lat.reshape(-1), lon.reshape(-1))
        cell = int(np.argmin(d))
        assert haversine(point[0], point[1], lat.reshape(-1)[cell], lon.reshape(-1)[cell]) < 1e-6
        np.testing.assert_allclose(t2m[0, cell], point[2] - ZERO_CELSIUS_K, atol=2e-3)
        expected = brute_force_idw(lat, lon, t2m, v.lat, v.lon)
        np.testing.assert_allclose(points["t2m"].values[:, at], expected, rtol=1e-5, atol=1e-4)
