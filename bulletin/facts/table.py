"""The venue table with real times: the ISO strings of ``time_utc`` and ``time_local`` are
parsed here, once, and every later stage reads the parsed times.

``time_utc`` (``2022-02-04T12:00:00Z``) becomes a tz-aware UTC time; ``time_local``
(``2022-02-04T20:00:00+08:00``) gives the venue's wall-clock time (its first 19 characters,
whatever the offset, so that a local day is the calendar day the venue lives) and, with its
offset, a tz-aware local time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..compute import LEVEL_VARIABLES
from ..errors import ScriptError
from ..venues import Venue
from .ensemble import control_member

#: The columns the facts are built from (:func:`bulletin.venue_table` writes them all).
REQUIRED_COLUMNS = (
    "venue_id",
    "time_utc",
    "time_local",
    "temperature_degC",
    "relative_humidity_pct",
    "wind_speed_10m_kmh",
    "cloud_cover_pct",
    "uv_index",
    "wind_chill_degC",
    "frostbite_minutes",
    "clothing_clo",
    "exposure_limit_h",
    "goggles_lens",
    *LEVEL_VARIABLES,
)

MINUTES_PER_DAY = 24 * 60


def wall_clock(time_local: pd.Series) -> pd.Series:
    """The wall-clock part of ISO local times (naive ``datetime64``), whatever the offset."""
    return pd.to_datetime(time_local.str.slice(0, 19))


@dataclass(frozen=True, eq=False)
class LocalDay:
    """A local calendar day of a venue in the table, and whether the rows cover all of it
    (the first time step starts it and the last one ends it, within one time step)."""

    date: dt.date
    full: bool


@dataclass(frozen=True, eq=False)
class VenueRows:
    """One venue's rows of a venue table (one forecast), with parsed times.

    ``frame`` holds the table's rows of the venue, in table order, indexed from 0; ``wall`` is
    the local wall-clock time of each row (naive), ``utc`` its UTC time (tz-aware), both
    aligned with ``frame``.
    """

    venue: Venue
    frame: pd.DataFrame
    wall: pd.Series
    utc: pd.Series

    @property
    def local(self) -> pd.Series:
        """The tz-aware local time of each row (the UTC time with the row's own offset)."""
        offsets = self.wall - self.utc.dt.tz_localize(None)
        return pd.Series(
            [
                utc.to_pydatetime().astimezone(dt.timezone(offset.to_pytimedelta()))
                for utc, offset in zip(self.utc, offsets, strict=True)
            ],
            index=self.frame.index,
            dtype=object,
        )

    @property
    def dates(self) -> pd.Series:
        """The local date of each row, as ``YYYY-MM-DD``."""
        return self.wall.dt.strftime("%Y-%m-%d")

    def step_minutes(self) -> float:
        """The median time step of the rows, minutes (60 for a single time)."""
        times = self.utc.drop_duplicates().sort_values()
        steps = np.diff(times.to_numpy()).astype("timedelta64[s]").astype(float) / 60.0
        return float(np.median(steps)) if steps.size else 60.0

    def local_days(self) -> tuple[LocalDay, ...]:
        """The local days the rows touch, in date order."""
        step = self.step_minutes()
        minutes = self.wall.dt.hour * 60 + self.wall.dt.minute
        spans = (
            pd.DataFrame({"local_date": self.dates, "minutes": minutes})
            .groupby("local_date", sort=True)["minutes"]
            .agg(["min", "max"])
        )
        return tuple(
            LocalDay(
                dt.date.fromisoformat(str(day)),
                bool(first < step and last + step >= MINUTES_PER_DAY),
            )
            for day, first, last in zip(spans.index, spans["min"], spans["max"], strict=True)
        )

    def on(self, dates: set[str] | frozenset[str]) -> VenueRows:
        """The rows whose local date (``YYYY-MM-DD``) is one of ``dates``."""
        return self.where(self.dates.isin(dates).to_numpy())

    def where(self, keep: np.ndarray) -> VenueRows:
        """The rows where ``keep`` is true, indexed from 0 again."""
        return VenueRows(
            self.venue,
            self.frame[keep].reset_index(drop=True),
            self.wall[keep].reset_index(drop=True),
            self.utc[keep].reset_index(drop=True),
        )

    def replace(self, **columns: pd.Series) -> VenueRows:
        """The same rows with some columns replaced."""
        return VenueRows(self.venue, self.frame.assign(**columns), self.wall, self.utc)


def check_table(table: object) -> pd.DataFrame:
    """The venue table, checked: a DataFrame with the required columns, of one forecast (an
    ensemble table gives its control member, :func:`bulletin.facts.ensemble.control_member`)."""
    if not isinstance(table, pd.DataFrame):
        raise ScriptError(f"expected a venue table (pandas DataFrame), not {type(table).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise ScriptError(
            f"venue table lacks column(s) {', '.join(missing)} (make it with bulletin.venue_table)"
        )
    return control_member(table)


def venue_rows(table: pd.DataFrame, venue: Venue) -> VenueRows:
    """The rows of ``venue`` in a venue table, with their times parsed."""
    table = check_table(table)
    frame = table[table["venue_id"] == venue.id]
    if frame.empty:
        known = ", ".join(dict.fromkeys(table["venue_id"].astype(str)))
        raise ScriptError(f"venue {venue.id!r} is not in the venue table (it has: {known})")
    frame = frame.reset_index(drop=True)
    return VenueRows(
        venue,
        frame,
        wall_clock(frame["time_local"]),
        pd.to_datetime(frame["time_utc"], utc=True),
    )


def local_days(table: pd.DataFrame, venue: Venue) -> tuple[LocalDay, ...]:
    """The local days of ``venue`` in the table, in date order, and which are full."""
    return venue_rows(table, venue).local_days()


@dataclass(frozen=True, eq=False)
class DayHours:
    """The hourly values of one venue on one local day, in time order: the local hour of day
    of each row (``14.5`` is 14:30), temperature and wind chill (°C), and each level column
    (``wind_chill_level``, ..., missing levels as NaN)."""

    venue_id: str
    date: dt.date
    hours: np.ndarray
    temperature_degc: np.ndarray
    wind_chill_degc: np.ndarray
    levels: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.hours)


def day_hours(table: pd.DataFrame | VenueRows, venue: Venue, date: dt.date) -> DayHours:
    """The rows of ``venue`` on the local ``date`` as arrays (empty when it has none), from a
    venue table or from the venue's :class:`VenueRows` (whose times are parsed already)."""
    if isinstance(table, VenueRows):
        frame, wall, utc = table.frame, table.wall, table.utc
    else:
        frame = table[table["venue_id"] == venue.id]
        wall = wall_clock(frame["time_local"])
        utc = None
    keep = (wall.dt.strftime("%Y-%m-%d") == date.isoformat()).to_numpy()
    frame, wall = frame[keep], wall[keep]
    utc = pd.to_datetime(frame["time_utc"], utc=True) if utc is None else utc[keep]
    order = np.argsort(utc.to_numpy(), kind="stable")
    frame, wall = frame.iloc[order], wall.iloc[order]
    level_columns = [c for c in frame.columns if c.endswith("_level")]
    return DayHours(
        venue_id=venue.id,
        date=date,
        hours=(wall.dt.hour + wall.dt.minute / 60.0).to_numpy(),
        temperature_degc=frame["temperature_degC"].astype("float64").to_numpy(),
        wind_chill_degc=frame["wind_chill_degC"].astype("float64").to_numpy(),
        levels={c: frame[c].astype("float64").to_numpy() for c in level_columns},
    )
