"""The venue map of the overview video: terrain from the forecast's own orography, shaded;
venues in the colour of their level, a legend naming the levels; the spoken venue ringed."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from bulletin import open_forecast
from bulletin.venues import load_catalogue
from bulletin.video.maps import (
    HIGHLIGHT,
    MapVenue,
    Terrain,
    render_venue_map,
    terrain_from_forecast,
)
from bulletin.video.overview import highlight_timeline, named_venues

from .clirun import REPO

SIZE = (720, 504)


@pytest.fixture(scope="module")
def catalogue():
    return {venue.id: venue for venue in load_catalogue()}


@pytest.fixture(scope="module")
def sample_terrain(catalogue):
    dataset = open_forecast([REPO / "samples" / "forecast_ecmwf.grib2"])
    return dataset, terrain_from_forecast(dataset, [(v.lat, v.lon) for v in catalogue.values()])


def _venues(catalogue, colours=("#d7191c", "#fdae61")):
    picked = [catalogue["genting-snow-park"], catalogue["big-air-shougang"]]
    return [
        MapVenue(v.id, v.name, v.lat, v.lon, f"level {k}", colours[k]) for k, v in enumerate(picked)
    ]


def test_terrain_is_the_forecasts_orography_around_the_venues(sample_terrain):
    dataset, terrain = sample_terrain
    assert terrain is not None and min(terrain.height_m.shape) >= 2
    orography = dataset["orography"]
    j, i = 3, 4
    expected = orography.sel(
        latitude=terrain.latitude[j, i], longitude=terrain.longitude[j, i], method="nearest"
    )
    assert terrain.height_m[j, i] == pytest.approx(float(expected))
    # The Zhangjiakou mountains stand well above the Beijing plain in the sample.
    assert terrain.height_m.max() - terrain.height_m.min() > 1000


def test_no_terrain_without_orography_or_on_cells():
    cells = xr.Dataset(
        {"orography": ("cell", np.arange(10.0))},
        coords={"latitude": ("cell", np.linspace(40, 41, 10)),
                "longitude": ("cell", np.linspace(115, 116, 10))},
    )  # fmt: skip
    assert terrain_from_forecast(cells, [(40.5, 115.5)]) is None
    assert terrain_from_forecast(cells.drop_vars("orography"), [(40.5, 115.5)]) is None


def test_terrain_arrays_must_agree():
    with pytest.raises(Exception, match="2-D of one shape"):
        Terrain(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((3, 2)))


def test_map_shades_the_relief_and_colours_venues_by_level(sample_terrain, catalogue):
    _, terrain = sample_terrain
    venues = _venues(catalogue)
    shaded = render_venue_map(terrain, venues, SIZE)
    flat = render_venue_map(None, venues, SIZE)
    assert shaded.image.size == SIZE == flat.image.size
    grey_shaded = np.asarray(shaded.image.convert("L"), dtype=float)[:400]
    grey_flat = np.asarray(flat.image.convert("L"), dtype=float)[:400]
    assert grey_shaded.std() > 3 * grey_flat.std()  # hills and valleys, not one flat tone
    pixels = np.asarray(shaded.image)
    for venue in venues:
        x, y = shaded.positions[venue.venue_id]
        assert 0 < x < SIZE[0] and 0 < y < SIZE[1]
        colour = tuple(int(venue.colour[i : i + 2], 16) for i in (1, 3, 5))
        assert np.abs(pixels[round(y), round(x)].astype(int) - colour).max() < 30


def test_highlight_rings_only_the_spoken_venue(sample_terrain, catalogue):
    _, terrain = sample_terrain
    venues = _venues(catalogue)
    drawn = render_venue_map(terrain, venues, SIZE)
    ringed = np.asarray(drawn.highlighted(["genting-snow-park"]))
    plain = np.asarray(drawn.image)

    def yellow_near(pixels, venue_id):
        x, y = (round(v) for v in drawn.positions[venue_id])
        patch = pixels[y - 20 : y + 21, x - 20 : x + 21].astype(int)
        return (np.abs(patch - HIGHLIGHT).max(axis=-1) < 40).sum()

    assert yellow_near(ringed, "genting-snow-park") > 50
    assert yellow_near(plain, "genting-snow-park") == 0
    assert yellow_near(ringed, "big-air-shougang") == 0


def test_sentences_highlight_the_venues_they_name(catalogue):
    from bulletin.pipeline import TimedSentence

    venues = [catalogue["genting-snow-park"], catalogue["big-air-shougang"]]
    zh = [TimedSentence(d, d, None, s, s + 1) for s, d in [
        (0.0, "观众朋友们好！"),
        (1.0, "体感最冷的是云顶滑雪公园。"),
        (2.0, "各场馆晴。"),
        (3.0, "首钢滑雪大跳台体感相对温和。"),
    ]]  # fmt: skip
    assert highlight_timeline(zh, venues, "zh") == [
        (0.0, ()),
        (0.0, ()),
        (1.0, ("genting-snow-park",)),
        (2.0, ("genting-snow-park", "big-air-shougang")),
        (3.0, ("big-air-shougang",)),
    ]
    assert named_venues("Windiest at Genting Snow Park.", venues, "en") == ("genting-snow-park",)
    zone = catalogue["genting-snow-park"].zone
    assert zone and named_venues(f"Cold in {zone}.", venues, "en") == ("genting-snow-park",)


def test_level_field_map_around_a_venue(catalogue):
    from bulletin import compute_indices
    from bulletin.indices import LEVEL_NAMES
    from bulletin.video.maps import level_field_from_indices, render_level_field

    indices = compute_indices(open_forecast([REPO / "samples" / "forecast_ecmwf.grib2"]))
    venue = catalogue["genting-snow-park"]
    when = np.datetime64("2022-02-06T23:00")
    field = level_field_from_indices(indices, "wind_chill", when, (venue.lat, venue.lon))
    assert field is not None and field.when == "2022-02-06 23:00 UTC"
    expected = (
        indices["wind_chill_level"]
        .sel(time=when)
        .sel(latitude=field.latitude[2, 3], longitude=field.longitude[2, 3])
    )
    assert field.levels[2, 3] == float(expected)
    assert np.abs(field.latitude - venue.lat).max() <= 1.0 + 1e-9
    names = {k: (n.en, n.colour) for k, n in LEVEL_NAMES["wind_chill"].items()}
    spot = MapVenue(venue.id, venue.name, venue.lat, venue.lon, "", "#000000")
    image = np.asarray(render_level_field(field, spot, SIZE, names, title="Wind chill"))
    assert image.shape == (SIZE[1], SIZE[0], 3)
    colours = {tuple(int(v) for v in c) for c in np.unique(image.reshape(-1, 3), axis=0)}
    for level in {int(v) for v in np.unique(field.levels)}:
        rgb = tuple(int(names[level][1][i : i + 2], 16) for i in (1, 3, 5))
        # Drawn at 90 % over the dark ground: near the level's colour, somewhere on the map.
        near = min(max(abs(a - b) for a, b in zip(c, rgb, strict=True)) for c in colours)
        assert near < 30, (level, rgb)


def test_venue_fields_map_the_wind_chill_at_the_coldest_hour(catalogue, monkeypatch):
    import datetime as dt

    from bulletin.facts import venue_day
    from bulletin.pipeline import read_forecast
    from bulletin.video import maps
    from bulletin.video.overview import FIELD_INDEX, conditions_map, venue_level_fields

    venue = catalogue["genting-snow-park"]
    forecast = [REPO / "samples" / "forecast_ecmwf.grib2"]
    table = read_forecast(forecast, [venue]).table
    day = dt.date(2022, 2, 7)
    field = venue_level_fields(forecast, [venue], table, day)[venue.id]
    coldest = venue_day(table, venue, day).wind_chill_min.time  # local HH:MM
    local = dt.datetime.fromisoformat(field.when.removesuffix(" UTC")).replace(tzinfo=dt.UTC)
    assert (field.index, local.astimezone(venue.tz).strftime("%H:%M")) == (FIELD_INDEX, coldest)
    titles = []  # the map's title line, as the real renderer draws it

    def drawn(*args, title="", **kwargs):
        titles.append(title)
        return render_level_field(*args, title=title, **kwargs)

    render_level_field = maps.render_level_field
    monkeypatch.setattr(maps, "render_level_field", drawn)
    picture = conditions_map(field, venue, "zh")
    assert picture.size == SIZE
    # The valid time is local and names its zone.
    assert titles[0].endswith(f"{coldest} 北京时间 (UTC+8)"), titles
