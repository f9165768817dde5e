"""The facts of a venue's local day, built once from its rows and read by every consumer (the
script, the video cards, chart and poster, the overview).

A :class:`VenueDay` holds the spectator parts of the day (06:00-24:00, :data:`SPECTATOR_PERIODS`)
with their aggregates, the whole day and the day before, and what is derived from them: the
extremes and when, the worst level of each index and when, the trend since yesterday, the wind.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..compute import LEVEL_VARIABLES
from ..errors import ScriptError
from ..indices.frostbite import FIT_MAX_MINUTES, FIT_MAX_WIND_KMH, FIT_MIN_WIND_KMH
from ..venues import Venue
from .aggregate import PERIODS, aggregate
from .beaufort import beaufort_force
from .table import DayHours, VenueRows, day_hours, venue_rows

#: Parts of the local day the bulletin speaks about (the night, 00-06, is left out: nobody
#: watches then, and its minimum would colour the whole day).
SPECTATOR_PERIODS = tuple(name for name in PERIODS if name != "night")
#: The indices with a level, the composite (spectator) one last.
LEVEL_INDICES = tuple(name.removesuffix("_level") for name in LEVEL_VARIABLES)

#: Minutes to frostbite are quoted only inside the fit range of the regression: 10 m wind
#: 25 < V10 <= 80.5 km/h and at most 30 minutes (NWS AWIPS-II practice, the constants of
#: :mod:`bulletin.indices.frostbite`); otherwise the bulletin gives the ECCC range of the level
#: (ECCC wind chill hazard table).
FROSTBITE_QUOTE_WIND_KMH = (FIT_MIN_WIND_KMH, FIT_MAX_WIND_KMH)
FROSTBITE_QUOTE_MAX_MIN = FIT_MAX_MINUTES
FROSTBITE_LEVEL_MINUTES = {2: (10, 30), 3: (5, 10), 4: (2, 5), 5: (0, 2)}

#: Day-to-day trends, from full local days only. Cooling is judged on the daily minimum, as
#: GB/T 20484-2017 grades cold air; warming on the daily maximum. 3 K is our threshold for a
#: change worth saying, 6 K (the GB/T 20484 "moderate cold air" fall) for a marked one; a
#: 寒潮 (cold wave) is the GB/T 20484 24 h criterion: Tmin falls >= 8 K and ends <= 4 °C.
TREND_K = 3.0
MARKED_TREND_K = 6.0
COLD_WAVE_DROP_K = 8.0
COLD_WAVE_MAX_TMIN = 4.0
#: Wind strengthens/weakens when its daily maximum changes by 2 Beaufort forces or more and the
#: stronger day reaches force 4 (our choice: force 4 is where the cold/flu index counts wind).
WIND_TREND_FORCES = 2
WIND_TREND_MIN_FORCE = 4


def _number(value: Any) -> float | None:
    """A float, or None for a missing value."""
    if value is None or value is pd.NA:
        return None
    number = float(value)
    return None if math.isnan(number) else number


@dataclass(frozen=True)
class Extreme:
    """A value and the local time (``HH:MM``) and part of the day it occurs at."""

    value: float
    time: str
    period: str


@dataclass(frozen=True)
class Worst:
    """The worst level of an index and when it is first reached (local ``HH:MM``, part of day)."""

    level: int
    time: str
    period: str


@dataclass(frozen=True)
class PeriodWind:
    """The wind of one part of the day: the lowest and highest hourly 10 m speed (km/h); the
    direction it mostly blows from (degrees, meteorological: the speed-weighted vector mean of
    the hourly directions, None when the table has no ``wind_direction_deg`` or the mean
    vanishes) and the strongest gust (km/h, None when the table has no ``wind_gust_kmh``)."""

    speed_min_kmh: float
    speed_max_kmh: float
    direction_deg: float | None
    gust_max_kmh: float | None


@dataclass(frozen=True)
class PeriodFacts:
    """The aggregates of one part of a local day (:data:`bulletin.facts.aggregate.PERIODS`).

    Missing values are None; ``snow_hours`` is None when the table has no snowfall column.
    ``frostbite_minutes_min`` is the shortest quotable time to frostbite
    (:data:`FROSTBITE_QUOTE_WIND_KMH`, :data:`FROSTBITE_QUOTE_MAX_MIN`)."""

    key: str
    hours: int
    first_time: str
    last_time: str
    t_min: Extreme
    t_max: Extreme
    wind_max: Extreme
    wind_chill_min: Extreme
    uv_max: float | None
    frostbite_minutes_min: float | None
    clothing_clo_max: float | None
    exposure_limit_h_min: float | None
    cloud_mean: float | None
    snow_hours: int | None
    levels: Mapping[str, Worst | None]
    goggles_lens_max: str
    cold_reasons: tuple[str, ...]
    wind: PeriodWind | None = None

    def level(self, index: str) -> int:
        """The worst level of ``index`` in this part of the day (0 when it has none)."""
        worst = self.levels[index]
        return 0 if worst is None else worst.level


@dataclass(frozen=True)
class DaySummary:
    """The whole local day (night included): what the trend is judged on, and the cold/flu
    reasons of the day."""

    date: dt.date
    t_min: float
    t_max: float
    wind_max_kmh: float
    cold_reasons: tuple[str, ...]


@dataclass(frozen=True)
class Trend:
    """The change since the day before: ``temperature`` one of None, "colder", "much_colder",
    "warmer", "much_warmer", "cold_wave" (``change`` in K, positive); ``wind`` None,
    "stronger" or "weaker"."""

    temperature: str | None
    change: float
    wind: str | None


@dataclass(frozen=True)
class Wind:
    """The wind of the spectator hours: strongest 10 m speed (km/h) and its time; the direction
    it blows from at that time (degrees) and the strongest gust, when the table has
    ``wind_direction_deg`` and ``wind_gust_kmh`` (None otherwise)."""

    speed_max_kmh: float
    time: str
    direction_deg: float | None
    gust_max_kmh: float | None


@dataclass(frozen=True)
class Weather:
    """Spectator-hours weather of a venue-day: temperature range, strongest wind, mean cloud
    cover (of the parts of the day, missing as 0), hours of snow, lowest wind chill."""

    t_min: float
    t_max: float
    wind_kmh: float
    cloud: float
    snow_hours: int
    wind_chill: float


@dataclass(frozen=True)
class VenueDay:
    """The facts of one venue on one local day."""

    venue: Venue
    date: dt.date
    periods: tuple[PeriodFacts, ...]  # the spectator parts of the day, in order
    today: DaySummary
    yesterday: DaySummary | None  # when the table covers all of the day before
    # Daily minima (°C) of the 1, 2 and 3 days before, None where the table does not cover
    # that whole day: the 24, 48 and 72 h falls of GB/T 20484-2017 (facts.alerts).
    earlier_t_min: tuple[float | None, float | None, float | None]
    worst: Mapping[str, Worst]  # every index of LEVEL_INDICES, over the spectator hours
    wind_chill_min: Extreme
    temperature_min: Extreme
    temperature_max: Extreme
    wind: Wind
    weather: Weather
    trend: Trend
    frostbite_minutes: float | None  # shortest quotable minutes, when the level is 2 or more
    clothing_clo: float | None
    exposure_limit_h: float | None
    uv_max: float
    darkest_lens: str  # ISO 12312-1 S0-S4 of the spectator hours, "" when none
    lenses: tuple[str, ...]  # the lenses of the parts that need goggles, darkest first
    worst_period: str | None  # where the composite level is highest, None when uniform
    hours: DayHours = field(compare=False, repr=False)  # every hour of the day, for the chart
    #: Ensemble forecasts: for each index, the highest fraction of members at level 3 or more
    #: over the spectator hours (the table's ``p_<index>_level_ge3``); empty otherwise.
    chances: Mapping[str, float] = field(default_factory=dict)

    def level(self, index: str) -> int:
        """The worst level of ``index`` over the spectator hours."""
        return self.worst[index].level


@dataclass(frozen=True)
class OverviewFacts:
    """The facts of every venue on one local day, in the order of the venues."""

    date: dt.date
    days: tuple[VenueDay, ...]

    @property
    def venue_ids(self) -> tuple[str, ...]:
        return tuple(day.venue.id for day in self.days)


# -- building ------------------------------------------------------------------------------------
def _extreme(row: Mapping[str, Any], prefix: str, period: str) -> Extreme:
    return Extreme(float(row[prefix]), str(row[f"{prefix}_time"]), period)


def _period_facts(row: Mapping[str, Any], has_snow: bool) -> PeriodFacts:
    key = str(row["period"])
    levels: dict[str, Worst | None] = {}
    for name, index in zip(LEVEL_VARIABLES, LEVEL_INDICES, strict=True):
        # A part of the day whose level is missing in every hour has no level (the records of
        # a nullable column give None or pd.NA for it).
        value = _number(row[f"{name}_max"])
        levels[index] = (
            None if value is None else Worst(int(value), str(row[f"{name}_max_time"]), key)
        )
    reasons = str(row.get("cold_reasons", "") or "")
    return PeriodFacts(
        key=key,
        hours=int(row["hours"]),
        first_time=str(row["first_time"]),
        last_time=str(row["last_time"]),
        t_min=_extreme(row, "temperature_min", key),
        t_max=_extreme(row, "temperature_max", key),
        wind_max=_extreme(row, "wind_speed_max", key),
        wind_chill_min=_extreme(row, "wind_chill_min", key),
        uv_max=_number(row["uv_index_max"]),
        frostbite_minutes_min=_number(row["frostbite_minutes_min"]),
        clothing_clo_max=_number(row["clothing_clo_max"]),
        exposure_limit_h_min=_number(row["exposure_limit_h_min"]),
        cloud_mean=_number(row["cloud_cover_mean"]),
        snow_hours=int(row["snowfall_hours"]) if has_snow else None,
        levels=levels,
        goggles_lens_max=str(row["goggles_lens_max"] or ""),
        cold_reasons=tuple(r for r in reasons.split(";") if r),
    )


def _day_summary(row: Mapping[str, Any]) -> DaySummary:
    reasons = str(row.get("cold_reasons", "") or "")
    return DaySummary(
        date=dt.date.fromisoformat(str(row["local_date"])),
        t_min=float(row["temperature_min"]),
        t_max=float(row["temperature_max"]),
        wind_max_kmh=float(row["wind_speed_max"]),
        cold_reasons=tuple(r for r in reasons.split(";") if r),
    )


def _first_extreme(values: Sequence[Extreme], how: str) -> Extreme:
    """The lowest (highest) of ``values``, missing values skipped, the first of equals."""
    known = [v for v in values if not math.isnan(v.value)] or list(values[:1])
    best = (min if how == "min" else max)(v.value for v in known)
    return next(v for v in known if v.value == best or math.isnan(best))


def _skipna(values: Sequence[float], how: str) -> float:
    """The lowest (highest) of ``values``, NaN skipped; NaN when all are missing."""
    known = [v for v in values if not math.isnan(v)]
    return (min if how == "min" else max)(known) if known else math.nan


def _defined(values: Sequence[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def trend(today: DaySummary, yesterday: DaySummary | None) -> Trend:
    """The change of temperature and wind since the day before (thresholds: :data:`TREND_K`,
    :data:`MARKED_TREND_K`, :data:`COLD_WAVE_DROP_K`, :data:`WIND_TREND_FORCES`, ...)."""
    if yesterday is None:
        return Trend(None, 0.0, None)
    temperature, change, wind = None, 0.0, None
    drop = yesterday.t_min - today.t_min
    rise = today.t_max - yesterday.t_max
    if drop >= COLD_WAVE_DROP_K and today.t_min <= COLD_WAVE_MAX_TMIN:
        temperature, change = "cold_wave", drop
    elif drop >= TREND_K and drop >= rise:
        temperature, change = ("much_colder" if drop >= MARKED_TREND_K else "colder"), drop
    elif rise >= TREND_K:
        temperature, change = ("much_warmer" if rise >= MARKED_TREND_K else "warmer"), rise
    force_now = beaufort_force(today.wind_max_kmh)
    force_before = beaufort_force(yesterday.wind_max_kmh)
    if force_now - force_before >= WIND_TREND_FORCES and force_now >= WIND_TREND_MIN_FORCE:
        wind = "stronger"
    elif force_before - force_now >= WIND_TREND_FORCES and force_before >= WIND_TREND_MIN_FORCE:
        wind = "weaker"
    return Trend(temperature, change, wind)


def _wind(rows: VenueRows, strongest: Extreme) -> Wind:
    """The wind facts of the spectator hours of ``rows`` (one local day)."""
    frame = rows.frame
    spectator = (rows.wall.dt.hour >= PERIODS[SPECTATOR_PERIODS[0]][0]).to_numpy()
    direction = gust = None
    if "wind_direction_deg" in frame:
        speeds = frame["wind_speed_10m_kmh"].astype("float64")[spectator]
        at = speeds.idxmax() if speeds.notna().any() else None
        direction = None if at is None else _number(frame.loc[at, "wind_direction_deg"])
    if "wind_gust_kmh" in frame:
        gust = _number(frame["wind_gust_kmh"].astype("float64")[spectator].max())
    return Wind(strongest.value, strongest.time, direction, gust)


def _period_winds(rows: VenueRows) -> dict[str, PeriodWind]:
    """The wind of each part of the day of ``rows`` (one local day), by period key."""
    frame = rows.frame
    hours = rows.wall.dt.hour.to_numpy()
    speed = frame["wind_speed_10m_kmh"].astype("float64").to_numpy()
    direction = (
        frame["wind_direction_deg"].astype("float64").to_numpy()
        if "wind_direction_deg" in frame
        else None
    )
    gust = frame["wind_gust_kmh"].astype("float64").to_numpy() if "wind_gust_kmh" in frame else None
    winds: dict[str, PeriodWind] = {}
    for key, (start, end) in PERIODS.items():
        inside = (hours >= start) & (hours < end) & ~np.isnan(speed)
        if not inside.any():
            continue
        mean_direction = None
        if direction is not None:
            known = inside & ~np.isnan(direction)
            radians = np.deg2rad(direction[known])
            # Meteorological direction (where the wind comes from): the vector mean of unit
            # vectors weighted by speed, so a calm hour does not swing the direction.
            east = float(np.sum(speed[known] * np.sin(radians)))
            north = float(np.sum(speed[known] * np.cos(radians)))
            if math.hypot(east, north) > 1e-6:
                mean_direction = math.degrees(math.atan2(east, north)) % 360.0
        gusts = None if gust is None else gust[inside & ~np.isnan(gust)]
        winds[key] = PeriodWind(
            speed_min_kmh=float(speed[inside].min()),
            speed_max_kmh=float(speed[inside].max()),
            direction_deg=mean_direction,
            gust_max_kmh=float(gusts.max()) if gusts is not None and gusts.size else None,
        )
    return winds


def _chances(rows: VenueRows) -> dict[str, float]:
    """The highest probability of level >= 3 of each index over the spectator hours, from an
    ensemble table's ``p_<index>_level_ge3`` columns (none: an empty mapping)."""
    spectator = (rows.wall.dt.hour >= PERIODS[SPECTATOR_PERIODS[0]][0]).to_numpy()
    chances: dict[str, float] = {}
    for index in LEVEL_INDICES:
        column = f"p_{index}_level_ge3"
        if column in rows.frame:
            value = _number(rows.frame[column].astype("float64")[spectator].max())
            if value is not None:
                chances[index] = value
    return chances


