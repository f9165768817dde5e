"""GRIB (editions 1 and 2) read with ecCodes, message by message, into lazy datasets.

The file is walked once with ecCodes (header keys only). That finds truncated or corrupt
files; lists the parameter hypercubes - (paramId, typeOfLevel, stepType, dataType, grid) - so
only those the reader knows become datasets; and records the start of every
statistical-processing window (``startStep``), the only way to tell ECMWF accumulations (from
step 0) from NCEP ones (restarting every 6 hours).

Every field of a GRIB2 message is read: a message may repeat sections 2-7 to hold several
fields (WMO Manual on Codes, FM 92 GRIB edition 2, "Sections 2 to 7 may be repeated"; NCEP
packs 10 m u and v in one message). Each field is cut out as a message of its own: section 0
with the new total length, section 1, the latest sections 2 and 3, the field's sections 4-7
(a bitmap indicator of 254, "a bit map previously defined in the same message applies", takes
that bitmap) and section 8.

Each dataset is one variable of dask chunks, one per field (reference time, step, member,
level), decoded from its offset in the file only when computed, so memory holds one field
per worker however big the file. The horizontal layout is one of the canonical three of
:mod:`bulletin.readers.grib_grids`; winds relative to the grid are turned to east and north.
The dataset's ``attrs`` say ``grid_type`` (ecCodes ``gridType``) and ``global_longitude`` (1
for a regular grid all around the globe).

The variables keep cfgrib's names and attributes (``GRIB_paramId``, ``GRIB_shortName``,
``GRIB_typeOfLevel``, ``GRIB_stepType``, ``GRIB_dataType``, ``units``) and coordinates
(``time`` the reference time, ``step``, ``number``, the level named by its ``typeOfLevel``).
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
from dask.base import tokenize

from bulletin.errors import ForecastError
from bulletin.readers.eccodes_loader import load_eccodes
from bulletin.readers.grib_grids import (
    SUPPORTED_GRID_TYPES,
    GridGeometry,
    StoredOrder,
    earth_relative_wind,
    grid_geometry,
    unsupported_grid_message,
    uv_relative_to_grid,
    values_on_grid,
)

__all__ = [
    "STATISTICAL_STEP_TYPES",
    "SUPPORTED_GRID_TYPES",
    "GribContents",
    "grib2_fields",
    "open_grib",
    "window_start_minutes",
]

#: Statistical-processing step types whose window start matters (ecCodes ``stepType``).
STATISTICAL_STEP_TYPES = frozenset({"accum", "avg"})

#: (u, v) paramId pairs of vector components that may be grid-relative: 10 m wind, wind on
#: levels, 100 m wind (ECMWF parameter database).
WIND_COMPONENT_PAIRS = ((165, 166), (131, 132), (228246, 228247))

# Key of one window: (paramId, typeOfLevel, level, end of window in minutes since the reference).
WindowKey = tuple[int, str, float, int]
# A hypercube: (paramId, typeOfLevel, stepType, dataType, grid key).
GroupKey = tuple[int, str, str, str, tuple[str, str]]


@dataclass
class GribContents:
    """What one GRIB file holds: lazy datasets plus facts the datasets do not keep."""

    datasets: list[xr.Dataset]
    #: (paramId, typeOfLevel, level, end minute) -> start minute of its statistical window.
    window_starts: dict[WindowKey, int] = field(default_factory=dict)
    #: Originating centres (ecCodes ``centre`` abbreviations, e.g. "ecmf", "kwbc").
    centres: set[str] = field(default_factory=set)
    #: paramId of every field, read or not.
    param_ids: set[int] = field(default_factory=set)
    #: ecCodes gridType of every field, read or not.
    grid_types: set[str] = field(default_factory=set)
    #: paramId -> "shortName on typeOfLevel level(s)" of every field, read or not.
    field_descriptions: dict[int, str] = field(default_factory=dict)

    def describe(self, limit: int = 8) -> str:
        """What the file holds, for messages: "GRIB paramIds: 10 (ws on isobaricInhPa 300)"."""
        items = [
            f"{pid} ({self.field_descriptions.get(pid, '?')})" for pid in sorted(self.param_ids)
        ]
        shown = ", ".join(items[:limit])
        if len(items) > limit:
            shown += f" +{len(items) - limit} more"
        return f"GRIB paramIds: {shown}" if items else "no GRIB paramIds"


@dataclass(frozen=True)
class _Location:
    """Where one field's data are: the message's byte range and, for a message of several
    fields, the field's 0-based position in it (``None``: the message holds one field)."""

    offset: int
    length: int
    field_index: int | None


