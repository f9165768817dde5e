"""The overview presenter's cues (it turns toward the venue a sentence names, on the map) and
the video title bar's forecast time (local, its zone named, as on the daily page)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from bulletin.pipeline import TimedSentence
from bulletin.venues import load_catalogue
from bulletin.video.compose import PANEL_BOX, PRESENTER_BOX
from bulletin.video.maps import MapVenue, render_venue_map
from bulletin.video.overview import overview_cues
from bulletin.wording import local_time_text

from .clirun import REPO

WEST, EAST = "genting-snow-park", "big-air-shougang"  # Zhangjiakou (north-west), Beijing
DAY = dt.date(2022, 2, 4)


@pytest.fixture(scope="module")
def overview_map():
    catalogue = {venue.id: venue for venue in load_catalogue()}
    venues = [catalogue[WEST], catalogue[EAST]]
    shown = [MapVenue(v.id, v.name, v.lat, v.lon, "low", "#2e7d32") for v in venues]
    x0, y0, x1, y1 = PANEL_BOX
    return venues, render_venue_map(None, shown, (x1 - x0, y1 - y0))


def _in_presenter_frame(x: float, y: float) -> tuple[float, float]:
    px0, py0, px1, py1 = PRESENTER_BOX
    return (PANEL_BOX[0] + x - px0) / (px1 - px0), (PANEL_BOX[1] + y - py0) / (py1 - py0)


def test_overview_cues_turn_toward_the_spoken_venues_marker(overview_map):
    venues, drawn = overview_map
    said = [
        ("Here is the forecast for all venues.", None),
        ("The coldest wind chill is at Genting Snow Park.", "wind_chill"),
        ("It turns milder at Big Air Shougang.", None),
        ("Cold wave alert for all venues.", None),
        ("Sun protection: moderate UV at all venues.", "sunscreen"),
        ("Stay safe.", None),
    ]
    sentences = [TimedSentence(d, d, ix, 2.0 * i, 2.0 * i + 1.5) for i, (d, ix) in enumerate(said)]
    alerts = [{"kind": "cold_wave", "text": "Cold wave alert for all venues."}]
    cues = overview_cues(sentences, venues, "en", drawn, alerts)
    # Every venue at once is nothing to turn to; the warning is serious.
    assert [c.kind for c in cues] == ["greet", "point", "point", "alert", "close"]
    west, east = cues[1], cues[2]
    assert (west.start_s, west.end_s) == (2.0, 3.5)
    assert west.target == pytest.approx(_in_presenter_frame(*drawn.positions[WEST]))
    assert east.target == pytest.approx(_in_presenter_frame(*drawn.positions[EAST]))
    # The map is right of the presenter; Genting is left of and above Shougang on it.
    assert 1 < west.target[0] < east.target[0]
    assert west.target[1] < east.target[1]


def test_a_sentence_naming_a_zone_points_at_its_venues(overview_map):
    venues, drawn = overview_map
    zone = venues[0].zone
    assert zone, "the Genting venue has a zone in the catalogue"
    sentences = [
        TimedSentence("Hello.", "Hello.", None, 0.0, 1.0),
        TimedSentence(f"Windy in {zone}.", f"Windy in {zone}.", None, 1.0, 2.0),
        TimedSentence("Bye.", "Bye.", None, 2.0, 3.0),
    ]
    cues = overview_cues(sentences, venues, "en", drawn)
    assert [c.kind for c in cues] == ["greet", "point", "close"]
    assert cues[1].target == pytest.approx(_in_presenter_frame(*drawn.positions[WEST]))


# -- the video's title bar: the forecast time in the venue's zone, as the daily page shows it ---
INIT = dt.datetime(2022, 2, 4, 12, tzinfo=dt.UTC)


def test_the_title_bar_shows_the_forecast_time_in_the_venues_zone(overview_map):
    from PIL import Image

    from bulletin.video.cards import CardFacts, DayFacts
    from bulletin.video.compose import TITLE_BAR, WIDTH, draw_title_bar

    assert local_time_text(INIT, ZoneInfo("Asia/Shanghai"), "en") == (
        "2022-02-04 20:00 Beijing time (UTC+8)"
    )
    overall = CardFacts("spectator", "Spectator", 2, "Moderate", "#f1c40f", "")

    def bar(zone):
        facts = DayFacts("Venue", DAY, "Friday, February 4th", (), overall, "", zone)
        image = Image.new("RGB", (WIDTH, TITLE_BAR[3]))
        draw_title_bar(image, facts, "en", INIT)
        return np.asarray(image).astype(int)

    local, utc = bar(ZoneInfo("Asia/Shanghai")), bar(dt.UTC)
    # Only the forecast time, right of the date, differs: it is drawn in the facts' zone.
    assert np.array_equal(local[:, :860], utc[:, :860])
    assert np.abs(local[:, 860:] - utc[:, 860:]).max() > 100


def test_venue_and_overview_title_facts_carry_the_venues_zone(overview_map):
    from bulletin.pipeline import read_forecast
    from bulletin.video.cards import day_facts
    from bulletin.video.overview import overview_compositor

    venues, drawn = overview_map
    venue = venues[0]
    assert venue.timezone == "Asia/Shanghai"
    table = read_forecast([REPO / "samples" / "forecast_cf.nc"], [venue]).table
    assert day_facts(table, venue, "zh").zone == ZoneInfo("Asia/Shanghai")
    spoken = type("Spoken", (), {"sentences": (), "cues": ()})()
    compositor = overview_compositor(
        table, venues, "en", DAY, spoken, [], terrain=None, forecast_init=INIT, venue_map=drawn
    )
    assert compositor.facts.zone == ZoneInfo("Asia/Shanghai")