def _quotable_frostbite(rows: VenueRows) -> VenueRows:
    """Minutes to frostbite are quotable only inside the regression's fit range; the others are
    hidden before aggregating, so the minimum is the one the bulletin may speak."""
    wind = rows.frame["wind_speed_10m_kmh"].astype("float64")
    minutes = rows.frame["frostbite_minutes"].astype("float64")
    quotable = (
        (wind > FROSTBITE_QUOTE_WIND_KMH[0])
        & (wind <= FROSTBITE_QUOTE_WIND_KMH[1])
        & (minutes <= FROSTBITE_QUOTE_MAX_MIN)
    )
    return rows.replace(frostbite_minutes=minutes.where(quotable))


def _earlier_minima(
    rows: VenueRows, date: dt.date, days: Mapping[dt.date, bool]
) -> tuple[float | None, float | None, float | None]:
    """The daily minimum temperature of each of the three days before ``date`` that the table
    covers whole (``days``), else None."""
    earlier = [date - dt.timedelta(days=k) for k in (1, 2, 3)]
    covered = {d.isoformat() for d in earlier if days.get(d, False)}
    if not covered:
        return (None, None, None)
    picked = rows.on(covered)
    minima = {
        str(row["local_date"]): float(row["temperature_min"])
        for row in aggregate(picked.frame, picked.wall, by="day").to_dict("records")
    }
    first, second, third = (minima.get(d.isoformat()) for d in earlier)
    return (first, second, third)


