"""All six indices at once on raw arrays: the engine of :func:`bulletin.compute_indices`.

:func:`spectator_indices` is the six indices written out one after the other with the
public index functions, sharing what they have in common:

* the clear-sky, cloud and altitude part of the UV index once for the UV index and the
  snow-free UV of the goggles index (:func:`.uv_index_snow_free`);
* the goggles level and lens from one set of drivers (:func:`.goggles_level_and_lens`);
* the sun's position once, from 1-D time terms against latitude/longitude (:mod:`.uv`);
* the cold/flu index on local days and the 24 h snowfall window, both along the time axis.

It works on numpy arrays holding the whole time axis; :func:`bulletin.compute_indices`
hands it one dask chunk at a time (chunks split only the other dimensions), so results do
not depend on the chunking. Within a call, what depends on each point alone runs slab by
slab (:data:`SLAB_POINTS`), and the outputs may be arrays the caller gives (``out=``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

from ._arrays import MISSING, IndexInputError, check_range, inputs_already_checked
from .clothing import clothing_and_exposure, clothing_level, mean_radiant_temperature
from .cold import COLD_RISK_COMPONENTS, cold_risk_components
from .cold import LEVEL_EDGES as COLD_LEVEL_EDGES
from .cold import specific_humidity_gkg as _specific_humidity
from .composite import spectator_level
from .frostbite import frostbite_level, frostbite_minutes
from .goggles import goggles_level_and_lens, ocular_uv
from .uv import (
    SNOW_COVER_DEPTH_M,
    _cos_zenith_along,
    _zenith_degrees,
    snow_albedo,
    snow_uv_factor,
    sunscreen_level,
    uv_index_snow_free,
    who_uv_category,
)
from .wind_chill import wind_chill, wind_chill_level

#: Names of the outputs of the daily cold/flu index, in order.
COLD_OUTPUTS = (*(f"cold_{name}" for name in COLD_RISK_COMPONENTS), "cold_score", "cold_level")

#: Names of the outputs of :func:`spectator_indices`, in order.
OUTPUTS = (
    "wind_chill",
    "wind_chill_level",
    "frostbite_minutes",
    "frostbite_level",
    "sun_elevation",
    "clothing_clo",
    "exposure_limit_h",
    "clothing_level",
    *COLD_OUTPUTS,
    "uv_index",
    "sunscreen_level",
    "uv_category",
    "goggles_level",
    "goggles_lens",
    "spectator_level",
)


@dataclass(frozen=True)
class TimeAxis:
    """What the time-axis computations need to know about the valid times.

    ``times_utc``: datetime64 valid times (UTC, strictly ascending, as the schema has them);
    ``day_starts``: first step of each local day; ``day_of_step``: local day number of each
    step; ``step_hours``: length of the interval
    ending at each step; ``window_start``: for the 24 h snowfall window, the last step before
    the window (-1: the window reaches before the first step).
    """

    times_utc: NDArray[np.datetime64]
    day_starts: NDArray[np.intp]
    day_of_step: NDArray[np.intp]
    step_hours: NDArray[np.float64]
    window_start: NDArray[np.intp]

    @classmethod
    def from_times(
        cls, times_utc: NDArray, local_days: NDArray, window: np.timedelta64
    ) -> TimeAxis:
        """From UTC times, the local calendar day of each (any sortable labels) and the
        snowfall window length."""
        t = np.asarray(times_utc, dtype="datetime64[ns]")
        if np.any(t[1:] <= t[:-1]):
            raise IndexInputError("valid times must be strictly ascending (sort the forecast)")
        _, day_of_step = np.unique(np.asarray(local_days), return_inverse=True)
        day_of_step = day_of_step.reshape(-1)
        if np.any(np.diff(day_of_step) < 0):
            raise IndexInputError("local days must follow the order of the valid times")
        starts = np.flatnonzero(np.r_[True, day_of_step[1:] != day_of_step[:-1]])
        if t.size < 2:
            hours = np.ones(t.size)
        else:
            dt = np.diff(t).astype("timedelta64[s]").astype(float) / 3600.0
            hours = np.concatenate([dt[:1], dt])
        return cls(
            times_utc=t,
            day_starts=starts,
            day_of_step=day_of_step,
            step_hours=hours,
            window_start=np.searchsorted(t, t - window, side="right") - 1,
        )


@njit(nogil=True, cache=True, fastmath=False, error_model="numpy")
def _daily_statistics(
    t, rh, wind, day_starts, t_zero, rh_zero, tmin, tmax, tmean, rh_mean, wind_max
):  # pragma: no cover - compiled
    """Per local day (rows from ``day_starts`` along the time axis of (time, points) arrays):
    NaN-skipping minimum, maximum and mean of ``t``, mean of ``rh``, maximum of ``wind``
    (NaN where a day has no value); ``t_zero``/``rh_zero``: 0 in each array's float type.
    As numpy's ``fmin``/``fmax``/``add`` reductions over a day's steps: the sums run step by
    step in the arrays' float type, the mean divides them in float64 by the count of values.
    Step after step across contiguous rows: the loops vectorise, each value is read once."""
    n_time, n_points = t.shape
    n_days = day_starts.shape[0]
    t_sum = np.empty(n_points, dtype=t.dtype)
    rh_sum = np.empty(n_points, dtype=rh.dtype)
    t_count = np.empty(n_points, dtype=np.int64)
    rh_count = np.empty(n_points, dtype=np.int64)
    for day in range(n_days):
        first = day_starts[day]
        end = day_starts[day + 1] if day + 1 < n_days else n_time
        low, high, top = tmin[day], tmax[day], wind_max[day]
        low[:] = t[first]
        high[:] = t[first]
        top[:] = wind[first]
        t_sum[:] = 0
        rh_sum[:] = 0
        t_count[:] = 0
        rh_count[:] = 0
        for i in range(first, end):
            t_row, rh_row, wind_row = t[i], rh[i], wind[i]
            for j in range(n_points):
                x = t_row[j]
                low[j] = x if (x < low[j]) | (low[j] != low[j]) else low[j]
                high[j] = x if (x > high[j]) | (high[j] != high[j]) else high[j]
                valid = x == x
                t_sum[j] += x if valid else t_zero
                t_count[j] += valid
                y = rh_row[j]
                valid = y == y
                rh_sum[j] += y if valid else rh_zero
                rh_count[j] += valid
                w = wind_row[j]
                top[j] = w if (w > top[j]) | (top[j] != top[j]) else top[j]
        mean_t, mean_rh = tmean[day], rh_mean[day]
        for j in range(n_points):
            mean_t[j] = np.float64(t_sum[j]) / t_count[j]
            mean_rh[j] = np.float64(rh_sum[j]) / rh_count[j]


@njit(nogil=True, cache=True, fastmath=False, error_model="numpy")
def _daily_amounts(rates, hours, day_starts, out):  # pragma: no cover - compiled
    """Per local day: the float64 sum of rate x step hours over the day's steps (NaN as 0),
    step by step as numpy's ``add`` reduction."""
    n_time, n_points = rates.shape
    n_days = day_starts.shape[0]
    for day in range(n_days):
        first = day_starts[day]
        end = day_starts[day + 1] if day + 1 < n_days else n_time
        total = out[day]
        total[:] = 0.0
        for i in range(first, end):
            row = rates[i]
            step_hours = hours[i]
            for j in range(n_points):
                rate = row[j]
                total[j] += (0.0 if rate != rate else rate) * step_hours


