"""``poster.png``: the still summary card of a venue bulletin (1280x720, like the video).

The same title bar and index cards as the video (no card highlighted, a little taller: the
poster has no overall strip under them); where the presenter stands in the video, the poster
shows the overall spectator level and the day's temperature range in large type, once (the
video's overall strip would repeat them beside it). The hour-by-hour chart is ``chart.png`` on
its own: in miniature its labels could not be read on a television. No text is smaller than
:data:`bulletin.video.chart.MIN_FONT_PX`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PIL import Image, ImageDraw

from ..output import atomic_path
from .cards import CARD_INDICES, TEXT, DayFacts, drawable, fit_text, hex_rgb, render_card, text_on
from .compose import (
    BACKGROUND,
    CARD_GAP,
    CARD_SIZE,
    HEIGHT,
    PANEL_BOX,
    PRESENTER_BOX,
    SUBTITLE_BOX,
    WIDTH,
    draw_title_bar,
)
from .fonts import VideoError, font

_TAGLINE = {"zh": "观众观赛气象服务", "en": "Spectator weather bulletin"}
_ROW_GAP = 12
#: The poster's cards: the video's width, three rows filling the panel.
POSTER_CARD_SIZE = (CARD_SIZE[0], (PANEL_BOX[3] - PANEL_BOX[1] - 2 * _ROW_GAP) // 3)


def poster_card_box(index: str) -> tuple[int, int, int, int]:
    """Where the card of ``index`` (one of :data:`CARD_INDICES`) sits on the poster."""
    slot = CARD_INDICES.index(index)
    column, row = slot % 2, slot // 2
    x0 = PANEL_BOX[0] + column * (POSTER_CARD_SIZE[0] + CARD_GAP)
    y0 = PANEL_BOX[1] + row * (POSTER_CARD_SIZE[1] + _ROW_GAP)
    return x0, y0, x0 + POSTER_CARD_SIZE[0], y0 + POSTER_CARD_SIZE[1]


def poster_lines(facts: DayFacts, lang: str) -> list[str]:
    """The text blocks the poster shows below its title bar, in reading order: each card
    (title, key figure, level), the overall level's title, its name, the temperature range,
    and the tagline."""
    cards = [
        " ".join(part for part in (c.title, drawable(c.figure), drawable(c.level_name)) if part)
        for c in facts.cards
    ]
    overall = facts.overall
    return [
        *cards,
        overall.title,
        drawable(overall.level_name),
        drawable(facts.weather),
        _TAGLINE[lang],
    ]


def render_poster(
    facts: DayFacts, lang: str, forecast_init: dt.datetime, chart_png: Path
) -> Image.Image:
    """The poster picture (RGB, 1280x720). ``chart_png`` must be a readable picture (the
    unit's chart, checked here so a broken chart fails the unit); it is not drawn."""
    try:
        with Image.open(chart_png) as chart:
            chart.verify()
    except OSError as exc:
        raise VideoError(f"cannot read chart {chart_png}: {exc}") from None
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw_title_bar(image, facts, lang, forecast_init)
    for card in facts.cards:
        image.paste(render_card(card, POSTER_CARD_SIZE, False), poster_card_box(card.index)[:2])
    draw = ImageDraw.Draw(image)
    x0, y0, x1, y1 = PRESENTER_BOX
    overall = facts.overall
    draw.rounded_rectangle((x0, y0, x1, y1), 18, fill=hex_rgb(overall.colour))
    ink = text_on(overall.colour)
    middle = (x0 + x1) / 2
    draw.text((middle, y0 + 80), overall.title, font=font(36, bold=True), fill=ink, anchor="mm")
    name = drawable(overall.level_name)
    name_font = fit_text(draw, name, 72, x1 - x0 - 40, bold=True)
    draw.text((middle, (y0 + y1) / 2), name, font=name_font, fill=ink, anchor="mm")
    weather = drawable(facts.weather)
    weather_font = fit_text(draw, weather, 48, x1 - x0 - 40, bold=False)
    draw.text((middle, y1 - 90), weather, font=weather_font, fill=ink, anchor="mm")
    sx0, sy0, sx1, sy1 = SUBTITLE_BOX
    draw.text(((sx0 + sx1) / 2, (sy0 + sy1) / 2), _TAGLINE[lang], font=font(34), fill=TEXT,
              anchor="mm")  # fmt: skip
    return image


def write_poster(
    facts: DayFacts, lang: str, forecast_init: dt.datetime, chart_png: Path, path: str | Path
) -> Path:
    """Write ``poster.png`` (atomically)."""
    path = Path(path)
    image = render_poster(facts, lang, forecast_init, chart_png)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG", optimize=False)
    return path