def _build_day(rows: VenueRows, date: dt.date, days: Mapping[dt.date, bool]) -> VenueDay:
    venue = rows.venue
    iso = date.isoformat()
    before_date = date - dt.timedelta(days=1)
    before = before_date.isoformat()
    has_yesterday = bool(days.get(before_date, False))
    earlier_t_min = _earlier_minima(rows, date, days)
    rows = _quotable_frostbite(rows.on({iso, before}))
    today_rows = rows.on({iso})
    period_table = aggregate(today_rows.frame, today_rows.wall, by="period")
    spectator = period_table[period_table["period"].isin(SPECTATOR_PERIODS)]
    if spectator.empty:
        raise ScriptError(
            f"venue {venue.id}: the table has no hours between 06:00 and 24:00 on {iso}"
        )
    for index in LEVEL_INDICES:
        if spectator[f"{index}_level_max"].isna().all():
            raise ScriptError(f"venue {venue.id}: {index}_level is empty on {iso}")
    has_snow = "snowfall_hours" in spectator
    winds = _period_winds(today_rows)
    periods = tuple(
        dataclasses.replace(_period_facts(row, has_snow), wind=winds.get(str(row["period"])))
        for row in spectator.to_dict("records")
    )
    both = rows if has_yesterday else today_rows
    summaries = {
        str(row["local_date"]): _day_summary(row)
        for row in aggregate(both.frame, both.wall, by="day").to_dict("records")
    }
    today = summaries[iso]
    yesterday = summaries[before] if has_yesterday else None

    worst: dict[str, Worst] = {}
    for index in LEVEL_INDICES:
        found = [p.levels[index] for p in periods if p.levels[index] is not None]
        if found:
            top = max(w.level for w in found)
            worst[index] = next(w for w in found if w.level == top)
    wind_chill_min = _first_extreme([p.wind_chill_min for p in periods], "min")
    wind_max = _first_extreme([p.wind_max for p in periods], "max")
    clouds = [0.0 if p.cloud_mean is None else p.cloud_mean for p in periods]
    weather = Weather(
        t_min=_skipna([p.t_min.value for p in periods], "min"),
        t_max=_skipna([p.t_max.value for p in periods], "max"),
        wind_kmh=wind_max.value,
        cloud=float(np.mean(np.asarray(clouds, dtype=np.float64))),
        snow_hours=sum(p.snow_hours or 0 for p in periods),
        wind_chill=wind_chill_min.value,
    )
    minutes = _defined([p.frostbite_minutes_min for p in periods])
    clo = _defined([p.clothing_clo_max for p in periods])
    exposure = _defined([p.exposure_limit_h_min for p in periods])
    uv = _defined([p.uv_max for p in periods])
    lenses = [p.goggles_lens_max for p in periods if p.goggles_lens_max]
    wanted = sorted(
        {p.goggles_lens_max for p in periods if p.level("goggles") >= 2 and p.goggles_lens_max},
        reverse=True,
    )
    spectator_levels = [p.level("spectator") for p in periods]
    top = max(spectator_levels)
    return VenueDay(
        venue=venue,
        date=date,
        periods=periods,
        today=today,
        yesterday=yesterday,
        earlier_t_min=earlier_t_min,
        worst=worst,
        wind_chill_min=wind_chill_min,
        temperature_min=_first_extreme([p.t_min for p in periods], "min"),
        temperature_max=_first_extreme([p.t_max for p in periods], "max"),
        wind=_wind(today_rows, wind_max),
        weather=weather,
        trend=trend(today, yesterday),
        frostbite_minutes=min(minutes) if minutes and worst["frostbite"].level >= 2 else None,
        clothing_clo=max(clo) if clo else None,
        exposure_limit_h=min(exposure) if exposure else None,
        uv_max=max(uv) if uv else 0.0,
        darkest_lens=max(lenses) if lenses else "",
        lenses=tuple(wanted),
        worst_period=(
            periods[spectator_levels.index(top)].key if len(set(spectator_levels)) > 1 else None
        ),
        hours=day_hours(today_rows, venue, date),
        chances=_chances(today_rows),
    )


