"""Write real GRIB2 files from numpy arrays with ecCodes, in ECMWF or NCEP (GFS) style.

Used by the tests and by ``samples/make_samples.py``. cfgrib's ``to_grib`` is not used: it calls
a private xarray function that xarray 2026.x removed. Importing this module has no side effects.

Conventions written (ECMWF, "ECMWF open data: real-time forecasts from IFS and AIFS"; NCEP,
GFS ``pgrb2.0p25`` product inventories; ECMWF ecCodes documentation, GRIB2 product definition
templates 4.0, 4.1, 4.8 and 4.11):

* ``style="ecmwf"``: centre ``ecmf``; parameters set by their ecCodes shortName, so they get
  ECMWF's encoding (``tcc`` as a 0-1 fraction, paramId 164; ``sd``/``sf`` in m of water
  equivalent; ``tp`` in m; ``ssrd`` in J m-2); accumulations run from step 0
  (``stepRange`` ``"0-N"``, step 0 itself is ``"0-0"``); orography as surface geopotential ``z``
  (m2 s-2) at the first step only.
* ``style="gfs"``: centre ``kwbc``; parameters set by their NCEP discipline/category/number
  (TMP, RH, DPT, UGRD, VGRD, TCDC in %, DSWRF time average, SNOD, WEASD, APCP, PRATE average,
  PRMSL, VIS, HGT at the surface); accumulations and averages restart every 6 hours
  (``stepRange`` ``"0-1"`` ... ``"0-6"``, ``"6-7"`` ... ``"6-12"``) and are absent at step 0;
  longitudes written in 0..360; orography (``orog``, HGT at the surface) at every step.

Both styles write latitudes north to south (``jScansPositively=0``) whatever order the caller
passes, regular latitude-longitude grids, hourly ``steps_hours`` units, and the ensemble
templates (4.1 / 4.11) when ``members`` is given (member 0 is the control forecast).

Time-integrated fields (accumulations such as ``tp``, ``sf``, ``ssrd`` and averages such as
``sdswrf``, ``prate``) are passed **accumulated / averaged since step 0**, the way ECMWF writes
them; the GFS style re-bases them onto its 6-hour windows, which needs every multiple of 6 h
up to the last step among ``steps_hours``. Instantaneous fields are the values at each step.
All values are in the parameter's GRIB units (the tables below). NaNs become missing values
(bitmap).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bulletin.readers.eccodes_loader import load_eccodes

#: Standard gravity (m s-2), the conventional value that defines the geopotential metre
#: (WMO-No. 8, Guide to Instruments and Methods of Observation, 2018, Part I, Annex 1.A).
STANDARD_GRAVITY = 9.80665

#: GFS accumulation/average windows restart every 6 hours (NCEP GFS ``pgrb2.0p25`` product
#: inventories: APCP, DSWRF and PRATE over 0-1 ... 0-6 h, then 6-7 ... 6-12 h).
GFS_RESET_HOURS = 6

# Value written where the data are NaN, flagged in the bitmap (never seen by readers).
_MISSING = 9.999e20


@dataclass(frozen=True)
class _Param:
    """How one parameter is encoded: ``statistic`` is None (instant), "accum" or "avg"."""

    keys: tuple[tuple[str, int | str], ...]
    statistic: str | None = None
    units: str = ""


# ECMWF: ecCodes chooses the encoding from the shortName with centre=ecmf.
ECMWF_PARAMS: dict[str, _Param] = {
    "2t": _Param((("shortName", "2t"),), units="K"),
    "2d": _Param((("shortName", "2d"),), units="K"),
    "2r": _Param((("shortName", "2r"),), units="%"),
    "10u": _Param((("shortName", "10u"),), units="m s-1"),
    "10v": _Param((("shortName", "10v"),), units="m s-1"),
    "10si": _Param((("shortName", "10si"),), units="m s-1"),
    "tcc": _Param((("shortName", "tcc"),), units="(0 - 1)"),
    "msl": _Param((("shortName", "msl"),), units="Pa"),
    "sd": _Param((("shortName", "sd"),), units="m of water equivalent"),
    "sde": _Param((("shortName", "sde"),), units="m"),
    "rsn": _Param((("shortName", "rsn"),), units="kg m-3"),
    "vis": _Param((("shortName", "vis"),), units="m"),
    "ssrd": _Param((("shortName", "ssrd"),), "accum", units="J m-2"),
    "sf": _Param((("shortName", "sf"),), "accum", units="m of water equivalent"),
    "tp": _Param((("shortName", "tp"),), "accum", units="m"),
    "z": _Param((("shortName", "z"),), units="m2 s-2"),
    "orog": _Param((("shortName", "orog"),), units="m"),
}


def _ncep(discipline: int, category: int, number: int, surface: int, level: int | None = None):
    keys: list[tuple[str, int | str]] = [
        ("discipline", discipline),
        ("parameterCategory", category),
        ("parameterNumber", number),
        ("typeOfFirstFixedSurface", surface),
    ]
    if level is not None:
        keys += [("scaleFactorOfFirstFixedSurface", 0), ("scaledValueOfFirstFixedSurface", level)]
    return tuple(keys)


# NCEP: WMO GRIB2 code table 4.2 numbers as in GFS pgrb2.0p25 inventories; surface types from
# code table 4.5 (1 ground, 10 entire atmosphere, 101 mean sea level, 103 height above ground).
GFS_PARAMS: dict[str, _Param] = {
    "2t": _Param(_ncep(0, 0, 0, 103, 2), units="K"),  # TMP:2 m above ground
    "2r": _Param(_ncep(0, 1, 1, 103, 2), units="%"),  # RH:2 m above ground
    "2d": _Param(_ncep(0, 0, 6, 103, 2), units="K"),  # DPT:2 m above ground
    "10u": _Param(_ncep(0, 2, 2, 103, 10), units="m s-1"),  # UGRD:10 m above ground
    "10v": _Param(_ncep(0, 2, 3, 103, 10), units="m s-1"),  # VGRD:10 m above ground
    "tcc": _Param(_ncep(0, 6, 1, 10), units="%"),  # TCDC:entire atmosphere
    "sdswrf": _Param(_ncep(0, 4, 7, 1), "avg", units="W m-2"),  # DSWRF:surface (ave)
    "sde": _Param(_ncep(0, 1, 11, 1), units="m"),  # SNOD:surface
    "sdwe": _Param(_ncep(0, 1, 13, 1), units="kg m-2"),  # WEASD:surface
    "tp": _Param(_ncep(0, 1, 8, 1), "accum", units="kg m-2"),  # APCP:surface (acc)
    "prate": _Param(_ncep(0, 1, 7, 1), "avg", units="kg m-2 s-1"),  # PRATE:surface (ave)
    "prmsl": _Param(_ncep(0, 3, 1, 101), units="Pa"),  # PRMSL:mean sea level
    "vis": _Param(_ncep(0, 19, 0, 1), units="m"),  # VIS:surface
    "orog": _Param(_ncep(0, 3, 5, 1), units="m"),  # HGT:surface
}

STYLES: dict[str, dict[str, _Param]] = {"ecmwf": ECMWF_PARAMS, "gfs": GFS_PARAMS}
_CENTRES = {"ecmwf": "ecmf", "gfs": "kwbc"}
# GRIB2 code table 4.10 (type of statistical processing).
_STATISTICAL_PROCESSING = {"avg": 0, "accum": 1}
# GRIB2 code table 1.4 (type of processed data): forecast, control and perturbed forecast.
_FORECAST, _CONTROL, _PERTURBED = 1, 3, 4


def gfs_window_start(step: int) -> int:
    """Start (h) of the GFS accumulation window that ends at ``step`` h (> 0): the previous
    multiple of 6 h, so steps 1..6 accumulate from 0 and steps 7..12 from 6."""
    if step <= 0:
        raise ValueError(f"GFS windows need a positive step, got {step}")
    return step - ((step - 1) % GFS_RESET_HOURS + 1)


def write_grib(
    path: str | os.PathLike[str],
    fields: Mapping[str, np.ndarray],
    *,
    lats: Sequence[float] | np.ndarray,
    lons: Sequence[float] | np.ndarray,
    init_time: str | pd.Timestamp | np.datetime64,
    steps_hours: Sequence[int] | np.ndarray,
    style: str = "ecmwf",
    members: Sequence[int] | None = None,
    orography: np.ndarray | None = None,
    bits_per_value: int = 16,
) -> Path:
    """Write ``fields`` as one GRIB2 file (atomically) and return its path.

    Parameters
    ----------
    path
        Output file; written through a temporary file in the same folder, then renamed.
    fields
        shortName -> array of shape (step, lat, lon), or (member, step, lat, lon) with
        ``members``, in the parameter's GRIB units (``ECMWF_PARAMS`` / ``GFS_PARAMS``);
        time-integrated parameters accumulated or averaged since step 0 (module docstring).
    lats, lons
        1-D regular coordinates (degrees) matching the arrays' last two axes; either order of
        latitude, longitudes ascending in -180..360.
    init_time
        Forecast reference time (UTC).
    steps_hours
        Forecast steps (whole hours, ascending, >= 0).
    style
        ``"ecmwf"`` or ``"gfs"`` (module docstring).
    members
        Ensemble member numbers (0 = control) for a leading member axis, or None.
    orography
        Optional (lat, lon) model surface height in m: written as ``z`` (geopotential) at the
        first step in ECMWF style, as ``orog`` at every step in GFS style.
    bits_per_value
        Simple-packing precision (ECMWF and NCEP commonly use 12-16 bits).
    """
    if style not in STYLES:
        raise ValueError(f"style must be one of {sorted(STYLES)}, got {style!r}")
    table = STYLES[style]
    lat = np.asarray(lats, dtype=np.float64)
    lon = np.asarray(lons, dtype=np.float64)
    steps = np.asarray(steps_hours)
    _check_axes(lat, lon, steps)
    member_numbers = None if members is None else [int(m) for m in members]
    expected = (len(steps), lat.size, lon.size)
    if member_numbers is not None:
        expected = (len(member_numbers), *expected)

    arrays: dict[str, np.ndarray] = {}
    for short_name, values in fields.items():
        if short_name not in table:
            raise ValueError(
                f"{style} style cannot write {short_name!r}; known: {', '.join(sorted(table))}"
            )
        array = np.asarray(values, dtype=np.float64)
        if array.shape != expected:
            raise ValueError(f"field {short_name!r} has shape {array.shape}, expected {expected}")
        arrays[short_name] = array if member_numbers is not None else array[np.newaxis]
    if orography is not None:
        orog = np.asarray(orography, dtype=np.float64)
        if orog.shape != (lat.size, lon.size):
            raise ValueError(f"orography has shape {orog.shape}, expected {(lat.size, lon.size)}")
    else:
        orog = None

    # Rows must run north to south in the file.
    flip = lat.size > 1 and lat[0] < lat[-1]
    lat_written = lat[::-1] if flip else lat
    lon_written = np.mod(lon, 360.0) if style == "gfs" else lon

    eccodes = load_eccodes()
    init = pd.Timestamp(init_time)
    if init.tzinfo is not None:
        init = init.tz_convert("UTC").tz_localize(None)
    template = eccodes.codes_grib_new_from_samples("regular_ll_sfc_grib2")
    try:
        _set_grid(eccodes, template, lat_written, lon_written)
        eccodes.codes_set(template, "centre", _CENTRES[style])
        eccodes.codes_set(template, "dataDate", int(init.strftime("%Y%m%d")))
        eccodes.codes_set(template, "dataTime", int(init.strftime("%H%M")))
        eccodes.codes_set(template, "stepUnits", 1)
        eccodes.codes_set(template, "bitsPerValue", int(bits_per_value))
        messages = list(_messages(style, table, arrays, orog, steps, member_numbers, flip))
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
        try:
            os.chmod(tmp_name, 0o666 & ~_umask())  # mkstemp makes it private (0600)
            with os.fdopen(fd, "wb") as stream:
                for param, values_2d, step_range, member in messages:
                    _write_message(
                        eccodes,
                        template,
                        stream,
                        param,
                        values_2d,
                        step_range,
                        member,
                        len(member_numbers) if member_numbers is not None else None,
                    )
            os.replace(tmp_name, out)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
    finally:
        eccodes.codes_release(template)
    return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _check_axes(lat: np.ndarray, lon: np.ndarray, steps: np.ndarray) -> None:
    for name, axis in (("lats", lat), ("lons", lon)):
        if axis.ndim != 1 or axis.size == 0:
            raise ValueError(f"{name} must be a non-empty 1-D array")
        if axis.size > 1:
            spacing = np.diff(axis)
            if not np.allclose(spacing, spacing[0], rtol=0, atol=1e-6) or spacing[0] == 0:
                raise ValueError(f"{name} must be regularly spaced (a regular lat-lon grid)")
    if lon.size > 1 and lon[1] < lon[0]:
        raise ValueError("lons must be ascending")
    if steps.ndim != 1 or steps.size == 0:
        raise ValueError("steps_hours must be a non-empty 1-D sequence")
    if not np.all(np.equal(np.mod(steps, 1), 0)) or np.any(steps < 0):
        raise ValueError("steps_hours must be whole, non-negative hours")
    if np.any(np.diff(steps) <= 0):
        raise ValueError("steps_hours must be strictly ascending")


def _set_grid(eccodes, handle, lat: np.ndarray, lon: np.ndarray) -> None:
    d_lat = abs(lat[1] - lat[0]) if lat.size > 1 else 1.0
    d_lon = lon[1] - lon[0] if lon.size > 1 else 1.0
    for key, value in (
        ("Ni", lon.size),
        ("Nj", lat.size),
        ("jScansPositively", 0),
        ("iScansNegatively", 0),
        ("latitudeOfFirstGridPointInDegrees", float(lat[0])),
        ("longitudeOfFirstGridPointInDegrees", float(lon[0])),
        ("latitudeOfLastGridPointInDegrees", float(lat[-1])),
        ("longitudeOfLastGridPointInDegrees", float(lon[-1])),
        ("iDirectionIncrementInDegrees", float(d_lon)),
        ("jDirectionIncrementInDegrees", float(d_lat)),
    ):
        eccodes.codes_set(handle, key, value)


def _messages(style, table, arrays, orog, steps, member_numbers, flip):
    """Yield (param, 2-D values N->S, stepRange, member number or None) in file order."""
    members = member_numbers if member_numbers is not None else [None]
    step_index = {int(s): i for i, s in enumerate(steps)}
    orog_param = "z" if style == "ecmwf" else "orog"
    orog_values = None
    if orog is not None:
        orog_values = orog * STANDARD_GRAVITY if orog_param == "z" else orog
    for i, step in enumerate(int(s) for s in steps):
        for m_index, member in enumerate(members):
            if orog_values is not None and (style == "gfs" or i == 0):
                yield table[orog_param], _rows_north_first(orog_values, flip), str(step), member
            for short_name, array in arrays.items():
                param = table[short_name]
                values = array[m_index, i]
                if param.statistic is None:
                    yield param, _rows_north_first(values, flip), str(step), member
                    continue
                if style == "ecmwf":
                    yield param, _rows_north_first(values, flip), f"0-{step}", member
                    continue
                if step == 0:  # GFS has no accumulations or averages at the analysis step
                    continue
                start = gfs_window_start(step)
                if start == 0:
                    window = values
                elif start not in step_index:
                    raise ValueError(
                        f"gfs style needs step {start} h to re-base {short_name!r} at step {step} h"
                    )
                else:
                    before = array[m_index, step_index[start]]
                    if param.statistic == "accum":
                        window = values - before
                    else:  # mean over [0, step] and [0, start] -> mean over [start, step]
                        window = (values * step - before * start) / (step - start)
                yield param, _rows_north_first(window, flip), f"{start}-{step}", member


def _rows_north_first(values: np.ndarray, flip: bool) -> np.ndarray:
    return values[::-1] if flip else values


def _write_message(eccodes, template, stream, param, values, step_range, member, n_members):
    handle = eccodes.codes_clone(template)
    try:
        if member is not None:
            eccodes.codes_set(handle, "productDefinitionTemplateNumber", 1)
        for key, value in param.keys:
            eccodes.codes_set(handle, key, value)
        if param.statistic is not None:
            # 4.8 (4.11 for ensembles): statistically processed over a time window.
            eccodes.codes_set(
                handle, "productDefinitionTemplateNumber", 8 if member is None else 11
            )
            eccodes.codes_set(
                handle, "typeOfStatisticalProcessing", _STATISTICAL_PROCESSING[param.statistic]
            )
        if member is None:
            eccodes.codes_set(handle, "typeOfProcessedData", _FORECAST)
        else:
            eccodes.codes_set(
                handle, "typeOfProcessedData", _CONTROL if member == 0 else _PERTURBED
            )
            eccodes.codes_set(handle, "perturbationNumber", member)
            eccodes.codes_set(handle, "numberOfForecastsInEnsemble", n_members)
        eccodes.codes_set(handle, "stepRange", step_range)
        flat = np.ascontiguousarray(values, dtype=np.float64).ravel()
        missing = ~np.isfinite(flat)
        if missing.any():
            eccodes.codes_set(handle, "bitmapPresent", 1)
            eccodes.codes_set(handle, "missingValue", _MISSING)
            flat = np.where(missing, _MISSING, flat)
        eccodes.codes_set_values(handle, flat)
        eccodes.codes_write(handle, stream)
    finally:
        eccodes.codes_release(handle)
