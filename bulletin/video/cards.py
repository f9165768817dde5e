"""The six index cards of the bulletin video and poster, and the facts they show.

The facts come from the same :class:`bulletin.facts.VenueDay` and index variables
(:func:`bulletin.script.index_facts`) the script is written from, and a card's words are the
short form of what the presenter says about its index: the same level (the worst of the
spectator hours 06:00-24:00) under the same name (as spoken: "风险很高" after "冻伤指数："; in
English the sun card names the WHO UV category the voice says), the same wind chill, the same
minutes to frostbite (the regression's "about N", or the ECCC band the voice gives), the time
limit the voice gives for clothing (never clo: the CSV keeps it), the UV index and the goggle
lens. Level colours are :data:`bulletin.indices.LEVEL_NAMES`.

Icons are drawn here with Pillow primitives (no image assets): a thermometer in the wind, a
snowflake, a coat, a sneezing droplet, a sun, goggles.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw

from .fonts import font

if TYPE_CHECKING:
    import pandas as pd

    from ..facts import VenueDay
    from ..venues import Venue

#: The six cards, in the order the presenter reads them (bulletin.script.INDEX_ORDER).
CARD_INDICES = ("wind_chill", "frostbite", "clothing", "cold", "sunscreen", "goggles")
#: Sentences about these indices highlight another card: the WHO UV category is the sun card.
CARD_OF_INDEX = {**{key: key for key in CARD_INDICES}, "uv_category": "sunscreen"}

CARD_BACKGROUND = (29, 39, 51)
HIGHLIGHT_BACKGROUND = (52, 66, 84)
#: Border of the card being spoken about (our choice: a warm yellow that no level colour uses
#: at full saturation next to the dark card).
HIGHLIGHT_BORDER = (255, 212, 0)
TEXT = (240, 244, 248)
MUTED = (170, 182, 196)
ICON = (214, 226, 240)


@dataclass(frozen=True)
class CardFacts:
    """What one card shows: the index's title, its level (name, colour) and key figure."""

    index: str
    title: str
    level: int
    level_name: str
    colour: str  # "#rrggbb" of the level
    figure: str  # the key figure ("-14°C", ">30 min", "50 minutes", "UV 4", "S3"), or ""


@dataclass(frozen=True)
class DayFacts:
    """The cards and the overall (spectator) level of one venue-day in one language."""

    venue_name: str
    date: dt.date
    date_text: str
    cards: tuple[CardFacts, ...]
    overall: CardFacts
    weather: str  # "-10～8℃" / "-10 to 8°C" of the spectator hours
    zone: dt.tzinfo = dt.UTC  # the zone its times are shown in: the venue's


#: Characters the first font of :mod:`bulletin.video.fonts` (WenQuanYi Micro Hei) has no glyph
#: for, and what is drawn instead: the Chinese scripts write ℃ (U+2103) as CMA bulletins do.
_UNDRAWABLE = {"℃": "°C"}


def drawable(text: str) -> str:
    """``text`` with the characters the video fonts cannot draw replaced (℃ -> °C)."""
    for char, instead in _UNDRAWABLE.items():
        text = text.replace(char, instead)
    return text