def _choose_date(rows: VenueRows, date: dt.date | None, days: Mapping[dt.date, bool]) -> dt.date:
    dates = list(days)
    if date is None:
        full = [day for day, is_full in days.items() if is_full]
        if not full:
            raise ScriptError(
                f"venue {rows.venue.id}: the table covers no full local day "
                f"({dates[0]} to {dates[-1]}); pass a date"
            )
        return full[0]
    if date not in days:
        raise ScriptError(
            f"date {date.isoformat()} is not in the venue table (local dates {dates[0]} to "
            f"{dates[-1]})"
        )
    return date


def venue_day(table: pd.DataFrame | VenueRows, venue: Venue, date: dt.date | None) -> VenueDay:
    """The facts of ``venue`` on the local ``date`` (None: its first full local day).

    ``table`` is a venue table (one forecast) or the venue's :class:`VenueRows`."""
    rows = table if isinstance(table, VenueRows) else venue_rows(table, venue)
    days = {day.date: day.full for day in rows.local_days()}
    return _build_day(rows, _choose_date(rows, date, days), days)


def venue_days(table: pd.DataFrame, venue: Venue) -> list[VenueDay]:
    """The facts of every local day of ``venue`` in the table that has spectator hours."""
    rows = venue_rows(table, venue)
    days = {day.date: day.full for day in rows.local_days()}
    result = []
    for date in days:
        try:
            result.append(_build_day(rows, date, days))
        except ScriptError:
            continue  # a day without hours from 06:00 has no facts
    return result


def overview(table: pd.DataFrame, venues: Sequence[Venue], date: dt.date | None) -> OverviewFacts:
    """The facts of all ``venues`` on the local ``date`` (None: the first full local day of
    the first venue)."""
    if not venues:
        raise ScriptError("an overview needs at least one venue")
    first = venue_day(table, venues[0], date)
    days = [first] + [venue_day(table, venue, first.date) for venue in venues[1:]]
    return OverviewFacts(first.date, tuple(days))