def _daily_cold_risk(
    t: NDArray,
    rh: NDArray,
    wind: NDArray,
    precip: NDArray | None,
    axis: int,
    time: TimeAxis,
    out: dict[str, NDArray],
) -> None:
    """Cold/flu risk per local day (see :mod:`.cold`), spread back onto the time steps of
    the ``cold_*`` arrays of ``out`` (int8, of the broadcast shape; allocated when absent).

    Daily minimum/maximum/mean come from the steps of each local calendar day, skipping NaN
    (a day is missing only when all its values are); partial first and last days use the steps
    available. The cooling terms compare a day's minimum with the minima 1, 2 and 3 days
    earlier; days before the first one count as no cooling (our choice: the bulletin cannot
    claim a cold wave it cannot see). Daily wind is the maximum, precipitation the amount.
    """

    shape = np.broadcast_shapes(t.shape, rh.shape, wind.shape)
    along_time = [
        _time_first(x if x.shape == shape else np.broadcast_to(x, shape), axis)
        for x in (t, rh, wind)
    ]
    t2, rh2, wind2 = (x.reshape(x.shape[0], -1) for x in along_time)  # copies only if needed
    n_days = time.day_starts.size
    tmin, tmax, tmean = (np.empty((n_days, t2.shape[1]), dtype=t.dtype) for _ in range(3))
    rh_mean = np.empty((n_days, rh2.shape[1]), dtype=rh.dtype)
    wind_max = np.empty((n_days, wind2.shape[1]), dtype=wind.dtype)
    starts = time.day_starts.astype(np.intp)
    zeros = t.dtype.type(0), rh.dtype.type(0)
    _daily_statistics(t2, rh2, wind2, starts, *zeros, tmin, tmax, tmean, rh_mean, wind_max)
    if precip is None:
        precip_day = np.zeros((1,) * t.ndim)
    else:
        along = _time_first(precip, axis)
        precip2 = along.reshape(along.shape[0], -1)
        amounts = np.empty((n_days, precip2.shape[1]), dtype=np.float64)
        _daily_amounts(precip2, time.step_hours, starts, amounts)
        precip_day = _time_back(amounts.reshape((n_days, *along.shape[1:])), axis)

    def daily(values: NDArray, like: NDArray) -> NDArray:
        return _time_back(values.reshape((n_days, *like.shape[1:])), axis)

    tmin, tmax, tmean = (daily(x, along_time[0]) for x in (tmin, tmax, tmean))
    rh_mean = daily(rh_mean, along_time[1])
    wind_max = daily(wind_max, along_time[2])

    def drop(k: int) -> NDArray:
        # Fall of the daily minimum over k days (positive = cooling); 0 before the first day.
        out = np.zeros_like(tmin)
        if k < n_days:
            earlier = [slice(None)] * tmin.ndim
            later = [slice(None)] * tmin.ndim
            earlier[axis], later[axis] = slice(None, -k), slice(k, None)
            np.subtract(tmin[tuple(earlier)], tmin[tuple(later)], out=out[tuple(later)])
            np.copyto(out, 0, where=np.isnan(out))
        return out

    q = _specific_humidity(tmean, rh_mean)
    parts = cold_risk_components(
        drop(1), drop(2), drop(3), tmin, tmax, tmean, rh_mean, q, wind_max, precip_day
    )
    missing = np.isnan(tmin) | np.isnan(rh_mean) | np.isnan(wind_max)
    # Score and level per day in one compiled pass, then each day's values onto its steps.
    days_first = _time_first(missing, axis)
    rest = days_first.shape[1:]
    stacked = np.stack(
        [
            _time_first(np.broadcast_to(parts[name], missing.shape), axis)
            for name in COLD_RISK_COMPONENTS
        ]
    ).reshape(len(COLD_RISK_COMPONENTS), n_days, -1)
    daily = np.empty((len(COLD_OUTPUTS), n_days, stacked.shape[2]), dtype=np.int8)
    _cold_score_level_days(
        stacked,
        np.ascontiguousarray(days_first).reshape(n_days, -1),
        tuple(np.int8(edge) for edge in COLD_LEVEL_EDGES),
        daily,
    )
    shape = (time.day_of_step.size, *rest)
    ends = (*time.day_starts[1:], time.day_of_step.size)
    for name, values in zip(COLD_OUTPUTS, daily, strict=True):
        if name not in out:
            out[name] = _time_back(np.empty(shape, dtype=np.int8), axis)
        steps = _time_first(out[name], axis)
        by_day = values.reshape((n_days, *rest))
        for day, (start, end) in enumerate(zip(time.day_starts, ends, strict=True)):
            steps[start:end] = by_day[day]


