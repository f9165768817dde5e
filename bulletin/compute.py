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

import numpy as np
import pandas as pd
import xarray as xr
from cf_xarray.units import units as ureg

from . import indices as ix
from .errors import ForecastError
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
#: Outfit for the duration-limited exposure quoted in bulletins (indices.md §3).
WORN_CLO = 3.0
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


def _step_hours(times: np.ndarray) -> np.ndarray:
    """Length in hours of the interval that ends at each time (the first repeats the second)."""
    t = np.asarray(times, dtype="datetime64[ns]")
    if t.size < 2:
        return np.ones(t.size)
    dt = np.diff(t).astype("timedelta64[s]").astype(float) / 3600.0
    return np.concatenate([dt[:1], dt])


def _amount_in_window(rate_mmh: xr.DataArray, window: np.timedelta64) -> xr.DataArray:
    """Amount (mm) that fell in the ``window`` ending at each time, from mean rates over the
    preceding intervals (the schema's convention for accumulations)."""
    times = rate_mmh["time"].values
    dt = xr.DataArray(_step_hours(times), dims="time", coords={"time": times})
    total = (rate_mmh.fillna(0.0) * dt).cumsum("time")
    start = np.searchsorted(times, times - window, side="right") - 1
    before = total.isel(time=np.clip(start, 0, None)).where(
        xr.DataArray(start >= 0, dims="time"), 0
    )
    before = before.assign_coords(time=times)
    return total - before


