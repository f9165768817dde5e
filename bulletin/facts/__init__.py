"""The typed facts layer between the venue table and every consumer.

:mod:`bulletin.facts.table` parses the table's times once (:class:`VenueRows`, :class:`LocalDay`);
:mod:`bulletin.facts.day` builds, once per venue and local day, the frozen facts the script, the
video cards, chart and poster and the overview read (:class:`VenueDay`, :class:`OverviewFacts`).
"""

from .aggregate import PERIODS, aggregate
from .alerts import Alert, alerts, cold_wave_colour, gale_colour
from .day import (
    FROSTBITE_LEVEL_MINUTES,
    LEVEL_INDICES,
    SPECTATOR_PERIODS,
    DaySummary,
    Extreme,
    OverviewFacts,
    PeriodFacts,
    PeriodWind,
    Trend,
    VenueDay,
    Weather,
    Wind,
    Worst,
    overview,
    trend,
    venue_day,
    venue_days,
)
from .ensemble import control_member, is_ensemble
from .table import REQUIRED_COLUMNS, LocalDay, VenueRows, check_table, local_days, venue_rows

__all__ = [
    "FROSTBITE_LEVEL_MINUTES",
    "LEVEL_INDICES",
    "PERIODS",
    "REQUIRED_COLUMNS",
    "SPECTATOR_PERIODS",
    "Alert",
    "DaySummary",
    "Extreme",
    "LocalDay",
    "OverviewFacts",
    "PeriodFacts",
    "PeriodWind",
    "Trend",
    "VenueDay",
    "VenueRows",
    "Weather",
    "Wind",
    "Worst",
    "aggregate",
    "alerts",
    "check_table",
    "cold_wave_colour",
    "control_member",
    "gale_colour",
    "is_ensemble",
    "local_days",
    "overview",
    "trend",
    "venue_day",
    "venue_days",
    "venue_rows",
]