def _time_first(values: NDArray, axis: int) -> NDArray:
    """``values`` with ``axis`` moved first (as it is in the engine's usual layout: no call)."""
    return values if axis == 0 else np.moveaxis(values, axis, 0)


def _time_back(values: NDArray, axis: int) -> NDArray:
    """The inverse of :func:`_time_first`."""
    return values if axis == 0 else np.moveaxis(values, 0, axis)


@njit(nogil=True, cache=True, error_model="numpy")
def _cold_score_level_days(parts, missing, level_edges, daily):  # pragma: no cover - compiled
    """From the daily component scores ``parts`` (component, day, point) and the daily
    ``missing`` mask: the components, their sum (score) and the level (:func:`.cold_risk_level`:
    1 + the number of ``level_edges`` reached), -1 where missing, into ``daily`` (output,
    day, point; outputs in :data:`COLD_OUTPUTS` order)."""
    n_parts, n_days, n_points = parts.shape
    for day in range(n_days):
        for j in range(n_points):
            gone = missing[day, j]
            score = np.int8(0)
            for k in range(n_parts):
                part = parts[k, day, j]
                score += part
                daily[k, day, j] = MISSING if gone else part
            level = np.int8(1)
            for edge in level_edges:
                level += score >= edge
            daily[n_parts, day, j] = MISSING if gone else score
            daily[n_parts + 1, day, j] = MISSING if gone or score < 0 else level


