"""Wind chill index (体感寒凉指数) and its ECCC hazard levels.

References
----------
* Osczevski, R. and Bluestein, M. (2005): The new wind chill equivalent temperature chart.
  Bull. Amer. Meteor. Soc. 86, 1453-1458, doi:10.1175/BAMS-86-10-1453 (the JAG/TI formula
  adopted by the NWS and MSC Canada on 1 November 2001).
* OFCM (2003): Report on Wind Chill Temperature and Extreme Heat Indices, FCM-R19-2003.
* NWS wind chill chart (°F, mph) and ECCC wind chill chart (°C, km/h): the formula rounded
  half away from zero reproduces every cell of both.
* Environment and Climate Change Canada, "Wind chill index" hazard table (canada.ca).
"""

from __future__ import annotations

from typing import Literal

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
)

#: 3 mph in km/h: the NWS formula is defined for winds above this (NWS; MetPy masks V <= 3 mph).
NWS_MIN_WIND_KMH = 3.0 * 1.609344
#: 50 °F: the NWS formula is defined at or below this air temperature.
NWS_MAX_T_C = 10.0
#: ECCC light-wind branch applies below this speed (km/h).
ECCC_LIGHT_WIND_KMH = 5.0

#: Upper WCI edges (°C-like, after rounding half away from zero) of levels 1..6: a WCI that
#: rounds to 0 is level 1 (ECCC "0 to -9"), to -10 level 2, -28 level 3, -40 level 4,
#: -48 level 5, -55 level 6. The continuous edges are half a unit above those integers.
WIND_CHILL_LEVEL_EDGES = (-9.5, -27.5, -39.5, -47.5, -54.5)


@elementwise("t_c", "v10_kmh")
def wind_chill(
    t_c: ArrayLike,
    v10_kmh: ArrayLike,
    *,
    light_wind: Literal["nws", "eccc"] = "nws",
) -> NDArray[np.floating]:
    """Wind chill index WCI (°C-like) from 2 m air temperature and 10 m wind speed.

    JAG/TI formula (Osczevski & Bluestein 2005; NWS and MSC Canada since 2001), evaluated in
    the factored form ``(0.6215 + 0.3965 V^0.16) T - 11.37 V^0.16 + 13.12``:

        WCI = 13.12 + 0.6215 T - 11.37 V^0.16 + 0.3965 T V^0.16

    with T in °C and V the 10 m wind speed in km/h (the formula assumes face-level wind is
    2/3 of it plus 4.8 km/h walking speed). Conventions:

    * ``light_wind="nws"`` (default, NWS / OFCM FCM-R19-2003 "no chill"): WCI = T where
      T > 10 °C (50 °F) or V <= 4.828 km/h (3 mph), where the formula is not defined;
    * ``light_wind="eccc"``: ECCC light-wind branch ``T + (-1.59 + 0.1345 T) / 5 V`` for
      V < 5 km/h (continuous with the main formula at 5 km/h); WCI = T where T > 10 °C.

    Parameters
    ----------
    t_c : air temperature at 2 m, °C.
    v10_kmh : wind speed at 10 m, km/h (from u/v: ``hypot(u10, v10)``; not gusts).

    Returns
    -------
    WCI in °C-like units, float32 for float32 inputs; NaN where an input is NaN.
    Bulletins and charts quote it rounded half away from zero.
    """
    if light_wind not in ("nws", "eccc"):
        raise ValueError(f"wind_chill: light_wind must be 'nws' or 'eccc', got {light_wind!r}")
    dtype = float_dtype(t_c, v10_kmh)
    t = as_float(t_c, dtype)
    v = as_float(v10_kmh, dtype)
    name = "wind_chill"
    check_range(name, "t_c", t, -100.0, 60.0, "°C", "air temperature in °C expected")
    check_range(name, "v10_kmh", v, 0.0, None, "km/h")
    # V^0.16 as exp(0.16 ln V), in place: cheaper than a float pow (ln 0 = -inf -> 0).
    with np.errstate(divide="ignore"):
        v16 = np.log(v, dtype=dtype)
    v16 *= dtype.type(0.16)
    np.exp(v16, out=v16)
    if light_wind == "nws":
        shape = np.broadcast_shapes(t.shape, v.shape)
        flat = [flat_as(x, shape) for x in (t, v16, v)]
        out = np.empty(shape, dtype=dtype)
        constants = (0.3965, 0.6215, -11.37, 13.12, NWS_MIN_WIND_KMH, NWS_MAX_T_C)
        _wind_chill_nws_kernel(*flat, tuple(dtype.type(c) for c in constants), out.reshape(-1))
        return out
    out = v16 * dtype.type(0.3965)
    out += dtype.type(0.6215)
    if out.shape == np.broadcast_shapes(out.shape, t.shape):
        out *= t
    else:
        out = np.multiply(out, t, dtype=dtype)
    v16 *= dtype.type(-11.37)
    v16 += dtype.type(13.12)
    out += v16
    branch = t + (dtype.type(-1.59) + dtype.type(0.1345) * t) / dtype.type(5.0) * v
    np.copyto(out, branch.astype(dtype, copy=False), where=np.less(v, ECCC_LIGHT_WIND_KMH))
    np.copyto(out, t, where=np.greater(t, NWS_MAX_T_C))
    return out


