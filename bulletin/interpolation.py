"""Where each venue's values come from: grid cells and their weights, on any horizontal layout.

A forecast from :func:`bulletin.open_forecast` has one of three horizontal layouts:

``regular``
    1-D ``latitude`` and ``longitude`` dimensions. Venues are interpolated bilinearly in
    latitude/longitude from the four surrounding cells (Press et al., *Numerical Recipes*, 3rd
    ed. 2007, section 3.6). On a global grid (``ds.attrs["global_longitude"]``, or longitudes
    that span 360 degrees less one step) the longitudes wrap, so a venue between the last
    longitude and the first (across the dateline, or across 0 degrees on a 0-360 grid) takes
    its cells from both ends of the axis.
``structured``
    two dimensions (``y``, ``x``) with 2-D ``latitude``/``longitude`` coordinates: rotated
    lat-lon, Lambert conformal, polar stereographic, Mercator, WRF, CF curvilinear files.
``unstructured``
    one dimension (``cell``) with 1-D ``latitude``/``longitude`` coordinates: reduced Gaussian
    grids, ICON cells.

On the last two, venues are interpolated by inverse distance weighting (Shepard, D., 1968:
"A two-dimensional interpolation function for irregularly-spaced data", *Proceedings of the
23rd ACM National Conference*, 517-524, doi:10.1145/800186.810616) from the
:data:`NEAREST_CELLS` nearest cells, with weights ``1 / d**2`` on the great-circle distance
``d`` (Shepard's exponent 2; of cells equally far, as all those of a ring around a pole
are from the pole, the tree picks which count). The cells are found with
:class:`scipy.spatial.cKDTree` on the cells' positions as unit vectors on the sphere (the
chord distance orders cells as the great-circle distance does, whatever the projection and
across poles and the dateline). Our choice over barycentric interpolation on a Delaunay triangulation: the tree takes
O(n log n) time and linear memory for n cells, no triangulation of the whole grid is needed,
and the value at a venue always lies within the range of its neighbours' values (no
overshoot of bounded fields such as humidity or cloud fraction).

A venue is outside a regular grid's footprint when it lies outside its latitude range (or its
longitude range, on a grid that does not wrap). On the other layouts it is inside when it lies
within the convex hull of its :data:`SURROUNDING_CELLS` nearest cells, drawn in the gnomonic
projection centred on the venue (where great circles are straight lines: Snyder, J. P., 1987,
*Map Projections: A Working Manual*, USGS Professional Paper 1395, p. 164), or on a cell (our
choice: inside a grid the nearest cells surround the venue, at an edge they all lie on one
side of it; near a pole of a global grid the nearest cells are those of the first ring, all
round it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy.spatial import ConvexHull, QhullError, cKDTree

from .errors import VenueError

#: Cells each venue is interpolated from on non-regular grids (our choice: as many as
#: bilinear interpolation uses on a quadrilateral grid).
NEAREST_CELLS = 4
#: Mean Earth radius R1 = 6371.0088 km of the Geodetic Reference System 1980 (Moritz, H.,
#: 2000, J. Geodesy 74:128-133); used only to state distances in error messages.
EARTH_RADIUS_KM = 6371.0088
#: Nearest cells whose convex hull must hold a venue on non-regular grids (our choice: enough
#: to surround a point even where cells are three times closer one way than the other, as on
#: the rings of a reduced Gaussian grid next to a pole).
SURROUNDING_CELLS = 16
#: Distances (radians) below which a venue is taken to sit on a cell: about 6 mm on the
#: Earth (our choice, far below any grid spacing and float64 round-off of unit vectors).
ON_CELL_RAD = 1e-9
#: Relative tolerance on "360 degrees less one step" when telling a global longitude axis.
GLOBAL_SPAN_TOLERANCE = 1e-3

LAYOUTS = ("regular", "structured", "unstructured")
#: ``grid_type`` assumed for logs when the forecast does not name its grid.
DEFAULT_GRID_TYPES = {
    "regular": "regular_ll",
    "structured": "curvilinear",
    "unstructured": "unstructured",
}


@dataclass(frozen=True, eq=False)
class VenueWeights:
    """The grid cells each venue is interpolated from and their weights.

    ``indexers`` maps each horizontal dimension of the forecast to an integer array of shape
    ``(venue, corner)``; cell ``c`` of venue ``v`` is at those positions, and
    ``weights[v, c]`` is its weight (each row sums to 1; a cell of weight 0 does not count).
    ``method`` says in words how the values are formed, for logs.
    """

    indexers: Mapping[str, np.ndarray]
    weights: np.ndarray
    method: str
    layout: str


def horizontal_layout(forecast: xr.Dataset) -> str:
    """``"regular"``, ``"structured"`` or ``"unstructured"`` (see the module docstring), from
    the dimensions of the ``latitude`` and ``longitude`` coordinates; :class:`VenueError` when
    the forecast has neither layout."""
    if "latitude" not in forecast.variables or "longitude" not in forecast.variables:
        raise VenueError("forecast has no latitude/longitude coordinates")
    lat_dims = forecast["latitude"].dims
    lon_dims = forecast["longitude"].dims
    if lat_dims == ("latitude",) and lon_dims == ("longitude",):
        return "regular"
    if len(lat_dims) == 2 and set(lat_dims) == set(lon_dims):
        return "structured"
    if len(lat_dims) == 1 and lat_dims == lon_dims:
        return "unstructured"
    raise VenueError(
        f"forecast is not on a latitude/longitude grid: latitude{lat_dims}, "
        f"longitude{lon_dims} (expected 1-D latitude and longitude axes, 2-D coordinates on "
        "the same two dimensions, or 1-D coordinates on one cell dimension)"
    )


def horizontal_dims(forecast: xr.Dataset) -> tuple[str, ...]:
    """The forecast's horizontal dimensions, in the order of its ``latitude`` coordinate
    (``("latitude", "longitude")`` on a regular grid)."""
    layout = horizontal_layout(forecast)
    if layout == "regular":
        return ("latitude", "longitude")
    return tuple(forecast["latitude"].dims)


def venue_weights(
    forecast: xr.Dataset,
    venue_ids: list[str],
    venue_lat: np.ndarray,
    venue_lon: np.ndarray,
) -> VenueWeights:
    """The cells and weights that interpolate the forecast to the venues (module docstring:
    bilinear on regular grids, inverse distance from the nearest cells otherwise).

    Raises :class:`VenueError` naming the first venue outside the grid's footprint.
    """
    layout = horizontal_layout(forecast)
    grid_type = str(forecast.attrs.get("grid_type") or DEFAULT_GRID_TYPES[layout])
    venue_lat = np.asarray(venue_lat, dtype=np.float64)
    venue_lon = np.asarray(venue_lon, dtype=np.float64)
    if layout == "regular":
        return _bilinear_weights(forecast, grid_type, venue_ids, venue_lat, venue_lon)
    return _inverse_distance_weights(forecast, layout, grid_type, venue_ids, venue_lat, venue_lon)


def is_global_longitude(forecast: xr.Dataset) -> bool:
    """Whether the regular grid's longitudes go all round the Earth: the attribute
    ``global_longitude`` says so, or the axis spans 360 degrees less one (mean) step (or
    more)."""
    if forecast.attrs.get("global_longitude"):
        return True
    lon = np.asarray(forecast["longitude"].values, dtype=np.float64)
    if lon.size < 2:
        return False
    span = float(lon.max() - lon.min())
    step = span / (lon.size - 1)
    return span + step >= 360.0 - GLOBAL_SPAN_TOLERANCE * step


def _ascending_bracket(
    axis: np.ndarray, points: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each point on a monotonic axis: the grid lines below and above (positions in
    ``axis``) and the fraction from the first to the second.

    A point on the last grid line uses the last interval with fraction 1; an axis of one line
    gives that line twice with fraction 0. A descending axis is bracketed as its reverse.
    """
    n = axis.size
    if n == 1:
        zeros = np.zeros(points.size, dtype=np.intp)
        return zeros, zeros, np.zeros(points.size)
    descending = axis[-1] < axis[0]
    ordered = axis[::-1] if descending else axis
    lower = np.clip(np.searchsorted(ordered, points, side="right") - 1, 0, n - 2)
    upper = lower + 1
    fraction = (points - ordered[lower]) / (ordered[upper] - ordered[lower])
    if descending:
        lower, upper = n - 1 - lower, n - 1 - upper
    return lower, upper, fraction


