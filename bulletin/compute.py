"""The metadata layer over :mod:`bulletin.indices`: six indices on a whole forecast Dataset.

``bulletin.indices`` holds the pure element-wise formulas (numpy in, numpy out). This module
feeds them from a Dataset in the internal schema (:mod:`bulletin.schema`), keeps everything lazy
when the input is dask-backed (``xr.apply_ufunc(..., dask="parallelized")``), chooses the
documented fallback for every missing optional field, and attaches CF-style metadata.

It works on any layout that has a ``time`` dimension and ``latitude``/``longitude`` coordinates:
a ``(time, latitude, longitude)`` grid, a ``(venue, time)`` set of points from
:func:`bulletin.extract.extract_venues`, and either with a ``member`` dimension.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import dask
import dask.array
import numpy as np
import pandas as pd
import xarray as xr
from cf_xarray.units import units as ureg

from . import indices as ix
from .errors import ForecastError
from .indices.combined import OUTPUTS, TimeAxis, spectator_indices
from .schema import REQUIRED

#: m/s -> km/h, taken from the units registry rather than typed in.
KMH_PER_MS = float(ureg.Quantity(1.0, "m/s").to("km/h").magnitude)

#: Snow on the ground counts as snow cover from 1 cm (our choice: below that, grass and rock
#: show through and the surface albedo is far from that of snow).
SNOW_COVER_DEPTH_M = ix.uv.SNOW_COVER_DEPTH_M
#: Snow is "fresh" (albedo ~0.8, WHO 2002) when at least 1 mm water equivalent (about 1 cm of
#: snow) fell in the previous 24 hours (our choice; albedo decays over a few days, Warren 1982).
FRESH_SNOW_MM_24H = 1.0
FRESH_SNOW_WINDOW = np.timedelta64(24, "h")
#: Visibility assumed where the forecast carries none (our choice: "good", no flat-light points).
DEFAULT_VISIBILITY_M = 10_000.0
#: Outfit for the duration-limited exposure quoted in bulletins: the warmest spectator
#: outfit, whose DLE sets clothing levels 5-7 (bulletin.indices.clothing).
WORN_CLO = ix.clothing.WARMEST_OUTFIT_CLO
#: The probability fields count members at or above this level.
PROBABILITY_LEVEL = 3

LEVEL_VARIABLES = (
    "wind_chill_level",
    "frostbite_level",
    "clothing_level",
    "cold_level",
    "sunscreen_level",
    "goggles_level",
    "spectator_level",
)

REFERENCES = {
    "wind_chill": "Osczevski and Bluestein (2005), BAMS 86:1453, doi:10.1175/BAMS-86-10-1453; "
    "OFCM FCM-R19-2003; NWS conventions; ECCC wind chill hazard bands",
    "frostbite": "Tikuisis and Osczevski (2003), BAMS 84:927-933; NWS AWIPS-II "
    "calcFrostbiteTime; ECCC wind chill hazard bands",
    "clothing": "ISO 11079:2007 (IREQ, ICLneutral, DLE); Holmer IREQ program; "
    "pythermalcomfort ireq as reference implementation",
    "cold": "GB/T 20484-2017 cold-air grades; Shaman and Kohn (2009) PNAS 106:3243; "
    "additive scoring is this project's proposal",
    "uv": "WHO (2002) Global Solar UV Index guide; Madronich (2007); US EPA cloud "
    "modification factors; COST-713 altitude factor; CMA UV levels",
    "goggles": "WHO (2002) snow reflection; ICNIRP (2004) Health Phys. 87:171; "
    "ISO 12312-1 / ISO 18527-1 filter categories; scoring is this project's proposal",
    "spectator": "in the spirit of T/CMSA 0033-2022 (worst component impact); the mapping "
    "of component levels is this project's choice",
}


def _ufunc(func: Callable, *args: xr.DataArray, dtype=np.float32, **kwargs) -> xr.DataArray:
    """Apply an element-wise numpy function to DataArrays, lazily when they are dask-backed."""
    return xr.apply_ufunc(
        lambda *a: func(*a, **kwargs),
        *args,
        dask="parallelized",
        output_dtypes=[dtype],
        keep_attrs=False,
    )


def _level_attrs(name: str, long_name: str, values: list[int], meanings: list[str], ref: str):
    return {
        "long_name": long_name,
        "units": "1",
        "flag_values": np.array(values, dtype=np.int8),
        "flag_meanings": " ".join(m.replace(" ", "_") for m in meanings),
        "missing_value": np.int8(-1),
        "references": REFERENCES[ref],
        "index": name,
    }


def _level_meanings(index: str) -> tuple[list[int], list[str]]:
    table = ix.LEVEL_NAMES[index]
    values = sorted(table)
    return values, [table[v][1] for v in values]


def _require(forecast: xr.Dataset) -> None:
    missing = [name for name in REQUIRED if name not in forecast]
    if missing:
        raise ForecastError(
            f"forecast lacks required variable(s) {', '.join(missing)} "
            "(open it with bulletin.open_forecast to normalise names and units)"
        )
    if "time" not in forecast.dims:
        raise ForecastError("forecast has no 'time' dimension")
    if forecast.sizes["time"] == 0:
        raise ForecastError("forecast has an empty time axis")


def utc_offset_hours(forecast: xr.Dataset, timezone: str | None) -> str | timedelta:
    """The timezone used for local days: the given IANA name, or (when None) a whole-hour
    offset from the mean longitude of the data (solar time, rounded; our choice for grids that
    come without a place)."""
    if timezone:
        return timezone
    lon = float(np.nanmean(np.asarray(forecast["longitude"].values, dtype=float)))
    return timedelta(hours=round(lon / 15.0))


def local_times(times: np.ndarray, timezone: str | timedelta) -> pd.DatetimeIndex:
    """Local wall-clock times (naive) for UTC ``times`` in ``timezone``."""
    utc = pd.DatetimeIndex(times).tz_localize("UTC")
    if isinstance(timezone, timedelta):
        return (utc + timezone).tz_localize(None)
    return utc.tz_convert(timezone).tz_localize(None)


#: Input fields of :func:`bulletin.indices.combined.spectator_indices` by schema name.
_OPTIONAL_INPUTS = {
    "tcc": "tcc_fraction",
    "rsds": "rsds_wm2",
    "snow_depth": "snow_depth_m",
    "snowfall": "snowfall_mmh",
    "precip": "precip_mmh",
    "visibility": "visibility_m",
    "uv_index_model": "uv_index_model",
    "orography": "elevation_m",
}
#: Plausible values for the one-point evaluation that finds the output dtypes.
_SAMPLE_VALUES = {
    "t_c": -5.0,
    "rh_pct": 50.0,
    "v10_ms": 5.0,
    "lat": 40.0,
    "lon": 116.0,
    "ozone_du": 330.0,
    "tcc_fraction": 0.5,
    "rsds_wm2": 100.0,
    "snow_depth_m": 0.1,
    "snowfall_mmh": 0.1,
    "precip_mmh": 0.1,
    "visibility_m": 5000.0,
    "uv_index_model": 1.0,
    "elevation_m": 100.0,
}


def _output_dtypes(arrays: dict[str, xr.DataArray], kwargs: dict) -> list[np.dtype]:
    """Dtypes of the outputs, from one evaluation at a single point with the inputs' dtypes."""
    ndim = len(kwargs["dims"])
    time = TimeAxis.from_times(kwargs["time"].times_utc[:1], np.zeros(1), FRESH_SNOW_WINDOW)
    sample = {
        key: np.full((1,) * ndim, _SAMPLE_VALUES[key], dtype=value.dtype)
        for key, value in arrays.items()
    }
    static = {k: v for k, v in kwargs.items() if k not in ("dims", "time")}
    result = spectator_indices(**sample, **static, time=time)
    return [result[name].dtype for name in OUTPUTS]