#: Grid columns per pass of :func:`_window_totals_at_least` (our choice: the running totals
#: of ~100 steps x 256 columns, some 200 KB, stay in the L2 cache).
WINDOW_COLUMNS = 256


@njit(nogil=True, cache=True, fastmath=False, error_model="numpy")
def _window_totals_at_least(
    rates, hours, window_start, threshold, out
):  # pragma: no cover - compiled
    """For each column of ``rates`` (time, points): whether the amount in the window ending
    at each step reaches ``threshold``; the amount is a running float64 sum of rate x hours
    (NaN as 0) minus the sum up to ``window_start`` (-1: nothing to subtract), as
    ``np.cumsum`` along time and a difference would give it.

    :data:`WINDOW_COLUMNS` columns at a time, each step across them in memory order, in
    loops over contiguous row slices that LLVM vectorises."""
    n_time, n_points = rates.shape
    width = WINDOW_COLUMNS
    totals = np.empty((n_time, width), dtype=np.float64)
    for first in range(0, n_points, width):
        count = min(width, n_points - first)
        for i in range(n_time):
            row = rates[i, first : first + count]
            current = totals[i, :count]
            step_hours = hours[i]
            if i == 0:
                for k in range(count):
                    rate = row[k]
                    current[k] = (0.0 if rate != rate else rate) * step_hours
            else:
                previous = totals[i - 1, :count]
                for k in range(count):
                    rate = row[k]
                    current[k] = previous[k] + (0.0 if rate != rate else rate) * step_hours
        for i in range(n_time):
            current = totals[i, :count]
            flags = out[i, first : first + count]
            start = window_start[i]
            if start >= 0:
                before = totals[start, :count]
                for k in range(count):
                    flags[k] = current[k] - before[k] >= threshold
            else:
                for k in range(count):
                    flags[k] = current[k] >= threshold