@dataclass(frozen=True)
class _Field:
    location: _Location
    reference: np.datetime64
    step_minutes: int
    number: int
    level: float
    short_name: str
    name: str
    units: str
    uv_relative: bool


@dataclass(frozen=True)
class _Concepts:
    """What ecCodes' concept definitions make of a message's codes."""

    param_id: int
    type_of_level: str
    step_type: str
    short_name: str
    name: str
    units: str


@dataclass
class _Scan:
    window_starts: dict[WindowKey, int] = field(default_factory=dict)
    centres: set[str] = field(default_factory=set)
    groups: dict[GroupKey, list[_Field]] = field(default_factory=dict)
    #: A location whose message decodes fully, for each grid key (for its geometry).
    grid_samples: dict[tuple[str, str], _Location] = field(default_factory=dict)
    count: int = 0
    concept_cache: dict[tuple, _Concepts] = field(default_factory=dict)


def open_grib(
    path: Path,
    chunks: Mapping[str, int] | str | None = None,
    param_ids: Collection[int] | None = None,
) -> GribContents:
    """Read ``path`` (a GRIB file) lazily, one dataset per parameter hypercube; only the
    parameters in ``param_ids`` when given. :class:`ForecastError` when it is unreadable.

    The data are dask arrays of one chunk per field whatever ``chunks`` is (the caller
    rechunks); ``chunks`` is accepted for the reader interface."""
    del chunks
    scan = _scan_messages(path)
    if scan.count == 0:
        raise ForecastError(f"{path} holds no GRIB message")
    wanted = sorted(g for g in scan.groups if param_ids is None or g[0] in param_ids)
    unsupported = {g[4][0] for g in wanted} - SUPPORTED_GRID_TYPES
    if unsupported:
        raise ForecastError(unsupported_grid_message(str(path), unsupported))
    eccodes = load_eccodes()
    geometries = {
        key: _geometry(eccodes, path, location)
        for key, location in scan.grid_samples.items()
        if any(g[4] == key for g in wanted)
    }
    datasets = {g: _dataset(path, g, scan.groups[g], geometries[g[4]]) for g in wanted}
    _rotate_winds(datasets, geometries, path)
    return GribContents(
        datasets=list(datasets.values()),
        window_starts=scan.window_starts,
        centres=scan.centres,
        param_ids={g[0] for g in scan.groups},
        grid_types={g[4][0] for g in scan.groups},
        field_descriptions=_descriptions(scan.groups),
    )


def _descriptions(groups: Mapping[GroupKey, list[_Field]]) -> dict[int, str]:
    by_param: dict[int, list[str]] = {}
    for (param_id, type_of_level, *_), fields in sorted(groups.items(), key=str):
        levels = sorted({f.level for f in fields})
        level_text = " " + "/".join(f"{level:g}" for level in levels[:4]) if levels else ""
        if len(levels) > 4:
            level_text += f" +{len(levels) - 4} more"
        text = f"{fields[0].short_name} on {type_of_level}{level_text}"
        if text not in by_param.setdefault(param_id, []):
            by_param[param_id].append(text)
    return {param_id: "; ".join(texts) for param_id, texts in by_param.items()}


# --------------------------------------------------------------------------- GRIB2 fields


def _grib2_sections(message: bytes) -> list[tuple[int, int, int]]:
    """(section number, start, length) of sections 1-7 of a GRIB2 message."""
    sections = []
    position = 16
    end = len(message) - 4  # section 8, "7777"
    while position < end:
        length = int.from_bytes(message[position : position + 4], "big")
        number = message[position + 4]
        if length < 5 or position + length > end:
            raise ValueError(f"GRIB2 section {number} at byte {position} overruns the message")
        sections.append((number, position, length))
        position += length
    return sections


