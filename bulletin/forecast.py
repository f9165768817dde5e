"""Open forecast files (GRIB, CF NetCDF, Zarr) as one Dataset in the internal schema.

:func:`open_forecast` reads one or more files, recognises their variables
(:mod:`bulletin.readers.catalogue`), converts units with pint (:mod:`bulletin.units`), turns
accumulations and window averages into mean rates over the preceding interval
(:mod:`bulletin.readers.accumulation`), derives what is missing (relative humidity from dew
point, wind speed from its components, physical snow depth from its water equivalent), puts
the grid in the schema's order and checks the values. The result is described in
:mod:`bulletin.schema`.

Derivations (each cited where it is computed):

* relative humidity from dew point: Magnus formula with the Alduchov & Eskridge (1996)
  coefficients, over water (WMO-No. 8 reports relative humidity with respect to water, also
  below 0 °C);
* wind speed = hypot(u, v);
* physical snow depth = water equivalent / snow density, the model's density (``rsn``) when the
  file has one (ECMWF: "snow depth in m = sd * 1000 / rsn"), otherwise
  :data:`DEFAULT_SNOW_DENSITY_KG_M3`;
* rates: ``tp``/``sf`` (m or kg m-2) -> mm h-1 of liquid water; ``ssrd`` (J m-2) -> W m-2;
  the first time of an accumulation that starts at the reference time has an empty window and
  is NaN (see :mod:`bulletin.readers.accumulation`).

The dataset's ``attrs`` record ``source_files`` (absolute paths) and ``source_convention``
(``ecmwf`` / ``gfs`` for GRIB from ECMWF / NCEP, ``grib-<centre>`` for other centres, ``wrf``
for WRF output, ``cf`` for other NetCDF and Zarr; several joined with ``+``), ``grid_type``
(the 2 m temperature's grid) and, on a regular grid that goes round the globe,
``global_longitude = 1``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dask
import numpy as np
import xarray as xr

from bulletin.errors import ForecastError
from bulletin.readers.accumulation import interval_mean_rate
from bulletin.readers.catalogue import (
    SOURCES,
    SOURCES_BY_KEY,
    Kind,
    Source,
    file_units,
    identify,
)
from bulletin.readers.cf import open_cf
from bulletin.readers.coords import (
    CANONICAL_DIMS,
    REGULAR_DIMS,
    cf_to_canonical,
    grib_to_canonical,
    grid_order,
    horizontal_dims,
)
from bulletin.readers.detect import Format, detect_format
from bulletin.readers.eccodes_loader import load_eccodes
from bulletin.readers.grib import (
    SUPPORTED_GRID_TYPES,
    GribContents,
    open_grib,
    window_start_minutes,
)
from bulletin.readers.winds import rotate_cf_grid_winds
from bulletin.readers.wrf import is_wrf, wrf_to_cf
from bulletin.schema import FIELDS, FIELDS_BY_NAME
from bulletin.units import UnitsError, convert

# ecCodes (through cfgrib, also loaded by xarray's backend discovery) must come after pyproj;
# see bulletin.readers.eccodes_loader.
load_eccodes()

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_SNOW_DENSITY_KG_M3",
    "VALID_RANGES",
    "open_forecast",
    "relative_humidity_from_dewpoint",
]

#: Bulk density of the snowpack used to turn a snow water equivalent into a physical depth when
#: the file has no snow density (our choice: 250 kg m-3, a mid-winter value inside the range
#: of seasonal-snow bulk densities, about 200-350 kg m-3, of Sturm et al. 2010, J. Hydrometeor.
#: 11, 1380-1394; fresh snow is lighter and spring or groomed piste snow denser, so depths from
#: SWE alone are uncertain by roughly +-30 %).
DEFAULT_SNOW_DENSITY_KG_M3 = 250.0

#: Physically possible values of each output (schema units), checked after conversion.
#: Outside them the input is wrong (bad units, wrong variable, corrupt data) and the reader
#: raises. Sources: -100..60 °C brackets the observed extremes of 2 m temperature (-89.2 °C
#: Vostok, 56.7 °C Death Valley, WMO Archive of Weather and Climate Extremes); RH above 110 %
#: or a cloud fraction above 1.05 cannot be rounding (our choice of tolerance); the rest are our
#: choice, each with a margin around the record: 10 m wind, its components and gusts within
#: 150 m s-1 (record gust 113 m s-1, Barrow Island 1996, WMO); surface shortwave <= 1500 W m-2
#: (solar constant 1361 W m-2); snow depth <= 100 m (ECMWF caps snow at 10 m water equivalent
#: on glaciers, 40 m at our density); precipitation <= 500 mm h-1 (record 1-hour rain 305 mm,
#: Holt, Missouri, 1947); total ozone 50..1000 DU (observed about 90..650 DU); UV index <= 50
#: (highest measured 43.3, Licancabur, Cabrol et al. 2014); sea-level pressure 800..1100 hPa
#: (records 870 and 1083.8 hPa); surface height -500..9000 m (Dead Sea shore -430 m, Everest
#: 8849 m).
VALID_RANGES: dict[str, tuple[float, float]] = {
    "t2m": (-100.0, 60.0),
    "rh2m": (0.0, 110.0),
    "wind10": (0.0, 150.0),
    "u10": (-150.0, 150.0),
    "v10": (-150.0, 150.0),
    "gust10": (0.0, 150.0),
    "tcc": (-0.05, 1.05),
    "rsds": (-5.0, 1500.0),
    "snow_depth": (-0.001, 100.0),
    "snowfall": (-0.05, 500.0),
    "precip": (-0.05, 500.0),
    "visibility": (0.0, 1.0e6),
    "ozone": (50.0, 1000.0),
    "uv_index_model": (-0.05, 50.0),
    "msl": (80000.0, 110000.0),
    "orography": (-500.0, 9000.0),
}

#: Times whose range checks are computed together (our choice: a few chunks of every field
#: in memory at once).
_VALIDATE_TIMES = 8

#: Small negative values that are noise and are set to 0 (our choice: de-accumulating packed
#: GRIB data leaves differences of a few packing steps, e.g. 16-bit ssrd at +240 h ~0.2 W m-2;
#: the lower bounds above are a generous multiple of that), and the fraction bounded to [0, 1].
_CLIP: dict[str, tuple[float | None, float | None]] = {
    "tcc": (0.0, 1.0),
    "rsds": (0.0, None),
    "snow_depth": (0.0, None),
    "snowfall": (0.0, None),
    "precip": (0.0, None),
    "uv_index_model": (0.0, None),
}

# Alduchov & Eskridge (1996), J. Appl. Meteor. 35, 601-609, eq. 21 (AERK): saturation vapour
# pressure over water e_s(T) = 6.1094 exp(17.625 T / (T + 243.04)), T in °C.
_MAGNUS_A = 17.625
_MAGNUS_B_DEGC = 243.04

_GRIB_CONVENTIONS = {"ecmf": "ecmwf", "kwbc": "gfs"}
_KNOWN_PARAM_IDS = frozenset(pid for s in SOURCES for pid in s.grib_param_ids)

Chunks = Mapping[str, int] | str | None


@dataclass
class _Piece:
    """One recognised variable of one file, on canonical coordinates, in ``source.units``."""

    source: Source
    data: xr.DataArray
    path: Path
    variable: str
    file_units: str
    kind: Kind
    #: The run the piece comes from; None for a series of analyses (one run per time).
    reference_time: np.datetime64 | None
    grid_type: str = ""


@dataclass
class _Field:
    """A schema field being assembled, with the pieces it came from (for messages)."""

    data: xr.DataArray
    pieces: list[_Piece]
    comment: str = ""


@dataclass
class _Catalogue:
    pieces: dict[str, list[_Piece]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # matched variables that were unusable

    def add(self, piece: _Piece) -> None:
        self.pieces.setdefault(piece.source.key, []).append(piece)


def open_forecast(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    chunks: Chunks = None,
    latest_run: bool = False,
) -> xr.Dataset:
    """Read forecast files into one Dataset in the internal schema (:mod:`bulletin.schema`).

    Parameters
    ----------
    paths
        One path or several: GRIB 1/2, netCDF-4/HDF5, classic NetCDF (CF, WRF ``wrfout``, ICON
        cells, ERA5 from the CDS) or a Zarr directory, recognised from their content. Several
        files are merged (parameters split over files) and concatenated (one file per step or
        per ensemble member); files of consecutive runs, or of analyses at different times,
        are joined along valid time when their times do not overlap.
    chunks
        ``None`` for numpy-backed data (GRIB is dask-backed all the same, one chunk per
        field, each decoded when it is computed), or dask chunks by canonical dimension name
        (``time``, ``latitude``, ``longitude``, ``y``, ``x``, ``cell``, ``member``), ``{}`` or
        ``"auto"``: the result is then dask-backed and nothing but the small validation
        reductions is computed.
    latest_run
        When files of several forecast runs overlap in valid time, take the newest run where
        they overlap (older runs keep only the times before the next run begins) instead of
        raising :class:`ForecastError`.

    Raises
    ------
    ForecastError
        Missing, unreadable or truncated files; files without any known forecast field;
        missing required fields (what was looked for is named); physically impossible values
        (file, variable and value named); an all-missing temperature or an empty time axis;
        runs overlapping in valid time (unless ``latest_run``).
    """
    files = _as_paths(paths)
    catalogue = _Catalogue()
    conventions: list[str] = []
    for path in files:
        fmt = detect_format(path)
        found_before = sum(len(p) for p in catalogue.pieces.values())
        if fmt is Format.GRIB:
            contents = open_grib(path, chunks, param_ids=_KNOWN_PARAM_IDS)
            summary = contents.describe()
            unsupported = sorted(contents.grid_types - SUPPORTED_GRID_TYPES)
            if unsupported:
                summary += f", ecCodes gridType {', '.join(map(repr, unsupported))} (not supported)"
            conventions.extend(
                _GRIB_CONVENTIONS.get(c, f"grib-{c}") for c in sorted(contents.centres)
            )
            for raw in contents.datasets:
                _collect(catalogue, grib_to_canonical(raw, path), path, contents)
        else:
            raw = open_cf(path, fmt, chunks)
            summary = _summary(raw.data_vars, "variables")
            convention = "cf"
            if is_wrf(raw):
                raw, convention = wrf_to_cf(raw, path), "wrf"
            if not any(identify(str(n), v) for n, v in raw.data_vars.items()):
                raise ForecastError(_not_a_forecast(path, [], fmt, summary))
            conventions.append(convention)
            _collect(catalogue, rotate_cf_grid_winds(cf_to_canonical(raw, path)), path, None)
        if sum(len(p) for p in catalogue.pieces.values()) == found_before:
            raise ForecastError(_not_a_forecast(path, catalogue.notes, fmt, summary))

    reference_time = _resolve_runs(catalogue, latest_run)
    combined = {key: _combine(pieces) for key, pieces in catalogue.pieces.items()}
    fields = _derive(combined, catalogue, files)
    dataset = _assemble(fields, reference_time, files, conventions, chunks)
    return dataset


# --------------------------------------------------------------------------- inputs


def _as_paths(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[Path]:
    if isinstance(paths, str | os.PathLike):
        items: Iterable[str | os.PathLike[str]] = [paths]
    else:
        items = paths
    try:
        files = [Path(p).expanduser().resolve() for p in items]
    except RuntimeError as exc:  # pathlib's "Symlink loop from ..." (an OSError from 3.13)
        raise ForecastError(f"cannot read forecast file: {exc}") from None
    if not files:
        raise ForecastError("no forecast file given")
    if len(set(files)) != len(files):
        raise ForecastError(f"the same forecast file is given twice: {_names(files)}")
    return files


def _not_a_forecast(path: Path, notes: list[str], fmt: Format, summary: str) -> str:
    detail = "".join(f"; {n}" for n in notes if str(path) in n)
    return (
        f"{path} ({fmt.value}, {summary}) holds no known forecast field (looked for CF standard "
        f"names, GRIB short names and known variable names with matching units){detail}"
    )


def _summary(names: Iterable[object], what: str) -> str:
    items = sorted(str(n) for n in names)
    shown = ", ".join(items[:8]) + (f" +{len(items) - 8} more" if len(items) > 8 else "")
    return f"{what}: {shown}" if items else f"no {what}"


# --------------------------------------------------------------------------- variables


def _collect(catalogue: _Catalogue, ds: xr.Dataset, path: Path, grib: GribContents | None) -> None:
    """Recognise the variables of one canonical dataset and add them to ``catalogue``."""
    reference = ds.coords.get("forecast_reference_time")
    references = None  # one per time for a series of analyses, else the run's
    reference_time = None
    if reference is not None:
        references = np.asarray(reference.values).astype("datetime64[ns]")
        if references.ndim == 0 or np.all(references == references.flat[0]):
            reference_time = references.flat[0]
    for name, variable in ds.data_vars.items():
        match = identify(str(name), variable)
        if match is None:
            continue
        source, how = match
        where = f"{path} variable '{name}' ({how})"
        data = _surface_field(variable, where, catalogue)
        if data is None:
            continue
        units = file_units(variable, source)
        if units is None:
            raise ForecastError(f"{where} has no units attribute; expected {source.units!r}")
        try:
            data = convert(data.astype(np.float64), units, source.units, source.contexts)
        except UnitsError as exc:
            raise ForecastError(f"{where}: {exc} (as {source.description})") from None
        if "time" in data.dims and data.sizes["time"] == 0:
            raise ForecastError(f"{where} has an empty time axis")
        kind = _kind(variable, source, where)
        if kind != "instant":
            try:
                starts = _window_start(data, variable, kind, grib, references, where)
            except ForecastError as exc:
                if grib is not None or "GRIB_stepType" not in variable.attrs:
                    raise
                # NetCDF converted from GRIB without its windows (ERA5 from the new CDS keeps
                # only the valid time): the other fields are still usable.
                catalogue.notes.append(str(exc))
                logger.warning("%s; not read", exc)
                continue
            data = data.assign_coords(window_start=("time", starts))
        data = grid_order(
            data.drop_vars([c for c in data.coords if c not in (*CANONICAL_DIMS, "window_start")])
        )
        data.attrs = {}
        grid_type = str(ds.attrs.get("grid_type") or variable.attrs.get("GRIB_gridType", ""))
        catalogue.add(_Piece(source, data, path, str(name), units, kind, reference_time, grid_type))


def _surface_field(
    variable: xr.DataArray, where: str, catalogue: _Catalogue
) -> xr.DataArray | None:
    """The variable on canonical dimensions only (length-1 extras dropped), or None."""
    extra = [d for d in variable.dims if d not in CANONICAL_DIMS]
    squeezable = [d for d in extra if variable.sizes[d] == 1]
    data = variable.isel({d: 0 for d in squeezable}, drop=True)
    remaining = [d for d in extra if d not in squeezable]
    if remaining:
        catalogue.notes.append(f"{where} has extra dimension(s) {remaining}: not a surface field")
        return None
    layout = horizontal_dims(data)
    if layout is None:
        catalogue.notes.append(
            f"{where} is on dimensions {list(data.dims)}: no horizontal grid (latitude/"
            "longitude, y/x or cell)"
        )
        return None
    return data.transpose(*[d for d in ("member", "time", *layout) if d in data.dims])


def _kind(variable: xr.DataArray, source: Source, where: str) -> Kind:
    step_type = variable.attrs.get("GRIB_stepType")
    if step_type is not None and "GRIB_paramId" in variable.attrs:
        if step_type == "accum":
            return "accumulated"
        if step_type == "avg":
            return "average"
        if step_type in ("max", "min") and source.kind == "instant":
            # A maximum or minimum over the preceding window (ECMWF 10fg): read as it is.
            return "instant"
        if step_type == "instant":
            if source.kind != "accumulated":
                return "instant"
            # Some encoders write the (empty) accumulation of step 0 as an instant field.
            if "step" in variable.coords and not np.any(variable["step"].values):
                return "accumulated"
            raise ForecastError(
                f"{where} is an amount but its GRIB stepType is instant: its accumulation "
                "window is unknown"
            )
        raise ForecastError(f"{where} has GRIB stepType {step_type!r}; expected accum/avg/instant")
    if source.kind == "accumulated":
        return "accumulated"
    cell_methods = str(variable.attrs.get("cell_methods", ""))
    if "time: mean" in cell_methods and "time_bounds_start" in variable.coords:
        return "average"
    return "instant"


def _window_start(
    data: xr.DataArray,
    variable: xr.DataArray,
    kind: Kind,
    grib: GribContents | None,
    reference_time: np.ndarray | None,
    where: str,
) -> np.ndarray:
    """Start of the accumulation/averaging window of every time of ``data``; ``reference_time``
    is the run's (0-D) or one per time (a series of analyses)."""
    if grib is not None:
        if reference_time is None:
            raise ForecastError(f"{where}: no reference time for its accumulation windows")
        minutes = window_start_minutes(grib, variable, where)
        return reference_time + minutes.astype("timedelta64[m]").astype("timedelta64[ns]")
    if "time_bounds_start" in variable.coords:
        return np.asarray(variable["time_bounds_start"].values).astype("datetime64[ns]")
    if reference_time is not None and kind == "accumulated":
        # CF amounts without time bounds: taken as accumulated since the reference time (how
        # cfgrib-converted ECMWF data arrive); a decrease would then be caught as negative
        # rates by the value checks. Averages give no such clue, so they need the bounds.
        return np.broadcast_to(reference_time, (data.sizes["time"],)).astype("datetime64[ns]")
    raise ForecastError(
        f"{where} is {kind} over time windows but the file has no time bounds"
        + ("" if reference_time is not None else " nor a forecast_reference_time")
        + " to tell them"
    )