def _fresh_snow(snowfall: NDArray, axis: int, time: TimeAxis, threshold_mm: float) -> NDArray:
    """Whether at least ``threshold_mm`` of snow (water equivalent) fell in the window ending
    at each step, from mean rates over the preceding intervals (the schema's convention).

    One compiled pass (running sums and window differences, :func:`_window_totals_at_least`)
    instead of whole-array cumulative sums and gathers."""
    along_time = _time_first(snowfall, axis)
    rates = along_time.reshape(along_time.shape[0], -1)  # a copy only for strided chunks
    fresh = np.empty(rates.shape, dtype=bool)
    _window_totals_at_least(
        rates, time.step_hours, time.window_start.astype(np.intp), float(threshold_mm), fresh
    )
    return _time_back(fresh.reshape(along_time.shape), axis)


#: Range of each raw input of :func:`spectator_indices`: the strictest that any index function
#: it feeds applies to that quantity (low, high, unit, hint). Checked once per value, instead
#: of once in each index function (see :func:`._arrays.inputs_already_checked`).
INPUT_RANGES: dict[str, tuple[float | None, float | None, str, str]] = {
    "t_c": (-100.0, 60.0, "°C", "air temperature in °C expected"),
    "rh_pct": (0.0, 105.0, "%", "relative humidity in % expected"),
    "v10_ms": (0.0, 150.0, "m/s", ""),
    "lat": (-90.0, 90.0, "degrees", ""),
    "lon": (-360.0, 360.0, "degrees", ""),
    "ozone_du": (50.0, 700.0, "DU", "ozone in DU expected"),
    "tcc_fraction": (-0.01, 1.01, "", "cloud fraction 0..1 expected"),
    "rsds_wm2": (-1.0, 1500.0, "W/m²", ""),
    "snow_depth_m": (0.0, 50.0, "m", "snow depth in m expected"),
    "snowfall_mmh": (0.0, 500.0, "mm/h", ""),
    # As snowfall (our choice).
    "precip_mmh": (0.0, 500.0, "mm/h", ""),
    "visibility_m": (0.0, None, "m", ""),
    "uv_index_model": (-0.5, 100.0, "", "UV index expected"),
    "elevation_m": (-500.0, 9000.0, "m", "elevation in m expected"),
}


#: Points per slab of the point-wise part of the engine (our choice: the temporaries of a
#: slab, some 150 bytes a point, stay in a core's L2 cache, and their memory is reused
#: slab after slab instead of being freshly faulted in; benchmarks/README.md has the
#: measurements).
SLAB_POINTS = 1 << 17


