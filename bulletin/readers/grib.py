"""GRIB (1 and 2) through cfgrib + ecCodes.

The file is first walked once with ecCodes (header keys only). That finds truncated or corrupt
files, which cfgrib would skip message by message with a mere warning; lists the parameter
hypercubes - (paramId, typeOfLevel, stepType, dataType) - so only those the reader knows are
handed to cfgrib, one dataset each; and records the start of every statistical-processing
window (``startStep``), which cfgrib drops although it is the only way to tell ECMWF
accumulations (from step 0) from NCEP ones (restarting every 6 hours).

cfgrib's index lives in a private temporary directory, built by the first dataset and reused
by the others, and deleted once the datasets are built (data are read later from the GRIB file
by offset): never beside the inputs, which may be read-only or shared by parallel workers.
With ``indexpath=""`` cfgrib would rescan the whole file for every dataset.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from bulletin.errors import ForecastError
from bulletin.readers.eccodes_loader import load_cfgrib, load_eccodes

#: Statistical-processing step types whose window start matters (ecCodes ``stepType``).
STATISTICAL_STEP_TYPES = frozenset({"accum", "avg"})

# Key of one window: (paramId, typeOfLevel, level, end of window in minutes since the reference).
WindowKey = tuple[int, str, float, int]


@dataclass
class GribContents:
    """What one GRIB file holds: cfgrib datasets plus facts cfgrib does not keep."""

    datasets: list[xr.Dataset]
    #: (paramId, typeOfLevel, level, end minute) -> start minute of its statistical window.
    window_starts: dict[WindowKey, int] = field(default_factory=dict)
    #: Originating centres (ecCodes ``centre`` abbreviations, e.g. "ecmf", "kwbc").
    centres: set[str] = field(default_factory=set)
    #: paramId of every message, opened or not.
    param_ids: set[int] = field(default_factory=set)
    #: ecCodes gridType of every message, opened or not.
    grid_types: set[str] = field(default_factory=set)


def open_grib(
    path: Path,
    chunks: Mapping[str, int] | str | None,
    param_ids: Collection[int] | None = None,
) -> GribContents:
    """Read ``path`` (a GRIB file) lazily, one dataset per parameter hypercube; only the
    parameters in ``param_ids`` when given. :class:`ForecastError` when it is unreadable."""
    scan = _scan_messages(path)
    if scan.count == 0:
        raise ForecastError(f"{path} holds no GRIB message")
    wanted = sorted(g for g in scan.groups if param_ids is None or g[0] in param_ids)
    _check_grids(path, {scan.grid_types[g] for g in wanted})
    load_cfgrib()
    datasets = []
    with tempfile.TemporaryDirectory(prefix="bulletin-cfgrib-") as index_dir:
        index_path = str(Path(index_dir) / "{short_hash}.idx")
        for param_id, type_of_level, step_type, data_type in wanted:
            backend_kwargs: dict[str, Any] = {
                "indexpath": index_path,  # built by the first open, reused by the others
                "errors": "raise",
                "filter_by_keys": {
                    "paramId": param_id,
                    "typeOfLevel": type_of_level,
                    "stepType": step_type,
                },
            }
            if data_type:  # GRIB1 messages of some centres carry no dataType key
                backend_kwargs["filter_by_keys"]["dataType"] = data_type
            try:
                with warnings.catch_warnings():
                    # cfgrib warns about keys it cannot decode; the scan proved the file
                    # readable, and the reader checks what it needs.
                    warnings.simplefilter("ignore")
                    datasets.append(
                        xr.open_dataset(
                            path,
                            engine="cfgrib",
                            backend_kwargs=backend_kwargs,
                            chunks=_cfgrib_chunks(chunks),
                        )
                    )
            except Exception as exc:  # cfgrib raises many types; turn them into one line
                raise ForecastError(
                    f"cannot decode GRIB file {path} (paramId {param_id} on {type_of_level}, "
                    f"{step_type}): {type(exc).__name__}: {_one_line(exc)}"
                ) from None
    return GribContents(
        datasets=datasets,
        window_starts=scan.window_starts,
        centres=scan.centres,
        param_ids={g[0] for g in scan.groups},
        grid_types=set(scan.grid_types.values()),
    )


def _cfgrib_chunks(chunks: Mapping[str, int] | str | None) -> Mapping[str, int] | str | None:
    """Canonical chunk names (time, member) -> cfgrib's dimension names (step, number)."""
    if chunks is None or isinstance(chunks, str):
        return chunks
    rename = {"time": "step", "member": "number"}
    return {rename.get(name, name): size for name, size in chunks.items()}


#: ecCodes ``gridType`` values cfgrib decodes onto latitude and longitude dimensions.
SUPPORTED_GRID_TYPES = frozenset({"regular_ll", "regular_gg"})


