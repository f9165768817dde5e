"""Coordinates of forecast datasets -> the schema's (member, time, latitude, longitude).

* GRIB (cfgrib): the reference time ``time`` becomes the scalar ``forecast_reference_time``,
  the valid time ``time + step`` the ``time`` dimension, ``number`` the ``member`` dimension
  (kept for control/perturbed forecasts, dropped for deterministic ones), level coordinates
  are dropped.
* CF NetCDF/Zarr: latitude and longitude are found by cf_xarray (``standard_name``, ``units``,
  ``axis``) or by their usual names; time by ``standard_name``/``axis`` or name; the reference
  time by ``standard_name forecast_reference_time``; the ensemble axis by
  ``standard_name realization`` or the usual names (``number``, ``realization``, ``member``,
  ``ensemble``). CF time bounds (``bounds`` attribute) are kept as the ``time_bounds_start``
  coordinate, the start of the window of accumulated or averaged variables.
* Grid order: longitudes 0..360 -> -180..180, then latitudes, longitudes and times ascending.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cf_xarray  # noqa: F401  (registers the .cf accessor)
import numpy as np
import xarray as xr

from bulletin.errors import ForecastError

CANONICAL_DIMS = ("member", "time", "latitude", "longitude")
_MEMBER_NAMES = ("number", "realization", "member", "ensemble", "ens", "ensemble_member")
_LATITUDE_NAMES = ("latitude", "lat", "nav_lat")
_LONGITUDE_NAMES = ("longitude", "lon", "nav_lon")
_TIME_NAMES = ("time", "valid_time", "t")
_REFERENCE_NAMES = ("forecast_reference_time", "reference_time", "analysis_time")
_ENSEMBLE_GRIB_DATA_TYPES = ("cf", "pf")


def grib_to_canonical(ds: xr.Dataset, path: Path) -> xr.Dataset:
    """cfgrib's (time, step, number, level) layout -> (member, time = valid time, lat, lon)."""
    if "time" in ds.dims and ds.sizes["time"] > 1:
        raise ForecastError(
            f"{path} holds {ds.sizes['time']} forecast reference times; give one run per call"
        )
    if "time" in ds.dims:
        ds = ds.isel(time=0)
    reference = ds["time"].values.astype("datetime64[ns]") if "time" in ds.coords else None
    if "step" not in ds.dims:
        ds = ds.expand_dims("step") if "step" in ds.coords else ds
    if "step" not in ds.dims:
        raise ForecastError(f"{path}: GRIB dataset without a forecast step")
    if reference is None:
        raise ForecastError(f"{path}: GRIB dataset without a reference time")
    valid = reference + ds["step"].values.astype("timedelta64[ns]")
    drop = [c for c in ("valid_time", "time") if c in ds.coords]
    ds = ds.drop_vars(drop).assign_coords(time_=("step", valid))
    ds = ds.swap_dims(step="time_").rename(time_="time")
    ds = ds.assign_coords(forecast_reference_time=reference)

    data_types = {str(v.attrs.get("GRIB_dataType", "")) for v in ds.data_vars.values()}
    if "number" in ds.dims:
        ds = ds.rename(number="member")
    elif "number" in ds.coords:
        if data_types & set(_ENSEMBLE_GRIB_DATA_TYPES):
            ds = ds.expand_dims("number").rename(number="member")
        else:
            ds = ds.drop_vars("number")
    # Level coordinates (heightAboveGround, surface ...) are scalars after cfgrib's squeeze.
    keep = {"time", "step", "latitude", "longitude", "member", "forecast_reference_time"}
    return ds.drop_vars([c for c in ds.coords if c not in keep and ds[c].ndim == 0])


def cf_to_canonical(ds: xr.Dataset, path: Path) -> xr.Dataset:
    """Find latitude, longitude, time, reference time and ensemble axes of a CF dataset and
    give them the schema's names."""
    lat = _find_coord(ds, "latitude", _LATITUDE_NAMES, path)
    lon = _find_coord(ds, "longitude", _LONGITUDE_NAMES, path)
    for name, coord in (("latitude", lat), ("longitude", lon)):
        if ds[coord].ndim != 1:
            raise ForecastError(
                f"{path}: grid not supported yet: {name} '{coord}' is {ds[coord].ndim}-D on "
                f"dimension(s) {list(ds[coord].dims)}; only regular latitude-longitude grids "
                f"(1-D latitude and longitude) are read; {describe_grid(ds)}"
            )
    ds = _coord_to_dim(ds, lat, "latitude")
    ds = _coord_to_dim(ds, lon, "longitude")

    reference = _find_reference_time(ds)
    reference_value = None
    if reference is not None:
        reference_value = np.asarray(ds[reference].values).astype("datetime64[ns]")
        if reference_value.size != 1:
            raise ForecastError(
                f"{path} holds {reference_value.size} forecast reference times; give one run"
            )
        reference_value = reference_value.reshape(())
        ds = ds.drop_vars(reference)

    time = _find_time(ds)
    if time is None:
        raise ForecastError(f"{path}: no time coordinate (standard_name time or axis T)")
    if not np.issubdtype(ds[time].dtype, np.datetime64):
        raise ForecastError(
            f"{path}: time '{time}' is not a decodable CF time (dtype {ds[time].dtype}; "
            "non-standard calendars are not supported)"
        )
    bounds_name = ds[time].attrs.get("bounds") or ds[time].encoding.get("bounds")
    ds = _coord_to_dim(ds, time, "time")
    if bounds_name and bounds_name in ds.variables:
        bounds = ds[bounds_name]
        if bounds.ndim == 2 and np.issubdtype(bounds.dtype, np.datetime64):
            start = bounds.isel({bounds.dims[1]: 0}).values.astype("datetime64[ns]")
            ds = ds.assign_coords(time_bounds_start=("time", start))
        ds = ds.drop_vars(bounds_name)
    if reference_value is not None:
        ds = ds.assign_coords(forecast_reference_time=reference_value)

    member = _find_member(ds)
    if member is not None:  # a scalar member (one per file) becomes a length-1 dimension
        ds = _coord_to_dim(ds, member, "member")
    return ds


