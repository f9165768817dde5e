"""Venues on every horizontal layout: regular (regional, global across the dateline, 0-360),
structured 2-D latitude/longitude (a Lambert conformal grid) and unstructured cells (a reduced
Gaussian-like grid), each checked against an independent computation written here."""

from __future__ import annotations

import logging

import dask.array
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.interpolate import RegularGridInterpolator

from bulletin import venue_table
from bulletin.errors import VenueError
from bulletin.extract import LAPSE_RATE_K_PER_M, extract_venues
from bulletin.interpolation import horizontal_layout, is_global_longitude
from bulletin.schema import FIELDS_BY_NAME
from bulletin.venues import Venue

pyproj = pytest.importorskip("pyproj")

TIMES = pd.date_range("2022-02-04T00:00", periods=4, freq="6h")


def _field(name: str) -> dict:
    field = FIELDS_BY_NAME[name]
    return {"standard_name": field.standard_name, "units": field.units}


def horizontal_dataset(dims, shape, coords, t2m, orography=None, attrs=None) -> xr.Dataset:
    """A schema Dataset on any horizontal layout: ``t2m`` given (time, *shape), other required
    fields plausible."""
    rng = np.random.default_rng(7)
    full = (len(TIMES), *shape)
    data = {
        "t2m": (("time", *dims), t2m.astype(np.float32), _field("t2m")),
        "rh2m": (("time", *dims), rng.uniform(30, 90, full).astype(np.float32), _field("rh2m")),
        "wind10": (("time", *dims), rng.uniform(1, 9, full).astype(np.float32), _field("wind10")),
    }
    if orography is not None:
        data["orography"] = (dims, orography.astype(np.float32), _field("orography"))
    return xr.Dataset(data, coords={"time": TIMES.values, **coords}, attrs=attrs or {})


def regular(lat, lon, values, **attrs) -> xr.Dataset:
    """``values(time, lat, lon)`` on a regular grid."""
    return horizontal_dataset(
        ("latitude", "longitude"),
        (lat.size, lon.size),
        {"latitude": lat, "longitude": lon},
        values,
        attrs=attrs,
    )