def grib2_fields(message: bytes) -> list[bytes]:
    """Every field of a GRIB2 message, each as a message of one field (module docstring)."""
    sections = _grib2_sections(message)
    by_number: dict[int, bytes] = {}
    bitmap: bytes | None = None
    fields = []
    for number, start, length in sections:
        body = message[start : start + length]
        if number == 6:
            indicator = body[5]
            if indicator == 254:
                if bitmap is None:
                    raise ValueError("bitmap indicator 254 with no bitmap defined before")
                body = bitmap
            elif indicator == 0:
                bitmap = body
        by_number[number] = body
        if number == 7:
            parts = [by_number[1], by_number.get(2, b""), by_number[3]]
            parts += [by_number[4], by_number[5], by_number[6], body]
            total = 16 + sum(len(p) for p in parts) + 4
            head = message[:8] + total.to_bytes(8, "big")
            fields.append(b"".join([head, *parts, b"7777"]))
    return fields


def _grib2_field_count(stream: Any, offset: int) -> int:
    """How many fields (section 4s) the GRIB2 message at ``offset`` holds, reading only the
    section headers."""
    stream.seek(offset)
    head = stream.read(16)
    total = int.from_bytes(head[8:16], "big")
    position, count = 16, 0
    while position < total - 4:
        stream.seek(offset + position)
        header = stream.read(5)
        if len(header) < 5:
            break
        length = int.from_bytes(header[:4], "big")
        if length < 5:
            break
        count += header[4] == 4
        position += length
    return count


def _message_bytes(path: Path | str, location: _Location) -> bytes:
    with open(path, "rb") as stream:
        stream.seek(location.offset)
        message = stream.read(location.length)
    if location.field_index is None:
        return message
    return grib2_fields(message)[location.field_index]


# --------------------------------------------------------------------------- scan


def _scan_messages(path: Path) -> _Scan:
    """Walk every message with ecCodes, reading header keys only."""
    eccodes = load_eccodes()
    scan = _Scan()
    number = 0  # 1-based number of the message being read
    try:
        with path.open("rb") as stream, path.open("rb") as raw:
            while True:
                number += 1
                handle = eccodes.codes_grib_new_from_file(stream, headers_only=True)
                if handle is None:
                    break
                try:
                    _scan_message(eccodes, handle, raw, scan, path, number)
                except ForecastError:
                    raise
                except Exception as exc:  # a key the message decodes but lacks
                    raise ForecastError(
                        f"cannot read GRIB file {path}: message {number} has no usable ecCodes "
                        f"header ({type(exc).__name__}: {_one_line(exc)})"
                    ) from None
                finally:
                    eccodes.codes_release(handle)
                scan.count = number
    except ForecastError:
        raise
    except OSError as exc:
        raise ForecastError(f"cannot read GRIB file {path}: {exc.strerror or exc}") from None
    except Exception as exc:  # gribapi.errors.* (truncated, corrupt, unknown edition ...)
        raise ForecastError(
            f"cannot read GRIB file {path}: message {number} is truncated or corrupt "
            f"({type(exc).__name__}: {_one_line(exc)})"
        ) from None
    return scan


def _scan_message(eccodes: Any, handle: Any, raw: Any, scan: _Scan, path: Path, number: int):
    offset = int(eccodes.codes_get(handle, "offset"))
    length = int(eccodes.codes_get(handle, "totalLength"))
    if eccodes.codes_get(handle, "edition") != 2 or _grib2_field_count(raw, offset) <= 1:
        _scan_field(eccodes, handle, _Location(offset, length, None), scan, path, number)
        return
    raw.seek(offset)
    for index, message in enumerate(grib2_fields(raw.read(length))):
        field_handle = eccodes.codes_new_from_message(message)
        try:
            location = _Location(offset, length, index)
            _scan_field(eccodes, field_handle, location, scan, path, number)
        finally:
            eccodes.codes_release(field_handle)


