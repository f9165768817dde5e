"""Composite spectator level (观赛气象指数) I..IV: the worst real impact of the six indices.

Group standard T/CMSA 0033-2022《冬季户外冰雪运动观赛气象指数等级划分》(中国气象服务协会,
2022-07-28) defines a 4-level (Ⅰ-Ⅳ) index of the weather's impact on outdoor winter-sport
spectating; only level Ⅰ's wording (影响很小 / Minimal: 适宜观赛) was obtainable,
not its formulas. This composite is "in the spirit of" it: each component level is mapped
to the impact it has on a spectator and the worst one is published. The impacts, and so the
mapping, are **our choice**:

* Ⅰ minimal: ordinary winter clothing and care are enough (T/CMSA 0033-2022 level Ⅰ);
* Ⅱ some: watching is fine with preparation that removes the hazard (the full winter outfit,
  sunscreen, goggles, precautions against a cold);
* Ⅲ considerable: even prepared, time outdoors has to be limited (exposed skin freezes in
  5-30 minutes, or the warmest outfit lasts only 1-8 hours);
* Ⅳ severe: exposed skin freezes within 5 minutes (ECCC warning level), or even the warmest
  outfit cannot be worn for an hour.

==========  ===  ===  ===  ===  =================================================
component   Ⅰ    Ⅱ    Ⅲ    Ⅳ    impact
==========  ===  ===  ===  ===  =================================================
wind_chill  0-1  2    3-4  5-6  ECCC bands: Ⅲ frostbite in 5-30 min, Ⅳ in under 5
frostbite   1    -    2-3  4-5  Ⅲ frostbite in 5-30 min, Ⅳ in under 5 min
clothing    1-3  4-5  6    7    Ⅱ full outfit; Ⅲ warmest outfit 1-8 h; Ⅳ under 1 h
cold        1-3  4    -    -    a risk over days: precautions at level 4
sunscreen   1-3  4-5  -    -    UV index 7 and more: protection needed, and easy
goggles     1-2  3-4  -    -    goggles needed, and easy to wear
==========  ===  ===  ===  ===  =================================================

The columns give the component levels of each impact (``-``: none).

Only the cold hazards (wind chill, frostbite, clothing) can reach Ⅲ and Ⅳ; the wind chill
and frostbite rows give the same impact for the same ECCC wind chill band (WCI -28 and
below: Ⅲ; -48 and below: Ⅳ), and the clothing row follows the clothing index's time limits
(:mod:`bulletin.indices.clothing`).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from ._arrays import MISSING, check_levels, elementwise, flat_as

#: Impact 1..4 of each component level; index = level (-1 -> the last entry, missing).
IMPACT_TABLES: dict[str, tuple[int, ...]] = {
    "wind_chill": (1, 1, 2, 3, 3, 4, 4),  # levels 0..6
    "frostbite": (0, 1, 3, 3, 4, 4),  # levels 1..5 (index 0 unused)
    "clothing": (0, 1, 1, 1, 2, 2, 3, 4),  # levels 1..7
    "cold": (0, 1, 1, 1, 2),  # levels 1..4
    "sunscreen": (0, 1, 1, 1, 2, 2),  # levels 1..5
    "goggles": (0, 1, 1, 2, 2),  # levels 1..4
}
#: Valid level range of each component.
LEVEL_RANGES: dict[str, tuple[int, int]] = {
    "wind_chill": (0, 6),
    "frostbite": (1, 5),
    "clothing": (1, 7),
    "cold": (1, 4),
    "sunscreen": (1, 5),
    "goggles": (1, 4),
}

#: The same tables as level thresholds: impact = 1 + number of edges the level reaches (a
#: level that raises the impact by two is an edge twice).
_IMPACT_EDGES = {
    name: tuple(
        level
        for level in range(LEVEL_RANGES[name][0] + 1, LEVEL_RANGES[name][1] + 1)
        for _ in range(table[level] - table[level - 1])
    )
    for name, table in IMPACT_TABLES.items()
}


@elementwise(
    "wind_chill_level",
    "frostbite_level",
    "clothing_level",
    "cold_level",
    "sunscreen_level",
    "goggles_level",
)
def spectator_level(
    wind_chill_level: ArrayLike,
    frostbite_level: ArrayLike,
    clothing_level: ArrayLike,
    cold_level: ArrayLike,
    sunscreen_level: ArrayLike,
    goggles_level: ArrayLike,
) -> NDArray[np.int8]:
    """Composite spectator level 1..4 (Ⅰ..Ⅳ; int8, -1 where any component is missing): the
    worst component impact, with the mapping table of this module's docstring (our choice,
    in the spirit of T/CMSA 0033-2022).

    Ⅰ 影响很小 Minimal (T/CMSA 0033-2022 wording); Ⅱ-Ⅳ wording is ours, see
    :data:`bulletin.indices.levels.LEVEL_NAMES` ``["spectator"]``.
    """
    components = {
        "wind_chill": wind_chill_level,
        "frostbite": frostbite_level,
        "clothing": clothing_level,
        "cold": cold_level,
        "sunscreen": sunscreen_level,
        "goggles": goggles_level,
    }
    checked = {
        name: check_levels("spectator_level", f"{name}_level", levels, *LEVEL_RANGES[name])
        for name, levels in components.items()
    }
    shape = np.broadcast_shapes(*(lv.shape for lv in checked.values()))
    flat = [flat_as(lv, shape, np.int8) for lv in checked.values()]
    edges = [tuple(np.int8(edge) for edge in _IMPACT_EDGES[name]) for name in checked]
    out = np.empty(shape, dtype=np.int8)
    _spectator_level_kernel(*flat, *edges, out.reshape(-1))
    return out


@njit(nogil=True, cache=True, inline="always")
def _impact(level, edges):  # pragma: no cover - compiled
    """Impact 1..4 of a component level: 1 + the number of ``edges`` it reaches."""
    impact = 1
    for edge in edges:
        impact += level >= edge
    return impact


@njit(nogil=True, cache=True, error_model="numpy")
def _spectator_level_kernel(
    wind_chill,
    frostbite,
    clothing,
    cold,
    sunscreen,
    goggles,
    wind_chill_edges,
    frostbite_edges,
    clothing_edges,
    cold_edges,
    sunscreen_edges,
    goggles_edges,
    out,
):  # pragma: no cover - compiled
    """The worst impact of the six component levels per point, -1 where one is missing;
    integer comparisons only (the edge loops unroll), so the loop vectorises."""
    for i in range(out.shape[0]):
        a, b, c, d, e, f = (
            wind_chill[i],
            frostbite[i],
            clothing[i],
            cold[i],
            sunscreen[i],
            goggles[i],
        )
        worst = max(_impact(a, wind_chill_edges), _impact(b, frostbite_edges))
        worst = max(worst, _impact(c, clothing_edges))
        worst = max(worst, _impact(d, cold_edges))
        worst = max(worst, _impact(e, sunscreen_edges))
        worst = max(worst, _impact(f, goggles_edges))
        missing = (
            (a == MISSING)
            | (b == MISSING)
            | (c == MISSING)
            | (d == MISSING)
            | (e == MISSING)
            | (f == MISSING)
        )
        out[i] = MISSING if missing else worst
