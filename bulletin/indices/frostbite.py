"""Frostbite index (冻伤指数): minutes to frostbite of exposed facial skin, and its level.

References
----------
* Tikuisis, P. and Osczevski, R. J. (2003): Facial cooling during cold air exposure.
  Bull. Amer. Meteor. Soc. 84, 927-933 (the minutes-to-frostbite regression for the 5 % most
  susceptible; DRDC wind-tunnel trials).
* NWS AWIPS-II ``FSSObsUtils.calcFrostbiteTime``: the same regression in operational use,
  reported for 25 < V10 <= 80.5 km/h and results <= 30 min; the 30/10/5-minute shading of the
  NWS wind chill chart.
* Environment and Climate Change Canada, "Wind chill index" hazard table (canada.ca).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from ._arrays import (
    as_float,
    check_range,
    count_at_or_below,
    elementwise,
    flat_as,
    float_dtype,
    mark_missing,
)

#: Frostbite is not expected at or above this air temperature (°C): the regression's pole.
FROSTBITE_MAX_T_C = -4.8
#: Wind range (km/h) of the regression fit as used by NWS AWIPS: 25 < V10 <= 80.5.
FIT_MIN_WIND_KMH = 25.0
FIT_MAX_WIND_KMH = 80.5
#: Longest time (min) NWS AWIPS quotes; beyond it the regression is not reported.
FIT_MAX_MINUTES = 30.0

#: Minutes-to-frostbite edges of frostbite levels 2..5: t_f <= 30, <= 10, <= 5, <= 2 min.
MINUTES_LEVEL_EDGES = (30.0, 10.0, 5.0, 2.0)
#: ECCC WCI edges (unrounded, see :data:`bulletin.indices.wind_chill.WIND_CHILL_LEVEL_EDGES`)
#: of frostbite levels 2..5: WCI -28, -40, -48, -55 after rounding half away from zero.
WCI_LEVEL_EDGES = (-27.5, -39.5, -47.5, -54.5)


@elementwise("t_c", "v10_kmh")
def frostbite_minutes(
    t_c: ArrayLike, v10_kmh: ArrayLike, *, fit_range_only: bool = False
) -> NDArray[np.floating]:
    """Minutes until frostbite of exposed facial skin (5 % most susceptible), Tikuisis &
    Osczevski (2003), as used by NWS AWIPS-II:

        t_f = (-24.5 (0.667 V + 4.8) + 2111) (-4.8 - T)^-1.668

    with T the 2 m air temperature in °C and V the 10 m wind speed in km/h.

    * NaN where T >= -4.8 °C (no frostbite expected) or an input is NaN.
    * V is capped at 80.5 km/h, the top of the fit range (our choice: beyond it the linear wind
      term is not extrapolated, and would turn negative at 122 km/h; the ECCC band in
      :func:`frostbite_level` still applies). Below 25 km/h the regression is extrapolated
      (longer times), as the 30-minute band needs it.
    * ``fit_range_only=True`` also sets NaN where AWIPS would not quote minutes: outside
      25 < V10 <= 80.5 km/h or above 30 min (use it for numbers said in a bulletin).

    Returns minutes, float32 for float32 inputs.
    """
    dtype = float_dtype(t_c, v10_kmh)
    t = as_float(t_c, dtype)
    v = as_float(v10_kmh, dtype)
    name = "frostbite_minutes"
    check_range(name, "t_c", t, -100.0, 60.0, "°C", "air temperature in °C expected")
    check_range(name, "v10_kmh", v, 0.0, None, "km/h")
    # (-4.8 - T)^-1.668 as exp(-1.668 ln(.)): cheaper than a float32 pow. ln of a negative
    # number is NaN (T > -4.8); ln 0 = -inf gives +inf at T = -4.8 exactly, set NaN below.
    cooling = np.subtract(dtype.type(FROSTBITE_MAX_T_C), t, dtype=dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        np.log(cooling, out=cooling)
    cooling *= dtype.type(-1.668)
    np.exp(cooling, out=cooling)
    shape = np.broadcast_shapes(cooling.shape, v.shape)
    out = np.empty(shape, dtype=dtype)
    constants = (FIT_MAX_WIND_KMH, -24.5 * 0.667, 2111.0 - 24.5 * 4.8)
    _frostbite_kernel(
        *(flat_as(x, shape) for x in (cooling, v)),
        tuple(dtype.type(c) for c in constants),
        out.reshape(-1),
    )
    if fit_range_only:
        outside = np.logical_or(np.less_equal(v, FIT_MIN_WIND_KMH), np.greater(v, FIT_MAX_WIND_KMH))
        outside = np.logical_or(outside, np.greater(out, FIT_MAX_MINUTES))
        np.copyto(out, np.nan, where=outside)
    return out


@njit(nogil=True, cache=True, fastmath=False, error_model="numpy")
def _frostbite_kernel(cooling, v, constants, out):  # pragma: no cover - compiled
    """``(-4.8 - T)^-1.668`` times the wind factor ``-24.5 (0.667 V + 4.8) + 2111`` with V
    capped at the fit range's top, per point of flat arrays; +-inf (T = -4.8 exactly) -> NaN.
    Each operation rounds as the numpy ufunc would (fastmath off); the loop vectorises."""
    max_wind, slope, intercept = constants
    nan = intercept * np.nan
    for i in range(cooling.shape[0]):
        wind = v[i]
        wind = max_wind if wind > max_wind else wind  # NaN stays NaN, as np.minimum
        value = cooling[i] * (wind * slope + intercept)
        out[i] = nan if (value == np.inf) | (value == -np.inf) else value


@elementwise("minutes", "wci_c")
def frostbite_level(minutes: ArrayLike, wci_c: ArrayLike) -> NDArray[np.int8]:
    """Frostbite level 1..5 (int8; -1 where the WCI is NaN): the worse of the regression band
    and the ECCC wind chill band (the bulletin is for the public, and ECCC
    deliberately targets the most susceptible, so the more conservative band is published).

    =====  ==================  ===========================  ====================
    level  中文                 minutes to frostbite t_f     or WCI (rounded)
    =====  ==================  ===========================  ====================
    1      无冻伤风险/风险低     > 30 or not expected (NaN)   > -28
    2      有冻伤风险            10 < t_f <= 30               -28 ... -39
    3      冻伤风险高            5 < t_f <= 10                -40 ... -47
    4      冻伤风险很高          2 < t_f <= 5                 -48 ... -54
    5      冻伤风险极高          t_f <= 2                     <= -55
    =====  ==================  ===========================  ====================

    Parameters
    ----------
    minutes : :func:`frostbite_minutes` (NaN = no frostbite expected, counts as band 1).
    wci_c : :func:`bulletin.indices.wind_chill` of the same point (NaN = missing).

    Example: T -30 °C, V10 43 km/h: t_f 5.9 min (band 3) but WCI -48.0 (band 4) -> level 4.
    """
    m = np.asarray(minutes)
    w = np.asarray(wci_c)
    m = m if np.issubdtype(m.dtype, np.floating) else m.astype(np.float64)
    w = w if np.issubdtype(w.dtype, np.floating) else w.astype(np.float64)
    check_range("frostbite_level", "minutes", m, 0.0, None, "min")
    by_minutes = count_at_or_below(m, MINUTES_LEVEL_EDGES, start=1)
    by_wci = count_at_or_below(w, WCI_LEVEL_EDGES, start=1)
    level = np.maximum(by_minutes, by_wci)
    return mark_missing(level, w)