# Section 1/4 keys that fully determine ecCodes' paramId, typeOfLevel and stepType concepts for
# GRIB2 product templates 4.0/4.1/4.8/4.11 (ecCodes definitions, grib2/paramId.def and
# typeOfLevel.def key on these; shortName, name and units follow paramId). Evaluating the
# concepts costs milliseconds per message, reading these ~0.05 ms, so concepts are evaluated
# once per distinct identity. They are read as
# integers: as strings, code-table keys give abbreviations that several codes share.
_GRIB2_IDENTITY_KEYS = (
    "centre",
    "subCentre",
    "tablesVersion",
    "localTablesVersion",
    "discipline",
    "parameterCategory",
    "parameterNumber",
    "productDefinitionTemplateNumber",
    "typeOfFirstFixedSurface",
    "scaleFactorOfFirstFixedSurface",
    "scaledValueOfFirstFixedSurface",
    "typeOfSecondFixedSurface",
    "scaleFactorOfSecondFixedSurface",
    "scaledValueOfSecondFixedSurface",
)
_PLAIN_TEMPLATES = frozenset({0, 1})
_STATISTICAL_TEMPLATES = frozenset({8, 11})


def _concepts(eccodes: Any, handle: Any, scan: _Scan) -> _Concepts:
    """The ecCodes concepts of a message, cached by its raw identity."""
    identity: tuple | None = None
    if eccodes.codes_get(handle, "edition") == 2:
        template = eccodes.codes_get(handle, "productDefinitionTemplateNumber")
        if template in _PLAIN_TEMPLATES | _STATISTICAL_TEMPLATES:
            identity = tuple(eccodes.codes_get(handle, k, ktype=int) for k in _GRIB2_IDENTITY_KEYS)
            if template in _STATISTICAL_TEMPLATES:
                identity += (eccodes.codes_get(handle, "typeOfStatisticalProcessing", ktype=int),)
    if identity is not None and identity in scan.concept_cache:
        return scan.concept_cache[identity]
    concepts = _Concepts(
        param_id=int(eccodes.codes_get(handle, "paramId")),
        type_of_level=str(eccodes.codes_get(handle, "typeOfLevel")),
        step_type=str(eccodes.codes_get(handle, "stepType")),
        short_name=str(eccodes.codes_get(handle, "shortName")),
        name=str(_optional_key(eccodes, handle, "name")),
        units=str(_optional_key(eccodes, handle, "units")),
    )
    if identity is not None:
        scan.concept_cache[identity] = concepts
    return concepts


def _optional_key(eccodes: Any, handle: Any, key: str, default: Any = "") -> Any:
    """A key of a message, ``default`` when the message does not define it."""
    if not eccodes.codes_is_defined(handle, key):
        return default
    return eccodes.codes_get(handle, key)


def _reference_time(eccodes: Any, handle: Any) -> np.datetime64:
    date = int(eccodes.codes_get(handle, "dataDate"))
    time = int(eccodes.codes_get(handle, "dataTime"))
    text = f"{date // 10000:04d}-{date // 100 % 100:02d}-{date % 100:02d}"
    text += f"T{time // 100:02d}:{time % 100:02d}"
    return np.datetime64(text, "ns")


def _scan_field(
    eccodes: Any, handle: Any, location: _Location, scan: _Scan, path: Path, number: int
) -> None:
    scan.centres.add(str(eccodes.codes_get(handle, "centre")))
    concepts = _concepts(eccodes, handle, scan)
    param_id, type_of_level, step_type = (
        concepts.param_id,
        concepts.type_of_level,
        concepts.step_type,
    )
    grid_key = (
        str(_optional_key(eccodes, handle, "gridType")),
        str(_optional_key(eccodes, handle, "md5GridSection")),
    )
    data_type = str(_optional_key(eccodes, handle, "dataType"))
    group = (param_id, type_of_level, step_type, data_type, grid_key)
    scan.grid_samples.setdefault(grid_key, location)
    eccodes.codes_set(handle, "stepUnits", "m")  # minutes, so sub-hourly steps are exact
    end_minutes = int(eccodes.codes_get(handle, "endStep", ktype=int))
    level = float(_optional_key(eccodes, handle, "level", 0.0))
    scan.groups.setdefault(group, []).append(
        _Field(
            location=location,
            reference=_reference_time(eccodes, handle),
            step_minutes=end_minutes,
            number=int(_optional_key(eccodes, handle, "number", 0) or 0),
            level=level,
            short_name=concepts.short_name,
            name=concepts.name,
            units=concepts.units,
            uv_relative=uv_relative_to_grid(eccodes, handle),
        )
    )
    if step_type not in STATISTICAL_STEP_TYPES:
        return
    key: WindowKey = (param_id, type_of_level, level, end_minutes)
    start = int(eccodes.codes_get(handle, "startStep", ktype=int))
    previous = scan.window_starts.setdefault(key, start)
    if previous != start:
        raise ForecastError(
            f"{path}: message {number} ({eccodes.codes_get(handle, 'shortName')} ending at "
            f"{key[3] / 60:g} h) starts its window at {start / 60:g} h, another message at "
            f"{previous / 60:g} h"
        )


