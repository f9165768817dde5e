"""Coordinates of forecast datasets -> the schema's member, time and horizontal layout.

The horizontal layouts (:mod:`bulletin.schema`): (a) regular, 1-D dimensions ``latitude`` and
``longitude``; (b) structured, dimensions ``y``, ``x`` with 2-D coordinates
``latitude(y, x)``, ``longitude(y, x)``; (c) unstructured, dimension ``cell`` with 1-D
coordinates ``latitude(cell)``, ``longitude(cell)``. ``attrs["grid_type"]`` names the grid.

* GRIB (cfgrib): the reference time ``time`` becomes ``forecast_reference_time``, the valid
  time ``time + step`` the ``time`` dimension, ``number`` the ``member`` dimension (kept for
  control/perturbed forecasts, dropped for deterministic ones), level coordinates are dropped.
  A file with several reference times (analyses or reanalyses, ERA5 as the CDS delivers it:
  cfgrib's ``time`` x ``step``) is a series of valid times, each with its own reference time
  (a 1-D ``forecast_reference_time`` along ``time``); (time, step) pairs without a message
  are left out, and two messages valid at the same time are an error.
* CF NetCDF/Zarr: latitude and longitude are found by cf_xarray (``standard_name``, ``units``,
  ``axis``) or by their usual names; 1-D on different dimensions is layout (a), 2-D on the
  same two dimensions (CF curvilinear, WRF after :mod:`bulletin.readers.wrf`) layout (b),
  1-D on one shared dimension (ICON ``clat``/``clon`` on ``ncells``, in radians) layout (c).
  Time by ``standard_name``/``axis`` or name; the reference time by
  ``standard_name forecast_reference_time``; the ensemble axis by ``standard_name realization``
  or the usual names (``number``, ``realization``, ``member``, ``ensemble``). CF time bounds
  (``bounds`` attribute) are kept as the ``time_bounds_start`` coordinate, the start of the
  window of accumulated or averaged variables.
* Grid order: longitudes to -180..180; on layout (a) latitudes and longitudes ascending; times
  ascending.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cf_xarray  # noqa: F401  (registers the .cf accessor)
import numpy as np
import xarray as xr

from bulletin.errors import ForecastError

#: The horizontal dimensions of each layout: (a) regular, (b) structured, (c) unstructured.
REGULAR_DIMS = ("latitude", "longitude")
STRUCTURED_DIMS = ("y", "x")
UNSTRUCTURED_DIMS = ("cell",)
HORIZONTAL_LAYOUTS = (REGULAR_DIMS, STRUCTURED_DIMS, UNSTRUCTURED_DIMS)
CANONICAL_DIMS = ("member", "time", *REGULAR_DIMS, *STRUCTURED_DIMS, *UNSTRUCTURED_DIMS)
#: ``grid_type`` of CF files by layout (a regular CF grid is what ecCodes calls regular_ll).
CF_GRID_TYPES = {
    REGULAR_DIMS: "regular_ll",
    STRUCTURED_DIMS: "curvilinear",
    UNSTRUCTURED_DIMS: "unstructured",
}
_RADIAN_UNITS = frozenset({"radian", "radians", "rad"})
_MEMBER_NAMES = ("number", "realization", "member", "ensemble", "ens", "ensemble_member")
_LATITUDE_NAMES = ("latitude", "lat", "nav_lat")
_LONGITUDE_NAMES = ("longitude", "lon", "nav_lon")
_TIME_NAMES = ("time", "valid_time", "t")
_REFERENCE_NAMES = ("forecast_reference_time", "reference_time", "analysis_time")
_ENSEMBLE_GRIB_DATA_TYPES = ("cf", "pf")


def horizontal_dims(data: xr.Dataset | xr.DataArray) -> tuple[str, ...] | None:
    """The horizontal dimensions of ``data`` (one of :data:`HORIZONTAL_LAYOUTS`), or None."""
    for layout in HORIZONTAL_LAYOUTS:
        if all(d in data.dims for d in layout):
            return layout
    return None


def grib_to_canonical(ds: xr.Dataset, path: Path) -> xr.Dataset:
    """cfgrib's (time, step, number, level) layout -> (member, time = valid time, lat, lon)."""
    if "time" not in ds.coords:
        raise ForecastError(f"{path}: GRIB dataset without a reference time")
    if "step" not in ds.coords:
        raise ForecastError(f"{path}: GRIB dataset without a forecast step")
    if "time" in ds.dims and ds.sizes["time"] > 1:
        ds = _valid_time_series(ds, path)
    else:
        if "time" in ds.dims:
            ds = ds.isel(time=0)
        reference = ds["time"].values.astype("datetime64[ns]")
        if "step" not in ds.dims:
            ds = ds.expand_dims("step")
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