def _resolve_runs(catalogue: _Catalogue, latest_run: bool) -> np.datetime64 | None:
    """The reference time of the one run the pieces come from, or None when they come from
    several runs (joined along valid time) or from series of analyses.

    Runs whose valid times do not overlap are joined. Overlapping runs raise
    :class:`ForecastError` unless ``latest_run``: each older run then keeps only its times
    before the first valid time of any newer run. Time-invariant fields (orography) belong to
    no run.
    """
    runs: dict[np.datetime64, list[_Piece]] = {}
    for pieces in catalogue.pieces.values():
        for piece in pieces:
            if piece.reference_time is not None and not piece.source.time_invariant:
                runs.setdefault(np.datetime64(piece.reference_time, "ns"), []).append(piece)
    if len(runs) <= 1:
        return next(iter(runs)) if runs else None
    order = sorted(runs)
    spans = {ref: _time_span(runs[ref]) for ref in order}
    overlapping = [
        (old, new)
        for i, old in enumerate(order)
        for new in order[i + 1 :]
        if spans[old][1] >= spans[new][0] and spans[new][1] >= spans[old][0]
    ]
    if overlapping and not latest_run:
        detail = "; ".join(
            f"the run of {_minutes(old)} (valid {_minutes(spans[old][0])} to "
            f"{_minutes(spans[old][1])}, {_files_of(runs[old])}) and the run of {_minutes(new)} "
            f"(valid {_minutes(spans[new][0])} to {_minutes(spans[new][1])}, "
            f"{_files_of(runs[new])})"
            for old, new in overlapping
        )
        raise ForecastError(
            f"the files come from forecast runs that overlap in valid time: {detail}; give the "
            "files of one run, or --latest-run (latest_run=True) to take the newest run where "
            "they overlap"
        )
    if overlapping:
        for i, old in enumerate(order[:-1]):
            cutoff = min(spans[new][0] for new in order[i + 1 :])
            kept = _cut_run(catalogue, runs[old], cutoff)
            logger.info(
                "forecast run of %s: %s (the newer run of %s begins at %s)",
                _minutes(old),
                f"times before {_minutes(cutoff)} kept" if kept else "not used",
                _minutes(next(new for new in order[i + 1 :] if spans[new][0] == cutoff)),
                _minutes(cutoff),
            )
        remaining = {p.reference_time for pieces in catalogue.pieces.values() for p in pieces} - {
            None
        }
        if len(remaining) == 1 and not any(
            p.reference_time is None and not p.source.time_invariant
            for pieces in catalogue.pieces.values()
            for p in pieces
        ):
            return np.datetime64(next(iter(remaining)), "ns")
    logger.info(
        "joined %d forecast runs along valid time: %s",
        len(order),
        ", ".join(_minutes(ref) for ref in order),
    )
    return None


