"""Venue extraction (bilinear, elevation correction), the venue table and daily summaries."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from bulletin import compute_indices, summarize, venue_table
from bulletin.errors import VenueError
from bulletin.extract import CORE_COLUMNS, extract_venues
from bulletin.venues import Venue

from .synthetic import schema_dataset

VENUES = [
    Venue("high", "High", 40.55, 115.52, 1650.0),
    Venue("low", "Low", 40.1, 116.1, 60.0, timezone="Asia/Tokyo"),
]


def linear_dataset():
    ds = schema_dataset()
    la, lo = np.meshgrid(ds["latitude"].values, ds["longitude"].values, indexing="ij")
    plane = (2.0 * la - 3.0 * lo).astype(np.float32)
    ds["t2m"] = ds["t2m"] * 0 + plane - plane.mean() - 10
    ds["orography"] = ds["orography"] * 0 + np.float32(1000.0)
    return ds, plane.mean()


def test_bilinear_is_exact_for_a_plane_and_lapse_rate_moves_temperature():
    ds, mean = linear_dataset()
    raw = extract_venues(ds, VENUES, lapse_rate_correction=False)
    expected = [2.0 * v.lat - 3.0 * v.lon - mean - 10 for v in VENUES]
    np.testing.assert_allclose(raw["t2m"].isel(time=0).values, expected, atol=1e-4)
    corrected = extract_venues(ds, VENUES)
    shift = corrected["t2m"] - raw["t2m"]
    # Model height 1000 m: the 1650 m venue is 4.2 K colder, the 60 m venue 6.1 K warmer.
    np.testing.assert_allclose(shift.isel(time=0).values, [-4.225, 6.11], atol=1e-3)
    np.testing.assert_allclose(corrected["orography"].values, [1650.0, 60.0])
    assert list(corrected["venue"].values) == ["high", "low"]


def test_without_orography_values_are_used_as_they_are():
    ds, _ = linear_dataset()
    ds = ds.drop_vars("orography")
    a = extract_venues(ds, VENUES)
    b = extract_venues(ds, VENUES, lapse_rate_correction=False)
    np.testing.assert_array_equal(a["t2m"].values, b["t2m"].values)


def test_venue_outside_the_grid_is_a_clear_error():
    ds = schema_dataset()
    far = Venue("far-away", "Far", 45.0, 116.0, 10.0)
    with pytest.raises(VenueError, match=r"far-away.*outside the forecast grid"):
        venue_table(compute_indices(ds), [far])


def test_table_columns_rows_and_missing_frostbite():
    ds = schema_dataset()
    table = venue_table(compute_indices(ds), VENUES)
    assert list(table.columns[: len(CORE_COLUMNS)]) == list(CORE_COLUMNS)
    assert len(table) == len(VENUES) * ds.sizes["time"]
    assert list(table["venue_id"].unique()) == ["high", "low"]
    warm = table["temperature_degC"] >= -4.8
    assert table.loc[warm, "frostbite_minutes"].isna().all()
    assert table["time_utc"].iloc[0] == "2022-02-04T16:00:00Z"
    # Local time in each venue's own zone.
    assert table.loc[table.venue_id == "high", "time_local"].iloc[0] == "2022-02-05T00:00:00+08:00"
    assert table.loc[table.venue_id == "low", "time_local"].iloc[0] == "2022-02-05T01:00:00+09:00"
    assert set(table["goggles_lens"]) <= {"S0", "S1", "S2", "S3", "S4"}
    for name in ("wind_chill_level", "spectator_level"):
        assert str(table[name].dtype) == "Int8"
    csv = table.to_csv(index=False)
    assert "nan" not in csv.lower().replace("none", "")


def test_ensemble_rows_and_probabilities():
    ds = schema_dataset()
    members = xr.concat([ds, ds.assign(t2m=ds["t2m"] - 20)], dim="member").assign_coords(
        member=[0, 1]
    )
    table = venue_table(compute_indices(members), VENUES[:1])
    assert len(table) == 2 * ds.sizes["time"]
    assert table.columns[3] == "member"
    assert list(table["member"].iloc[:4]) == [0, 1, 0, 1]
    assert "p_spectator_level_ge3" in table
    first = table[table.time_utc == table.time_utc.iloc[0]]
    assert first["p_spectator_level_ge3"].nunique() == 1


def test_daily_summary_worst_levels_and_times():
    ds = schema_dataset()
    table = venue_table(compute_indices(ds), VENUES[:1])
    daily = summarize(table)
    assert list(daily["local_date"]) == ["2022-02-05", "2022-02-06", "2022-02-07"]
    day = table[table.time_local.str.startswith("2022-02-06")]
    row = daily[daily.local_date == "2022-02-06"].iloc[0]
    assert row["temperature_min"] == day["temperature_degC"].min()
    assert row["wind_chill_level_max"] == day["wind_chill_level"].max()
    first_worst = day[day["wind_chill_level"] == day["wind_chill_level"].max()].iloc[0]
    assert row["wind_chill_level_max_time"] == first_worst["time_local"][11:16]
    assert row["hours"] == 24
    periods = summarize(table, by="period")
    assert set(periods["period"]) == {"night", "morning", "afternoon", "evening"}
    assert len(periods) == 12
    assert list(periods["period"].iloc[:4]) == ["night", "morning", "afternoon", "evening"]