def _check_grids(path: Path, grid_types: set[str]) -> None:
    """:class:`ForecastError` naming the grid type when a wanted message is not on a regular
    latitude-longitude or regular Gaussian grid."""
    unsupported = sorted(grid_types - SUPPORTED_GRID_TYPES)
    if unsupported:
        names = ", ".join(repr(g) for g in unsupported)
        raise ForecastError(
            f"{path}: grid type {names} (ecCodes gridType) is not supported yet: only regular "
            "latitude-longitude and regular Gaussian grids (regular_ll, regular_gg) are read; "
            "interpolate the file to a regular grid first (e.g. with MIR or CDO remapbil)"
        )


@dataclass
class _Scan:
    window_starts: dict[WindowKey, int] = field(default_factory=dict)
    centres: set[str] = field(default_factory=set)
    #: (paramId, typeOfLevel, stepType, dataType) of every message: one hypercube each.
    groups: set[tuple[int, str, str, str]] = field(default_factory=set)
    #: ecCodes gridType of each hypercube (of its last message).
    grid_types: dict[tuple[int, str, str, str], str] = field(default_factory=dict)
    count: int = 0
    concept_cache: dict[tuple, tuple[int, str, str]] = field(default_factory=dict)


def _scan_messages(path: Path) -> _Scan:
    """Walk every message with ecCodes, reading header keys only."""
    eccodes = load_eccodes()
    scan = _Scan()
    number = 0  # 1-based number of the message being read
    try:
        with path.open("rb") as stream:
            while True:
                number = scan.count + 1
                handle = eccodes.codes_grib_new_from_file(stream, headers_only=True)
                if handle is None:
                    break
                scan.count = number
                try:
                    _scan_one(eccodes, handle, scan, path)
                except ForecastError:
                    raise
                except Exception as exc:  # a key the message decodes but lacks
                    raise ForecastError(
                        f"cannot read GRIB file {path}: message {number} has no usable ecCodes "
                        f"header ({type(exc).__name__}: {_one_line(exc)})"
                    ) from None
                finally:
                    eccodes.codes_release(handle)
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


# Section 1/4 keys that fully determine ecCodes' paramId, typeOfLevel and stepType concepts for
# GRIB2 product templates 4.0/4.1/4.8/4.11 (ecCodes definitions, grib2/paramId.def and
# typeOfLevel.def key on these). Evaluating the concepts costs ~0.7 ms per message, reading
# these ~0.05 ms, so concepts are evaluated once per distinct identity.
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


def _concepts(eccodes: Any, handle: Any, scan: _Scan) -> tuple[int, str, str]:
    """(paramId, typeOfLevel, stepType) of a message, cached by its raw identity."""
    identity: tuple | None = None
    if eccodes.codes_get(handle, "edition") == 2:
        template = eccodes.codes_get(handle, "productDefinitionTemplateNumber")
        if template in _PLAIN_TEMPLATES | _STATISTICAL_TEMPLATES:
            identity = tuple(eccodes.codes_get(handle, k) for k in _GRIB2_IDENTITY_KEYS)
            if template in _STATISTICAL_TEMPLATES:
                identity += (eccodes.codes_get(handle, "typeOfStatisticalProcessing"),)
    if identity is not None and identity in scan.concept_cache:
        return scan.concept_cache[identity]
    concepts = (
        int(eccodes.codes_get(handle, "paramId")),
        str(eccodes.codes_get(handle, "typeOfLevel")),
        str(eccodes.codes_get(handle, "stepType")),
    )
    if identity is not None:
        scan.concept_cache[identity] = concepts
    return concepts


def _optional_key(eccodes: Any, handle: Any, key: str) -> str:
    """A string key of a message, ``""`` when the message does not define it."""
    if not eccodes.codes_is_defined(handle, key):
        return ""
    return str(eccodes.codes_get(handle, key))


def _scan_one(eccodes: Any, handle: Any, scan: _Scan, path: Path) -> None:
    scan.centres.add(str(eccodes.codes_get(handle, "centre")))
    param_id, type_of_level, step_type = _concepts(eccodes, handle, scan)
    group = (param_id, type_of_level, step_type, _optional_key(eccodes, handle, "dataType"))
    scan.groups.add(group)
    scan.grid_types[group] = _optional_key(eccodes, handle, "gridType")
    if step_type not in STATISTICAL_STEP_TYPES:
        return
    eccodes.codes_set(handle, "stepUnits", "m")  # minutes, so sub-hourly windows are exact
    key: WindowKey = (
        param_id,
        type_of_level,
        float(eccodes.codes_get(handle, "level")),
        eccodes.codes_get(handle, "endStep", ktype=int),
    )
    start = eccodes.codes_get(handle, "startStep", ktype=int)
    previous = scan.window_starts.setdefault(key, start)
    if previous != start:
        raise ForecastError(
            f"{path}: message {scan.count} ({eccodes.codes_get(handle, 'shortName')} ending at "
            f"{key[3] / 60:g} h) starts its window at {start / 60:g} h, another message at "
            f"{previous / 60:g} h"
        )


def window_start_minutes(contents: GribContents, variable: xr.DataArray, where: str) -> np.ndarray:
    """Start of the statistical window (minutes after the reference time) of every step of a
    cfgrib variable whose ``GRIB_stepType`` is accumulated or averaged."""
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