def _time_span(pieces: list[_Piece]) -> tuple[np.datetime64, np.datetime64]:
    times = np.concatenate([np.atleast_1d(p.data["time"].values) for p in pieces])
    return times.min(), times.max()


def _cut_run(catalogue: _Catalogue, pieces: list[_Piece], cutoff: np.datetime64) -> bool:
    """Keep only the times before ``cutoff`` of ``pieces`` (in place in ``catalogue``);
    whether any time is left."""
    kept_any = False
    for piece in pieces:
        pieces_of_source = catalogue.pieces[piece.source.key]
        index = next(i for i, p in enumerate(pieces_of_source) if p is piece)
        keep = np.atleast_1d(piece.data["time"].values) < cutoff
        if keep.any():
            kept_any = True
            pieces_of_source[index] = _Piece(
                piece.source,
                piece.data.isel(time=np.flatnonzero(keep)),
                piece.path,
                piece.variable,
                piece.file_units,
                piece.kind,
                piece.reference_time,
                piece.grid_type,
            )
        else:
            del pieces_of_source[index]
    for key in [k for k, v in catalogue.pieces.items() if not v]:
        del catalogue.pieces[key]
    return kept_any


def _minutes(time: np.datetime64) -> str:
    return str(np.datetime_as_string(np.datetime64(time, "m"), unit="m"))


