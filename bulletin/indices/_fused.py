"""All six indices in one compiled pass: ``spectator_indices_blocked(..., engine="fused")``.

:func:`.combined.spectator_indices` chains ~70 numpy operations, each streaming a temporary
through memory. Here one numba kernel walks the grid in rows of :data:`CHUNK_POINTS` points
that keep the whole time axis and writes each output once into preallocated arrays, with the
same formulas operation by operation, in the same float type and order (fastmath off, so no
fused multiply-adds and no reassociation). Each time step of a row runs in stages: plain
arithmetic and comparisons in loops of their own (which the compiler vectorises), the C
library's ``log``/``exp``/``acos``/``asin``/``cos`` in loops of their own, and the clothing
table look-ups in a loop of their own (random reads from the MB-sized tables then overlap).

Status (measured with ``benchmarks/indices.py --profile --engine both`` on the 1e7-point
benchmark grid, one thread, 2 shared cores under load): ~150 ns of CPU per point against
~105 ns for the numpy engine, so it is not the default. What it costs: the scalar
transcendental calls (numpy evaluates them 8-16 at a time with SIMD) and the radiant
temperature stage (~40 ns/point); vectorisable float32 ``exp``/``log``/``acos`` in the
kernel would be the next step.

* per time step: the sun's terms (declination, hour angle) are 1-D, from :mod:`.uv`;
* per point and step: wind chill, frostbite, solar elevation, mean radiant temperature,
  clothing (the same :class:`.ireq_lut.PlaneTable` records and cell search as
  :func:`.ireq_lut._plane_kernel`), UV index, goggles, and the other five components of the
  composite level;
* per point and local day: the cold/flu statistics accumulate in the time loop (minimum,
  maximum, NaN-skipping float32 sums, float64 precipitation), the 24 h snowfall window is a
  running float64 sum, and the daily levels and the composite are written when the day ends.

What the kernel cannot promise, it hands back to the numpy engine: inputs other than float32
fields, and any value outside a range that an index function checks (the kernel raises a flag
and :func:`spectator_indices_fused` reruns the numpy engine, which raises the same one-line
error it always did, or computes the result).

Numbers: levels and flags are those of the numpy engine; the float32 outputs differ from it
only where a transcendental function (``exp``, ``log``, ``acos``, ``asin``, ``cos``) of the
C library and numpy's vectorised one round differently (a few units in the last place;
a level can differ only where its driver falls within such a rounding of a level edge).
The daily sums add in time order, as numpy does when time is the outer axis of the grid.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit, types
from numpy.typing import NDArray

from ._blocks import default_workers
from .clothing import (
    _ABSORPTIVITY_SW,
    _EMISSIVITY,
    _MAX_ZENITH_COS,
    _MIN_COS_ZENITH,
    _STEFAN_BOLTZMANN,
    BODY_WIND_FACTOR,
    SOLAR_CONSTANT,
)
from .composite import IMPACT_TABLES
from .ireq_lut import clothing_table, storage_table
from .iso11079 import QLIM_WH_M2
from .uv import (
    ALBEDO_FRESH_SNOW,
    ALBEDO_NO_SNOW,
    ALBEDO_OLD_SNOW,
    ALTITUDE_FACTOR_PER_KM,
    BACKSCATTER,
    CLOUD_FACTORS,
    _sun_terms,
)

F4 = np.float32

#: Float outputs of the kernel, in the order of its float output array.
FLOAT_OUTPUTS = (
    "wind_chill",
    "frostbite_minutes",
    "sun_elevation",
    "clothing_clo",
    "exposure_limit_h",
    "uv_index",
)
#: int8 outputs of the kernel, in the order of its int8 output array.
LEVEL_OUTPUTS = (
    "wind_chill_level",
    "frostbite_level",
    "clothing_level",
    "cold_cooling",
    "cold_diurnal_range",
    "cold_cold",
    "cold_dry_air",
    "cold_damp_cold",
    "cold_wind_precip",
    "cold_score",
    "cold_level",
    "sunscreen_level",
    "uv_category",
    "goggles_level",
    "goggles_lens",
    "spectator_level",
)

#: Points of a grid row handled together (the inner loop; our choice: long enough for
#: contiguous runs, small enough that the per-point day and snowfall state stays in cache).
CHUNK_POINTS = 256

# Constants in the float type numpy used for them on float32 grids (a Python float beside a
# float32 array is a float32 in numpy >= 2; ``dtype.type(c)`` likewise).
_RAD2DEG = F4(180.0 / np.pi)
_DEG2RAD = F4(np.pi / 180.0)
_SNOW_UV_FACTORS = (
    1.0 / (1.0 - BACKSCATTER * np.array([ALBEDO_NO_SNOW, ALBEDO_OLD_SNOW, ALBEDO_FRESH_SNOW]))
).astype(np.float32)
_SNOW_ALBEDOS = np.array([ALBEDO_NO_SNOW, ALBEDO_OLD_SNOW, ALBEDO_FRESH_SNOW], dtype=np.float32)
_CLOUD_FACTORS = np.array(CLOUD_FACTORS, dtype=np.float32)
_IMPACT_WIND_CHILL = np.array(IMPACT_TABLES["wind_chill"], dtype=np.int8)
_IMPACT_FROSTBITE = np.array(IMPACT_TABLES["frostbite"], dtype=np.int8)
_IMPACT_CLOTHING = np.array(IMPACT_TABLES["clothing"], dtype=np.int8)
_IMPACT_COLD = np.array(IMPACT_TABLES["cold"], dtype=np.int8)
_IMPACT_SUNSCREEN = np.array(IMPACT_TABLES["sunscreen"], dtype=np.int8)
_IMPACT_GOGGLES = np.array(IMPACT_TABLES["goggles"], dtype=np.int8)
_ALTITUDE_PER_M = F4(ALTITUDE_FACTOR_PER_KM / 1000.0)
_MRT_SCALE = F4(_ABSORPTIVITY_SW / _EMISSIVITY / _STEFAN_BOLTZMANN)
_SOLAR_CONSTANT = F4(SOLAR_CONSTANT)
_MIN_COS = F4(_MIN_COS_ZENITH)
_BEAM_COS = F4(_MAX_ZENITH_COS)
_NO_HEAT_LOSS = F4(-QLIM_WH_M2)
_NAN32 = F4(np.nan)
_INF32 = F4(np.inf)
_CLOUD_0, _CLOUD_1, _CLOUD_2, _CLOUD_3 = (F4(x) for x in _CLOUD_FACTORS)
_SNOW_0, _SNOW_1, _SNOW_2 = (F4(x) for x in _SNOW_UV_FACTORS)
_ALBEDO_0, _ALBEDO_1, _ALBEDO_2 = (F4(x) for x in _SNOW_ALBEDOS)

#: Codes the kernel returns: 0 all values checked in range, else the first range it found
#: broken (the numpy engine is rerun and reports it in words).
OK = 0


@njit(nogil=True, cache=True, fastmath=False, error_model="numpy", inline="always")
def _cell(position, top):  # pragma: no cover - compiled
    """:func:`.ireq_lut._cell` (the table cell of a position), inlined into the kernel."""
    if not position > 0:
        return 0
    if position >= top:
        return top
    return int(position)


@njit(nogil=True, cache=True, fastmath=False, error_model="numpy", inline="always")
def _plane(records, k, ti, va, rhi, tri):  # pragma: no cover - compiled
    """One :class:`.ireq_lut.PlaneTable` record at index ``k`` evaluated as
    :func:`.ireq_lut._plane_kernel` does."""
    value = ti * records[k + 1]
    value += records[k]
    value += va * records[k + 2]
    value += rhi * records[k + 3]
    return value if tri == tri else _NAN32


#: Output rows of the per-step levels in the kernel's step buffer.
_STEP_LEVELS = np.array([0, 1, 2, 11, 12, 13, 14], dtype=np.int64)


@njit(nogil=True, cache=True, fastmath=False, error_model="numpy", inline="always")
def _load(source, p, i, m, j0, width, buffer, row):  # pragma: no cover - compiled
    """Copy ``width`` points of ``source[p, i, m, j0:]`` into ``buffer[row]``."""
    for jj in range(width):
        buffer[row, jj] = source[p, i, m, j0 + jj]


def _kernel(
    t4,
    rh4,
    v4,
    sun_x,
    sun_y,
    sun_z,
    ozone4,
    tcc4,
    rsds4,
    depth4,
    snowfall4,
    precip4,
    visibility4,
    uvi_model4,
    elevation4,
    sun_a,
    sun_b,
    sun_c,
    hours,
    window_start,
    day_starts,
    switches,
    settings,
    clo_records,
    clo_geometry,
    clo_sizes,
    storage_records,
    storage_dtr,
    storage_nodes,
    out_float,
    out_level,
    unit_start,
    unit_stop,
    chunk,
):  # pragma: no cover - compiled
    """The fused engine on work units ``unit_start..unit_stop`` (a unit: one (outer, middle)
    row of the 4-D (outer, time, middle, inner) layout and ``chunk`` inner points).

    ``switches`` = (rsds given, snowfall given, model UV given); ``settings`` (float64) =
    (km/h per m/s, fresh-snow threshold mm, default visibility m). Returns 0, or the number
    of the first range check that failed (the caller then reruns the numpy engine).
    """
    _, n_time, n_middle, n_inner = t4.shape
    n_days = day_starts.shape[0]
    has_rsds = switches[0] != 0
    has_snowfall = switches[1] != 0
    has_uvi_model = switches[2] != 0
    kmh_per_ms = F4(settings[0])
    fresh_threshold = settings[1]
    default_visibility = F4(settings[2])
    ta0, inv_dta, va_per_v10, va0, inv_dva, dtr_shift, inv_dd = (
        clo_geometry[0],
        clo_geometry[1],
        clo_geometry[2],
        clo_geometry[3],
        clo_geometry[4],
        clo_geometry[5],
        clo_geometry[6],
    )
    dtr_shift2 = storage_dtr[0]
    inv_dd2 = storage_dtr[1]
    ta_top = clo_sizes[0]
    n_nodes = clo_sizes[1]
    n_va = clo_sizes[2]
    va_top = n_va - 1
    node_top = n_nodes - 1
    n_nodes2 = storage_nodes
    node_top2 = n_nodes2 - 1
    chunks_per_row = (n_inner + chunk - 1) // chunk

    # Per-point state of a chunk: the day's statistics, the last three daily minima, the
    # running snowfall sums of every step.
    tmin = np.empty(chunk, np.float32)
    tmax = np.empty(chunk, np.float32)
    tsum = np.empty(chunk, np.float32)
    tcount = np.empty(chunk, np.int64)
    rhsum = np.empty(chunk, np.float32)
    rhcount = np.empty(chunk, np.int64)
    wmax = np.empty(chunk, np.float32)
    psum = np.empty(chunk, np.float64)
    earlier = np.empty((3, chunk), np.float32)
    running = np.empty(chunk, np.float64)
    totals = np.empty((n_time, chunk), np.float64)
    inbuf = np.empty((15, chunk), np.float32)
    pbuf = np.empty((2, chunk), np.float32)
    work = np.empty((10, chunk), np.float32)
    kbuf = np.empty((2, chunk), np.int64)
    fbuf = np.empty((6, chunk), np.float32)
    lbuf = np.empty((7, chunk), np.int8)
    cbuf = np.empty((8, chunk), np.int8)
    partial_buf = np.empty((n_time, chunk), np.int8)

    for unit in range(unit_start, unit_stop):
        row = unit // chunks_per_row
        j0 = (unit % chunks_per_row) * chunk
        j1 = min(j0 + chunk, n_inner)
        width = j1 - j0
        p = row // n_middle
        m = row % n_middle
        for jj in range(width):
            running[jj] = 0.0
        for d in range(n_days):
            s0 = day_starts[d]
            s1 = day_starts[d + 1] if d + 1 < n_days else n_time
            for jj in range(width):
                tmin[jj] = np.nan
                tmax[jj] = np.nan
                tsum[jj] = 0.0
                tcount[jj] = 0
                rhsum[jj] = 0.0
                rhcount[jj] = 0
                wmax[jj] = np.nan
                psum[jj] = 0.0
            for i in range(s0, s1):
                a = sun_a[i]
                b = sun_b[i]
                c = sun_c[i]
                step_hours = hours[i]
                start = window_start[i]
                _load(t4, p, i, m, j0, width, inbuf, 0)
                _load(rh4, p, i, m, j0, width, inbuf, 1)
                _load(v4, p, i, m, j0, width, inbuf, 2)
                _load(sun_x, p, i, m, j0, width, inbuf, 3)
                _load(sun_y, p, i, m, j0, width, inbuf, 4)
                _load(sun_z, p, i, m, j0, width, inbuf, 5)
                _load(rsds4, p, i, m, j0, width, inbuf, 6)
                _load(precip4, p, i, m, j0, width, inbuf, 7)
                _load(depth4, p, i, m, j0, width, inbuf, 8)
                _load(snowfall4, p, i, m, j0, width, inbuf, 9)
                _load(ozone4, p, i, m, j0, width, inbuf, 10)
                _load(tcc4, p, i, m, j0, width, inbuf, 11)
                _load(elevation4, p, i, m, j0, width, inbuf, 12)
                _load(uvi_model4, p, i, m, j0, width, inbuf, 13)
                _load(visibility4, p, i, m, j0, width, inbuf, 14)
                # The step in stages over the chunk: plain arithmetic and comparisons in
                # loops of their own (vectorised by the compiler), the C library's
                # transcendental functions and the table lookups in loops of their own.
                bad = False
                for jj in range(width):
                    t = inbuf[0, jj]
                    v = inbuf[2, jj]
                    rh = inbuf[1, jj]
                    # Range checks of the index functions (NaN passes).
                    bad |= (t < F4(-100.0)) | (t > F4(60.0))
                    bad |= (v < F4(0.0)) | (v > F4(150.0))
                    bad |= (rh < F4(0.0)) | (rh > F4(105.0))
                    work[0, jj] = v * kmh_per_ms
                    work[1, jj] = F4(-4.8) - t
                    cos_z = a * inbuf[3, jj]
                    cos_z -= b * inbuf[4, jj]
                    cos_z += c * inbuf[5, jj]
                    cos_z = F4(-1.0) if cos_z < F4(-1.0) else cos_z
                    cos_z = F4(1.0) if cos_z > F4(1.0) else cos_z
                    work[2, jj] = cos_z
                for jj in range(width):
                    work[3, jj] = math.log(work[0, jj])
                    work[4, jj] = math.log(work[1, jj])
                    work[5, jj] = math.acos(work[2, jj])
                for jj in range(width):
                    work[3, jj] = work[3, jj] * F4(0.16)
                    work[4, jj] = work[4, jj] * F4(-1.668)
                for jj in range(width):
                    work[3, jj] = math.exp(work[3, jj])
                    work[4, jj] = math.exp(work[4, jj])
                for jj in range(width):
                    t = inbuf[0, jj]
                    v_kmh = work[0, jj]
                    # 1-2. Wind chill: exp(0.16 ln V) as numpy evaluates it (ln 0 = -inf
                    # gives 0); frostbite: ln of a negative number is NaN, ln 0 = -inf
                    # gives inf, set NaN (as numpy).
                    v16 = work[3, jj]
                    wci = (v16 * F4(0.3965) + F4(0.6215)) * t
                    wci += v16 * F4(-11.37) + F4(13.12)
                    no_chill = (v_kmh <= F4(3.0 * 1.609344)) | (t > F4(10.0))
                    wci = t if no_chill else wci
                    fbuf[0, jj] = wci
                    wc_level = (
                        int(wci <= F4(-9.5))
                        + int(wci <= F4(-27.5))
                        + int(wci <= F4(-39.5))
                        + int(wci <= F4(-47.5))
                        + int(wci <= F4(-54.5))
                        + int(wci < F4(0.5))
                    )
                    wc_level = -1 if wci != wci else wc_level
                    lbuf[0, jj] = wc_level
                    capped = F4(80.5) if v_kmh > F4(80.5) else v_kmh
                    wind_factor = capped * F4(-24.5 * 0.667)
                    wind_factor += F4(2111.0 - 24.5 * 4.8)
                    minutes = work[4, jj] * wind_factor
                    minutes = _NAN32 if abs(minutes) == _INF32 else minutes
                    fbuf[1, jj] = minutes
                    by_minutes = 1 + (
                        int(minutes <= F4(30.0))
                        + int(minutes <= F4(10.0))
                        + int(minutes <= F4(5.0))
                        + int(minutes <= F4(2.0))
                    )
                    by_wci = 1 + (
                        int(wci <= F4(-27.5))
                        + int(wci <= F4(-39.5))
                        + int(wci <= F4(-47.5))
                        + int(wci <= F4(-54.5))
                    )
                    fb_level = by_minutes if by_minutes > by_wci else by_wci
                    fb_level = -1 if wci != wci else fb_level
                    lbuf[1, jj] = fb_level
                    # Sun position; np.maximum(cos z, 0) keeps NaN.
                    cos_z = work[2, jj]
                    fbuf[2, jj] = F4(90.0) - work[5, jj] * _RAD2DEG
                    mu = F4(0.0) if cos_z <= F4(0.0) else cos_z
                    work[2, jj] = mu
                    # clip(mu, 0, 1) for the solar elevation of the radiant temperature.
                    work[6, jj] = F4(1.0) if mu > F4(1.0) else mu

                # 3. Clothing: mean radiant temperature where the sun shines (with no
                # shortwave the formula gives the air temperature exactly).
                if has_rsds:
                    for jj in range(width):
                        work[6, jj] = math.asin(work[6, jj])
                    for jj in range(width):
                        gamma = work[6, jj] * _RAD2DEG
                        fp = gamma * gamma
                        fp = fp * F4(-1.0 / 50000.0)
                        fp = fp + F4(0.998)
                        fp = fp * gamma
                        work[6, jj] = fp * _DEG2RAD
                    for jj in range(width):
                        work[6, jj] = math.cos(work[6, jj])
                for jj in range(width):
                    t = inbuf[0, jj]
                    tr = t
                    if has_rsds:
                        raw = inbuf[6, jj]
                        bad |= (raw < F4(-1.0)) | (raw > F4(1500.0))
                        mu = work[2, jj]
                        ghi = F4(0.0) if raw <= F4(0.0) else raw
                        kt = _MIN_COS if mu <= _MIN_COS else mu
                        kt = kt * _SOLAR_CONSTANT
                        kt = ghi / kt
                        kt = F4(0.0) if kt < F4(0.0) else kt
                        kt = F4(1.0) if kt > F4(1.0) else kt
                        low = F4(0.22) if kt >= F4(0.22) else kt
                        low = (low - F4(0.22)) * F4(-0.09)
                        kt = F4(0.22) if kt < F4(0.22) else kt
                        kt = F4(0.8) if kt > F4(0.8) else kt
                        diffuse = kt * F4(12.336)
                        diffuse = (diffuse + F4(-16.638)) * kt
                        diffuse = (diffuse + F4(4.388)) * kt
                        diffuse = (diffuse + F4(-0.1604)) * kt
                        diffuse = diffuse + F4(0.9511)
                        diffuse = diffuse + low
                        diffuse = diffuse * ghi
                        sun_up = F4(1.0) if mu >= _BEAM_COS else F4(0.0)
                        beam = (ghi - diffuse) / (_BEAM_COS if mu <= _BEAM_COS else mu)
                        beam = beam * sun_up
                        beam = _SOLAR_CONSTANT if beam >= _SOLAR_CONSTANT else beam
                        diffuse = ghi - beam * mu
                        absorbed = beam * (work[6, jj] * F4(0.308))
                        reflected = F4(0.2) * ghi
                        reflected = reflected + diffuse
                        reflected = reflected * F4(0.5)
                        absorbed = (absorbed + reflected) * _MRT_SCALE
                        t_k = t + F4(273.15)
                        fourth = t_k * t_k
                        fourth = fourth * fourth
                        ratio = absorbed / fourth + F4(1.0)
                        ratio = math.sqrt(math.sqrt(ratio)) - F4(1.0)
                        tmrt = t + ratio * t_k
                        tr = tmrt if raw > F4(0.0) else t
                        bad |= (tr < F4(-120.0)) | (tr > F4(150.0))
                    v = inbuf[2, jj]
                    va = v * va_per_v10
                    va = va0 if va < va0 else va
                    cell = _cell((t - ta0) * inv_dta, ta_top) * n_nodes
                    va_cell = _cell((va - va0) * inv_dva, va_top)
                    excess = tr - t
                    kbuf[0, jj] = (
                        (cell + _cell((excess + dtr_shift) * inv_dd, node_top)) * n_va + va_cell
                    ) * 4
                    cell2 = (cell // n_nodes) * n_nodes2
                    kbuf[1, jj] = (
                        (cell2 + _cell((excess + dtr_shift2) * inv_dd2, node_top2)) * n_va + va_cell
                    ) * 4
                    pbuf[0, jj] = tr
                    pbuf[1, jj] = va

                # The table lookups in a loop of their own: the loads from the tables (MB
                # each, random access) then overlap instead of each waiting for the long
                # chain of arithmetic before it.
                for jj in range(width):
                    t = inbuf[0, jj]
                    rh = inbuf[1, jj]
                    tr = pbuf[0, jj]
                    va = pbuf[1, jj]
                    icl = _plane(clo_records, kbuf[0, jj], t, va, rh, tr)
                    storage = _plane(storage_records, kbuf[1, jj], t, va, rh, tr)
                    clo = icl if (icl > 0 or icl != icl) else F4(0.0)
                    fbuf[3, jj] = clo
                    if storage == storage and not storage < 0:
                        storage = F4(-0.0)
                    fbuf[4, jj] = _NO_HEAT_LOSS / storage
                    if clo != clo:
                        clo_level = -1
                    else:
                        clo_level = 1 + int(
                            (clo >= F4(1.5))
                            + (clo >= F4(2.0))
                            + (clo >= F4(2.5))
                            + (clo >= F4(3.0))
                            + (clo >= F4(3.5))
                            + (clo >= F4(4.5))
                        )
                    lbuf[2, jj] = clo_level

                # UV: logarithms of the sun's height (by day only) and of the ozone.
                for jj in range(width):
                    mu = work[2, jj]
                    ozone = inbuf[10, jj]
                    bad |= (ozone < F4(50.0)) | (ozone > F4(700.0))
                    work[7, jj] = math.log(ozone * F4(1.0 / 300.0))
                    if mu > F4(0.0):
                        work[8, jj] = math.log(mu)
                for jj in range(width):
                    mu = work[2, jj]
                    if mu > F4(0.0):
                        work[9, jj] = math.exp(work[8, jj] * F4(2.42) + work[7, jj] * F4(-1.23))
                for jj in range(width):
                    t = inbuf[0, jj]
                    rh = inbuf[1, jj]
                    v = inbuf[2, jj]
                    mu = work[2, jj]
                    elevation = fbuf[2, jj]
                    wc_level = lbuf[0, jj]
                    fb_level = lbuf[1, jj]
                    clo_level = lbuf[2, jj]

                    # 4. Cold/flu: the day's statistics (NaN skipped).
                    is_t = t == t
                    tmin[jj] = t if is_t & ((t < tmin[jj]) | (tmin[jj] != tmin[jj])) else tmin[jj]
                    tmax[jj] = t if is_t & ((t > tmax[jj]) | (tmax[jj] != tmax[jj])) else tmax[jj]
                    tsum[jj] += t if is_t else F4(0.0)
                    tcount[jj] += int(is_t)
                    is_rh = rh == rh
                    rhsum[jj] += rh if is_rh else F4(0.0)
                    rhcount[jj] += int(is_rh)
                    wmax[jj] = (
                        v if (v == v) & ((v > wmax[jj]) | (wmax[jj] != wmax[jj])) else wmax[jj]
                    )
                    precip = inbuf[7, jj]
                    psum[jj] += np.float64(precip) * step_hours if precip == precip else 0.0

                    # 5. UV index, snow and sunscreen.
                    depth = inbuf[8, jj]
                    depth = F4(0.0) if depth != depth else depth
                    bad |= (depth < F4(0.0)) | (depth > F4(50.0))
                    snowfall = inbuf[9, jj]
                    rate = snowfall if snowfall == snowfall else F4(0.0)
                    bad |= (rate < F4(0.0)) | (rate > F4(500.0))
                    running[jj] = running[jj] + rate * step_hours
                    totals[i, jj] = running[jj]
                    amount = running[jj] - totals[start, jj] if start >= 0 else running[jj]
                    fresh = has_snowfall & (amount >= fresh_threshold)
                    ozone = inbuf[10, jj]
                    cloud = inbuf[11, jj]
                    bad |= (cloud < F4(-0.01)) | (cloud > F4(1.01))
                    altitude_m = inbuf[12, jj]
                    bad |= (altitude_m < F4(-500.0)) | (altitude_m > F4(9000.0))
                    # exp(-inf + finite) = 0 at night; NaN ozone or sun stays NaN.
                    night = F4(0.0) if ozone == ozone else _NAN32
                    night = night if mu == mu else _NAN32
                    clear = work[9, jj] * F4(12.5) if mu > F4(0.0) else night
                    cloud_class = (
                        int(cloud >= F4(0.2)) + int(cloud >= F4(0.7)) + int(cloud > F4(0.9))
                    )
                    cmf = _CLOUD_0 if cloud_class == 0 else _CLOUD_1
                    cmf = _CLOUD_2 if cloud_class == 2 else cmf
                    cmf = _CLOUD_3 if cloud_class == 3 else cmf
                    cmf = _NAN32 if cloud != cloud else cmf
                    altitude = altitude_m * _ALTITUDE_PER_M + F4(1.0)
                    snow_free = clear * cmf * altitude
                    covered = depth >= F4(0.01)
                    factor = _SNOW_0 if not covered else _SNOW_1
                    factor = _SNOW_2 if fresh else factor
                    albedo = _ALBEDO_0 if not covered else _ALBEDO_1
                    albedo = _ALBEDO_2 if fresh else albedo
                    uvi = inbuf[13, jj] if has_uvi_model else snow_free * factor
                    bad |= (uvi < F4(-0.5)) | (uvi > F4(100.0))
                    fbuf[5, jj] = uvi
                    sun_level = 1 + (
                        int(uvi >= F4(2.5))
                        + int(uvi >= F4(4.5))
                        + int(uvi >= F4(6.5))
                        + int(uvi >= F4(9.5))
                    )
                    category = (
                        int(uvi >= F4(2.5))
                        + int(uvi >= F4(5.5))
                        + int(uvi >= F4(7.5))
                        + int(uvi >= F4(10.5))
                    )
                    sun_level = -1 if uvi != uvi else sun_level
                    category = -1 if uvi != uvi else category
                    lbuf[3, jj] = sun_level
                    lbuf[4, jj] = category

                    # 6. Goggles.
                    bare = snow_free * _SNOW_0
                    bad |= (bare < F4(-0.5)) | (bare > F4(100.0))
                    eye = (albedo + F4(1.0)) * bare
                    bad |= (eye < F4(-0.5)) | (eye > F4(200.0))
                    visibility = inbuf[14, jj]
                    visibility = default_visibility if visibility != visibility else visibility
                    bad |= visibility < F4(0.0)
                    day = elevation > F4(0.0)
                    low_visibility = visibility < F4(1000.0)
                    glare = (cloud < F4(0.3)) & day & covered
                    snowing = (rate >= F4(0.1)) | ((v >= F4(8.0)) & covered)
                    goggles = 1 + int(eye >= F4(2.0)) + int(eye >= F4(4.0)) + int(eye >= F4(6.0))
                    goggles += int(snowing) + int(low_visibility & day)
                    goggles = 4 if goggles > 4 else goggles
                    goggles = 2 if (glare & (goggles < 2)) else goggles
                    # Night S0, dull light S1, else S2 + glare (+ 1 with strong UV).
                    dull = low_visibility | (cloud > F4(0.7))
                    bright = 1 + int(glare) + int(glare & (eye >= F4(6.0)))
                    lens = (bright * int(not dull) + 1) * int(day)
                    goggles_missing = (
                        (eye != eye) | (v != v) | (elevation != elevation) | (cloud != cloud)
                    )
                    goggles = -1 if goggles_missing else goggles
                    lens = -1 if goggles_missing else lens
                    lbuf[5, jj] = goggles
                    lbuf[6, jj] = lens

                    # The composite without the daily cold/flu level (added when the day ends).
                    partial = _IMPACT_WIND_CHILL[wc_level] if wc_level >= 0 else 0
                    partial = max(partial, _IMPACT_FROSTBITE[fb_level] if fb_level >= 0 else 0)
                    partial = max(partial, _IMPACT_CLOTHING[clo_level] if clo_level >= 0 else 0)
                    partial = max(partial, _IMPACT_SUNSCREEN[sun_level] if sun_level >= 0 else 0)
                    partial = max(partial, _IMPACT_GOGGLES[goggles] if goggles >= 0 else 0)
                    missing = (
                        (wc_level < 0)
                        | (fb_level < 0)
                        | (clo_level < 0)
                        | (sun_level < 0)
                        | (goggles < 0)
                    )
                    partial_buf[i, jj] = -1 if missing else partial
                if bad:
                    return 1

                # Outputs one array at a time (many streams at once alias in the L1 cache).
                for k in range(6):
                    for jj in range(width):
                        out_float[k, p, i, m, j0 + jj] = fbuf[k, jj]
                for k in range(7):
                    level_index = _STEP_LEVELS[k]
                    for jj in range(width):
                        out_level[level_index, p, i, m, j0 + jj] = lbuf[k, jj]

            # The day is complete: cold/flu risk, spread over its steps, and the composite.
            for jj in range(width):
                low = tmin[jj]
                high = tmax[jj]
                mean = _NAN32
                if tcount[jj] > 0:
                    mean = np.float32(np.float64(tsum[jj]) / np.float64(tcount[jj]))
                rh_mean = _NAN32
                if rhcount[jj] > 0:
                    rh_mean = np.float32(np.float64(rhsum[jj]) / np.float64(rhcount[jj]))
                wind = wmax[jj]
                # Falls of the daily minimum over 1, 2, 3 days (NaN and before the first day: 0).
                d24 = earlier[0, jj] - low if d > 0 else F4(0.0)
                d48 = earlier[1, jj] - low if d > 1 else F4(0.0)
                d72 = earlier[2, jj] - low if d > 2 else F4(0.0)
                d24 = np.float64(d24) if d24 == d24 else 0.0
                d48 = np.float64(d48) if d48 == d48 else 0.0
                d72 = np.float64(d72) if d72 == d72 else 0.0
                earlier[2, jj] = earlier[1, jj]
                earlier[1, jj] = earlier[0, jj]
                earlier[0, jj] = low
                if abs(d24) > 80.0 or abs(d48) > 80.0 or abs(d72) > 80.0:
                    return 15
                if psum[jj] < 0.0 or psum[jj] > 2000.0:
                    return 16
                # Specific humidity (Bolton 1980) in float32, as cold.specific_humidity_gkg.
                e = mean / (mean + F4(243.5))
                e = math.exp(e * F4(17.67))
                e = e * rh_mean
                e = e * F4(6.112 / 100.0)
                denominator = e * F4(-(1.0 - 0.622)) + F4(1013.25)
                q = np.float64((e * F4(622.0)) / denominator)
                if q < 0.0 or q > 60.0:
                    return 17
                if low != low or rh_mean != rh_mean or wind != wind:
                    parts = (-1, -1, -1, -1, -1, -1)
                    score = -1
                    level = -1
                else:
                    low64 = np.float64(low)
                    mean64 = np.float64(mean)
                    rh64 = np.float64(rh_mean)
                    cooling = (d48 >= 3.0) + (d48 >= 6.0) + (d48 >= 8.0)
                    if (d24 >= 8.0 or d48 >= 10.0 or d72 >= 12.0) and low64 <= 4.0:
                        cooling = 4
                    spread = np.float64(high) - low64
                    diurnal = (spread >= 10.0) + (spread >= 12.0) + (spread >= 14.0)
                    cold = (mean64 < 10.0) + (mean64 < -10.0)
                    dry = 1 if (q < 2.0 or rh64 < 30.0) else 0
                    damp = 1 if (rh64 >= 85.0 and mean64 < 5.0) else 0
                    windy = 1 if (np.float64(wind) >= 5.5 or psum[jj] >= 0.1) else 0
                    parts = (int(cooling), int(diurnal), int(cold), dry, damp, windy)
                    score = cooling + diurnal + cold + dry + damp + windy
                    level = 1 + (score >= 3) + (score >= 5) + (score >= 8)
                for n in range(6):
                    cbuf[n, jj] = parts[n]
                cbuf[6, jj] = score
                cbuf[7, jj] = level
            for n in range(8):
                for i in range(s0, s1):
                    for jj in range(width):
                        out_level[3 + n, p, i, m, j0 + jj] = cbuf[n, jj]
            for i in range(s0, s1):
                for jj in range(width):
                    partial = partial_buf[i, jj]
                    level = cbuf[7, jj]
                    if level < 0 or partial < 0:
                        out_level[15, p, i, m, j0 + jj] = -1
                    else:
                        out_level[15, p, i, m, j0 + jj] = max(partial, _IMPACT_COLD[level])
    return OK


@functools.cache
def _compiled_kernel():
    """:func:`_kernel` compiled for one signature (fields as read-only float32 arrays of any
    layout), so that grids of any layout share one machine-code version (and one entry in
    numba's on-disk cache) instead of compiling one per combination of memory layouts."""
    field = types.Array(types.float32, 4, "A", readonly=True)
    f32 = types.Array(types.float32, 1, "C")
    f64 = types.Array(types.float64, 1, "C")
    i64 = types.Array(types.int64, 1, "C")
    signature = types.int64(
        *([field] * 15),
        f32,
        f32,
        f32,
        f64,
        i64,
        i64,
        i64,
        f64,
        f32,
        f32,
        i64,
        f32,
        f32,
        types.int64,
        types.Array(types.float32, 5, "C"),
        types.Array(types.int8, 5, "C"),
        types.int64,
        types.int64,
        types.int64,
    )
    return njit(signature, nogil=True, cache=True, fastmath=False, error_model="numpy")(_kernel)


#: Inputs the kernel needs as float32 fields, and what stands in for an absent optional one
#: (the fallbacks of :func:`.combined.spectator_indices`; ``None``: a switch tells the kernel).
_FIELDS = {
    "t_c": None,
    "rh_pct": None,
    "v10_ms": None,
    "ozone_du": None,
    "tcc_fraction": 0.0,
    "rsds_wm2": 0.0,
    "snow_depth_m": 0.0,
    "snowfall_mmh": 0.0,
    "precip_mmh": 0.0,
    "visibility_m": np.nan,
    "uv_index_model": np.nan,
    "elevation_m": 0.0,
}


def _layout(shape: tuple[int, ...], time_axis: int) -> tuple[int, int, int, int]:
    """The 4-D (outer, time, middle, inner) view of ``shape``: the axes before the time axis
    merged, then the time axis, the axes after it but the last merged, and the last one."""
    after = shape[time_axis + 1 :]
    return (
        int(np.prod(shape[:time_axis], dtype=np.int64)),
        shape[time_axis],
        int(np.prod(after[:-1], dtype=np.int64)) if after else 1,
        after[-1] if after else 1,
    )


def _as_4d(values: NDArray, shape: tuple[int, ...], layout: tuple[int, ...]) -> NDArray:
    """``values`` broadcast to ``shape`` and viewed in the 4-D layout, read-only (so that
    every field has the same numba type); a copy only where the merged axes cannot be one
    view (never for fields on the whole grid or on the time axis alone)."""
    view = np.broadcast_to(values, shape).reshape(layout)
    return np.broadcast_to(view, layout)


def _sun_geometry(time, lat: NDArray, lon: NDArray):
    """The time terms and the place terms of :func:`.uv._cos_zenith`, computed as it does:
    ``cos z = a(t) X - b(t) Y + c(t) Z`` with X, Y, Z from latitude/longitude in float32."""
    declination, hour_angle0, _ = _sun_terms(time.times_utc)
    cos_d = np.cos(declination)
    a = (cos_d * np.cos(hour_angle0)).astype(np.float32)
    b = (cos_d * np.sin(hour_angle0)).astype(np.float32)
    c = np.sin(declination).astype(np.float32)
    lat_r = np.deg2rad(np.asarray(lat).astype(np.float32))
    lon_r = np.deg2rad(np.asarray(lon).astype(np.float32))
    cos_lat = np.cos(lat_r)
    return (a, b, c), (cos_lat * np.cos(lon_r), cos_lat * np.sin(lon_r), np.sin(lat_r))


def fused_supported(arrays: Mapping[str, NDArray | None]) -> bool:
    """Whether the compiled engine takes these inputs: every field float32 (latitude and
    longitude are cast to float32 as the numpy engine does)."""
    return all(
        arrays.get(name) is None or np.asarray(arrays[name]).dtype == np.float32 for name in _FIELDS
    )


def spectator_indices_fused(
    arrays: Mapping[str, NDArray | None],
    *,
    time,
    time_axis: int,
    worn_clo: float,
    fresh_snow_mm: float,
    default_visibility_m: float,
    kmh_per_ms: float,
    workers: int | None = None,
) -> dict[str, NDArray] | None:
    """Every output of :func:`.combined.spectator_indices` from the compiled engine, or
    ``None`` where it declines (a value outside a checked range: the caller runs the numpy
    engine, which reports it). ``arrays`` by parameter name, float32 fields
    (:func:`fused_supported`), broadcastable with the same number of dimensions.

    The grid is split into rows of :data:`CHUNK_POINTS` points that keep the whole time axis,
    shared out on ``workers`` threads (default: :func:`._blocks.default_workers`); the
    kernel releases the GIL and writes every output once, straight into its final array.
    """
    present = [value for value in arrays.values() if value is not None]
    shape = np.broadcast_shapes(*(np.shape(value) for value in present))
    layout = _layout(shape, time_axis)
    fields = {}
    for name, fallback in _FIELDS.items():
        value = arrays.get(name)
        if value is None:
            value = np.full((1,) * len(shape), fallback, dtype=np.float32)
        fields[name] = _as_4d(np.asarray(value), shape, layout)
    (a, b, c), places = _sun_geometry(time, arrays["lat"], arrays["lon"])
    sun_x, sun_y, sun_z = (_as_4d(place, shape, layout) for place in places)
    clothing = clothing_table()
    storage = storage_table(float(worn_clo))
    geometry, _ = clothing._geometry(np.float32, BODY_WIND_FACTOR)
    storage_dtr = storage._geometry(np.float32, BODY_WIND_FACTOR)[1]
    sizes = np.array(
        [clothing.ta_axis[2] - 2, clothing.dtr_axis[2], clothing.va_axis[2] - 1], np.int64
    )
    switches = np.array(
        [
            arrays.get("rsds_wm2") is not None,
            arrays.get("snowfall_mmh") is not None,
            arrays.get("uv_index_model") is not None,
        ],
        dtype=np.int64,
    )
    settings = np.array([kmh_per_ms, fresh_snow_mm, default_visibility_m], dtype=np.float64)
    out_float = np.empty((len(FLOAT_OUTPUTS), *layout), dtype=np.float32)
    out_level = np.empty((len(LEVEL_OUTPUTS), *layout), dtype=np.int8)
    chunk = min(CHUNK_POINTS, layout[3])
    units = layout[0] * layout[2] * -(-layout[3] // chunk)

    kernel = _compiled_kernel()

    def run(unit_range: tuple[int, int]) -> int:
        return kernel(
            fields["t_c"],
            fields["rh_pct"],
            fields["v10_ms"],
            sun_x,
            sun_y,
            sun_z,
            fields["ozone_du"],
            fields["tcc_fraction"],
            fields["rsds_wm2"],
            fields["snow_depth_m"],
            fields["snowfall_mmh"],
            fields["precip_mmh"],
            fields["visibility_m"],
            fields["uv_index_model"],
            fields["elevation_m"],
            a,
            b,
            c,
            np.ascontiguousarray(time.step_hours, dtype=np.float64),
            np.ascontiguousarray(time.window_start, dtype=np.int64),
            np.ascontiguousarray(time.day_starts, dtype=np.int64),
            switches,
            settings,
            clothing.records.view(np.float32),
            geometry,
            sizes,
            storage.records.view(np.float32),
            storage_dtr,
            int(storage.dtr_axis[2]),
            out_float,
            out_level,
            unit_range[0],
            unit_range[1],
            chunk,
        )

    workers = default_workers() if workers is None else workers
    # A few pieces per thread, so that a thread slowed by other work is helped by the rest.
    pieces = min(units, max(1, workers) * 4)
    bounds = np.linspace(0, units, pieces + 1).astype(np.int64)
    ranges = [(int(lo), int(hi)) for lo, hi in itertools.pairwise(bounds)]
    if workers <= 1 or pieces == 1:
        codes = [run(r) for r in ranges]
    else:
        with ThreadPoolExecutor(max_workers=min(workers, pieces)) as pool:
            codes = list(pool.map(run, ranges))
    if any(codes):
        return None
    out = {name: out_float[k].reshape(shape) for k, name in enumerate(FLOAT_OUTPUTS)}
    out.update({name: out_level[k].reshape(shape) for k, name in enumerate(LEVEL_OUTPUTS)})
    return out
