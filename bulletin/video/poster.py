"""``poster.png``: the still summary card of a venue bulletin (1280x720, like the video).

The same title bar and index cards as the video (no card highlighted); where the presenter
stands in the video, the poster shows the overall spectator level in large type, the day's
temperature range and the chart in miniature.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PIL import Image, ImageDraw

from ..output import atomic_path
from .cards import TEXT, DayFacts, drawable, fit_text, hex_rgb, render_card, text_on
from .compose import (
    BACKGROUND,
    CARD_SIZE,
    HEIGHT,
    PRESENTER_BOX,
    SUBTITLE_BOX,
    WIDTH,
    card_box,
    draw_overall,
    draw_title_bar,
)
from .fonts import VideoError, font

_TAGLINE = {"zh": "观众观赛气象服务", "en": "Spectator weather bulletin"}


def render_poster(
    facts: DayFacts, lang: str, forecast_init: dt.datetime, chart_png: Path
) -> Image.Image:
    """The poster picture (RGB, 1280x720)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw_title_bar(image, facts, lang, forecast_init)
    for card in facts.cards:
        image.paste(render_card(card, CARD_SIZE, False), card_box(card.index)[:2])
    draw_overall(image, facts.overall, facts.weather, False)
    draw = ImageDraw.Draw(image)
    x0, y0, x1, y1 = PRESENTER_BOX
    overall = facts.overall
    draw.rounded_rectangle((x0, y0, x1, y0 + 230), 18, fill=hex_rgb(overall.colour))
    ink = text_on(overall.colour)
    middle = (x0 + x1) / 2
    draw.text((middle, y0 + 40), overall.title, font=font(30, bold=True), fill=ink, anchor="mm")
    name_font = fit_text(draw, overall.level_name, 56, x1 - x0 - 40, bold=True)
    draw.text((middle, y0 + 120), overall.level_name, font=name_font, fill=ink, anchor="mm")
    draw.text((middle, y0 + 195), drawable(facts.weather), font=font(34), fill=ink, anchor="mm")
    try:
        chart = Image.open(chart_png).convert("RGB")
    except OSError as exc:
        raise VideoError(f"cannot read chart {chart_png}: {exc}") from None
    room = (x1 - x0, y1 - (y0 + 244))
    scale = min(room[0] / chart.width, room[1] / chart.height)
    thumb = chart.resize(
        (round(chart.width * scale), round(chart.height * scale)), Image.Resampling.LANCZOS
    )
    image.paste(thumb, (x0 + (room[0] - thumb.width) // 2, y0 + 244))
    sx0, sy0, sx1, sy1 = SUBTITLE_BOX
    draw.text(((sx0 + sx1) / 2, (sy0 + sy1) / 2), _TAGLINE[lang], font=font(30), fill=TEXT,
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
