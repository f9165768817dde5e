"""Horizontal geometry of GRIB grids, in the forecast's three canonical layouts.

ecCodes describes every grid a forecast uses by ``gridType`` and computes the latitude and
longitude of every point (the ``latitudes`` / ``longitudes`` keys, in the order the values are
stored). From them:

* ``regular`` - regular latitude-longitude and regular Gaussian grids (``regular_ll``,
  ``regular_gg``): 1-D ``latitude`` and ``longitude`` dimensions;
* ``structured`` - projected and rotated grids (``rotated_ll``, ``rotated_gg``, ``lambert``,
  ``lambert_azimuthal_equal_area``, ``polar_stereographic``, ``mercator``): dimensions ``y``,
  ``x`` with 2-D ``latitude(y, x)`` and ``longitude(y, x)``;
* ``unstructured`` - reduced grids (``reduced_gg`` N and O grids, ``reduced_ll``): dimension
  ``cell`` with 1-D ``latitude(cell)`` and ``longitude(cell)``.

The scanning mode (WMO Manual on Codes, FM 92 GRIB, Code table 3.4 / GRIB1 table 8:
``iScansNegatively``, ``jScansPositively``, ``jPointsAreConsecutive``) only says in which order
the values are stored; the point coordinates ecCodes gives follow the same order, so reshaping
values and coordinates the same way keeps them together whatever the mode.

Wind components of a message whose resolution-and-component flags say "relative to the
defined grid" (ecCodes key ``uvRelativeToGrid``, WMO Code table 3.3 bit 5 / GRIB1 table 7) are
rotated to east and north by the angle between the grid's y axis and true north at each point:

* projections (Lambert, polar stereographic, Mercator, Lambert azimuthal): the meridian
  convergence from PROJ (``pyproj.Proj.get_factors``, for ecCodes' ``projTargetString``);
* rotated-pole grids: the grid's meridians are great circles through the rotated north pole,
  so the grid's y axis points along the initial bearing from the point to that pole
  (``pyproj.Geod.inv`` on the sphere).

Then ``u_east = u cos(g) + v sin(g)`` and ``v_north = -u sin(g) + v cos(g)``, ``g`` the bearing
of the grid's y axis clockwise from true north (NCEP Office Note 388, GRIB1 table 7 notes;
the same formula as wgrib2 ``-new_grid_winds earth``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from bulletin.errors import ForecastError

Layout = Literal["regular", "structured", "unstructured"]

REGULAR_GRID_TYPES = frozenset({"regular_ll", "regular_gg"})
STRUCTURED_GRID_TYPES = frozenset(
    {
        "rotated_ll",
        "rotated_gg",
        "lambert",
        "lambert_azimuthal_equal_area",
        "polar_stereographic",
        "mercator",
    }
)
UNSTRUCTURED_GRID_TYPES = frozenset({"reduced_gg", "reduced_ll"})
#: ecCodes ``gridType`` values the reader reads.
SUPPORTED_GRID_TYPES = REGULAR_GRID_TYPES | STRUCTURED_GRID_TYPES | UNSTRUCTURED_GRID_TYPES
_ROTATED_POLE_GRID_TYPES = frozenset({"rotated_ll", "rotated_gg"})

#: Longitude span (plus one increment) of at least 360 degrees less this makes a regular grid global
#: (our choice of tolerance: GRIB1 stores angles in millidegrees).
_GLOBAL_TOLERANCE_DEG = 0.01


@dataclass(frozen=True)
class StoredOrder:
    """How a field's stored values become the geometry's array: ``stored_shape`` ``(Nj, Ni)``
    rows of the scan (columns first when ``transpose``, ``jPointsAreConsecutive``), then, on
    regular grids, the rows and columns taken in ``row_order`` / ``column_order`` (latitudes
    ascending, longitudes -180..180 ascending; ``None``: as stored)."""

    stored_shape: tuple[int, ...]
    transpose: bool = False
    row_order: np.ndarray | None = None
    column_order: np.ndarray | None = None


@dataclass(frozen=True)
class GridGeometry:
    """Where the points of one GRIB grid are, and how its stored values are laid out.

    ``shape`` is the shape of a field after :func:`values_on_grid` (``(latitude, longitude)``,
    ``(Nj, Ni)`` or ``(numberOfPoints,)``); ``latitude`` / ``longitude`` are 1-D ascending axes
    (regular; a global grid's duplicate 0/360 column dropped), 2-D arrays of that shape
    (structured) or 1-D per cell (unstructured), longitudes in -180..180.
    ``wind_angle_deg`` is the bearing of the grid's y axis from true north at every point, for
    grids whose vector components are grid-relative (``uvRelativeToGrid``, a key of the grid
    section), else ``None``.
    """

    grid_type: str
    layout: Layout
    shape: tuple[int, ...]
    latitude: np.ndarray
    longitude: np.ndarray
    order: StoredOrder
    is_global: bool
    wind_angle_deg: np.ndarray | None

    @property
    def dims(self) -> tuple[str, ...]:
        if self.layout == "regular":
            return ("latitude", "longitude")
        if self.layout == "structured":
            return ("y", "x")
        return ("cell",)

    def coords(self) -> dict[str, tuple[tuple[str, ...], np.ndarray, dict[str, str]]]:
        """The horizontal coordinates, as xarray ``(dims, values, attrs)`` tuples."""
        lat_attrs = {"standard_name": "latitude", "units": "degrees_north"}
        lon_attrs = {"standard_name": "longitude", "units": "degrees_east"}
        if self.layout == "regular":
            return {
                "latitude": (("latitude",), self.latitude, lat_attrs),
                "longitude": (("longitude",), self.longitude, lon_attrs),
            }
        return {
            "latitude": (self.dims, self.latitude, lat_attrs),
            "longitude": (self.dims, self.longitude, lon_attrs),
        }


def _get(eccodes: Any, handle: Any, key: str, default: Any = None) -> Any:
    if not eccodes.codes_is_defined(handle, key):
        return default
    return eccodes.codes_get(handle, key)


def grid_geometry(eccodes: Any, handle: Any, where: str) -> GridGeometry:
    """The geometry of the grid of message ``handle`` (a fully decodable handle).

    :class:`ForecastError` naming the grid type when it is not one the reader reads.
    """
    grid_type = str(_get(eccodes, handle, "gridType", ""))
    if grid_type not in SUPPORTED_GRID_TYPES:
        raise ForecastError(unsupported_grid_message(where, {grid_type}))
    latitudes = np.asarray(eccodes.codes_get_array(handle, "latitudes"), dtype=np.float64)
    longitudes = np.asarray(eccodes.codes_get_array(handle, "longitudes"), dtype=np.float64)
    if grid_type in UNSTRUCTURED_GRID_TYPES:
        return GridGeometry(
            grid_type=grid_type,
            layout="unstructured",
            shape=(latitudes.size,),
            latitude=latitudes,
            longitude=_wrap(longitudes),
            order=StoredOrder((latitudes.size,)),
            is_global=False,
            wind_angle_deg=None,
        )
    ni = int(eccodes.codes_get(handle, "Ni"))
    nj = int(eccodes.codes_get(handle, "Nj"))
    if ni * nj != latitudes.size:
        raise ForecastError(
            f"{where}: {grid_type} grid of {ni} x {nj} points holds {latitudes.size} values"
        )
    transpose = bool(_get(eccodes, handle, "jPointsAreConsecutive", 0))
    lat2 = _rows(latitudes, ni, nj, transpose)
    lon2 = _rows(longitudes, ni, nj, transpose)
    if grid_type in REGULAR_GRID_TYPES:
        lat_axis = lat2[:, 0]
        lon_axis = lon2[0, :]
        row_order = np.argsort(lat_axis, kind="stable")
        longitude, column_order = np.unique(_wrap(lon_axis), return_index=True)
        order = StoredOrder(
            (nj, ni),
            transpose,
            None if np.array_equal(row_order, np.arange(nj)) else row_order,
            None if np.array_equal(column_order, np.arange(ni)) else column_order,
        )
        return GridGeometry(
            grid_type=grid_type,
            layout="regular",
            shape=(nj, longitude.size),
            latitude=lat_axis[row_order],
            longitude=longitude,
            order=order,
            is_global=_is_global(lon_axis),
            wind_angle_deg=None,
        )
    lon2 = _wrap(lon2)
    return GridGeometry(
        grid_type=grid_type,
        layout="structured",
        shape=(nj, ni),
        latitude=lat2,
        longitude=lon2,
        order=StoredOrder((nj, ni), transpose),
        is_global=False,
        wind_angle_deg=(
            _grid_north_bearing(eccodes, handle, grid_type, lat2, lon2, where)
            if uv_relative_to_grid(eccodes, handle)
            else None
        ),
    )


#: Bit 5 of the resolution and component flags: "u- and v-components ... relative to the
#: defined grid in the direction of increasing x and y" (WMO Code table 3.3 and GRIB1 table 7,
#: bits numbered from 1 at the most significant of the octet).
_RELATIVE_TO_GRID_BIT = 0b00001000


def uv_relative_to_grid(eccodes: Any, handle: Any) -> bool:
    """Whether the message's vector components are relative to its grid: ecCodes'
    ``uvRelativeToGrid`` where its definitions give it, else bit 5 of
    ``resolutionAndComponentFlags`` (some templates, e.g. GRIB2 3.20, lack the named key)."""
    if eccodes.codes_is_defined(handle, "uvRelativeToGrid"):
        return bool(eccodes.codes_get(handle, "uvRelativeToGrid"))
    flags = int(_get(eccodes, handle, "resolutionAndComponentFlags", 0) or 0)
    return bool(flags & _RELATIVE_TO_GRID_BIT)


def values_on_grid(values: np.ndarray, order: StoredOrder) -> np.ndarray:
    """Stored values (scan order) -> the geometry's array (see :class:`StoredOrder`)."""
    if len(order.stored_shape) == 1:
        return values
    nj, ni = order.stored_shape
    grid = _rows(values, ni, nj, order.transpose)
    rows, columns = order.row_order, order.column_order
    if rows is not None and columns is not None:
        return grid[np.ix_(rows, columns)]
    if rows is not None:
        return grid[rows]
    if columns is not None:
        return grid[:, columns]
    return grid


def earth_relative_wind(u: Any, v: Any, wind_angle_deg: np.ndarray) -> tuple[Any, Any]:
    """Grid-relative (u, v) -> (east, north) components; see the module docstring."""
    angle = np.radians(wind_angle_deg)
    cos, sin = np.cos(angle), np.sin(angle)
    return u * cos + v * sin, -u * sin + v * cos


def unsupported_grid_message(where: str, grid_types: set[str]) -> str:
    names = ", ".join(repr(g) for g in sorted(grid_types))
    return (
        f"{where}: grid type {names} (ecCodes gridType) is not supported: the reader reads "
        f"{', '.join(sorted(SUPPORTED_GRID_TYPES))}; interpolate the file to one of them first "
        "(e.g. with MIR or CDO remapbil)"
    )


def _rows(values: np.ndarray, ni: int, nj: int, transpose: bool) -> np.ndarray:
    """Scan-order values -> (Nj, Ni), whether rows (i) or columns (j) are consecutive."""
    if transpose:
        return values.reshape(ni, nj).T
    return values.reshape(nj, ni)


def _wrap(longitude: np.ndarray) -> np.ndarray:
    return (longitude + 180.0) % 360.0 - 180.0


def _is_global(longitude: np.ndarray) -> bool:
    if longitude.size < 2:
        return False
    step = abs(float(longitude[1] - longitude[0]))
    span = abs(float(longitude[-1] - longitude[0])) + step
    return span >= 360.0 - _GLOBAL_TOLERANCE_DEG  # beyond 360: 0 and 360 both given


def _grid_north_bearing(
    eccodes: Any,
    handle: Any,
    grid_type: str,
    latitude: np.ndarray,
    longitude: np.ndarray,
    where: str,
) -> np.ndarray:
    """Bearing (degrees clockwise from true north) of the grid's y axis at every point."""
    import pyproj

    if grid_type in _ROTATED_POLE_GRID_TYPES:
        south_lat = float(eccodes.codes_get(handle, "latitudeOfSouthernPoleInDegrees"))
        south_lon = float(eccodes.codes_get(handle, "longitudeOfSouthernPoleInDegrees"))
        pole_lat, pole_lon = -south_lat, south_lon + 180.0
        geod = pyproj.Geod(ellps="sphere")
        azimuth, _, _ = geod.inv(
            longitude,
            latitude,
            np.full(longitude.shape, pole_lon),
            np.full(latitude.shape, pole_lat),
        )
        return np.asarray(azimuth, dtype=np.float64)
    proj_string = _get(eccodes, handle, "projTargetString")
    if not proj_string:
        raise ForecastError(
            f"{where}: ecCodes gives no projection (projTargetString) for the {grid_type} grid, "
            "so grid-relative winds cannot be turned to east and north"
        )
    factors = pyproj.Proj(str(proj_string)).get_factors(longitude, latitude)
    return np.asarray(factors.meridian_convergence, dtype=np.float64)