def _combine(pieces: list[_Piece]) -> _Field:
    """Concatenate the pieces of one source over time and members (files per step/member)."""
    source = pieces[0].source
    kinds = {p.kind for p in pieces}
    if len(kinds) > 1 and "instant" in kinds and source.kind == "instant":
        # e.g. GFS TCDC both instantaneous and 6-hour averaged: the values at the times win.
        pieces = [p for p in pieces if p.kind == "instant"]
    elif len(kinds) > 1:
        raise ForecastError(
            f"{source.description} is {' and '.join(sorted(kinds))} in {_files_of(pieces)}"
        )
    if source.time_invariant:
        data = pieces[0].data
        data = data.isel({d: 0 for d in ("time", "member") if d in data.dims}, drop=True)
        return _Field(data.drop_vars("window_start", errors="ignore"), pieces[:1])
    if len(pieces) == 1:
        data = pieces[0].data
    else:
        has_member = {"member" in p.data.dims for p in pieces}
        if len(has_member) > 1:
            raise ForecastError(
                f"{source.description}: mixes ensemble and deterministic data in "
                f"{_files_of(pieces)}"
            )
        _check_no_overlap(pieces)
        try:
            data = xr.combine_by_coords(
                [p.data.to_dataset(name="v") for p in pieces],
                combine_attrs="drop",
                join="outer",
                coords="different",
                compat="equals",
                data_vars="all",
            )["v"]
        except (ValueError, KeyError) as exc:
            raise ForecastError(
                f"{source.description} in {_files_of(pieces)} cannot be combined (overlapping "
                f"or inconsistent times, members or grids: {' '.join(str(exc).split())[:160]})"
            ) from None
    if "member" in data.dims and data.sizes["member"] == 1:
        data = data.isel(member=0, drop=True)
    if "time" in data.dims and data.sizes["time"] > 1:
        times = data["time"].values
        if np.any(times[1:] <= times[:-1]):
            raise ForecastError(f"{source.description}: repeated times in {_files_of(pieces)}")
    return _Field(data, pieces)