def _valid_time_series(ds: xr.Dataset, path: Path) -> xr.Dataset:
    """cfgrib's ``time`` x ``step`` (several reference times) -> one ``time`` axis of valid
    times, with ``forecast_reference_time`` and ``step`` along it."""
    if "step" not in ds.dims:
        ds = ds.expand_dims("step")
    ds = ds.drop_vars([c for c in ("valid_time",) if c in ds.coords])
    stacked = ds.stack(valid__=("time", "step"), create_index=False)
    references = stacked["time"].values.astype("datetime64[ns]")
    steps = stacked["step"].values.astype("timedelta64[ns]")
    valid = references + steps
    keep = np.ones(valid.size, dtype=bool)
    if ds.sizes["step"] > 1:
        # A (time, step) hypercube has NaN where no message exists (ERA5 accumulations come
        # as forecasts from 06 and 18 UTC, and a request cuts the first and last of them).
        present = stacked[next(iter(stacked.data_vars))].notnull()
        present = present.any(dim=[d for d in present.dims if d != "valid__"])
        keep = np.asarray(present.values, dtype=bool)
    stacked = stacked.isel(valid__=np.flatnonzero(keep))
    valid = valid[keep]
    order = np.argsort(valid, kind="stable")
    stacked = stacked.isel(valid__=order)
    valid = valid[order]
    if valid.size > 1 and np.any(valid[1:] == valid[:-1]):
        k = int(np.argmax(valid[1:] == valid[:-1]))
        runs = stacked["time"].values[[k, k + 1]].astype("datetime64[m]")
        raise ForecastError(
            f"{path} holds two messages valid at {np.datetime_as_string(valid[k], 'm')} "
            f"(from the runs of {runs[0]} and {runs[1]}): overlapping forecasts in one file"
        )
    stacked = stacked.rename(time="forecast_reference_time")
    stacked = stacked.assign_coords(time=("valid__", valid)).swap_dims(valid__="time")
    return stacked


def cf_to_canonical(ds: xr.Dataset, path: Path) -> xr.Dataset:
    """Find latitude, longitude, time, reference time and ensemble axes of a CF dataset and
    give them the schema's names."""
    lat = _find_coord(ds, "latitude", _LATITUDE_NAMES, path)
    lon = _find_coord(ds, "longitude", _LONGITUDE_NAMES, path)
    lat_dims, lon_dims = ds[lat].dims, ds[lon].dims
    if len(lat_dims) == 1 and len(lon_dims) == 1 and lat_dims != lon_dims:
        ds = _coord_to_dim(ds, lat, "latitude")
        ds = _coord_to_dim(ds, lon, "longitude")
        layout = REGULAR_DIMS
    elif lat_dims == lon_dims and len(lat_dims) in (1, 2):
        layout = UNSTRUCTURED_DIMS if len(lat_dims) == 1 else STRUCTURED_DIMS
        ds = _horizontal_coords(ds, lat, lon, layout, path)
    else:
        raise ForecastError(
            f"{path}: grid not supported: latitude '{lat}' on {list(lat_dims)} and longitude "
            f"'{lon}' on {list(lon_dims)}; read are 1-D latitude and longitude on their own "
            "dimensions (regular), both 2-D on the same two dimensions (curvilinear) or both "
            f"1-D on one dimension (unstructured cells); {describe_grid(ds)}"
        )
    ds.attrs.setdefault("grid_type", CF_GRID_TYPES[layout])

    reference = _find_reference_time(ds)
    reference_value = None
    reference_dim = None  # a series: one reference time per valid time, along this dimension
    if reference is not None:
        reference_value = np.asarray(ds[reference].values).astype("datetime64[ns]")
        if reference_value.size != 1 and ds[reference].ndim == 1:
            reference_dim = ds[reference].dims[0]
        elif reference_value.size != 1:
            raise ForecastError(
                f"{path} holds {reference_value.size} forecast reference times on "
                f"{list(ds[reference].dims)}; read are one run, or one reference time per "
                "valid time"
            )
        else:
            reference_value = reference_value.reshape(())
        ds = ds.drop_vars(reference)

    time = _find_time(ds)
    if time is None:
        raise ForecastError(f"{path}: no time coordinate (standard_name time or axis T)")
    if not np.issubdtype(ds[time].dtype, np.datetime64) and _is_cdi_absolute(ds[time]):
        ds = ds.assign_coords({time: (ds[time].dims, _cdi_absolute_times(ds[time], path))})
    if not np.issubdtype(ds[time].dtype, np.datetime64):
        raise ForecastError(
            f"{path}: time '{time}' is not a decodable CF time (dtype {ds[time].dtype}; "
            "non-standard calendars are not supported)"
        )
    if reference_dim is not None and ds[time].dims != (reference_dim,):
        raise ForecastError(
            f"{path} holds {reference_value.size} forecast reference times on "
            f"'{reference_dim}' but its valid time '{time}' is on {list(ds[time].dims)}"
        )
    bounds_name = ds[time].attrs.get("bounds") or ds[time].encoding.get("bounds")
    ds = _coord_to_dim(ds, time, "time")
    if bounds_name and bounds_name in ds.variables:
        bounds = ds[bounds_name]
        if bounds.ndim == 2 and np.issubdtype(bounds.dtype, np.datetime64):
            start = bounds.isel({bounds.dims[1]: 0}).values.astype("datetime64[ns]")
            ds = ds.assign_coords(time_bounds_start=("time", start))
        ds = ds.drop_vars(bounds_name)
    if reference_dim is not None:
        ds = ds.assign_coords(forecast_reference_time=("time", reference_value))
    elif reference_value is not None:
        ds = ds.assign_coords(forecast_reference_time=reference_value)

    member = _find_member(ds)
    if member is not None:  # a scalar member (one per file) becomes a length-1 dimension
        ds = _coord_to_dim(ds, member, "member")
    return ds


