"""Daily and part-of-day aggregates of venue rows, in local time.

This is the one place where hourly rows become "today's lowest temperature" or "the worst
frostbite level, from 06:00". The facts of a venue's day (:mod:`bulletin.facts.day`) and the
CSV summary (:func:`bulletin.summarize`) are both built from it, so they never disagree.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from ..compute import LEVEL_VARIABLES

#: Parts of the local day, [start hour, end hour). The split follows the CMA television
#: bulletin habit of morning / afternoon / evening (our choice of hours; night is kept apart so
#: the pre-dawn minimum does not colour the morning).
PERIODS: dict[str, tuple[int, int]] = {
    "night": (0, 6),
    "morning": (6, 12),
    "afternoon": (12, 18),
    "evening": (18, 24),
}


def _period_of(hours: pd.Series) -> pd.Series:
    labels = np.empty(len(hours), dtype=object)
    for name, (start, end) in PERIODS.items():
        labels[(hours >= start) & (hours < end)] = name
    return pd.Series(labels, index=hours.index)


def _at(group: pd.DataFrame, column: str, how: Literal["min", "max"]) -> tuple[object, str]:
    values = group[column].astype("float64")
    if values.isna().all():
        return np.nan, ""
    pos = values.idxmin() if how == "min" else values.idxmax()
    return values[pos], group.loc[pos, "_local"].strftime("%H:%M")


def _summarize_group(group: pd.DataFrame) -> dict[str, object]:
    row: dict[str, object] = {"hours": len(group)}
    row["first_time"] = group["_local"].min().strftime("%H:%M")
    row["last_time"] = group["_local"].max().strftime("%H:%M")
    for column, how, prefix in (
        ("temperature_degC", "min", "temperature_min"),
        ("temperature_degC", "max", "temperature_max"),
        ("wind_speed_10m_kmh", "max", "wind_speed_max"),
        ("wind_chill_degC", "min", "wind_chill_min"),
        ("uv_index", "max", "uv_index_max"),
    ):
        value, when = _at(group, column, how)
        row[prefix] = value
        row[f"{prefix}_time"] = when
    row["frostbite_minutes_min"] = group["frostbite_minutes"].astype("float64").min()
    row["clothing_clo_max"] = group["clothing_clo"].astype("float64").max()
    row["exposure_limit_h_min"] = group["exposure_limit_h"].astype("float64").min()
    row["relative_humidity_mean"] = group["relative_humidity_pct"].astype("float64").mean()
    row["cloud_cover_mean"] = group["cloud_cover_pct"].astype("float64").mean()
    if "snowfall_mmh" in group:
        row["snowfall_hours"] = int((group["snowfall_mmh"].astype("float64") >= 0.1).sum())
    for name in LEVEL_VARIABLES:
        levels = group[name].astype("Float64")
        if levels.isna().all():
            row[f"{name}_max"] = pd.NA
            row[f"{name}_max_time"] = ""
            continue
        worst = levels.max()
        first = levels[levels == worst].index[0]
        row[f"{name}_max"] = int(worst)
        row[f"{name}_max_time"] = group.loc[first, "_local"].strftime("%H:%M")
    lenses = [s for s in group["goggles_lens"] if isinstance(s, str) and s]
    row["goggles_lens_max"] = max(lenses) if lenses else ""
    reasons: list[str] = []
    for text in group.get("cold_reasons", pd.Series(dtype=str)):
        for reason in str(text).split(";") if isinstance(text, str) and text else []:
            if reason not in reasons:
                reasons.append(reason)
    row["cold_reasons"] = ";".join(reasons)
    return row


def aggregate(
    table: pd.DataFrame, wall: pd.Series, *, by: Literal["day", "period"] = "day"
) -> pd.DataFrame:
    """Aggregate venue rows by venue and local day (or part of the day); ``wall`` is the
    local wall-clock time of each row (:func:`bulletin.facts.table.wall_clock`).

    For each venue x local date (x period) (x member): hours covered, minimum/maximum
    temperature and when, strongest wind, lowest wind chill, shortest time to frostbite, most
    insulation needed, shortest exposure limit, highest UV index, and for every level column the
    worst level and the local time it is first reached (``<level>_max``, ``<level>_max_time``).
    Times are local ``HH:MM``. Periods are :data:`PERIODS`.
    """
    work = table.copy()
    work["_local"] = wall.to_numpy()
    work["local_date"] = work["_local"].dt.strftime("%Y-%m-%d")
    keys = ["venue_id", "local_date"]
    if by == "period":
        work["period"] = _period_of(work["_local"].dt.hour)
        keys.append("period")
    if "member" in work:
        keys.append("member")
    rows = []
    for key, group in work.groupby(keys, sort=False):
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        row.update(_summarize_group(group))
        rows.append(row)
    result = pd.DataFrame(rows)
    if by == "period":
        order = {name: i for i, name in enumerate(PERIODS)}
        result = result.sort_values(
            ["venue_id", "local_date", "period"],
            key=lambda s: s.map(order) if s.name == "period" else s,
            kind="stable",
        )
        # Keep the venues in the order of the input table.
        venue_order = {v: i for i, v in enumerate(dict.fromkeys(table["venue_id"]))}
        result = result.sort_values(
            "venue_id", key=lambda s: s.map(venue_order), kind="stable"
        ).reset_index(drop=True)
    for name in LEVEL_VARIABLES:
        result[f"{name}_max"] = result[f"{name}_max"].astype("Int8")
    return result