def _check_no_overlap(pieces: list[_Piece]) -> None:
    """Two pieces of one source must not hold the same (time, member)."""
    seen: dict[tuple, _Piece] = {}
    for piece in pieces:
        members = piece.data["member"].values if "member" in piece.data.dims else [None]
        for time in piece.data["time"].values:
            for member in members:
                key = (time, member)
                other = seen.setdefault(key, piece)
                if other is not piece:
                    member_text = "" if member is None else f" member {member}"
                    raise ForecastError(
                        f"{piece.source.description} for {np.datetime_as_string(time, 'm')}"
                        f"{member_text} is in both {other.path} ('{other.variable}') and "
                        f"{piece.path} ('{piece.variable}')"
                    )


# --------------------------------------------------------------------------- derivations


def _interval_value(fld: _Field) -> _Field:
    """An instantaneous field as it is; an accumulated or window-averaged one as its mean over
    the interval preceding each time (accumulations as rates in ``source.rate_units``)."""
    piece = fld.pieces[0]
    if piece.kind == "instant":
        return _Field(fld.data.drop_vars("window_start", errors="ignore"), fld.pieces, fld.comment)
    rate = interval_mean_rate(
        fld.data.drop_vars("window_start"),
        fld.data["window_start"].values,
        kind=piece.kind,
        where=f"{piece.source.description} in {_files_of(fld.pieces)}",
    )
    if piece.kind == "accumulated":
        if piece.source.rate_units is None:  # catalogue invariant: amounts name a rate unit
            raise ForecastError(f"{piece.source.description} has no rate unit")
        rate = convert(rate, f"({piece.source.units}) / h", piece.source.rate_units)
    comment = "mean over the preceding interval, from " + (
        "accumulations" if piece.kind == "accumulated" else "window averages"
    )
    return _Field(rate, fld.pieces, comment)