# --------------------------------------------------------------------------- datasets


def _geometry(eccodes: Any, path: Path, location: _Location) -> GridGeometry:
    handle = eccodes.codes_new_from_message(_message_bytes(path, location))
    try:
        return grid_geometry(eccodes, handle, str(path))
    finally:
        eccodes.codes_release(handle)


def _decode(path: str, location: _Location, order: StoredOrder) -> np.ndarray:
    """The values of one field, missing points NaN, in the grid's shape (float32)."""
    eccodes = load_eccodes()
    handle = eccodes.codes_new_from_message(_message_bytes(path, location))
    try:
        values = np.asarray(eccodes.codes_get_values(handle), dtype=np.float32)
        if eccodes.codes_get(handle, "bitmapPresent"):
            bitmap = np.asarray(eccodes.codes_get_array(handle, "bitmap"))
            values[bitmap == 0] = np.nan
    finally:
        eccodes.codes_release(handle)
    # One chunk of the (reference time, step, member, level, *grid) array.
    grid = np.ascontiguousarray(values_on_grid(values, order))
    return grid.reshape((1,) * 4 + grid.shape)


def _missing(shape: tuple[int, ...]) -> np.ndarray:
    return np.full((1,) * 4 + shape, np.nan, dtype=np.float32)


def _dataset(path: Path, group: GroupKey, fields: list[_Field], geometry: GridGeometry):
    """One hypercube as a Dataset of one lazy variable, in cfgrib's layout."""
    param_id, type_of_level, step_type, data_type, _ = group
    references = sorted({f.reference for f in fields})
    steps = sorted({f.step_minutes for f in fields})
    numbers = sorted({f.number for f in fields})
    levels = sorted({f.level for f in fields})
    axes = (references, steps, numbers, levels)
    index = [{value: i for i, value in enumerate(axis)} for axis in axes]
    placed: dict[tuple[int, ...], _Field] = {}
    for f in fields:
        at = tuple(
            ix[v]
            for ix, v in zip(index, (f.reference, f.step_minutes, f.number, f.level), strict=True)
        )
        if at in placed:
            raise ForecastError(
                f"{path}: two GRIB fields hold {f.short_name} ({type_of_level} {f.level:g}, "
                f"step {f.step_minutes / 60:g} h, member {f.number}, run "
                f"{np.datetime_as_string(f.reference, 'm')})"
            )
        placed[at] = f
    shape = geometry.shape
    name = f"grib-{param_id}-" + tokenize(str(path), group, [f.location for f in fields])
    tail = (0,) * len(shape)
    graph: dict[tuple, tuple] = {}
    for at in itertools.product(*(range(len(a)) for a in axes)):
        f = placed.get(at)
        if f is None:
            graph[(name, *at, *tail)] = (_missing, shape)
        else:
            graph[(name, *at, *tail)] = (_decode, str(path), f.location, geometry.order)
    chunks = tuple((1,) * len(a) for a in axes) + tuple((n,) for n in shape)
    array = da.Array(graph, name, chunks=chunks, dtype=np.float32)
    # time, number and level of one value are scalar coordinates, as cfgrib makes them;
    # step stays a dimension.
    squeezed = tuple(i for i in (0, 2, 3) if len(axes[i]) == 1)
    array = da.squeeze(array, axis=squeezed)
    dims = [d for i, d in enumerate(("time", "step", "number", type_of_level)) if i not in squeezed]
    first = fields[0]
    coords: dict[str, Any] = {
        "time": ("time", np.array(references)) if len(references) > 1 else references[0],
        "step": ("step", np.array(steps, dtype="timedelta64[m]").astype("timedelta64[ns]")),
        "number": ("number", np.array(numbers)) if len(numbers) > 1 else numbers[0],
        type_of_level: (type_of_level, np.array(levels)) if len(levels) > 1 else levels[0],
    }
    for coord_name, (coord_dims, values, attrs) in geometry.coords().items():
        coords[coord_name] = xr.Variable(coord_dims, values, attrs)
    attrs = {
        "GRIB_paramId": param_id,
        "GRIB_shortName": first.short_name,
        "GRIB_typeOfLevel": type_of_level,
        "GRIB_stepType": step_type,
        "GRIB_dataType": data_type,
        "GRIB_gridType": geometry.grid_type,
        "GRIB_uvRelativeToGrid": int(first.uv_relative),
        "long_name": first.name,
        "units": first.units,
    }
    variable_name = first.short_name if first.short_name != "unknown" else f"p{param_id}"
    variable = xr.Variable((*dims, *geometry.dims), array, attrs)
    ds_attrs = {"grid_type": geometry.grid_type}
    if geometry.is_global:
        ds_attrs["global_longitude"] = 1
    return xr.Dataset({variable_name: variable}, coords=coords, attrs=ds_attrs)


