"""The typed facts layer: parsed times, local days, and the facts of a venue's local day,
checked against the hourly rows of a real venue table."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from bulletin import compute_indices, load_catalogue, venue_table
from bulletin.errors import ScriptError
from bulletin.facts import (
    LEVEL_INDICES,
    SPECTATOR_PERIODS,
    OverviewFacts,
    VenueDay,
    local_days,
    overview,
    trend,
    venue_day,
    venue_days,
    venue_rows,
)
from bulletin.facts.table import day_hours

from .synthetic import schema_dataset

VENUE_IDS = ("national-alpine-skiing-centre", "genting-snow-park")
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _venues():
    catalogue = {v.id: v for v in load_catalogue()}
    return [catalogue[vid] for vid in VENUE_IDS]


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """72 hours from 2022-02-04 16:00 UTC: the local days 5-7 February, whole."""
    forecast = schema_dataset(lat=np.linspace(40.3, 41.2, 4), lon=np.linspace(115.2, 116.0, 4))
    return venue_table(compute_indices(forecast), _venues())


def _spectator_rows(table: pd.DataFrame, venue_id: str, date: str) -> pd.DataFrame:
    rows = table[(table["venue_id"] == venue_id) & (table["time_local"].str[:10] == date)]
    return rows[rows["time_local"].str[11:13].astype(int) >= 6].reset_index(drop=True)


def test_rows_carry_parsed_times(table):
    venue = _venues()[0]
    rows = venue_rows(table, venue)
    assert len(rows.frame) == 72
    assert str(rows.utc.dt.tz) == "UTC"
    assert rows.utc.iloc[0] == pd.Timestamp("2022-02-04T16:00", tz="UTC")
    assert rows.wall.iloc[0] == pd.Timestamp("2022-02-05T00:00")
    first = rows.local.iloc[0]
    assert first == dt.datetime(2022, 2, 5, tzinfo=SHANGHAI)
    assert first.utcoffset() == dt.timedelta(hours=8)


def test_local_days_say_which_are_whole(table):
    days = local_days(table, _venues()[0])
    assert [(d.date.isoformat(), d.full) for d in days] == [
        ("2022-02-05", True),
        ("2022-02-06", True),
        ("2022-02-07", True),
    ]
    # Without the first six hours the first day is no longer whole.
    later = table[table["time_utc"] >= "2022-02-04T22:00"]
    assert [d.full for d in local_days(later, _venues()[0])] == [False, True, True]


def test_bad_tables_give_one_line_errors(table):
    venue = _venues()[0]
    with pytest.raises(ScriptError, match="expected a venue table"):
        venue_rows(table.to_dict(), venue)
    with pytest.raises(ScriptError, match="lacks column"):
        venue_rows(table.drop(columns=["uv_index"]), venue)
    with pytest.raises(ScriptError, match="ensemble venue table is empty"):
        venue_rows(table.iloc[0:0].assign(member=0), venue)
    with pytest.raises(ScriptError, match="is not in the venue table"):
        venue_rows(table[table["venue_id"] != venue.id], venue)
    with pytest.raises(ScriptError, match="is not in the venue table"):
        venue_day(table, venue, dt.date(2022, 3, 1))


def test_an_ensemble_table_is_read_as_its_control_member(table):
    venue = _venues()[0]
    members = [table.assign(member=m) for m in (0, 1)]
    members[1]["temperature_degC"] = members[1]["temperature_degC"] - 10.0
    ensemble = pd.concat(members, ignore_index=True)
    rows = venue_rows(ensemble, venue)
    assert "member" not in rows.frame
    own = venue_rows(table, venue)
    assert rows.frame["temperature_degC"].tolist() == own.frame["temperature_degC"].tolist()


def test_day_facts_agree_with_the_hourly_rows(table):
    venue = _venues()[0]
    day = venue_day(table, venue, dt.date(2022, 2, 6))
    hourly = _spectator_rows(table, venue.id, "2022-02-06")
    assert [p.key for p in day.periods] == list(SPECTATOR_PERIODS)
    assert sum(p.hours for p in day.periods) == len(hourly) == 18
    coldest = hourly["temperature_degC"].idxmin()
    assert day.temperature_min.value == hourly["temperature_degC"].min()
    assert day.temperature_min.time == hourly["time_local"][coldest][11:16]
    assert day.temperature_max.value == hourly["temperature_degC"].max()
    chill = hourly["wind_chill_degC"].idxmin()
    assert day.wind_chill_min.value == hourly["wind_chill_degC"].min()
    assert day.wind_chill_min.time == hourly["time_local"][chill][11:16]
    for index in LEVEL_INDICES:
        levels = hourly[f"{index}_level"].astype(int)
        assert day.level(index) == levels.max(), index
        first = levels[levels == levels.max()].index[0]
        assert day.worst[index].time == hourly["time_local"][first][11:16], index
    assert day.wind.speed_max_kmh == hourly["wind_speed_10m_kmh"].max()
    assert day.uv_max == hourly["uv_index"].max()
    assert day.weather.t_min == day.temperature_min.value
    assert day.darkest_lens == max(hourly["goggles_lens"])


def test_trend_against_the_day_before(table):
    venue = _venues()[0]
    first = venue_day(table, venue, None)
    assert first.date == dt.date(2022, 2, 5)
    assert first.yesterday is None
    assert first.trend == trend(first.today, None)
    assert (first.trend.temperature, first.trend.wind) == (None, None)
    second = venue_day(table, venue, dt.date(2022, 2, 6))
    assert second.yesterday == first.today
    # A day 9 K colder at night that ends below 4 °C is a cold wave; 4 K warmer is "warmer".
    colder = dataclasses.replace(second.today, t_min=first.today.t_min - 9.0)
    assert trend(colder, first.today).temperature == "cold_wave"
    warmer = dataclasses.replace(second.today, t_min=first.today.t_min, t_max=first.today.t_max + 4)
    assert trend(warmer, first.today).temperature == "warmer"
    assert trend(warmer, first.today).change == pytest.approx(4.0)


def test_wind_direction_and_gusts_only_when_the_table_has_them(table):
    venue = _venues()[0]
    day = venue_day(table, venue, dt.date(2022, 2, 6))
    assert (day.wind.direction_deg, day.wind.gust_max_kmh) == (None, None)
    richer = table.assign(
        wind_direction_deg=np.arange(len(table), dtype=float) % 360,
        wind_gust_kmh=table["wind_speed_10m_kmh"] * 1.5,
    )
    day = venue_day(richer, venue, dt.date(2022, 2, 6))
    hourly = _spectator_rows(richer, venue.id, "2022-02-06")
    strongest = hourly["wind_speed_10m_kmh"].idxmax()
    assert day.wind.direction_deg == hourly["wind_direction_deg"][strongest]
    assert day.wind.gust_max_kmh == hourly["wind_gust_kmh"].max()


def test_facts_are_frozen(table):
    day = venue_day(table, _venues()[0], None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        day.date = dt.date(2000, 1, 1)  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        day.periods[0].key = "night"  # type: ignore[misc]


def test_venue_days_and_overview(table):
    venues = _venues()
    days = venue_days(table, venues[1])
    assert [d.date.isoformat() for d in days] == ["2022-02-05", "2022-02-06", "2022-02-07"]
    assert all(isinstance(d, VenueDay) for d in days)
    facts = overview(table, venues, None)
    assert isinstance(facts, OverviewFacts)
    assert facts.date == dt.date(2022, 2, 5)
    assert facts.venue_ids == VENUE_IDS
    assert facts.days[1] == days[0]
    with pytest.raises(ScriptError, match="at least one venue"):
        overview(table, [], None)


def test_day_hours_are_in_time_order(table):
    venue = _venues()[0]
    shuffled = table.sample(frac=1.0, random_state=3)
    hours = day_hours(shuffled, venue, dt.date(2022, 2, 6))
    assert len(hours) == 24
    assert hours.hours.tolist() == [float(h) for h in range(24)]
    hourly = table[(table["venue_id"] == venue.id) & (table["time_local"].str[:10] == "2022-02-06")]
    assert hours.temperature_degc.tolist() == hourly["temperature_degC"].tolist()
    assert (
        hours.levels["spectator_level"].tolist() == hourly["spectator_level"].astype(float).tolist()
    )
    assert len(day_hours(table, venue, dt.date(2022, 3, 1))) == 0


def test_consumers_read_the_same_facts_as_from_the_table(table, tmp_path):
    from bulletin.script import render_overview, render_script
    from bulletin.video.cards import day_facts
    from bulletin.video.chart import write_chart

    venues = _venues()
    date = dt.date(2022, 2, 6)
    day = venue_day(table, venues[0], date)
    for lang in ("en", "zh"):
        from_table = render_script(table, venues[0], lang=lang, date=date)
        assert render_script(day, venues[0], lang=lang) == from_table
        facts = overview(table, venues, date)
        assert render_overview(facts, venues, lang=lang) == render_overview(
            table, venues, lang=lang, date=date
        )
        assert day_facts(day, venues[0], lang) == day_facts(table, venues[0], lang, date)
    hours = day_hours(table, venues[0], date)
    assert day.hours.hours.tolist() == hours.hours.tolist()
    assert day.hours.wind_chill_degc.tolist() == hours.wind_chill_degc.tolist()
    a = write_chart(table, venues[0], date, "en", tmp_path / "a.png")
    b = write_chart(day, venues[0], date, "en", tmp_path / "b.png")
    assert a.read_bytes() == b.read_bytes()
    with pytest.raises(ScriptError, match="several venues"):
        render_script(day, venues[0], lang="en", kind="overview", venues=venues)
