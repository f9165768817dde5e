"""Cold/flu risk index (感冒指数): component scores on national thresholds, their sum and level.

No national standard for a 感冒指数 was obtainable: CMA/weather.com.cn publish
four levels (少发 / 较易发 / 易发 / 极易发) without a public method. This module scores the
physical drivers named in the literature; **the additive scoring and the level edges are our
proposal** (defensible, to be calibrated against health data), the cooling thresholds are
national ones:

* cooling: GB/T 20484-2017 冷空气等级 (cold-air grades from the fall of daily minimum
  temperature);
* very dry air: low absolute humidity favours influenza virus survival and transmission
  (Shaman, J. and Kohn, M. (2009), PNAS 106, 3243-3248);
* large diurnal range, cold, damp cold, wind (>= Beaufort 4, 5.5 m/s, WMO) or precipitation
  (>= 0.1 mm, the CMA precipitation-day threshold).

Daily inputs: the caller aggregates hourly forecasts to days.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from ._arrays import (
    MISSING,
    IndexInputError,
    as_float,
    check_range,
    count_at_or_above,
    elementwise,
    flat_as,
    float_dtype,
)

#: Names of the component scores, in bulletin order.
COLD_RISK_COMPONENTS = (
    "cooling",
    "diurnal_range",
    "cold",
    "dry_air",
    "damp_cold",
    "wind_precip",
)

#: Largest value of each component; the score is at most 12.
COMPONENT_MAXIMA = {
    "cooling": 4,
    "diurnal_range": 3,
    "cold": 2,
    "dry_air": 1,
    "damp_cold": 1,
    "wind_precip": 1,
}

#: 48 h fall of the daily minimum (K) for cooling scores 1, 2, 3. 6 and 8 K are the
#: GB/T 20484-2017 moderate and (fairly) strong cold-air grades; 3 K is our choice for a
#: noticeable weak cold-air passage (GB/T 20484 "weak" is anything below 6 K).
COOLING_EDGES_48H = (3.0, 6.0, 8.0)
#: GB/T 20484-2017 寒潮 (cold wave): 24/48/72 h falls of Tmin (K) and the Tmin ceiling (°C).
COLD_WAVE_DROPS = (8.0, 10.0, 12.0)
COLD_WAVE_MAX_TMIN = 4.0
#: Diurnal range (Tmax - Tmin, K) for scores 1, 2, 3 (our choice: 10 K is a large range in
#: CMA practice, 14 K a very large one for North China in winter).
DIURNAL_RANGE_EDGES = (10.0, 12.0, 14.0)
#: Daily mean temperature below 10 °C scores 1, below -10 °C scores 2 (our choice).
COLD_EDGES = (10.0, -10.0)
#: Dry air: specific humidity below 2 g/kg or RH below 30 % (our choice on Shaman & Kohn 2009,
#: whose influenza-survival effect is strongest at low absolute humidity).
DRY_Q_GKG = 2.0
DRY_RH_PCT = 30.0
#: Damp cold: RH >= 85 % with mean temperature below 5 °C (our choice).
DAMP_RH_PCT = 85.0
DAMP_MAX_TMEAN = 5.0
#: Wind >= 5.5 m/s (Beaufort force 4, WMO) or precipitation >= 0.1 mm/day.
WIND_MS = 5.5
PRECIP_MM = 0.1

#: Score edges of levels 2, 3, 4 (our proposal): 0-2 少发, 3-4 较易发,
#: 5-7 易发, >=8 极易发.
LEVEL_EDGES = (3, 5, 8)


@elementwise(
    "d_tmin24",
    "d_tmin48",
    "d_tmin72",
    "tmin",
    "tmax",
    "tmean",
    "rh_pct",
    "q_gkg",
    "v10_ms",
    "precip_mm",
)
def cold_risk_components(
    d_tmin24: ArrayLike,
    d_tmin48: ArrayLike,
    d_tmin72: ArrayLike,
    tmin: ArrayLike,
    tmax: ArrayLike,
    tmean: ArrayLike,
    rh_pct: ArrayLike,
    q_gkg: ArrayLike,
    v10_ms: ArrayLike,
    precip_mm: ArrayLike,
) -> dict[str, NDArray[np.int8]]:
    """Component scores of the cold/flu risk (int8 arrays; -1 where a driver is NaN).

    Parameters (daily values; °C, K, %, g/kg, m/s, mm)
    ----------
    d_tmin24, d_tmin48, d_tmin72 : fall of the daily minimum temperature over 24/48/72 h
        (positive = cooling: earlier Tmin minus today's Tmin), K.
    tmin, tmax, tmean : today's minimum, maximum and mean temperature, °C.
    rh_pct : daily mean relative humidity, %.
    q_gkg : daily mean specific humidity, g/kg (:func:`specific_humidity_gkg`).
    v10_ms : daily (maximum or mean, the caller's choice) 10 m wind speed, m/s.
    precip_mm : daily precipitation, mm.

    Returns
    -------
    dict with the keys of :data:`COLD_RISK_COMPONENTS`:

    * ``cooling`` 0..4: 4 cold wave (GB/T 20484-2017 寒潮: ΔTmin24 >= 8 or ΔTmin48 >= 10 or
      ΔTmin72 >= 12 K, with Tmin <= 4 °C); otherwise ΔTmin48 >= 8 -> 3 (strong / fairly
      strong cold air), >= 6 -> 2 (moderate), >= 3 -> 1 (our choice), else 0;
    * ``diurnal_range`` 0..3: Tmax - Tmin >= 10 / 12 / 14 K;
    * ``cold`` 0..2: Tmean < 10 °C -> 1, < -10 °C -> 2;
    * ``dry_air`` 0..1: q < 2 g/kg or RH < 30 %;
    * ``damp_cold`` 0..1: RH >= 85 % and Tmean < 5 °C;
    * ``wind_precip`` 0..1: wind >= 5.5 m/s (Beaufort 4) or precipitation >= 0.1 mm.
    """
    dtype = float_dtype(
        d_tmin24, d_tmin48, d_tmin72, tmin, tmax, tmean, rh_pct, q_gkg, v10_ms, precip_mm
    )
    d24, d48, d72, t_min, t_max, t_mean, rh, q, wind, precip = (
        as_float(x, dtype)
        for x in (
            d_tmin24,
            d_tmin48,
            d_tmin72,
            tmin,
            tmax,
            tmean,
            rh_pct,
            q_gkg,
            v10_ms,
            precip_mm,
        )
    )
    name = "cold_risk_components"
    for label, values in (("tmin", t_min), ("tmax", t_max), ("tmean", t_mean)):
        check_range(name, label, values, -100.0, 60.0, "°C", "temperature in °C expected")
    for label, values in (("d_tmin24", d24), ("d_tmin48", d48), ("d_tmin72", d72)):
        check_range(name, label, values, -80.0, 80.0, "K")
    check_range(name, "rh_pct", rh, 0.0, 105.0, "%", "relative humidity in % expected")
    check_range(name, "q_gkg", q, 0.0, 60.0, "g/kg", "specific humidity in g/kg expected")
    check_range(name, "v10_ms", wind, 0.0, 150.0, "m/s")
    check_range(name, "precip_mm", precip, 0.0, 2000.0, "mm")
    shape = np.broadcast_shapes(*(x.shape for x in (d24, d48, d72, t_min, t_max, t_mean, rh, q)))
    shape = np.broadcast_shapes(shape, wind.shape, precip.shape)
    drivers = [
        flat_as(x, shape) for x in (d24, d48, d72, t_min, t_max, t_mean, rh, q, wind, precip)
    ]
    parts = np.empty((len(COLD_RISK_COMPONENTS), int(np.prod(shape))), dtype=np.int8)
    _components_kernel(*drivers, _component_thresholds(dtype), parts)
    return {
        name: part.reshape(shape) for name, part in zip(COLD_RISK_COMPONENTS, parts, strict=True)
    }


@functools.cache
def _component_thresholds(dtype: np.dtype) -> tuple:
    """The thresholds of :func:`_components_kernel` in ``dtype`` (as numpy compares an array
    with a Python number)."""
    values = (
        *COOLING_EDGES_48H,
        *COLD_WAVE_DROPS,
        COLD_WAVE_MAX_TMIN,
        *DIURNAL_RANGE_EDGES,
        *COLD_EDGES,
        DRY_Q_GKG,
        DRY_RH_PCT,
        DAMP_RH_PCT,
        DAMP_MAX_TMEAN,
        WIND_MS,
        PRECIP_MM,
    )
    return tuple(dtype.type(value) for value in values)


@njit(nogil=True, cache=True, fastmath=False, error_model="numpy")
def _components_kernel(
    d24, d48, d72, t_min, t_max, t_mean, rh, q, wind, precip, thresholds, out
):  # pragma: no cover - compiled
    """The six component scores of :func:`cold_risk_components` per point of flat arrays
    (rows of ``out`` in :data:`COLD_RISK_COMPONENTS` order), each -1 where one of its own
    drivers is NaN; 0/1 arithmetic without branches, so that the loop vectorises."""
    (
        c1,
        c2,
        c3,
        w24,
        w48,
        w72,
        wave_tmin,
        r1,
        r2,
        r3,
        cool,
        very_cold,
        dry_q,
        dry_rh,
        damp_rh,
        damp_t,
        windy,
        wet,
    ) = thresholds
    for i in range(d24.shape[0]):
        a, b, c, lo, hi, mean = d24[i], d48[i], d72[i], t_min[i], t_max[i], t_mean[i]
        h, sh, w, p = rh[i], q[i], wind[i], precip[i]
        cooling = np.int8(b >= c1) + np.int8(b >= c2) + np.int8(b >= c3)
        wave = ((a >= w24) | (b >= w48) | (c >= w72)) & (lo <= wave_tmin)
        cooling = 4 if wave else cooling
        out[0, i] = -1 if (a != a) | (b != b) | (c != c) | (lo != lo) else cooling
        spread = hi - lo
        diurnal = np.int8(spread >= r1) + np.int8(spread >= r2) + np.int8(spread >= r3)
        out[1, i] = -1 if (hi != hi) | (lo != lo) else diurnal
        cold = np.int8(mean < cool) + np.int8(mean < very_cold)
        out[2, i] = -1 if mean != mean else cold
        dry = np.int8((sh < dry_q) | (h < dry_rh))
        out[3, i] = -1 if (sh != sh) | (h != h) else dry
        damp = np.int8((h >= damp_rh) & (mean < damp_t))
        out[4, i] = -1 if (h != h) | (mean != mean) else damp
        wet_or_windy = np.int8((w >= windy) | (p >= wet))
        out[5, i] = -1 if (w != w) | (p != p) else wet_or_windy


def cold_risk_score(components: Mapping[str, ArrayLike]) -> NDArray[np.int8]:
    """Cold/flu risk score 0..12: the sum of the component scores (int8; -1 where any
    component is missing). ``components`` is the dict of :func:`cold_risk_components`
    (numpy or dask arrays)."""
    missing = [key for key in COLD_RISK_COMPONENTS if key not in components]
    if missing:
        raise IndexInputError(f"cold_risk_score: components lack {', '.join(missing)}")
    parts = [components[key] for key in COLD_RISK_COMPONENTS]
    return _score(*parts)


@elementwise("cooling", "diurnal_range", "cold", "dry_air", "damp_cold", "wind_precip")
def _score(cooling, diurnal_range, cold, dry_air, damp_cold, wind_precip) -> NDArray[np.int8]:
    parts = [cooling, diurnal_range, cold, dry_air, damp_cold, wind_precip]
    parts = [np.asarray(p).astype(np.int8, copy=False) for p in parts]
    for key, part in zip(COLD_RISK_COMPONENTS, parts, strict=True):
        if part.size and (int(part.max()) > COMPONENT_MAXIMA[key] or int(part.min()) < -1):
            raise IndexInputError(
                f"cold_risk_score: component {key} has values outside -1..{COMPONENT_MAXIMA[key]}"
            )
    score = np.add(parts[0], parts[1], dtype=np.int8)
    missing = np.equal(parts[0], MISSING) | np.equal(parts[1], MISSING)
    for part in parts[2:]:
        score = np.add(score, part, dtype=np.int8)
        missing |= np.equal(part, MISSING)
    np.copyto(score, MISSING, where=missing)
    return score


@elementwise("score")
def cold_risk_level(score: ArrayLike) -> NDArray[np.int8]:
    """Cold/flu risk level 1..4 (int8; -1 where the score is -1/missing or NaN).

    Our proposal: score 0-2 -> 1 少发 (rare), 3-4 -> 2 较易发 (fairly likely),
    5-7 -> 3 易发 (likely), >= 8 -> 4 极易发 (very likely).
    """
    s = np.asarray(score)
    if np.issubdtype(s.dtype, np.floating):
        s = np.where(np.isnan(s), MISSING, s)
    if s.size and (float(s.max()) > 12 or float(s.min()) < -1):
        raise IndexInputError(
            f"cold_risk_level: score has values in [{s.min()}, {s.max()}]; expected 0..12 or -1"
        )
    level = count_at_or_above(s, LEVEL_EDGES, start=1)
    np.copyto(level, MISSING, where=np.less(s, 0))
    return level


@elementwise("t_c", "rh_pct", "pressure_hpa")
def specific_humidity_gkg(
    t_c: ArrayLike, rh_pct: ArrayLike, pressure_hpa: ArrayLike = 1013.25
) -> NDArray[np.floating]:
    """Specific humidity (g/kg) from temperature, relative humidity and pressure.

    Vapour pressure ``e = RH/100 · es(T)`` with the saturation vapour pressure over water of
    Bolton (1980, Mon. Wea. Rev. 108, 1046-1053, eq. 10):
    ``es = 6.112 exp(17.67 T / (T + 243.5))`` hPa (T in °C; RH is relative to water, the WMO
    convention, WMO-No. 8 Annex 4.B), and ``q = ε e / (p - (1 - ε) e)`` with
    ε = 0.622 (ratio of the molar masses of water vapour and dry air).

    Parameters: t_c °C, rh_pct %, pressure_hpa hPa (station or sea-level pressure; default
    1013.25). Returns g/kg, float32 for float32 inputs; NaN where an input is NaN.
    """
    dtype = float_dtype(t_c, rh_pct)
    t, rh, p = (as_float(x, dtype) for x in (t_c, rh_pct, pressure_hpa))
    name = "specific_humidity_gkg"
    check_range(name, "t_c", t, -100.0, 60.0, "°C", "air temperature in °C expected")
    check_range(name, "rh_pct", rh, 0.0, 105.0, "%", "relative humidity in % expected")
    check_range(name, "pressure_hpa", p, 100.0, 1100.0, "hPa", "pressure in hPa expected")
    t, rh, p = np.broadcast_arrays(t, rh, p)
    e = t + dtype.type(243.5)
    np.divide(t, e, out=e)
    e *= dtype.type(17.67)
    np.exp(e, out=e)
    e *= rh
    e *= dtype.type(6.112 / 100.0)
    denominator = np.multiply(e, dtype.type(-(1.0 - 0.622)))
    denominator += p
    e *= dtype.type(622.0)  # ε e in g/kg before dividing by the pressure term
    np.divide(e, denominator, out=e)
    return e