def _rotate_winds(
    datasets: dict[GroupKey, xr.Dataset],
    geometries: Mapping[tuple[str, str], GridGeometry],
    path: Path,
) -> None:
    """Replace grid-relative wind components by east and north ones, in place."""
    for group, u_ds in list(datasets.items()):
        pair = next((p for p in WIND_COMPONENT_PAIRS if p[0] == group[0]), None)
        geometry = geometries[group[4]]
        if pair is None or geometry.wind_angle_deg is None:
            continue
        v_group = (pair[1], *group[1:])
        if v_group not in datasets:
            continue  # one component alone has no direction to turn
        v_ds = datasets[v_group]
        (u_name,) = u_ds.data_vars
        (v_name,) = v_ds.data_vars
        u, v = u_ds[u_name], v_ds[v_name]
        if u.dims != v.dims or any(
            not np.array_equal(u[d].values, v[d].values) for d in u.dims if d in u.coords
        ):
            raise ForecastError(
                f"{path}: grid-relative wind components {u_name} and {v_name} are not given "
                "at the same times, members and levels, so they cannot be turned to east and "
                "north"
            )
        angle = xr.DataArray(geometry.wind_angle_deg, dims=geometry.dims)
        east, north = earth_relative_wind(u.variable, v.variable, angle.variable)
        for ds, name, data in ((u_ds, u_name, east), (v_ds, v_name, north)):
            attrs = dict(ds[name].attrs, GRIB_uvRelativeToGrid=0)
            attrs["comment"] = "turned from grid-relative to east and north components"
            datasets[(pair[0] if ds is u_ds else pair[1], *group[1:])] = ds.assign(
                {name: xr.Variable(ds[name].dims, data.data.astype(np.float32), attrs)}
            )


def window_start_minutes(contents: GribContents, variable: xr.DataArray, where: str) -> np.ndarray:
    """Start of the statistical window (minutes after the reference time) of every step of a
    GRIB variable whose ``GRIB_stepType`` is accumulated or averaged."""
    attrs = variable.attrs
    param_id = int(attrs["GRIB_paramId"])
    type_of_level = str(attrs.get("GRIB_typeOfLevel", ""))
    level_coord = variable.coords.get(type_of_level)
    level = float(level_coord.values) if level_coord is not None and level_coord.ndim == 0 else 0.0
    steps = np.atleast_1d(variable["step"].values).astype("timedelta64[m]").astype(np.int64)
    if attrs.get("GRIB_stepType") == "instant":  # an amount at step 0: an empty window
        return steps.copy()
    starts = np.empty(steps.shape, dtype=np.int64)
    for i, end in enumerate(steps):
        key = (param_id, type_of_level, level, int(end))
        if key not in contents.window_starts:
            raise ForecastError(f"{where}: no GRIB message found for step {end / 60:g} h")
        starts[i] = contents.window_starts[key]
    return starts


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] if text else "no details"