def relative_humidity_from_dewpoint(t_degc: xr.DataArray, td_degc: xr.DataArray) -> xr.DataArray:
    """Relative humidity (%) over water from temperature and dew point (°C).

    RH = 100 e_s(Td) / e_s(T) with the Magnus form e_s(T) = 6.1094 exp(17.625 T / (T + 243.04))
    hPa (Alduchov & Eskridge 1996, J. Appl. Meteor. 35, 601-609, eq. 21), whose error is below
    0.4 % between -40 and +50 °C; the prefactor cancels. Values are not capped at 100 %.
    """
    return 100.0 * np.exp(
        _MAGNUS_A * td_degc / (_MAGNUS_B_DEGC + td_degc)
        - _MAGNUS_A * t_degc / (_MAGNUS_B_DEGC + t_degc)
    )


def _derive(
    combined: dict[str, _Field], catalogue: _Catalogue, files: list[Path]
) -> dict[str, _Field]:
    """Schema fields (schema units) from the combined source fields. Where several sources
    feed one field, the first named below wins: quantities the file gives directly before
    derived ones, interval amounts before instantaneous rates."""
    combined = {key: _interval_value(fld) for key, fld in combined.items()}
    out: dict[str, _Field] = {}

    def first(*keys: str) -> _Field | None:
        return next((combined[k] for k in keys if k in combined), None)

    absent: list[tuple[str, str]] = []  # (what, looked for) of every missing required field

    temperature = combined.get("air_temperature")
    if temperature is None:
        absent.append(("2 m air temperature", SOURCES_BY_KEY["air_temperature"].identifiers()))
    else:
        out["t2m"] = temperature

    if "relative_humidity" in combined:
        out["rh2m"] = combined["relative_humidity"]
    elif "dew_point_temperature" in combined and temperature is not None:
        dewpoint = combined["dew_point_temperature"]
        out["rh2m"] = _Field(
            relative_humidity_from_dewpoint(temperature.data, dewpoint.data),
            dewpoint.pieces + temperature.pieces,
            "from 2 m dew point and temperature, Magnus formula (Alduchov & Eskridge 1996)",
        )
    elif "dew_point_temperature" not in combined:
        absent.append(
            (
                "2 m relative humidity or dew point",
                f"{SOURCES_BY_KEY['relative_humidity'].identifiers()}, or "
                f"{SOURCES_BY_KEY['dew_point_temperature'].identifiers()}",
            )
        )

    if "wind_speed" in combined:
        out["wind10"] = combined["wind_speed"]
    elif "eastward_wind" in combined and "northward_wind" in combined:
        u, v = combined["eastward_wind"], combined["northward_wind"]
        out["wind10"] = _Field(
            np.hypot(u.data, v.data), u.pieces + v.pieces, "from the 10 m wind components"
        )
    else:
        absent.append(
            (
                "10 m wind",
                f"{SOURCES_BY_KEY['wind_speed'].identifiers()}, or both "
                f"{SOURCES_BY_KEY['eastward_wind'].identifiers()} and "
                f"{SOURCES_BY_KEY['northward_wind'].identifiers()}",
            )
        )

    if absent:
        notes = f"; {'; '.join(catalogue.notes)}" if catalogue.notes else ""
        found = sorted({p.variable for pieces in catalogue.pieces.values() for p in pieces})
        notes += f"; the known fields found are {', '.join(found)}" if found else ""
        if len(absent) == 1:
            what, looked_for = absent[0]
            raise ForecastError(f"no {what} in {_names(files)}: looked for {looked_for}{notes}")
        listed = "; ".join(f"{what} (looked for {looked_for})" for what, looked_for in absent)
        raise ForecastError(
            f"{len(absent)} required fields missing in {_names(files)}: {listed}{notes}"
        )

    if "eastward_wind" in combined and "northward_wind" in combined:
        out["u10"] = combined["eastward_wind"]
        out["v10"] = combined["northward_wind"]
    if "wind_gust" in combined:
        out["gust10"] = combined["wind_gust"]

    if "cloud_area_fraction" in combined:
        out["tcc"] = combined["cloud_area_fraction"]

    radiation = first("shortwave_amount", "shortwave_flux")
    if radiation is not None:
        out["rsds"] = radiation

    if "snow_thickness" in combined:
        out["snow_depth"] = combined["snow_thickness"]
    elif "snow_water_equivalent" in combined:
        swe = combined["snow_water_equivalent"]
        density = combined.get("snow_density")
        if density is not None:
            rho = density.data
            how = "from snow water equivalent and the model's snow density"
        else:
            rho = xr.DataArray(DEFAULT_SNOW_DENSITY_KG_M3)
            how = (
                f"from snow water equivalent at an assumed density of "
                f"{DEFAULT_SNOW_DENSITY_KG_M3:g} kg m-3"
            )
        # kg m-2 / kg m-3 = m; no snow stays 0 m whatever the density field says there.
        depth = (swe.data / rho).where(swe.data != 0.0, 0.0)
        out["snow_depth"] = _Field(depth, swe.pieces, how)

    for name, keys in (
        ("snowfall", ("snowfall_amount", "snowfall_rate")),
        ("precip", ("precipitation_amount", "precipitation_rate")),
        ("visibility", ("visibility",)),
        ("ozone", ("ozone_thickness", "ozone_mass")),
        ("uv_index_model", ("uv_index", "uv_dose_rate")),
        ("msl", ("mean_sea_level_pressure",)),
        ("orography", ("surface_altitude", "surface_geopotential")),
    ):
        source_field = first(*keys)
        if source_field is not None:
            out[name] = source_field
    _log_fallbacks(out, _names(files))
    return out


