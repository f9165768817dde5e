"""Daily and part-of-day aggregates of a venue table, in local time (the CSV summary).

The aggregation itself is :func:`bulletin.facts.aggregate.aggregate`, which the facts of a
venue's day are built from too, so the summary, the scripts and the video cards never disagree.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

from .facts.aggregate import PERIODS, aggregate
from .facts.table import wall_clock


def summarize(table: pd.DataFrame, *, by: Literal["day", "period"] = "day") -> pd.DataFrame:
    """Aggregate a :func:`bulletin.venue_table` by venue and local day (or part of the day).

    For each venue x local date (x period) (x member): hours covered, minimum/maximum
    temperature and when, strongest wind, lowest wind chill, shortest time to frostbite, most
    insulation needed, shortest exposure limit, highest UV index, and for every level column the
    worst level and the local time it is first reached (``<level>_max``, ``<level>_max_time``).
    Times are local ``HH:MM``. Periods are :data:`PERIODS`.
    """
    if table.empty:
        raise ValueError("cannot summarise an empty venue table")
    if by not in ("day", "period"):
        raise ValueError(f"by must be 'day' or 'period', not {by!r}")
    return aggregate(table, wall_clock(table["time_local"]), by=by)


__all__ = ["PERIODS", "summarize"]
