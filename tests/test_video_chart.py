"""chart.png and poster.png of the sample venues, as a 1280x720 television shows them: no text
under the minimum size, a legend naming the levels of every strip, no text shown twice."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from matplotlib.text import Text
from PIL import Image

from bulletin.facts import venue_day, venue_rows
from bulletin.pipeline import read_forecast
from bulletin.script import phrasebook
from bulletin.venues import load_catalogue
from bulletin.video.cards import day_facts
from bulletin.video.chart import CHART_INDICES, CHART_SIZE, DPI, MIN_FONT_PX, chart_figure
from bulletin.video.compose import PANEL_BOX, PRESENTER_BOX
from bulletin.video.poster import poster_lines, write_poster

from .clirun import REPO

VENUES = ("big-air-shougang", "genting-snow-park")
DAY = dt.date(2022, 2, 7)


@pytest.fixture(scope="module")
def sample_days():
    catalogue = {venue.id: venue for venue in load_catalogue()}
    venues = [catalogue[venue_id] for venue_id in VENUES]
    read = read_forecast([REPO / "samples" / "forecast_ecmwf.grib2"], venues)
    days = {v.id: (v, venue_day(venue_rows(read.table, v), v, DAY)) for v in venues}
    return days, read.init


def _drawn_texts(fig) -> list[Text]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()  # tick labels exist once drawn
    hidden = set()  # labels of ticks beyond the axis limits: matplotlib does not draw them
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks():
                if not low - 1e-9 <= tick.get_loc() <= high + 1e-9:
                    hidden |= {id(tick.label1), id(tick.label2)}
    return [
        t
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip() and id(t) not in hidden
    ]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("venue_id", VENUES)
def test_chart_text_is_at_least_the_minimum_size_at_720p(sample_days, venue_id, lang):
    days, _ = sample_days
    venue, day = days[venue_id]
    fig = chart_figure(day, venue, DAY, lang, title="Title")
    # Shown pixel for pixel in the video's panel: a point at DPI 72 is one frame pixel.
    assert CHART_SIZE == (PANEL_BOX[2] - PANEL_BOX[0], PANEL_BOX[3] - PANEL_BOX[1])
    assert tuple(round(v) for v in fig.get_size_inches() * fig.dpi) == CHART_SIZE
    texts = _drawn_texts(fig)
    assert len(texts) > 20
    sizes = {t.get_text(): t.get_fontsize() * DPI / 72 for t in texts}
    small = {text: size for text, size in sizes.items() if size < MIN_FONT_PX}
    assert not small, small
    # Every text lies inside the picture (none cut at its edges).
    renderer = fig.canvas.get_renderer()
    width, height = CHART_SIZE
    for t in texts:
        box = t.get_window_extent(renderer)
        assert box.x0 >= -1 and box.x1 <= width + 1, (t.get_text(), box)
        assert box.y0 >= -1 and box.y1 <= height + 1, (t.get_text(), box)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_strip_has_a_legend_naming_its_levels_once(sample_days, lang):
    from matplotlib.colors import to_hex
    from matplotlib.patches import Rectangle

    from bulletin.indices import LEVEL_NAMES

    days, _ = sample_days
    venue, day = days["big-air-shougang"]
    book = phrasebook(None, lang)
    fig = chart_figure(day, venue, DAY, lang)
    texts = [t.get_text() for t in _drawn_texts(fig)]
    swatches = {to_hex(p.get_facecolor()) for p in fig.patches if isinstance(p, Rectangle)}
    titles = [book.title(index) for index in CHART_INDICES]
    positions = [texts.index(title) for title in titles]
    assert positions == sorted(positions), "strip legends out of order"
    for k, index in enumerate(CHART_INDICES):
        end = positions[k + 1] if k + 1 < len(positions) else len(texts)
        legend = texts[positions[k] + 1 : end]
        values = day.hours.levels[f"{index}_level"]
        present = sorted({int(v) for v in values[np.isfinite(values)]})
        assert present, index
        names = [book.level_name(index, level) for level in present]
        # The legend names exactly the levels the strip shows, each once.
        assert legend[: len(names)] == names, (index, legend)
        for level in present:
            assert LEVEL_NAMES[index][level].colour.lower() in swatches, (index, level)


def test_the_same_colour_is_named_per_strip(sample_days):
    """Green is "low risk" on the frostbite strip and "weakest" on the sun strip: each strip
    names it for itself."""
    days, _ = sample_days
    venue, day = days["big-air-shougang"]
    texts = [t.get_text() for t in _drawn_texts(chart_figure(day, venue, DAY, "en"))]
    frostbite, sun = (
        texts.index("Frostbite"),
        texts.index(phrasebook(None, "en").title("sunscreen")),
    )
    assert "low risk" in texts[frostbite:sun]
    assert "weakest" in texts[sun:]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("venue_id", VENUES)
def test_poster_shows_each_text_once(sample_days, tmp_path, venue_id, lang):
    from bulletin.video.chart import write_chart

    days, init = sample_days
    venue, day = days[venue_id]
    facts = day_facts(day, venue, lang)
    lines = poster_lines(facts, lang)
    assert len(lines) == len(set(lines)), lines
    overall = f"{facts.overall.level_name} {facts.weather}"
    assert sum(overall in line for line in lines) == 0  # never the level and range together
    assert lines.count(facts.overall.level_name) == 1
    chart = write_chart(day, venue, DAY, lang, tmp_path / "chart.png")
    poster = write_poster(facts, lang, init, chart, tmp_path / "poster.png")
    with Image.open(poster) as image:
        assert image.size == (1280, 720)
        pixels = np.asarray(image.convert("RGB"))
    # The overall level fills the left column, where the video has its presenter.
    colour = tuple(int(facts.overall.colour[i : i + 2], 16) for i in (1, 3, 5))
    x0, y0, x1, y1 = PRESENTER_BOX
    assert np.all(pixels[y0:y1, x0:x1] == colour, axis=-1).mean() > 0.6


@pytest.mark.parametrize(
    ("lang", "zone"), [("zh", "北京时间 (UTC+8)"), ("en", "Beijing time (UTC+8)")]
)
def test_the_time_axis_names_its_zone_under_the_hours(sample_days, lang, zone):
    days, _ = sample_days
    venue, day = days["big-air-shougang"]
    fig = chart_figure(day, venue, DAY, lang, title="Title")
    texts = _drawn_texts(fig)
    renderer = fig.canvas.get_renderer()
    (label,) = [t for t in texts if t.get_text() == zone]
    hours = [t for t in texts if t.get_text() in ("00:00", "12:00", "24:00")]
    assert len(hours) == 3
    below = label.get_window_extent(renderer)
    for hour in hours:  # under the tick labels, not over them
        assert below.y1 <= hour.get_window_extent(renderer).y0 + 1, hour.get_text()