#: Optional schema fields whose absence changes what the indices assume, with the sources
#: looked for and what is assumed instead (the assumptions are made in bulletin.compute).
_FALLBACKS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("tcc", ("cloud_area_fraction",), "the UV index assumes a clear sky"),
    ("ozone", ("ozone_thickness", "ozone_mass"), "the UV index uses an ozone climatology"),
    (
        "snow_depth",
        ("snow_thickness", "snow_water_equivalent"),
        "the UV index assumes bare ground (no snow albedo)",
    ),
    (
        "rsds",
        ("shortwave_amount", "shortwave_flux"),
        "the clothing index takes the mean radiant temperature equal to the air temperature",
    ),
    (
        "uv_index_model",
        ("uv_index", "uv_dose_rate"),
        "the UV index is the parametric all-sky estimate",
    ),
    (
        "u10",
        ("eastward_wind", "northward_wind"),
        "the venue table has no wind direction",
    ),
    ("gust10", ("wind_gust",), "the venue table has no wind gusts"),
    (
        "snowfall",
        ("snowfall_amount", "snowfall_rate"),
        "the indices assume no snowfall (no fresh snow)",
    ),
    (
        "precip",
        ("precipitation_amount", "precipitation_rate"),
        "the cold-risk index assumes no precipitation",
    ),
    (
        "visibility",
        ("visibility",),
        "the goggles index uses the default visibility (bulletin.compute.DEFAULT_VISIBILITY_M)",
    ),
    (
        "orography",
        ("surface_altitude", "surface_geopotential"),
        "temperatures are not moved from the model surface height to the venue elevation",
    ),
)


def _log_fallbacks(fields: Mapping[str, _Field], files: str) -> None:
    """One INFO line for every optional field the forecast lacks, naming what was looked for
    and what is assumed instead."""
    for name, keys, assumption in _FALLBACKS:
        if name in fields:
            continue
        looked_for = "; ".join(
            f"{SOURCES_BY_KEY[key].description}: {SOURCES_BY_KEY[key].identifiers()}"
            for key in keys
        )
        logger.info(
            "no %s in %s (looked for %s): %s",
            FIELDS_BY_NAME[name].long_name,
            files,
            looked_for,
            assumption,
        )


# --------------------------------------------------------------------------- checks, output


def _assemble(
    fields: dict[str, _Field],
    reference_time: np.datetime64 | None,
    files: list[Path],
    conventions: list[str],
    chunks: Chunks,
) -> xr.Dataset:
    grid = fields["t2m"].data
    layout = horizontal_dims(grid)
    arrays: dict[str, xr.DataArray] = {}
    for name, fld in fields.items():
        data = fld.data.drop_vars("window_start", errors="ignore")
        if horizontal_dims(data) != layout:
            raise ForecastError(
                f"{FIELDS_BY_NAME[name].long_name} from {_files_of(fld.pieces)} is on "
                f"{_layout_text(horizontal_dims(data))}, the 2 m temperature on "
                f"{_layout_text(layout)}"
            )
        for axis in ("latitude", "longitude"):
            if data[axis].shape != grid[axis].shape or not np.allclose(
                data[axis].values, grid[axis].values, rtol=0.0, atol=1e-6
            ):
                raise ForecastError(
                    f"{FIELDS_BY_NAME[name].long_name} from {_files_of(fld.pieces)} is on a "
                    f"different {axis} grid than the 2 m temperature"
                )
            data = data.assign_coords({axis: grid[axis].variable})
        arrays[name] = data

    _validate(arrays, fields)

    for name, (low, high) in _CLIP.items():
        if name in arrays:
            arrays[name] = arrays[name].clip(min=low, max=high)

    out_vars = {}
    for spec in FIELDS:
        if spec.name not in arrays:
            continue
        attrs = {
            "standard_name": spec.standard_name,
            "units": spec.units,
            "long_name": spec.long_name,
        }
        if fields[spec.name].comment:
            attrs["comment"] = fields[spec.name].comment
        out_vars[spec.name] = arrays[spec.name].astype(np.float32).rename(spec.name)
        out_vars[spec.name].attrs = attrs
    dataset = xr.merge(list(out_vars.values()), join="outer", combine_attrs="drop")
    dataset = dataset[[name for name in out_vars]]
    for name, da in out_vars.items():
        dataset[name].attrs = da.attrs
    if reference_time is not None:
        dataset = dataset.assign_coords(forecast_reference_time=reference_time)
        dataset["forecast_reference_time"].attrs = {"standard_name": "forecast_reference_time"}
    dataset["time"].attrs = {"standard_name": "time", "axis": "T"}
    dataset["latitude"].attrs = {"standard_name": "latitude", "units": "degrees_north"}
    dataset["longitude"].attrs = {"standard_name": "longitude", "units": "degrees_east"}
    if "member" in dataset.dims:
        dataset["member"].attrs = {"standard_name": "realization"}
    dataset.attrs = {
        "source_files": [str(p) for p in files],
        "source_convention": "+".join(sorted(set(conventions))),
        "grid_type": fields["t2m"].pieces[0].grid_type or "regular_ll",
    }
    if layout == REGULAR_DIMS and _goes_round(dataset["longitude"].values):
        dataset.attrs["global_longitude"] = 1
    if chunks is not None:
        if isinstance(chunks, str):
            dataset = dataset.chunk(chunks)
        else:
            dataset = dataset.chunk({k: v for k, v in chunks.items() if k in dataset.dims})
    return dataset