def hex_rgb(colour: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` -> (r, g, b)."""
    colour = colour.lstrip("#")
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)


def text_on(colour: str) -> tuple[int, int, int]:
    """Black or white text on a level colour, by its WCAG relative luminance (W3C WCAG 2.1
    §1.4.3 definition; the 0.4 switch point is our choice, near where both contrasts meet)."""

    def channel(value: int) -> float:
        c = value / 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in hex_rgb(colour))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return (20, 20, 20) if luminance > 0.4 else (255, 255, 255)


def day_facts(
    table: pd.DataFrame | VenueDay,
    venue: Venue,
    lang: str,
    date: str | dt.date | None = None,
    templates_dir: str | Path | None = None,
) -> DayFacts:
    """The card facts of ``venue`` on ``date`` (default: the first full local day), from the
    same facts the script is written from (``table`` may be that :class:`VenueDay` already)."""
    from ..facts import FROSTBITE_LEVEL_MINUTES, VenueDay, venue_day
    from ..indices import LEVEL_NAMES
    from ..script import index_facts, parse_date, phrasebook
    from ..wording import venue_name

    day = table if isinstance(table, VenueDay) else venue_day(table, venue, parse_date(date))
    book = phrasebook(templates_dir, lang)
    facts = index_facts(day, book)
    minute_word = "分钟" if lang == "zh" else " min"

    def figure(index: str) -> str:
        fact = facts[index]
        if index == "wind_chill":
            return book.temp(fact["lowest"])
        if index == "frostbite":
            if fact["minutes"] is not None:  # the voice: "about N minutes"
                return f"≈{book.minutes_value(fact['minutes'])}{minute_word}"
            low_high = FROSTBITE_LEVEL_MINUTES.get(fact["level"])
            if low_high is None:  # level 1: the ECCC band beyond the level-2 30 minutes
                return f">{max(h for _, h in FROSTBITE_LEVEL_MINUTES.values())}{minute_word}"
            if not low_high[0]:  # the voice: "under 2 minutes"
                return f"<{low_high[1]}{minute_word}"
            return f"{low_high[0]}-{low_high[1]}{minute_word}"
        if index == "clothing":
            # The time limit the voice gives ("no longer than ..."), never clo.
            return "" if fact["exposure_h"] is None else f"≤{book.duration(fact['exposure_h'])}"
        if index == "cold":
            return fact["reasons"][0] if fact["reasons"] else ""
        if index == "sunscreen":
            return f"UV {book.uv(fact['uv'])}"
        if index == "goggles":
            return day.darkest_lens
        return ""

    def card(index: str) -> CardFacts:
        level = day.level(index)
        name = facts[index]["name"]  # as the voice says it
        if index == "sunscreen" and lang == "en":  # the voice: "moderate UV"
            name = f"{facts[index]['uv_name']} UV"
        return CardFacts(
            index=index,
            title=book.title(index),
            level=level,
            level_name=name,
            colour=LEVEL_NAMES[index][level].colour,
            figure=figure(index),
        )

    return DayFacts(
        venue_name=venue_name(venue, lang),
        date=day.date,
        date_text=book.date(day.date),
        cards=tuple(card(index) for index in CARD_INDICES),
        overall=card("spectator"),
        weather=book.temp_range(day.weather.t_min, day.weather.t_max),
        zone=venue.tz,
    )


# -- drawing ------------------------------------------------------------------------------------
def fit_text(draw: ImageDraw.ImageDraw, text: str, size: int, width: int, bold: bool = False):
    """The largest font of at most ``size`` px (down to 12 px) that fits ``text`` in ``width``."""
    while size > 12 and draw.textlength(text, font=font(size, bold)) > width:
        size -= 1
    return font(size, bold)


def draw_icon(draw: ImageDraw.ImageDraw, index: str, box: tuple[int, int, int, int]) -> None:
    """Our line icon of ``index`` inside ``box`` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    s = min(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w = max(2, round(s / 16))
    if index == "wind_chill":  # a thermometer and three wind lines
        draw.rounded_rectangle(
            (cx - s * 0.34, y0 + s * 0.05, cx - s * 0.18, cy + s * 0.2), s * 0.08, outline=ICON,
            width=w,
        )  # fmt: skip
        draw.ellipse((cx - s * 0.4, cy + s * 0.1, cx - s * 0.12, cy + s * 0.38), fill=ICON)
        for i, length in enumerate((0.42, 0.32, 0.38)):
            y = y0 + s * (0.22 + 0.2 * i)
            draw.line((cx - s * 0.05, y, cx - s * 0.05 + s * length, y), fill=ICON, width=w)
    elif index == "frostbite":  # a six-armed snowflake
        r = s * 0.42
        for k in range(6):
            a = math.pi / 3 * k
            ex, ey = cx + r * math.cos(a), cy + r * math.sin(a)
            draw.line((cx, cy, ex, ey), fill=ICON, width=w)
            for side in (-1, 1):
                b = a + side * math.pi / 4
                mx, my = cx + r * 0.6 * math.cos(a), cy + r * 0.6 * math.sin(a)
                draw.line(
                    (mx, my, mx + r * 0.3 * math.cos(b), my + r * 0.3 * math.sin(b)),
                    fill=ICON, width=w,
                )  # fmt: skip
    elif index == "clothing":  # a coat with sleeves and a zip
        pts = [
            (cx - s * 0.14, y0 + s * 0.1), (cx + s * 0.14, y0 + s * 0.1),
            (cx + s * 0.44, y0 + s * 0.3), (cx + s * 0.36, y0 + s * 0.62),
            (cx + s * 0.26, y0 + s * 0.58), (cx + s * 0.26, y1 - s * 0.06),
            (cx - s * 0.26, y1 - s * 0.06), (cx - s * 0.26, y0 + s * 0.58),
            (cx - s * 0.36, y0 + s * 0.62), (cx - s * 0.44, y0 + s * 0.3),
        ]  # fmt: skip
        draw.polygon(pts, outline=ICON, width=w)
        draw.line((cx, y0 + s * 0.18, cx, y1 - s * 0.06), fill=ICON, width=w)
    elif index == "cold":  # a droplet with a sneeze spray
        draw.ellipse((cx - s * 0.3, cy - s * 0.05, cx + s * 0.1, cy + s * 0.35), outline=ICON,
                     width=w)  # fmt: skip
        draw.polygon(
            [(cx - s * 0.1, y0 + s * 0.06), (cx - s * 0.28, cy + s * 0.05),
             (cx + s * 0.08, cy + s * 0.05)], fill=ICON,
        )  # fmt: skip
        for k in range(3):
            px, py = cx + s * (0.22 + 0.08 * k), cy - s * (0.15 - 0.15 * k)
            draw.ellipse((px - w, py - w, px + w, py + w), fill=ICON)
    elif index == "sunscreen":  # a sun with eight rays
        r = s * 0.2
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=ICON)
        for k in range(8):
            a = math.pi / 4 * k
            draw.line(
                (cx + r * 1.4 * math.cos(a), cy + r * 1.4 * math.sin(a),
                 cx + r * 2.1 * math.cos(a), cy + r * 2.1 * math.sin(a)),
                fill=ICON, width=w,
            )  # fmt: skip
    elif index == "goggles":  # two lenses on a strap
        draw.line((x0, cy, x1, cy), fill=ICON, width=w)
        for side in (-1, 1):
            lx = cx + side * s * 0.21
            draw.rounded_rectangle(
                (lx - s * 0.19, cy - s * 0.15, lx + s * 0.19, cy + s * 0.15), s * 0.08, fill=ICON
            )
    else:  # spectator: a podium of three steps
        for k, height in enumerate((0.35, 0.6, 0.25)):
            bx = x0 + s * (0.08 + 0.28 * k)
            draw.rectangle((bx, y1 - s * height, bx + s * 0.26, y1 - s * 0.05), fill=ICON)


def render_card(facts: CardFacts, size: tuple[int, int], highlighted: bool) -> Image.Image:
    """One card (RGB): icon, title, the level name on its colour, the key figure; the card
    being spoken about gets a lighter face and a yellow border."""
    width, height = size
    image = Image.new("RGB", size, (0, 0, 0))
    draw = ImageDraw.Draw(image)
    face = HIGHLIGHT_BACKGROUND if highlighted else CARD_BACKGROUND
    draw.rounded_rectangle((0, 0, width - 1, height - 1), 14, fill=face)
    if highlighted:
        draw.rounded_rectangle((0, 0, width - 1, height - 1), 14, outline=HIGHLIGHT_BORDER, width=6)
    pad = 12
    pill_height = 34
    icon = min(height - 3 * pad - pill_height, 60)
    draw_icon(draw, facts.index, (pad + 4, pad + 2, pad + 4 + icon, pad + 2 + icon))
    text_x = pad + icon + 18
    title_font = fit_text(draw, facts.title, 22, width - text_x - pad, bold=True)
    draw.text((text_x, pad - 2), facts.title, font=title_font, fill=MUTED if not highlighted
              else TEXT)  # fmt: skip
    figure, level_name = drawable(facts.figure), drawable(facts.level_name)
    if figure:
        figure_font = fit_text(draw, figure, 30, width - text_x - pad, bold=True)
        draw.text((text_x, pad + 26), figure, font=figure_font, fill=TEXT)
    # The level pill along the bottom, in the level's colour.
    pill = (pad, height - pad - pill_height, width - pad, height - pad)
    draw.rounded_rectangle(pill, 10, fill=hex_rgb(facts.colour))
    name_font = fit_text(draw, level_name, 22, pill[2] - pill[0] - 16, bold=True)
    draw.text(
        ((pill[0] + pill[2]) / 2, (pill[1] + pill[3]) / 2),
        level_name,
        font=name_font,
        fill=text_on(facts.colour),
        anchor="mm",
    )
    return image