def _horizontal_coords(
    ds: xr.Dataset, lat: str, lon: str, layout: tuple[str, ...], path: Path
) -> xr.Dataset:
    """2-D latitude/longitude on (dim_y, dim_x) -> layout (b) ``latitude(y, x)``; 1-D on one
    dimension (cells) -> layout (c) ``latitude(cell)``. Degrees; radians are converted."""
    values = {}
    for name, coord in (("latitude", lat), ("longitude", lon)):
        variable = ds[coord]
        data = np.asarray(variable.values, dtype=np.float64)
        units = str(variable.attrs.get("units", "")).strip().lower()
        if units in _RADIAN_UNITS:
            data = np.degrees(data)
        if not np.all(np.isfinite(data)):
            raise ForecastError(f"{path}: {name} '{coord}' has missing or non-finite values")
        limit = 90.0 if name == "latitude" else 360.0
        if np.any(np.abs(data) > limit + 1e-6):
            raise ForecastError(
                f"{path}: {name} '{coord}' has values up to {np.abs(data).max():g}, beyond "
                f"{limit:g} (units {variable.attrs.get('units', 'none')!r})"
            )
        values[name] = data
    source_dims = ds[lat].dims
    drop = [c for c in {lat, lon, "latitude", "longitude", *layout} if c in ds.variables]
    ds = ds.drop_vars(drop)
    rename = {old: new for old, new in zip(source_dims, layout, strict=True) if old != new}
    clash = [d for d in rename.values() if d in ds.dims]
    if clash:
        raise ForecastError(
            f"{path}: cannot name the grid dimensions {list(layout)}: {clash} is already a "
            f"dimension; {describe_grid(ds)}"
        )
    ds = ds.rename_dims(rename)
    wrapped = (values["longitude"] + 180.0) % 360.0 - 180.0
    return ds.assign_coords(latitude=(layout, values["latitude"]), longitude=(layout, wrapped))


_CDI_DAY_UNITS = "day as %Y%m%d.%f"


def _is_cdi_absolute(time: xr.DataArray) -> bool:
    units = str(time.attrs.get("units", time.encoding.get("units", ""))).strip()
    return units == _CDI_DAY_UNITS and np.issubdtype(time.dtype, np.number)


def _cdi_absolute_times(time: xr.DataArray, path: Path) -> np.ndarray:
    """CDI's absolute time axis ``day as %Y%m%d.%f`` (the date as the number YYYYMMDD plus the
    fraction of the day; CDI User Guide, "time axis", as written by ICON and CDO) ->
    datetime64[ns]. Whole seconds are kept (the fraction is rounded to the second)."""
    values = np.atleast_1d(np.asarray(time.values, dtype=np.float64))
    out = np.empty(values.shape, dtype="datetime64[ns]")
    for i, value in enumerate(values):
        day = int(np.floor(value))
        text = f"{day:08d}"
        try:
            date = np.datetime64(f"{text[:4]}-{text[4:6]}-{text[6:8]}", "s")
        except ValueError:
            raise ForecastError(
                f"{path}: time value {value!r} is not a date YYYYMMDD.fraction "
                f"(units {_CDI_DAY_UNITS!r})"
            ) from None
        seconds = round((value - day) * 86400.0)
        out[i] = date + np.timedelta64(seconds, "s")
    return out.reshape(np.shape(time.values))


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
    """Layout (a): longitudes to -180..180 ascending, latitudes ascending; every layout: times
    ascending (lazy indexing). Layouts (b) and (c) have their longitudes wrapped already."""
    if horizontal_dims(data) != REGULAR_DIMS:
        if "time" in data.dims:
            values = data["time"].values
            if not np.all(values[1:] > values[:-1]):
                data = data.sortby("time")
        return data
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