def _find_coord(ds: xr.Dataset, key: str, names: Sequence[str], path: Path) -> str:
    candidates = list(ds.cf.coordinates.get(key, []))
    candidates += [n for n in names if n in ds.variables and n not in candidates]
    if not candidates:
        raise ForecastError(
            f"{path}: no {key} coordinate (by CF attributes or name); {describe_grid(ds)}"
        )
    one_d = [c for c in candidates if ds[c].ndim == 1]
    return one_d[0] if one_d else candidates[0]


def describe_grid(ds: xr.Dataset) -> str:
    """The dimensions, coordinates and CF grid mappings of ``ds``, for error messages."""
    dims = ", ".join(f"{name}={size}" for name, size in ds.sizes.items()) or "none"
    coords = ", ".join(str(c) for c in ds.coords) or "none"
    text = f"the file has dimensions {dims} and coordinates {coords}"
    mappings = sorted(
        {
            str(v.attrs["grid_mapping_name"])
            for v in ds.variables.values()
            if "grid_mapping_name" in v.attrs
        }
    )
    if mappings:
        text += f" (CF grid_mapping_name {', '.join(mappings)})"
    return text


def _find_reference_time(ds: xr.Dataset) -> str | None:
    for name, variable in ds.variables.items():
        if variable.attrs.get("standard_name") == "forecast_reference_time":
            return str(name)
    for name in _REFERENCE_NAMES:
        if name in ds.variables and np.issubdtype(ds[name].dtype, np.datetime64):
            return name
    return None


def _find_time(ds: xr.Dataset) -> str | None:
    candidates = [
        str(n)
        for n, v in ds.coords.items()
        if v.attrs.get("standard_name") == "time" or v.attrs.get("axis") == "T"
    ]
    candidates += [n for n in _TIME_NAMES if n in ds.coords and n not in candidates]
    one_d = [c for c in candidates if ds[c].ndim <= 1]
    return one_d[0] if one_d else None


def _find_member(ds: xr.Dataset) -> str | None:
    for name, variable in ds.coords.items():
        if variable.attrs.get("standard_name") == "realization":
            return str(name)
    for name in _MEMBER_NAMES:
        if name in ds.dims or name in ds.coords:
            return name
    return None


def _coord_to_dim(ds: xr.Dataset, coord: str, new: str) -> xr.Dataset:
    """Make the 1-D (or scalar) coordinate ``coord`` the dimension coordinate ``new``."""
    if coord not in ds.coords and coord in ds.dims:
        ds = ds.assign_coords({coord: np.arange(ds.sizes[coord])})
    if coord not in ds.coords:  # a data variable playing coordinate
        ds = ds.set_coords(coord)
    if ds[coord].ndim == 0:
        ds = ds.expand_dims(coord)
    dim = ds[coord].dims[0]
    if dim != coord:
        if coord in ds.dims:  # e.g. a dimension named like the coordinate but unrelated
            ds = ds.rename_dims({coord: f"{coord}__dim"})
        ds = ds.swap_dims({dim: coord})
    if coord != new:
        if new in ds.variables:
            ds = ds.drop_vars(new)
        ds = ds.rename({coord: new})
    return ds


def grid_order(data: xr.DataArray) -> xr.DataArray:
    """Longitudes to -180..180 ascending, latitudes and times ascending (lazy indexing)."""
    lon = data["longitude"].values.astype(np.float64)
    wrapped = (lon + 180.0) % 360.0 - 180.0
    if not np.array_equal(wrapped, lon):
        data = data.assign_coords(longitude=wrapped)
    for dim in ("latitude", "longitude", "time"):
        if dim in data.dims:
            values = data[dim].values
            if not np.all(values[1:] > values[:-1]):
                data = data.sortby(dim)
    if not np.all(np.diff(data["longitude"].values) > 0):
        data = data.drop_duplicates("longitude")  # 0 and 360 in a global 0..360 grid
    return data