def _outside_regular(
    venue_id: str, lat: float, lon: float, lat_axis: np.ndarray, lon_axis: np.ndarray
) -> VenueError:
    return VenueError(
        f"venue {venue_id!r} ({lat:.4f}N, {lon:.4f}E) lies outside the forecast grid "
        f"({lat_axis.min():.2f}..{lat_axis.max():.2f}N, "
        f"{lon_axis.min():.2f}..{lon_axis.max():.2f}E)"
    )


def _bilinear_weights(
    forecast: xr.Dataset,
    grid_type: str,
    venue_ids: list[str],
    venue_lat: np.ndarray,
    venue_lon: np.ndarray,
) -> VenueWeights:
    lat_axis = np.asarray(forecast["latitude"].values, dtype=np.float64)
    lon_axis = np.asarray(forecast["longitude"].values, dtype=np.float64)
    wraps = is_global_longitude(forecast)
    lat_lo, lat_hi = lat_axis.min(), lat_axis.max()
    lon_lo, lon_hi = lon_axis.min(), lon_axis.max()
    # The venue longitude in the axis' own range (a 0-360 grid takes 200E for -160E).
    x = np.empty_like(venue_lon)
    for i, (vid, vlat, vlon) in enumerate(zip(venue_ids, venue_lat, venue_lon, strict=True)):
        if not lat_lo <= vlat <= lat_hi:
            raise _outside_regular(vid, vlat, vlon, lat_axis, lon_axis)
        if wraps:
            x[i] = lon_lo + np.mod(vlon - lon_lo, 360.0)
            continue
        inside = [c for c in (vlon, vlon - 360.0, vlon + 360.0) if lon_lo <= c <= lon_hi]
        if not inside:
            raise _outside_regular(vid, vlat, vlon, lat_axis, lon_axis)
        x[i] = inside[0]
    lat0, lat1, fy = _ascending_bracket(lat_axis, venue_lat)
    if wraps:
        lon0, lon1, fx = _wrapped_bracket(lon_axis, x)
    else:
        lon0, lon1, fx = _ascending_bracket(lon_axis, x)
    # Corners in the order (lat0, lon0), (lat0, lon1), (lat1, lon0), (lat1, lon1).
    indexers = {
        "latitude": np.stack([lat0, lat0, lat1, lat1], axis=-1),
        "longitude": np.stack([lon0, lon1, lon0, lon1], axis=-1),
    }
    weights = np.stack([(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx], axis=-1)
    method = f"bilinear from the 4 surrounding cells on a {grid_type} grid"
    if wraps:
        method += " (global: longitudes wrap across the dateline)"
    return VenueWeights(indexers, weights, method, "regular")


def _wrapped_bracket(axis: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bracket ``x`` (already in ``[axis.min(), axis.min() + 360)``) on a global longitude
    axis, the interval from the last longitude to the first + 360 included."""
    order = np.argsort(axis, kind="stable")
    ordered = axis[order]
    extended = np.append(ordered, ordered[0] + 360.0)
    n = ordered.size
    lower = np.clip(np.searchsorted(extended, x, side="right") - 1, 0, n - 1)
    upper_pos = lower + 1
    fraction = (x - extended[lower]) / (extended[upper_pos] - extended[lower])
    return order[lower], order[upper_pos % n], fraction


def unit_vectors(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    """Positions on the unit sphere, shape ``(..., 3)``, of latitudes/longitudes in degrees."""
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    cos_lat = np.cos(lat)
    return np.stack([cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)], axis=-1)


def _arc(chord: np.ndarray) -> np.ndarray:
    """Great-circle angle (radians) of a chord of the unit sphere."""
    return 2.0 * np.arcsin(np.clip(np.asarray(chord) / 2.0, 0.0, 1.0))


def _surrounded(venue_xyz: np.ndarray, cells_xyz: np.ndarray) -> bool:
    """Whether the venue lies within the convex hull of the cells in the gnomonic projection
    centred on it (cells 90 degrees or more away cannot be drawn there: not surrounded)."""
    cosine = cells_xyz @ venue_xyz
    if cells_xyz.shape[0] < 3 or np.any(cosine <= 0.0):
        return False
    east = np.array([-venue_xyz[1], venue_xyz[0], 0.0])
    if not np.any(east):  # at a pole: any direction is east
        east = np.array([1.0, 0.0, 0.0])
    east /= np.linalg.norm(east)
    north = np.cross(venue_xyz, east)
    plane = cells_xyz / cosine[:, None]
    xy = np.stack([plane @ east, plane @ north], axis=-1)
    try:
        hull = ConvexHull(xy)
    except QhullError:  # all cells on one great circle: nothing is surrounded
        return False
    # Each facet: normal . p + offset <= 0 inside; the venue is the origin of the plane.
    return bool(np.all(hull.equations[:, -1] <= 1e-12 * np.abs(xy).max()))


def _inverse_distance_weights(
    forecast: xr.Dataset,
    layout: str,
    grid_type: str,
    venue_ids: list[str],
    venue_lat: np.ndarray,
    venue_lon: np.ndarray,
) -> VenueWeights:
    lat = forecast["latitude"]
    lon = forecast["longitude"].transpose(*lat.dims)
    dims = lat.dims
    shape = lat.shape
    lat_flat = np.asarray(lat.values, dtype=np.float64).reshape(-1)
    lon_flat = np.asarray(lon.values, dtype=np.float64).reshape(-1)
    valid = np.flatnonzero(np.isfinite(lat_flat) & np.isfinite(lon_flat))
    if valid.size == 0:
        raise VenueError("forecast grid has no cell with a finite latitude and longitude")
    cells = unit_vectors(lat_flat[valid], lon_flat[valid])
    # The sliding-midpoint tree (balanced_tree=False, compact_nodes=False) builds several
    # times faster than the median split (scipy.spatial.cKDTree documentation) and is queried
    # only for the venues.
    tree = cKDTree(cells, balanced_tree=False, compact_nodes=False)
    k = min(NEAREST_CELLS, valid.size)
    around = min(max(SURROUNDING_CELLS, NEAREST_CELLS), valid.size)
    chord, surrounding = tree.query(unit_vectors(venue_lat, venue_lon), k=around)
    chord = np.asarray(chord, dtype=np.float64).reshape(len(venue_ids), around)[:, :k]
    surrounding = np.asarray(surrounding).reshape(len(venue_ids), around)
    position = surrounding[:, :k]
    distance = _arc(chord)
    for i, vid in enumerate(venue_ids):
        venue_xyz = unit_vectors(venue_lat[i], venue_lon[i])
        if distance[i, 0] <= ON_CELL_RAD or _surrounded(venue_xyz, cells[surrounding[i]]):
            continue
        nearest = valid[position[i, 0]]
        raise VenueError(
            f"venue {vid!r} ({venue_lat[i]:.4f}N, {venue_lon[i]:.4f}E) lies outside the "
            f"forecast grid (a {grid_type} grid: its {around} nearest cells do not surround "
            f"it; the nearest, at {lat_flat[nearest]:.4f}N {lon_flat[nearest]:.4f}E, is "
            f"{distance[i, 0] * EARTH_RADIUS_KM:.1f} km away)"
        )
    on_cell = distance[:, :1] <= ON_CELL_RAD
    inverse = 1.0 / np.maximum(distance, ON_CELL_RAD) ** 2
    first = np.zeros_like(distance)
    first[:, 0] = 1.0
    weights = np.where(on_cell, first, inverse)
    weights = weights / weights.sum(axis=1, keepdims=True)
    flat_index = valid[position]
    indexers = dict(zip(dims, np.unravel_index(flat_index, shape), strict=True))
    method = f"inverse-distance from the {k} nearest cells on a {grid_type} grid"
    return VenueWeights(indexers, weights, method, layout)


__all__ = [
    "LAYOUTS",
    "NEAREST_CELLS",
    "SURROUNDING_CELLS",
    "VenueWeights",
    "horizontal_dims",
    "horizontal_layout",
    "is_global_longitude",
    "unit_vectors",
    "venue_weights",
]