def haversine(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle angle (radians) by the haversine formula (Sinnott 1984)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat, dlon = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 2 * np.arcsin(np.sqrt(h))


def brute_force_idw(cell_lat, cell_lon, cell_values, venue_lat, venue_lon, k=4):
    """Inverse-distance (1/d^2) of the k nearest cells by distance to every cell."""
    d = haversine(venue_lat, venue_lon, cell_lat.reshape(-1), cell_lon.reshape(-1))
    nearest = np.argsort(d)[:k]
    flat = cell_values.reshape(cell_values.shape[0], -1)[:, nearest]
    if d[nearest[0]] == 0:
        return flat[:, 0]
    w = 1 / d[nearest] ** 2
    return (flat * w).sum(axis=1) / w.sum()


def venue(vid, lat, lon, elevation=500.0):
    return Venue(vid, vid, lat, lon, elevation, timezone="UTC")


# --- regular grids ---------------------------------------------------------------------------


def test_regular_bilinear_is_exact_for_a_plane_even_on_descending_latitudes():
    lat = np.linspace(39.0, 42.0, 7)
    lon = np.linspace(114.0, 118.0, 9)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    plane = np.stack([2.0 * la - 3.0 * lo + h for h in range(len(TIMES))])
    venues = [venue("a", 40.37, 115.21), venue("b", 39.0, 118.0), venue("c", 41.5, 116.0)]
    expected = [[2.0 * v.lat - 3.0 * v.lon + h for v in venues] for h in range(len(TIMES))]
    for ds in (
        regular(lat, lon, plane),
        regular(lat, lon, plane).isel(latitude=slice(None, None, -1)),
    ):
        got = extract_venues(ds, venues, lapse_rate_correction=False)["t2m"]
        np.testing.assert_allclose(got.values, expected, atol=1e-4)


def periodic_reference(lat, lon, values, venues):
    """Linear interpolation on the grid extended by its first column at +360 degrees
    (scipy's RegularGridInterpolator), venues taken into [lon[0], lon[0] + 360)."""
    order = np.argsort(lon)
    lon, values = lon[order], values[..., order]
    ext_lon = np.append(lon, lon[0] + 360.0)
    ext = np.concatenate([values, values[..., :1]], axis=-1)
    points = np.array([[v.lat, lon[0] + np.mod(v.lon - lon[0], 360.0)] for v in venues])
    return np.stack(
        [RegularGridInterpolator((lat, ext_lon), ext[t])(points) for t in range(len(ext))]
    )


GLOBAL_VENUES = [
    venue("east-of-dateline", 65.3, 179.9),
    venue("west-of-dateline", -33.0, -179.9),
    venue("greenwich", 51.5, -0.1),
    venue("on-dateline", 10.0, 180.0),
    venue("beijing", 40.0, 116.4),
]


@pytest.mark.parametrize(
    ("lon", "attrs"),
    [
        (np.arange(-180.0, 180.0, 2.5), {"global_longitude": 1}),
        (np.arange(-180.0, 180.0, 2.5), {}),  # told by its span: 360 degrees less one step
        (np.arange(0.0, 360.0, 2.5), {}),  # 0-360, not normalised
    ],
    ids=["minus180-180-attr", "minus180-180-span", "0-360"],
)
def test_global_grid_wraps_across_the_dateline_and_zero(lon, attrs):
    lat = np.linspace(-90.0, 90.0, 73)
    rng = np.random.default_rng(2)
    values = rng.normal(-5, 10, (len(TIMES), lat.size, lon.size))
    ds = regular(lat, lon, values, **attrs)
    assert is_global_longitude(ds)
    got = extract_venues(ds, GLOBAL_VENUES, lapse_rate_correction=False)["t2m"].values
    expected = periodic_reference(
        lat, lon, values.astype(np.float32).astype(np.float64), GLOBAL_VENUES
    )
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)
    # A venue just east of the last longitude takes the first column too (wrap, not clip).
    last, first = values[0, 60, -1], values[0, 60, 0]
    wrapped = extract_venues(
        ds,
        [venue("w", lat[60], float(lon[-1]) + 1.25 - (360 if lon[-1] > 180 else 0))],
        lapse_rate_correction=False,
    )["t2m"].values[0, 0]
    np.testing.assert_allclose(wrapped, (last + first) / 2, rtol=1e-5)


def test_regional_grid_does_not_wrap_and_refuses_a_venue_outside():
    lat = np.linspace(39.0, 42.0, 7)
    lon = np.linspace(114.0, 118.0, 9)
    ds = regular(lat, lon, np.zeros((len(TIMES), 7, 9)))
    assert not is_global_longitude(ds)
    with pytest.raises(
        VenueError,
        match=r"'east'.*outside the forecast grid \(39.00\.\.42\.00N, 114\.00\.\.118\.00E\)",
    ):
        extract_venues(ds, [venue("east", 40.0, 118.5)])


def test_regional_0_360_grid_across_the_dateline_takes_negative_longitudes():
    lat = np.linspace(60.0, 70.0, 11)
    lon = np.arange(170.0, 191.0, 1.0)  # 170E .. 169W on a 0-360 axis
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    plane = np.stack([0.5 * la + 2.0 * lo] * len(TIMES))
    got = extract_venues(
        regular(lat, lon, plane), [venue("chukotka", 65.3, -179.9)], lapse_rate_correction=False
    )
    np.testing.assert_allclose(got["t2m"].values[:, 0], 0.5 * 65.3 + 2.0 * 180.1, rtol=1e-6)


# --- structured (2-D latitude/longitude) -----------------------------------------------------


def lambert_grid():
    """A 12 km Lambert conformal grid over northern China (pyproj), 2-D latitude/longitude."""
    proj = pyproj.Proj(proj="lcc", lat_1=30, lat_2=60, lat_0=40, lon_0=116, ellps="WGS84")
    x = np.arange(-20, 21) * 12_000.0
    y = np.arange(-15, 16) * 12_000.0
    xx, yy = np.meshgrid(x, y)
    lon, lat = proj(xx, yy, inverse=True)
    return lat, lon