#: Points per dask chunk when the forecast comes as numpy arrays (our choice: about twenty
#: chunks on a 1e7-point grid, so that dask's threads share the work evenly, each large
#: enough that its fixed cost, the daily index and the snowfall window along the time axis,
#: stays small; the point-wise temporaries live in the engine's slabs,
#: ``bulletin.indices.combined.SLAB_POINTS``, whatever the chunk; benchmarks/README.md has
#: the measurements).
CHUNK_POINTS = 1 << 19


def _engine_chunks(sizes: dict[str, int]) -> dict[str, int]:
    """Dask chunks for numpy-backed inputs: the whole time axis (the daily index and the
    snowfall window look along it), the outermost other dimension cut so that a chunk holds
    about :data:`CHUNK_POINTS` points, and the remaining dimensions whole."""
    total = int(np.prod(list(sizes.values())))
    chunks = {dim: -1 for dim in sizes}
    for dim, size in sizes.items():
        if dim != "time" and size > 1:
            chunks[dim] = max(1, size * CHUNK_POINTS // max(total, 1))
            break
    return chunks


def _engine_block(*blocks: np.ndarray, names: tuple[str, ...], ndim: int, **settings):
    """The apply_ufunc body: :func:`spectator_indices` on one chunk of every input."""
    # apply_ufunc leaves out missing leading dimensions; the engine wants them all.
    blocks = tuple(block.reshape((1,) * (ndim - block.ndim) + block.shape) for block in blocks)
    result = spectator_indices(**dict(zip(names, blocks, strict=True)), **settings)
    return tuple(result[name] for name in OUTPUTS)


def _engine_in_place(
    arrays: dict[str, xr.DataArray],
    dims: tuple[str, ...],
    sizes: dict[str, int],
    dtypes: list[np.dtype],
    settings: dict,
) -> list[xr.DataArray]:
    """:func:`spectator_indices` on numpy-backed inputs, one dask task per chunk of
    :func:`_engine_chunks` on dask's threads, each chunk's outputs written by the engine
    straight into their place in the whole result (no per-chunk outputs to copy or join).

    The threads of this process, whatever scheduler the caller has made the default: the
    results live here, and a distributed client would fill copies of them on its workers.
    """
    shape = tuple(sizes[dim] for dim in dims)
    # Each input on all of ``dims`` in order, length 1 on those it lacks (a view).
    inputs = {
        name: array.transpose(*(dim for dim in dims if dim in array.dims)).values.reshape(
            tuple(sizes[dim] if dim in array.dims else 1 for dim in dims)
        )
        for name, array in arrays.items()
    }
    results = {name: np.empty(shape, dtype) for name, dtype in zip(OUTPUTS, dtypes, strict=True)}
    chunks = _engine_chunks(sizes)
    blocks = dask.array.core.normalize_chunks(tuple(chunks[dim] for dim in dims), shape)

    def chunk(region: tuple[slice, ...]) -> None:
        def part(values: np.ndarray) -> np.ndarray:
            cuts = zip(region, values.shape, strict=True)
            return values[tuple(cut if size > 1 else slice(None) for cut, size in cuts)]

        spectator_indices(
            **{name: part(values) for name, values in inputs.items()},
            **settings,
            out={name: values[region] for name, values in results.items()},
        )

    tasks = [
        dask.delayed(chunk, pure=False)(region)
        for region in dask.array.core.slices_from_chunks(blocks)
    ]
    dask.compute(*tasks, scheduler="threads")
    return [xr.DataArray(results[name], dims=dims) for name in OUTPUTS]


def _all_indices(forecast: xr.Dataset, tz) -> dict[str, xr.DataArray]:
    """Every per-point output of the six indices on the forecast's own layout.

    :func:`bulletin.indices.combined.spectator_indices` chunk by chunk: the time axis is
    one chunk, the other dimensions are split as the input's chunks are, through
    ``xr.apply_ufunc(..., dask="parallelized")`` (lazy results); numpy-backed inputs are
    chunked by :func:`_engine_chunks` and computed at once on dask's threads
    (:func:`_engine_in_place`). Every chunk holds every step, so the results do not depend
    on the chunking.
    """
    times = forecast["time"].values
    local_days = local_times(times, tz).normalize().values
    time = TimeAxis.from_times(times, local_days, FRESH_SNOW_WINDOW)
    lat, lon = forecast["latitude"], forecast["longitude"]
    if "ozone" in forecast:
        ozone = forecast["ozone"]
    else:  # on (time, latitude) only: the climatology does not depend on longitude here
        ozone = _ufunc(ix.ozone_climatology_du, lat, forecast["time"].dt.dayofyear)
    arrays = {
        "t_c": forecast["t2m"],
        "rh_pct": forecast["rh2m"],
        "v10_ms": forecast["wind10"],
        "lat": lat,
        "lon": lon,
        "ozone_du": ozone,
    }
    for name, parameter in _OPTIONAL_INPUTS.items():
        if name in forecast:
            arrays[parameter] = forecast[name]
    dims = tuple(dict.fromkeys(dim for array in arrays.values() for dim in array.dims))
    sizes = {dim: forecast.sizes[dim] for dim in dims}
    settings = {
        "time": time,
        "time_axis": dims.index("time"),
        "worn_clo": WORN_CLO,
        "fresh_snow_mm": FRESH_SNOW_MM_24H,
        "default_visibility_m": DEFAULT_VISIBILITY_M,
        "kmh_per_ms": KMH_PER_MS,
    }
    dtypes = _output_dtypes(arrays, {**settings, "dims": dims})
    if any(array.chunks is not None for array in arrays.values()):
        # Whole time axis in each chunk; the other dimensions keep the caller's chunks.
        arrays = {
            key: array.chunk({"time": -1}) if "time" in array.chunksizes else array
            for key, array in arrays.items()
        }
        results = xr.apply_ufunc(
            _engine_block,
            *arrays.values(),
            kwargs={**settings, "names": tuple(arrays), "ndim": len(dims)},
            dask="parallelized",
            output_dtypes=dtypes,
            output_core_dims=[[] for _ in OUTPUTS],
            keep_attrs=False,
        )
    else:
        results = _engine_in_place(arrays, dims, sizes, dtypes, settings)
    out = dict(zip(OUTPUTS, results, strict=True))
    # The sun's position depends on time and place only: drop the other dimensions (member).
    sun_dims = tuple(dict.fromkeys(("time", *lat.dims, *lon.dims)))
    sun = out["sun_elevation"]
    sun = sun.isel({dim: 0 for dim in sun.dims if dim not in sun_dims}, drop=True)
    out["sun_elevation"] = sun.transpose(*sun_dims)
    return out


def compute_indices(forecast: xr.Dataset, *, timezone: str | None = None) -> xr.Dataset:
    """Compute the six spectator indices, their levels and the composite level.

    Parameters
    ----------
    forecast
        A Dataset in the internal schema (:func:`bulletin.open_forecast`), on a grid or at
        points; dask-backed inputs give lazy outputs.
    timezone
        IANA timezone of the local days used by the daily cold/flu index. ``None``: a
        whole-hour offset from the data's mean longitude.

    Returns
    -------
    xarray.Dataset
        The input fields plus, each with ``units``, ``long_name`` and ``references``:
        ``wind_chill`` (degC), ``frostbite_minutes`` (min, NaN where no frostbite is expected),
        ``clothing_clo`` (required basic insulation, clo), ``exposure_limit_h`` (hours for a
        4 clo outfit, DLEmin), ``cold_score`` and its components ``cold_*``, ``uv_index``,
        ``uv_category`` (WHO 0-4), ``goggles_lens`` (0-4 for S0-S4), ``sun_elevation``
        (degrees), and the int8 levels (-1 = missing) ``wind_chill_level`` 0-6,
        ``frostbite_level`` 1-5, ``clothing_level`` 1-7, ``cold_level`` 1-4,
        ``sunscreen_level`` 1-5, ``goggles_level`` 1-4 and ``spectator_level`` 1-4.
        With a ``member`` dimension, ``p_<level>_ge3`` gives the fraction of members at
        level 3 or above.
    """
    _require(forecast)
    tz = utc_offset_hours(forecast, timezone)
    values = _all_indices(forecast, tz)
    # New variables by name, added to the forecast at once at the end.
    out: dict[str, xr.DataArray] = {}

    # 1. Wind chill.
    out["wind_chill"] = values["wind_chill"].assign_attrs(
        long_name="wind chill index (JAG/TI 2001, NWS conventions)",
        standard_name="wind_chill_of_air_temperature",
        units="degC",
        references=REFERENCES["wind_chill"],
    )
    out["wind_chill_level"] = values["wind_chill_level"]

    # 2. Frostbite.
    out["frostbite_minutes"] = values["frostbite_minutes"].assign_attrs(
        long_name="minutes to frostbite of exposed facial skin (5 % most susceptible)",
        units="min",
        comment="missing where air temperature >= -4.8 degC (no frostbite expected)",
        references=REFERENCES["frostbite"],
    )
    out["frostbite_level"] = values["frostbite_level"]
    out["sun_elevation"] = values["sun_elevation"].assign_attrs(
        long_name="solar elevation angle", units="degree", standard_name="solar_elevation_angle"
    )

    # 3. Clothing (ISO 11079). Mean radiant temperature from solar radiation when the forecast
    # has it; otherwise the radiant temperature equals the air temperature (ISO 11079 default).
    if "rsds" in forecast:
        tr_source = "estimated from surface solar radiation"
    else:
        tr_source = "taken equal to air temperature (no solar radiation in the forecast)"
    out["clothing_clo"] = values["clothing_clo"].assign_attrs(
        long_name="required basic clothing insulation for a spectator (ISO 11079 ICLneutral)",
        units="clo",
        comment=f"M = {ix.iso11079.SPECTATOR.metabolic_rate:g} W m-2; "
        f"mean radiant temperature {tr_source}",
        references=REFERENCES["clothing"],
    )
    out["exposure_limit_h"] = values["exposure_limit_h"].assign_attrs(
        long_name=f"duration-limited exposure for a {WORN_CLO:g} clo outfit (ISO 11079 DLEmin)",
        units="h",
        references=REFERENCES["clothing"],
    )
    out["clothing_level"] = values["clothing_level"]

    # 4. Cold/flu risk, a daily index (each step carries the values of its local day).
    for name in OUTPUTS:
        if name.startswith("cold_"):
            out[name] = values[name]

    # 5. UV index and sunscreen.
    if "snow_depth" in forecast:
        snow_note = "snow albedo from forecast snow depth and 24 h snowfall"
    else:
        snow_note = "no snow depth in the forecast: bare ground assumed"
    if "tcc" in forecast:
        cloud_note = "cloud modification from total cloud cover"
    else:
        # Clear sky is the cautious assumption for UV advice (our choice).
        cloud_note = "no cloud cover in the forecast: clear sky assumed"
    ozone_note = "forecast total ozone" if "ozone" in forecast else "ozone climatology"
    if "uv_index_model" in forecast:
        uv_note = "model UV index product"
    else:
        uv_note = f"parametric all-sky UV index ({ozone_note}; {cloud_note}; {snow_note})"
    out["uv_index"] = values["uv_index"].assign_attrs(
        long_name="all-sky UV index",
        standard_name="ultraviolet_index",
        units="1",
        comment=uv_note,
        references=REFERENCES["uv"],
    )
    out["sunscreen_level"] = values["sunscreen_level"]
    out["uv_category"] = values["uv_category"]

    # 6. Goggles, and the composite spectator level.
    out["goggles_level"] = values["goggles_level"]
    out["goggles_lens"] = values["goggles_lens"]
    out["spectator_level"] = values["spectator_level"]

    for name in LEVEL_VARIABLES:
        index = name.removesuffix("_level")
        values, meanings = _level_meanings(index)
        ref = {"sunscreen": "uv", "spectator": "spectator"}.get(index, index)
        out[name] = out[name].astype(np.int8, copy=False)
        out[name].attrs = _level_attrs(
            index, f"{index.replace('_', ' ')} level", values, meanings, ref
        )
    out["uv_category"].attrs = _level_attrs(
        "uv_category", "WHO UV index category", *_level_meanings("uv_category"), "uv"
    )
    out["goggles_lens"].attrs = {
        "long_name": "recommended goggle filter category (ISO 12312-1 / 18527-1)",
        "units": "1",
        "flag_values": np.arange(5, dtype=np.int8),
        "flag_meanings": "S0 S1 S2 S3 S4",
        "missing_value": np.int8(-1),
        "references": REFERENCES["goggles"],
    }
    for name in [k for k in out if k.startswith("cold_")]:
        out[name].attrs = {
            "long_name": "cold/flu risk " + name.removeprefix("cold_").replace("_", " "),
            "units": "1",
            "missing_value": np.int8(-1),
            "references": REFERENCES["cold"],
        }
    out["cold_level"].attrs = _level_attrs(
        "cold", "cold/flu risk level", *_level_meanings("cold"), "cold"
    )

    # As (dims, data, attrs): on the forecast's own coordinates, so nothing to align.
    out = forecast.assign({name: (da.dims, da.variable.data, da.attrs) for name, da in out.items()})
    if "member" in out.dims:
        for name in LEVEL_VARIABLES:
            level = out[name]
            prob = (level >= PROBABILITY_LEVEL).where(level >= 0).mean("member")
            out[f"p_{name}_ge{PROBABILITY_LEVEL}"] = prob.astype(np.float32).assign_attrs(
                long_name=f"fraction of ensemble members with {name} >= {PROBABILITY_LEVEL}",
                units="1",
            )
    out.attrs["local_day_timezone"] = str(tz)
    return out