def _daily_cold_risk(
    forecast: xr.Dataset, t_c: xr.DataArray, rh: xr.DataArray, wind: xr.DataArray, tz
) -> dict[str, xr.DataArray]:
    """Cold/flu risk per local day, spread back onto every time step of that day.

    Daily minimum/maximum/mean come from the forecast hours of each local calendar day (partial
    first and last days use the hours available). The cooling terms compare a day's minimum
    with the minima 1, 2 and 3 days earlier; days before the forecast start are unknown and
    count as no cooling (our choice; the bulletin cannot claim a cold wave it cannot see).
    """
    times = forecast["time"].values
    day = xr.DataArray(
        local_times(times, tz).normalize().values, dims="time", coords={"time": times}
    )
    day.name = "local_day"
    grouped_t = t_c.groupby(day)
    tmin = grouped_t.min("time")
    tmax = grouped_t.max("time")
    tmean = grouped_t.mean("time")
    rh_mean = rh.groupby(day).mean("time")
    wind_max = wind.groupby(day).max("time")
    if "precip" in forecast:
        dt = xr.DataArray(_step_hours(times), dims="time", coords={"time": times})
        precip_day = (forecast["precip"].fillna(0.0) * dt).groupby(day).sum("time")
    else:
        precip_day = xr.zeros_like(tmin)
    if tmin.chunks is not None:
        tmin = tmin.chunk({"local_day": -1})
    n_days = tmin.sizes["local_day"]
    # Drop of the daily minimum over 1, 2 and 3 days (positive = cooling).
    drops = {
        k: (tmin.shift(local_day=k) - tmin).fillna(0.0) if k < n_days else xr.zeros_like(tmin)
        for k in (1, 2, 3)
    }
    q = _ufunc(ix.specific_humidity_gkg, tmean, rh_mean)

    def components(d24, d48, d72, tmin_, tmax_, tmean_, rh_, q_, v_, p_):
        comp = ix.cold_risk_components(d24, d48, d72, tmin_, tmax_, tmean_, rh_, q_, v_, p_)
        return np.stack([comp[k] for k in ix.COLD_RISK_COMPONENTS], axis=-1)

    stacked = xr.apply_ufunc(
        components,
        drops[1],
        drops[2],
        drops[3],
        tmin,
        tmax,
        tmean,
        rh_mean,
        q,
        wind_max,
        precip_day,
        dask="parallelized",
        output_dtypes=[np.int8],
        output_core_dims=[["cold_component"]],
        dask_gufunc_kwargs={"output_sizes": {"cold_component": len(ix.COLD_RISK_COMPONENTS)}},
    )
    out: dict[str, xr.DataArray] = {}
    missing = tmin.isnull() | rh_mean.isnull() | wind_max.isnull()
    for i, name in enumerate(ix.COLD_RISK_COMPONENTS):
        part = stacked.isel(cold_component=i).where(~missing, -1).astype(np.int8)
        out[f"cold_{name}"] = part
    score = sum(stacked.isel(cold_component=i) for i in range(len(ix.COLD_RISK_COMPONENTS)))
    score = score.astype(np.int8).where(~missing, -1).astype(np.int8)
    out["cold_score"] = score
    out["cold_level"] = _ufunc(ix.cold_risk_level, score, dtype=np.int8).where(~missing, -1)
    # Back from days to time steps: every step carries the values of its local day.
    return {k: v.sel(local_day=day).drop_vars("local_day").astype(np.int8) for k, v in out.items()}


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
        3 clo outfit), ``cold_score`` and its components ``cold_*``, ``uv_index``,
        ``uv_category`` (WHO 0-4), ``goggles_lens`` (0-4 for S0-S4), ``sun_elevation``
        (degrees), and the int8 levels (-1 = missing) ``wind_chill_level`` 0-6,
        ``frostbite_level`` 1-5, ``clothing_level`` 1-7, ``cold_level`` 1-4,
        ``sunscreen_level`` 1-5, ``goggles_level`` 1-4 and ``spectator_level`` 1-4.
        With a ``member`` dimension, ``p_<level>_ge3`` gives the fraction of members at
        level 3 or above.
    """
    _require(forecast)
    tz = utc_offset_hours(forecast, timezone)
    t_c = forecast["t2m"]
    rh = forecast["rh2m"]
    wind = forecast["wind10"]
    wind_kmh = wind * np.float32(KMH_PER_MS)
    out = forecast.copy()

    # 1. Wind chill.
    wci = _ufunc(ix.wind_chill, t_c, wind_kmh)
    out["wind_chill"] = wci.assign_attrs(
        long_name="wind chill index (JAG/TI 2001, NWS conventions)",
        standard_name="wind_chill_of_air_temperature",
        units="degC",
        references=REFERENCES["wind_chill"],
    )
    out["wind_chill_level"] = _ufunc(ix.wind_chill_level, wci, dtype=np.int8)

    # 2. Frostbite.
    minutes = _ufunc(ix.frostbite_minutes, t_c, wind_kmh)
    out["frostbite_minutes"] = minutes.assign_attrs(
        long_name="minutes to frostbite of exposed facial skin (5 % most susceptible)",
        units="min",
        comment="missing where air temperature >= -4.8 degC (no frostbite expected)",
        references=REFERENCES["frostbite"],
    )
    out["frostbite_level"] = _ufunc(ix.frostbite_level, minutes, wci, dtype=np.int8)

    # Sun position on the data's own layout (grid or points).
    lat, lon = xr.broadcast(forecast["latitude"], forecast["longitude"])
    times = forecast["time"]
    zenith = xr.apply_ufunc(
        lambda tt, la, lo: ix.solar_zenith(tt, la, lo).astype(np.float32),
        times,
        lat,
        lon,
        dask="parallelized",
        output_dtypes=[np.float32],
    )
    cos_sza = np.cos(np.deg2rad(zenith)).clip(0.0, None).astype(np.float32)
    out["sun_elevation"] = (
        (90.0 - zenith)
        .astype(np.float32)
        .assign_attrs(
            long_name="solar elevation angle", units="degree", standard_name="solar_elevation_angle"
        )
    )

    # 3. Clothing (ISO 11079). Mean radiant temperature from solar radiation when the forecast
    # has it; otherwise the radiant temperature equals the air temperature (ISO 11079 default).
    if "rsds" in forecast:
        tr = _ufunc(ix.mean_radiant_temperature, t_c, forecast["rsds"], cos_sza)
        tr = tr.where(~forecast["rsds"].isnull(), t_c)
        tr_source = "estimated from surface solar radiation"
    else:
        tr = t_c
        tr_source = "taken equal to air temperature (no solar radiation in the forecast)"
    clo = _ufunc(ix.required_insulation, t_c, tr, wind, rh)
    out["clothing_clo"] = clo.assign_attrs(
        long_name="required basic clothing insulation for a spectator (ISO 11079 ICLneutral)",
        units="clo",
        comment=f"M = 70 W m-2; mean radiant temperature {tr_source}",
        references=REFERENCES["clothing"],
    )
    dle = _ufunc(ix.exposure_limit_hours, t_c, tr, wind, rh, clo=WORN_CLO)
    out["exposure_limit_h"] = dle.assign_attrs(
        long_name=f"duration-limited exposure for a {WORN_CLO:g} clo outfit (ISO 11079 DLE)",
        units="h",
        references=REFERENCES["clothing"],
    )
    out["clothing_level"] = _ufunc(ix.clothing_level, clo, dtype=np.int8)

    # 4. Cold/flu risk, a daily index.
    for name, value in _daily_cold_risk(forecast, t_c, rh, wind, tz).items():
        out[name] = value

    # 5. UV index and sunscreen.
    snow_depth = forecast["snow_depth"].fillna(0.0) if "snow_depth" in forecast else None
    if "snowfall" in forecast:
        fresh = _amount_in_window(forecast["snowfall"], FRESH_SNOW_WINDOW) >= FRESH_SNOW_MM_24H
    else:
        fresh = xr.zeros_like(t_c, dtype=bool)
    if snow_depth is None:
        snow_depth = xr.zeros_like(t_c)
        snow_note = "no snow depth in the forecast: bare ground assumed"
    else:
        snow_note = "snow albedo from forecast snow depth and 24 h snowfall"
    snow_cover = snow_depth >= SNOW_COVER_DEPTH_M
    if "tcc" in forecast:
        tcc = forecast["tcc"]
        cloud_note = "cloud modification from total cloud cover"
    else:
        # Clear sky is the cautious assumption for UV advice (our choice).
        tcc = xr.zeros_like(t_c)
        cloud_note = "no cloud cover in the forecast: clear sky assumed"
    elevation = forecast["orography"] if "orography" in forecast else xr.zeros_like(lat)
    if "ozone" in forecast:
        ozone = forecast["ozone"]
        ozone_note = "forecast total ozone"
    else:
        doy = times.dt.dayofyear
        ozone = _ufunc(ix.ozone_climatology_du, lat, doy)
        ozone_note = "ozone climatology"
    uvi_bare = _ufunc(
        ix.uv_index, cos_sza, ozone, tcc, elevation, xr.zeros_like(t_c), xr.zeros_like(fresh)
    )
    if "uv_index" in forecast:
        uvi = forecast["uv_index"]
        uv_note = "model UV index product"
    else:
        uvi = _ufunc(ix.uv_index, cos_sza, ozone, tcc, elevation, snow_depth, fresh)
        uv_note = f"parametric all-sky UV index ({ozone_note}; {cloud_note}; {snow_note})"
    out["uv_index"] = uvi.astype(np.float32).assign_attrs(
        long_name="all-sky UV index",
        standard_name="ultraviolet_index",
        units="1",
        comment=uv_note,
        references=REFERENCES["uv"],
    )
    out["sunscreen_level"] = _ufunc(ix.sunscreen_level, uvi, dtype=np.int8)
    out["uv_category"] = _ufunc(ix.who_uv_category, uvi, dtype=np.int8)

    # 6. Goggles.
    albedo = _ufunc(ix.snow_albedo, snow_cover, fresh)
    uvi_eye = _ufunc(ix.ocular_uv, uvi_bare, albedo)
    snowfall = forecast["snowfall"] if "snowfall" in forecast else xr.zeros_like(t_c)
    visibility = (
        forecast["visibility"].fillna(DEFAULT_VISIBILITY_M)
        if "visibility" in forecast
        else xr.full_like(t_c, DEFAULT_VISIBILITY_M)
    )
    sun_elev = out["sun_elevation"]
    goggles_args = (uvi_eye, snowfall.fillna(0.0), wind, snow_cover, visibility, sun_elev, tcc)
    out["goggles_level"] = _ufunc(ix.goggles_level, *goggles_args, dtype=np.int8)
    out["goggles_lens"] = _ufunc(ix.goggles_lens, *goggles_args, dtype=np.int8)

    # Composite spectator level.
    out["spectator_level"] = _ufunc(
        ix.spectator_level,
        *(out[name] for name in LEVEL_VARIABLES[:-1]),
        dtype=np.int8,
    )

    for name in LEVEL_VARIABLES:
        index = name.removesuffix("_level")
        values, meanings = _level_meanings(index)
        ref = {"sunscreen": "uv", "spectator": "spectator"}.get(index, index)
        out[name] = out[name].astype(np.int8)
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
    for name in [k for k in out.data_vars if k.startswith("cold_")]:
        out[name].attrs = {
            "long_name": "cold/flu risk " + name.removeprefix("cold_").replace("_", " "),
            "units": "1",
            "missing_value": np.int8(-1),
            "references": REFERENCES["cold"],
        }
    out["cold_level"].attrs = _level_attrs(
        "cold", "cold/flu risk level", *_level_meanings("cold"), "cold"
    )

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