def structured(lat, lon, values, orography=None, grid_type="lambert") -> xr.Dataset:
    return horizontal_dataset(
        ("y", "x"),
        lat.shape,
        {"latitude": (("y", "x"), lat), "longitude": (("y", "x"), lon)},
        values,
        orography=orography,
        attrs={"grid_type": grid_type},
    )


STRUCTURED_VENUES = [
    venue("zhangjiakou", 40.9, 115.45, 1650.0),
    venue("yanqing", 40.5, 115.8, 1000.0),
    venue("beijing", 39.98, 116.39, 50.0),
]


def test_structured_grid_inverse_distance_equals_brute_force_and_lapse_rate(caplog):
    lat, lon = lambert_grid()
    rng = np.random.default_rng(5)
    values = rng.normal(-10, 5, (len(TIMES), *lat.shape))
    orography = rng.uniform(0, 2500, lat.shape)
    ds = structured(lat, lon, values, orography)
    assert horizontal_layout(ds) == "structured"
    with caplog.at_level(logging.INFO, logger="bulletin"):
        points = extract_venues(ds, STRUCTURED_VENUES)
    assert "venues: inverse-distance from the 4 nearest cells on a lambert grid" in caplog.text
    oro32 = orography.astype(np.float32)[None].astype(np.float64)
    t32 = values.astype(np.float32).astype(np.float64)
    for at, v in enumerate(STRUCTURED_VENUES):
        height = brute_force_idw(lat, lon, oro32, v.lat, v.lon)[0]
        raw = brute_force_idw(lat, lon, t32, v.lat, v.lon)
        expected = raw + (height - v.elevation_m) * LAPSE_RATE_K_PER_M
        np.testing.assert_allclose(points["model_height"].values[at], height, rtol=1e-5)
        np.testing.assert_allclose(points["t2m"].values[:, at], expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(points["latitude"].values, [v.lat for v in STRUCTURED_VENUES])


def test_structured_venue_on_a_cell_takes_its_value_and_dask_gives_the_same():
    lat, lon = lambert_grid()
    rng = np.random.default_rng(6)
    values = rng.normal(-10, 5, (len(TIMES), *lat.shape))
    ds = structured(lat, lon, values)
    on_cell = venue("on-cell", float(lat[7, 9]), float(lon[7, 9]))
    got = extract_venues(ds, [on_cell, *STRUCTURED_VENUES], lapse_rate_correction=False)
    np.testing.assert_allclose(got["t2m"].values[:, 0], values[:, 7, 9].astype(np.float32))
    lazy = ds.chunk({"time": 2, "y": 8, "x": 10})
    assert isinstance(lazy["t2m"].data, dask.array.Array)
    again = extract_venues(lazy, [on_cell, *STRUCTURED_VENUES], lapse_rate_correction=False)
    xr.testing.assert_identical(again, got)


def test_structured_venue_outside_the_footprint_is_refused_naming_the_grid():
    lat, lon = lambert_grid()
    ds = structured(lat, lon, np.zeros((len(TIMES), *lat.shape)))
    with pytest.raises(VenueError, match=r"'shanghai'.*outside the forecast grid \(a lambert grid"):
        extract_venues(ds, [venue("shanghai", 31.2, 121.5)])
    # On the edge of the grid (the last row, between two cells) is inside; just beyond is not.
    middle_lat = float(lat[-1, 20] + lat[-1, 21]) / 2
    middle_lon = float(lon[-1, 20] + lon[-1, 21]) / 2
    extract_venues(ds, [venue("edge", middle_lat, middle_lon)])
    extract_venues(ds, [venue("corner", float(lat[-1, -1]), float(lon[-1, -1]))])
    with pytest.raises(VenueError, match=r"'beyond'.*16 nearest cells do not surround it"):
        extract_venues(ds, [venue("beyond", middle_lat + 0.02, middle_lon)])


# --- unstructured cells ----------------------------------------------------------------------


def reduced_gaussian_like(n_rings: int = 48):
    """Cells on 2 * n_rings latitude rings, ring i (from the pole) with 4 * i + 20 longitudes
    (the octahedral rule of ECMWF's O grids), rings equally spaced half a spacing from the
    poles (not Gaussian latitudes: only the layout matters here)."""
    ring_lat = 90.0 - (np.arange(2 * n_rings) + 0.5) * 90.0 / n_rings
    lats, lons = [], []
    for ring, latitude in enumerate(ring_lat):
        n = 4 * min(ring, 2 * n_rings - 1 - ring) + 20
        lats.append(np.full(n, latitude))
        lons.append(np.arange(n) * 360.0 / n)
    lon = np.concatenate(lons)
    return np.concatenate(lats), np.where(lon > 180.0, lon - 360.0, lon)


UNSTRUCTURED_VENUES = [
    venue("east-of-dateline", 65.3, 179.9),
    venue("west-of-dateline", -33.0, -179.9),
    venue("near-pole", 89.5, 10.0),
    venue("south-pole-cap", -89.7, 33.0),
    venue("yanqing", 40.5, 115.8, 1000.0),
]


def test_unstructured_cells_inverse_distance_equals_brute_force(caplog):
    lat, lon = reduced_gaussian_like()
    rng = np.random.default_rng(8)
    values = rng.normal(0, 10, (len(TIMES), lat.size))
    orography = rng.uniform(0, 3000, lat.size)
    ds = horizontal_dataset(
        ("cell",),
        (lat.size,),
        {"latitude": ("cell", lat), "longitude": ("cell", lon)},
        values,
        orography=orography,
        attrs={"grid_type": "reduced_gg"},
    )
    assert horizontal_layout(ds) == "unstructured"
    with caplog.at_level(logging.INFO, logger="bulletin"):
        points = extract_venues(ds, UNSTRUCTURED_VENUES)
    assert "venues: inverse-distance from the 4 nearest cells on a reduced_gg grid" in caplog.text
    oro32 = orography.astype(np.float32)[None].astype(np.float64)
    t32 = values.astype(np.float32).astype(np.float64)
    for at, v in enumerate(UNSTRUCTURED_VENUES):
        height = brute_force_idw(lat, lon, oro32, v.lat, v.lon)[0]
        expected = (
            brute_force_idw(lat, lon, t32, v.lat, v.lon)
            + (height - v.elevation_m) * LAPSE_RATE_K_PER_M
        )
        np.testing.assert_allclose(points["t2m"].values[:, at], expected, rtol=1e-5, atol=1e-4)
    table = venue_table(ds, UNSTRUCTURED_VENUES)
    assert len(table) == len(UNSTRUCTURED_VENUES) * len(TIMES)
    assert table["spectator_level"].notna().all()


def test_regional_cells_refuse_a_venue_outside_them():
    lat, lon = reduced_gaussian_like()
    keep = (lat > 30) & (lat < 50) & (lon > 100) & (lon < 130)
    ds = horizontal_dataset(
        ("cell",),
        (int(keep.sum()),),
        {"latitude": ("cell", lat[keep]), "longitude": ("cell", lon[keep])},
        np.zeros((len(TIMES), int(keep.sum()))),
        attrs={"grid_type": "unstructured"},
    )
    extract_venues(ds, [venue("yanqing", 40.5, 115.8)])
    with pytest.raises(
        VenueError, match=r"'paris'.*outside the forecast grid \(a unstructured grid.*km away"
    ):
        extract_venues(ds, [venue("paris", 48.85, 2.35)])


def test_a_layout_that_is_none_of_the_three_is_a_clear_error():
    lat, lon = lambert_grid()
    ds = structured(lat, lon, np.zeros((len(TIMES), *lat.shape)))
    ds = ds.assign_coords(longitude=("x", lon[0]))
    with pytest.raises(
        VenueError,
        match=r"not on a latitude/longitude grid: latitude\('y', 'x'\), longitude\('x',\)",
    ):
        extract_venues(ds, [venue("a", 40.0, 116.0)])