def _slabs(shape: tuple[int, ...], limit: int) -> Iterator[tuple[slice, ...]]:
    """Index tuples cutting ``shape`` into slabs of about ``limit`` points: runs of whole rows
    of axis 0, or runs along axis 1 within one row of axis 0 where such a row holds more
    points. An empty shape is one slab, the whole."""
    if len(shape) == 0 or 0 in shape:
        yield ()
        return
    row = math.prod(shape[1:])
    if row <= limit or len(shape) == 1:
        step = max(1, limit // row)
        for start in range(0, shape[0], step):
            yield (slice(start, start + step),)
        return
    step = max(1, limit // math.prod(shape[2:]))
    for first in range(shape[0]):
        for start in range(0, shape[1], step):
            yield (slice(first, first + 1), slice(start, start + step))


def _slab_of(values: NDArray, key: tuple[slice, ...]) -> NDArray:
    """The part of ``values`` in the slab ``key`` (an axis of length 1 is taken whole: it
    broadcasts), C-contiguous as the compiled kernels and numpy's fastest loops want it."""
    sizes = values.shape[: len(key)]
    part = tuple(cut if size > 1 else slice(None) for cut, size in zip(key, sizes, strict=True))
    return np.ascontiguousarray(values[part])


def _six_indices(
    t_c: NDArray,
    rh_pct: NDArray,
    v10_ms: NDArray,
    lat: NDArray,
    lon: NDArray,
    ozone_du: NDArray,
    *,
    time: TimeAxis,
    time_axis: int,
    worn_clo: float,
    fresh_snow_mm: float,
    default_visibility_m: float,
    kmh_per_ms: float,
    out: dict[str, NDArray],
    tcc_fraction: NDArray | None = None,
    rsds_wm2: NDArray | None = None,
    snow_depth_m: NDArray | None = None,
    snowfall_mmh: NDArray | None = None,
    precip_mmh: NDArray | None = None,
    visibility_m: NDArray | None = None,
    uv_index_model: NDArray | None = None,
    elevation_m: NDArray | None = None,
) -> dict[str, NDArray]:
    """Every per-point output of the six indices (names in :data:`OUTPUTS`), written into
    the arrays of ``out`` (of the broadcast shape of ``t_c``, ``rh_pct`` and ``v10_ms``);
    those it lacks are allocated and added.

    All arrays have the same number of dimensions and broadcast against each other;
    ``time_axis`` is the axis of the valid times described by ``time`` and must be complete
    (the daily index and the snowfall window look along it). Optional fields that are ``None``
    take the documented fallbacks of :func:`bulletin.compute_indices`: clear sky, bare ground,
    no snowfall or precipitation, ``default_visibility_m``, radiant temperature equal to the
    air temperature, sea level. ``ozone_du`` is total ozone (e.g. the climatology on
    (time, latitude)); ``uv_index_model`` replaces the parametric UV index when given.

    The two computations along the time axis (the daily cold/flu index, the 24 h snowfall
    window) run on the whole arrays; the rest, point by point, runs on slabs of about
    :data:`SLAB_POINTS` points (:func:`_point_indices`), whose results are copied into place.
    Each slab of every raw input is checked against :data:`INPUT_RANGES` (while it is in the
    cache) before any result from it is written; the computations along the time axis,
    done before, only compute nonsense, silently, from values out of range.
    """
    shape = np.broadcast_shapes(t_c.shape, rh_pct.shape, v10_ms.shape)
    with inputs_already_checked(), np.errstate(all="ignore"):
        # 4. Cold/flu risk, a daily index.
        _daily_cold_risk(t_c, rh_pct, v10_ms, precip_mmh, time_axis, time, out)
        fresh = None
        if snowfall_mmh is not None:
            fresh = _fresh_snow(snowfall_mmh, time_axis, time, fresh_snow_mm)
    fields = {
        "t_c": t_c,
        "rh_pct": rh_pct,
        "v10_ms": v10_ms,
        "lat": lat,
        "lon": lon,
        "ozone_du": ozone_du,
        "cold_level": out["cold_level"],
        "tcc_fraction": tcc_fraction,
        "rsds_wm2": rsds_wm2,
        "snow_depth_m": snow_depth_m,
        "snowfall_mmh": snowfall_mmh,
        "visibility_m": visibility_m,
        "uv_index_model": uv_index_model,
        "elevation_m": elevation_m,
        "fresh_snow": fresh,
        "precip_mmh": precip_mmh,  # checked only: the daily index has used it
    }
    fields = {name: values for name, values in fields.items() if values is not None}
    for key in _slabs(shape, SLAB_POINTS):
        slab = {name: _slab_of(array, key) for name, array in fields.items()}
        _check_inputs(slab)
        slab.pop("precip_mmh", None)
        times = time.times_utc[key[time_axis]] if time_axis < len(key) else time.times_utc
        with inputs_already_checked():
            values = _point_indices(
                **slab,
                times_utc=times,
                time_axis=time_axis,
                worn_clo=worn_clo,
                default_visibility_m=default_visibility_m,
                kmh_per_ms=kmh_per_ms,
            )
        for name, value in values.items():
            if name not in out:
                out[name] = np.empty(shape, dtype=value.dtype)
            np.copyto(out[name][key], value, casting="same_kind")
    return {name: out[name] for name in OUTPUTS}


def _point_indices(
    t_c: NDArray,
    rh_pct: NDArray,
    v10_ms: NDArray,
    lat: NDArray,
    lon: NDArray,
    ozone_du: NDArray,
    cold_level: NDArray[np.int8],
    *,
    times_utc: NDArray[np.datetime64],
    time_axis: int,
    worn_clo: float,
    default_visibility_m: float,
    kmh_per_ms: float,
    fresh_snow: NDArray[np.bool_] | None = None,
    tcc_fraction: NDArray | None = None,
    rsds_wm2: NDArray | None = None,
    snow_depth_m: NDArray | None = None,
    snowfall_mmh: NDArray | None = None,
    visibility_m: NDArray | None = None,
    uv_index_model: NDArray | None = None,
    elevation_m: NDArray | None = None,
) -> dict[str, NDArray]:
    """The outputs of :func:`_six_indices` that depend on each point alone (all but the
    cold/flu ones), on one slab: ``times_utc`` the valid times along ``time_axis`` of the
    slab, ``fresh_snow`` whether the 24 h snowfall window reached the threshold
    (:func:`_fresh_snow`; ``None``: no snowfall), ``cold_level`` the daily cold/flu level;
    the other parameters as for :func:`_six_indices`."""
    ndim = t_c.ndim
    zero = np.zeros((1,) * ndim, dtype=t_c.dtype)
    out: dict[str, NDArray] = {}

    # 1-2. Wind chill and frostbite.
    wind_kmh = v10_ms * np.float32(kmh_per_ms)  # float32 grids stay float32
    wci = wind_chill(t_c, wind_kmh)
    out["wind_chill"] = wci
    out["wind_chill_level"] = wind_chill_level(wci)
    minutes = frostbite_minutes(t_c, wind_kmh)
    out["frostbite_minutes"] = minutes
    out["frostbite_level"] = frostbite_level(minutes, wci)

    # Sun position: 1-D time terms against latitude/longitude (float32 is ample here).
    cos_z = _cos_zenith_along(times_utc, lat.astype(np.float32), lon.astype(np.float32), time_axis)
    cos_sza = np.maximum(cos_z, 0)
    # Elevation = 90° - zenith, as 90 - :func:`.solar_zenith`.
    elevation = np.subtract(np.float32(90.0), _zenith_degrees(cos_z), out=cos_z)
    out["sun_elevation"] = elevation

    # 3. Clothing (ISO 11079); radiant temperature from solar radiation where it is known.
    if rsds_wm2 is None:
        tr = t_c
    else:
        tr = mean_radiant_temperature(t_c, rsds_wm2, cos_sza)
        np.copyto(tr, t_c, where=np.isnan(rsds_wm2))
    clo, out["exposure_limit_h"] = clothing_and_exposure(t_c, tr, v10_ms, rh_pct, worn_clo)
    out["clothing_clo"] = clo
    out["clothing_level"] = clothing_level(clo, out["exposure_limit_h"])

    # 5. UV index and sunscreen.
    # NaN as 0 for the non-negative, finite (checked) depth and snowfall: np.fmax skips NaN in
    # one pass, where np.nan_to_num makes five.
    depth = zero if snow_depth_m is None else np.fmax(snow_depth_m, 0)
    fresh = np.zeros((1,) * ndim, dtype=bool) if fresh_snow is None else fresh_snow
    cloud = zero if tcc_fraction is None else tcc_fraction
    uvi_snow_free = uv_index_snow_free(
        cos_sza, ozone_du, cloud, zero if elevation_m is None else elevation_m
    )
    if uv_index_model is None:
        uvi = uvi_snow_free * snow_uv_factor(depth, fresh)
    else:
        uvi = uv_index_model
    out["uv_index"] = uvi.astype(np.float32, copy=False)
    out["sunscreen_level"] = sunscreen_level(uvi)
    out["uv_category"] = who_uv_category(uvi)

    # 6. Goggles: ocular UV with the snow-free UV (the bare-ground reflection factor applied,
    # as uv_index with zero snow depth gives it) and the snow albedo.
    snow_cover = np.greater_equal(depth, SNOW_COVER_DEPTH_M)
    bare = uvi_snow_free * snow_uv_factor(zero, np.zeros((1,) * ndim, dtype=bool))
    uvi_eye = ocular_uv(bare, snow_albedo(snow_cover, fresh))
    goggles = goggles_level_and_lens(
        uvi_eye,
        zero if snowfall_mmh is None else np.fmax(snowfall_mmh, 0),
        v10_ms,
        snow_cover,
        (
            np.full((1,) * ndim, default_visibility_m, dtype=t_c.dtype)
            if visibility_m is None
            else np.nan_to_num(visibility_m, nan=default_visibility_m)
        ),
        elevation,
        cloud,
    )
    out["goggles_level"] = goggles["level"]
    out["goggles_lens"] = goggles["lens"]

    # Composite spectator level.
    out["spectator_level"] = spectator_level(
        out["wind_chill_level"],
        out["frostbite_level"],
        out["clothing_level"],
        cold_level,
        out["sunscreen_level"],
        out["goggles_level"],
    )
    return out


def spectator_indices(
    t_c: NDArray,
    rh_pct: NDArray,
    v10_ms: NDArray,
    lat: NDArray,
    lon: NDArray,
    ozone_du: NDArray,
    *,
    time: TimeAxis,
    time_axis: int,
    worn_clo: float,
    fresh_snow_mm: float,
    default_visibility_m: float,
    kmh_per_ms: float,
    out: Mapping[str, NDArray] | None = None,
    **optional: NDArray | None,
) -> dict[str, NDArray]:
    """Every per-point output of the six indices (names in :data:`OUTPUTS`), see
    :func:`_six_indices` for the parameters; ``optional`` holds the optional fields by name
    (``tcc_fraction``, ``rsds_wm2``, ``snow_depth_m``, ``snowfall_mmh``, ``precip_mmh``,
    ``visibility_m``, ``uv_index_model``, ``elevation_m``). ``out`` may give arrays to write
    outputs into, by name (e.g. views of a larger result; each of the broadcast shape of
    ``t_c``, ``rh_pct`` and ``v10_ms`` and of the output's dtype); the others are allocated.

    Each raw input is checked against :data:`INPUT_RANGES` (:class:`IndexInputError` names
    the input and the value), slab by slab (see :func:`_six_indices`); the index functions
    it feeds then skip their own checks.
    """
    unknown = set(optional) - set(INPUT_RANGES)
    if unknown:
        raise TypeError(f"spectator_indices got unknown fields {sorted(unknown)}")
    given = {"t_c": t_c, "rh_pct": rh_pct, "v10_ms": v10_ms, "lat": lat, "lon": lon}
    given |= {"ozone_du": ozone_du, **optional}
    arrays = {name: None if value is None else np.asarray(value) for name, value in given.items()}
    return _six_indices(
        **arrays,
        time=time,
        time_axis=time_axis,
        worn_clo=worn_clo,
        fresh_snow_mm=fresh_snow_mm,
        default_visibility_m=default_visibility_m,
        kmh_per_ms=kmh_per_ms,
        out={} if out is None else dict(out),
    )


def _check_inputs(arrays: Mapping[str, NDArray]) -> None:
    """Every raw input among ``arrays`` against its range in :data:`INPUT_RANGES`."""
    for name, (low, high, unit, hint) in INPUT_RANGES.items():
        values = arrays.get(name)
        if values is not None:
            check_range("spectator_indices", name, values, low, high, unit, hint)
