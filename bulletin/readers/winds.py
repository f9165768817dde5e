"""Grid-relative wind components -> earth-relative (eastward, northward).

On a grid whose ``x`` axis points at an angle ``alpha`` anticlockwise from local east, the
earth-relative components of a wind with grid components ``(u_g, v_g)`` are

    u = u_g cos(alpha) - v_g sin(alpha),    v = u_g sin(alpha) + v_g cos(alpha),

the formula WRF's output fields ``COSALPHA`` and ``SINALPHA`` ("local cosine/sine of map
rotation") are written for (D. Ovens, "Rotating WRF winds to earth coordinates", University of
Washington Atmospheric Sciences, atmos.washington.edu/~ovens/wrfwinds.html).

Where a file gives no angle, it is taken from the 2-D latitude and longitude themselves: the
direction of the grid ``x`` axis on the sphere, ``alpha = atan2(dlat, cos(lat) dlon)`` from
centred differences along ``x`` (second-order one-sided at the edges), which is the local
map rotation of any conformal or non-conformal structured grid to the accuracy of the grid
spacing (Snyder 1987, "Map Projections - A Working Manual", USGS Prof. Paper 1395, section 4,
convergence of meridians).
"""

from __future__ import annotations

import numpy as np
import xarray as xr


def rotate_to_earth(
    u_grid: xr.DataArray,
    v_grid: xr.DataArray,
    cos_alpha: xr.DataArray | np.ndarray,
    sin_alpha: xr.DataArray | np.ndarray,
) -> tuple[xr.DataArray, xr.DataArray]:
    """(eastward, northward) from grid-relative components and the local rotation."""
    u = u_grid * cos_alpha - v_grid * sin_alpha
    v = u_grid * sin_alpha + v_grid * cos_alpha
    return u, v


def grid_rotation(latitude: np.ndarray, longitude: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cos alpha, sin alpha) of the grid ``x`` axis (the last axis of 2-D ``latitude`` and
    ``longitude`` in degrees) against local east, from the coordinates alone."""
    lat = np.asarray(latitude, dtype=np.float64)
    lon = np.asarray(longitude, dtype=np.float64)
    if lat.shape[-1] < 2:
        return np.ones_like(lat), np.zeros_like(lat)
    order = 2 if lat.shape[-1] > 2 else 1  # second-order one-sided differences at the edges
    dlat = np.gradient(lat, axis=-1, edge_order=order)
    dlon = np.gradient(np.unwrap(np.radians(lon), axis=-1), axis=-1, edge_order=order)
    east = np.cos(np.radians(lat)) * dlon
    north = np.radians(dlat)
    norm = np.hypot(east, north)
    norm[norm == 0.0] = np.nan
    return east / norm, north / norm


#: CF standard names of grid-relative wind components (x_wind/y_wind and their aliases).
GRID_EASTWARD = frozenset({"x_wind", "grid_eastward_wind"})
GRID_NORTHWARD = frozenset({"y_wind", "grid_northward_wind"})


def rotate_cf_grid_winds(ds: xr.Dataset) -> xr.Dataset:
    """Replace the first pair of CF grid-relative wind components (standard names
    ``x_wind``/``y_wind`` or ``grid_eastward_wind``/``grid_northward_wind``, on the same
    dimensions) of a dataset with 2-D ``latitude(y, x)``/``longitude(y, x)`` by earth-relative
    ``eastward_wind``/``northward_wind`` (rotation from the coordinates, :func:`grid_rotation`).
    """

    def names(wanted: frozenset[str]) -> list[str]:
        return [str(n) for n, v in ds.data_vars.items() if v.attrs.get("standard_name") in wanted]

    eastward, northward = names(GRID_EASTWARD), names(GRID_NORTHWARD)
    pairs = [(u, v) for u in eastward for v in northward if ds[u].dims == ds[v].dims]
    if not pairs or ds["latitude"].dims != ("y", "x"):
        return ds
    u_name, v_name = pairs[0]
    cos_alpha, sin_alpha = grid_rotation(ds["latitude"].values, ds["longitude"].values)
    u, v = rotate_to_earth(
        ds[u_name],
        ds[v_name],
        xr.DataArray(cos_alpha, dims=("y", "x")),
        xr.DataArray(sin_alpha, dims=("y", "x")),
    )
    how = "rotated to earth-relative with the grid rotation computed from latitude/longitude"
    u.attrs = {**ds[u_name].attrs, "standard_name": "eastward_wind", "comment": how}
    v.attrs = {**ds[v_name].attrs, "standard_name": "northward_wind", "comment": how}
    return ds.assign({u_name: u, v_name: v})