def _layout_text(layout: tuple[str, ...] | None) -> str:
    return "no horizontal grid" if layout is None else f"dimensions {', '.join(layout)}"


def _goes_round(longitude: np.ndarray) -> bool:
    """Whether ascending, evenly spaced longitudes cover the whole circle (the next point
    after the last is the first, 360 degrees on); our choice of tolerance: 1 % of a spacing."""
    lon = np.asarray(longitude, dtype=np.float64)
    if lon.size < 3:
        return False
    steps = np.diff(lon)
    step = float(np.median(steps))
    if step <= 0.0 or not np.allclose(steps, step, rtol=0.0, atol=0.01 * step):
        return False
    return abs(lon[-1] + step - (lon[0] + 360.0)) <= 0.01 * step


def _validate(arrays: dict[str, xr.DataArray], fields: dict[str, _Field]) -> None:
    """Range checks with small per-time reductions, computed a few times at once."""
    reductions = {}
    for name, data in arrays.items():
        over = [d for d in data.dims if d != "time"]
        reductions[name] = (data.min(dim=over, skipna=True), data.max(dim=over, skipna=True))
    # A chunk several fields share (the temperature also feeds the humidity from dew point)
    # stays in memory until its last user has run; computing a few times at a time bounds
    # that to their chunks, whatever the number of times (benchmarks/read.py).
    longest = max((a.sizes["time"] for a in arrays.values() if "time" in a.dims), default=1)
    parts = []
    for start in range(0, longest, _VALIDATE_TIMES):
        block = slice(start, start + _VALIDATE_TIMES)
        (part,) = dask.compute(
            {
                name: tuple(r.isel(time=block) if "time" in r.dims else r for r in pair)
                for name, pair in reductions.items()
                if "time" in pair[0].dims or start == 0
            }
        )
        parts.append(part)
    computed = {
        name: tuple(
            xr.concat([p[name][i] for p in parts], "time")
            if "time" in pair[i].dims
            else parts[0][name][i]
            for i in (0, 1)
        )
        for name, pair in reductions.items()
    }

    for name, what in (
        ("t2m", "2 m temperatures"),
        ("rh2m", "2 m relative humidities"),
        ("wind10", "10 m wind speeds"),
    ):
        field_min, _ = computed[name]
        if bool(np.all(np.isnan(np.asarray(field_min.values)))):
            raise ForecastError(f"all {what} are missing in {_files_of(fields[name].pieces)}")
    for name, (low_values, high_values) in computed.items():
        low, high = VALID_RANGES[name]
        for values, bad in (
            (low_values, np.asarray(low_values.values) < low),
            (high_values, np.asarray(high_values.values) > high),
        ):
            if not bad.any():
                continue
            index = np.unravel_index(int(np.argmax(bad)), bad.shape)
            value = float(np.asarray(values.values)[index])
            when = None
            if "time" in values.dims:
                when = values["time"].values[index[values.dims.index("time")]]
            raise ForecastError(_range_message(name, fields[name], value, low, high, when))


def _range_message(
    name: str,
    fld: _Field,
    value: float,
    low: float,
    high: float,
    when: np.datetime64 | None,
) -> str:
    spec = FIELDS_BY_NAME[name]
    pieces = fld.pieces
    if when is not None:
        at_time = [p for p in pieces if "time" in p.data.dims and when in p.data["time"].values]
        pieces = at_time or pieces
    origin = "; ".join(
        f"{p.path} variable '{p.variable}' in {p.file_units!r}" for p in _unique(pieces)
    )
    time_text = f" at {np.datetime_as_string(when, unit='m')}" if when is not None else ""
    hint = ""
    if name == "t2m" and value > high:
        hint = " (Kelvin values labelled as degrees Celsius?)"
    elif (
        name in ("rh2m", "tcc")
        and value > high
        and not fld.comment  # read directly, not derived (e.g. from dew point)
        and all("%" not in p.file_units and "percent" not in p.file_units for p in pieces)
    ):
        hint = " (percent values labelled as a fraction?)"
    derived = f", {fld.comment}" if fld.comment else ""
    units = "" if spec.units == "1" else f" {spec.units}"
    return (
        f"impossible {spec.long_name} {value:.6g}{units}{time_text}, outside "
        f"{low:g}..{high:g}{units}, from {origin}{derived}{hint}"
    )


def _unique(pieces: list[_Piece]) -> list[_Piece]:
    seen: set[tuple[Path, str]] = set()
    out = []
    for piece in pieces:
        key = (piece.path, piece.variable)
        if key not in seen:
            seen.add(key)
            out.append(piece)
    return out


def _files_of(pieces: list[_Piece]) -> str:
    return _names(list(dict.fromkeys(p.path for p in pieces)))


def _names(paths: Iterable[Path]) -> str:
    items = [str(p) for p in paths]
    if len(items) > 3:
        return f"{', '.join(items[:3])} (+{len(items) - 3} more)"
    return ", ".join(items)