@njit(nogil=True, cache=True, fastmath=False, error_model="numpy")
def _wind_chill_nws_kernel(t, v16, v, constants, out):  # pragma: no cover - compiled
    """``(0.6215 + 0.3965 V^0.16) T + (13.12 - 11.37 V^0.16)``, or T where V <= 4.828 km/h
    or T > 10 °C, per point of flat arrays from V^0.16; each operation rounds as the numpy
    ufunc would (fastmath off), and the loop vectorises."""
    c_tv, c_t, c_v, c_0, min_wind, max_t = constants
    for i in range(t.shape[0]):
        ti = t[i]
        vi = v16[i]
        value = (vi * c_tv + c_t) * ti + (vi * c_v + c_0)
        out[i] = ti if (v[i] <= min_wind) | (ti > max_t) else value


@elementwise("t_f", "v10_mph")
def wind_chill_f(t_f: ArrayLike, v10_mph: ArrayLike) -> NDArray[np.floating]:
    """NWS wind chill temperature (°F) in the original units of the NWS chart:

        WCT = 35.74 + 0.6215 T - 35.75 V^0.16 + 0.4275 T V^0.16

    T in °F, V the 10 m wind in mph (OFCM FCM-R19-2003); WCT = T where T > 50 °F or
    V <= 3 mph. The published NWS chart is this formula rounded half away from zero.

    :func:`wind_chill` (the metric constants of ECCC) is the same regression, but its rounded
    constants differ from these by up to 0.1 °F after unit conversion, which moves 13 of the
    216 NWS chart cells across a rounding edge; use this function to reproduce the °F chart.
    """
    dtype = float_dtype(t_f, v10_mph)
    t = as_float(t_f, dtype)
    v = as_float(v10_mph, dtype)
    check_range("wind_chill_f", "t_f", t, -150.0, 140.0, "°F")
    check_range("wind_chill_f", "v10_mph", v, 0.0, None, "mph")
    v16 = np.power(v, 0.16, dtype=dtype)
    slope = v16 * dtype.type(0.4275)
    slope += dtype.type(0.6215)
    out = np.multiply(slope, t, dtype=dtype)
    v16 *= dtype.type(-35.75)
    v16 += dtype.type(35.74)
    out += v16
    no_chill = np.logical_or(np.less_equal(v, 3.0), np.greater(t, 50.0))
    np.copyto(out, t, where=no_chill)
    return out


@elementwise("wci_c")
def wind_chill_level(wci_c: ArrayLike) -> NDArray[np.int8]:
    """ECCC wind chill hazard level 0..6 (int8; -1 where WCI is NaN).

    Bands of the ECCC wind chill hazard table on the WCI
    rounded half away from zero, as ECCC publishes it:

    ======  ==============  ============================================
    level   WCI (rounded)   ECCC risk
    ======  ==============  ============================================
    0       >= 1            none (not cold)
    1       0 ... -9        low
    2       -10 ... -27     moderate
    3       -28 ... -39     high: exposed skin can freeze in 10-30 min
    4       -40 ... -47     very high: 5-10 min
    5       -48 ... -54     severe (warning level): 2-5 min
    6       <= -55          extreme: < 2 min
    ======  ==============  ============================================

    On the unrounded WCI the edges are 0.5, -9.5, -27.5, -39.5, -47.5, -54.5 (an edge value
    itself rounds away from zero, into the colder band).
    """
    w = np.asarray(wci_c)
    if not np.issubdtype(w.dtype, np.floating):
        w = w.astype(np.float64)
    # WCI < 0.5 (level 1 and colder) as WCI <= the largest float below 0.5 in WCI's type: the
    # same comparison, so that one count of edges gives the level.
    below_half = np.nextafter(w.dtype.type(0.5), w.dtype.type(-np.inf))
    return count_at_or_below(w, (below_half, *WIND_CHILL_LEVEL_EDGES), nan_missing=True)
