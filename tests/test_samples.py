"""The shipped samples: small, readable in every format, and rich enough to reach every level."""

from __future__ import annotations

import numpy as np
import pytest

from bulletin import compute_indices, load_venues_file, open_forecast, venue_table
from bulletin.compute import LEVEL_VARIABLES

from .clirun import REPO

SAMPLES = REPO / "samples"
ALL_LEVELS = {
    "wind_chill_level": range(0, 7),
    "frostbite_level": range(1, 6),
    "clothing_level": range(1, 8),
    "cold_level": range(1, 5),
    "sunscreen_level": range(1, 6),
    "goggles_level": range(1, 5),
    "spectator_level": range(1, 5),
}


def test_samples_are_small():
    files = [p for p in SAMPLES.iterdir() if p.name.startswith("forecast_")]
    assert {p.suffix for p in files} >= {".nc", ".grib2"}
    total = sum(p.stat().st_size for p in files)
    assert total < 4e6, f"samples weigh {total / 1e6:.1f} MB"


@pytest.fixture(scope="module")
def sample_indices():
    beijing = compute_indices(open_forecast(SAMPLES / "forecast_ecmwf.grib2"))
    yulong = compute_indices(open_forecast(SAMPLES / "forecast_yulong_spring.nc"))
    return beijing, yulong


# Clothing level 1 (a jacket, ICLneutral <= 1 clo for a standing spectator) needs about +15 C
# in shade; neither sample (February in Beijing, spring on Yulong at 2.4-4.5 km) is that warm.
# tests/test_indices_clothing.py reaches it on mild conditions.
NOT_IN_SAMPLES = {"clothing_level": {1}}


def test_every_level_of_every_index_occurs(sample_indices):
    for name, levels in ALL_LEVELS.items():
        seen = set()
        for ds in sample_indices:
            seen |= set(np.unique(ds[name].values).tolist())
        missing = set(levels) - seen - NOT_IN_SAMPLES.get(name, set())
        assert not missing, f"{name}: levels {sorted(missing)} never occur in the samples"
    lenses = set()
    for ds in sample_indices:
        lenses |= set(np.unique(ds["goggles_lens"].values).tolist())
    assert set(range(5)) <= lenses, f"lens categories seen: {sorted(lenses)}"


def test_beijing_sample_has_the_three_weather_days(sample_indices):
    beijing, _ = sample_indices
    assert set(LEVEL_VARIABLES) <= set(beijing.data_vars)
    # A cold wave: the cooling component reaches its cold-wave score somewhere.
    assert int(beijing["cold_cooling"].max()) == 4
    # A windy day: 10 m wind above 15 m/s in the mountains.
    assert float(beijing["wind10"].max()) > 15
    # A clear snowy day: sunshine on fresh snow gives S3 or darker goggle lenses.
    assert int(beijing["goggles_lens"].max()) >= 3
    t = beijing["t2m"]
    # Summits near 2.7 km reach the high -30s in the cold wave; the plain stays below +10 °C.
    assert -40 < float(t.min()) < -20 and 0 < float(t.max()) < 10


def test_yulong_sample_with_its_venues():
    venues = load_venues_file(SAMPLES / "venues_yulong.csv")
    idx = compute_indices(open_forecast(SAMPLES / "forecast_yulong_spring.nc"))
    table = venue_table(idx, venues)
    assert set(table["venue_id"]) == {"yulong-glacier-park", "yulong-ganhaizi"}
    assert table["sunscreen_level"].max() == 5
