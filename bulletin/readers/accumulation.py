"""Mean rates over the preceding interval from accumulated or time-averaged fields.

A field valid at time ``t_k`` describes a window ``[s_k, t_k]``: an amount accumulated over
it (ECMWF ``tp``/``sf``/``ssrd``, NCEP APCP) or a mean over it (NCEP DSWRF, PRATE). ECMWF
windows all start at the forecast reference time (``s_k = 0 h``, ECMWF IFS documentation,
"accumulations are since the start of the forecast"); NCEP windows restart every 6 hours
(``s_k`` = 0 for steps 1-6, 6 for 7-12, ...). The windows come from the GRIB messages
themselves (``startStep``) or from CF time bounds, so both conventions - and any mix - are
handled by one rule. With ``I_k`` the time integral over the window (the amount, or the mean
times the window length), the mean rate over ``[t_{k-1}, t_k]`` is

* ``(I_k - I_{k-1}) / (t_k - t_{k-1})`` when ``s_k == s_{k-1}`` (same window, extended);
* ``I_k / (t_k - s_k)`` when the window is new (``s_k >= t_{k-1}``, e.g. an NCEP reset) or
  ``k`` is the first time: the mean over the window itself, which is the preceding interval
  whenever ``s_k == t_{k-1}``; for the very first time it is the mean since the window start
  (for ECMWF data beginning at step 6, the mean over 0-6 h);
* NaN for an empty window (``t_k == s_k``: ECMWF step 0, whose amount is 0 by construction).

Windows that overlap their predecessor without sharing its start cannot be differenced and
raise :class:`ForecastError`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import xarray as xr

from bulletin.errors import ForecastError

_HOUR = np.timedelta64(1, "h")


def interval_mean_rate(
    values: xr.DataArray,
    window_start: np.ndarray,
    *,
    kind: Literal["accumulated", "average"],
    where: str,
) -> xr.DataArray:
    """Mean rate per hour over each preceding interval along ``time``.

    ``values`` has a ``time`` dimension (window ends, ascending) and ``window_start`` one
    datetime64 per time. For ``accumulated`` input in units ``U`` the result is in ``U / h``;
    for ``average`` input the result keeps the input's units. Stays lazy on dask data.
    """
    ends = values["time"].values.astype("datetime64[ns]")
    starts = np.asarray(window_start).astype("datetime64[ns]")
    if starts.shape != ends.shape:
        raise ValueError(f"{where}: {starts.size} window starts for {ends.size} times")
    if np.any(starts > ends):
        k = int(np.argmax(starts > ends))
        raise ForecastError(f"{where}: window starting {starts[k]} ends before it, at {ends[k]}")

    n = ends.size
    extends_previous = np.zeros(n, dtype=bool)
    interval_h = np.empty(n, dtype=np.float64)
    for k in range(n):
        if k > 0 and starts[k] == starts[k - 1]:
            extends_previous[k] = True
            interval_h[k] = (ends[k] - ends[k - 1]) / _HOUR
        elif k == 0 or starts[k] >= ends[k - 1]:
            interval_h[k] = (ends[k] - starts[k]) / _HOUR
        else:
            raise ForecastError(
                f"{where}: window {starts[k]} - {ends[k]} overlaps the previous one "
                f"({starts[k - 1]} - {ends[k - 1]}); cannot derive interval rates"
            )
    window_h = (ends - starts) / _HOUR
    interval_h[interval_h <= 0] = np.nan  # empty window: no rate

    window = xr.DataArray(window_h, dims="time")
    integral = values if kind == "accumulated" else values * window
    # (dask cannot shift an axis of one chunk of length 1; nothing precedes its only time)
    previous = (
        xr.zeros_like(integral)
        if integral.sizes["time"] == 1
        else integral.shift(time=1, fill_value=0.0)
    )
    extends = xr.DataArray(extends_previous, dims="time")
    amount = integral - xr.where(extends, previous, 0.0)
    rate = amount / xr.DataArray(interval_h, dims="time")
    return rate.assign_attrs(values.attrs)
