"""``chart.png``: the venue's day, hour by hour: temperature, wind chill and the index levels.

Top: temperature and wind chill (°C) against local time. Below: one strip per index, each hour
coloured by its level on the index's own scale (:data:`bulletin.indices.LEVEL_NAMES`, so the
chart and the cards share colours), under a legend line that names the index and every level
the strip shows, each beside its colour: the same colour means different levels on different
scales, so every strip carries its own key.

The chart is drawn at the size of the video's panel (:data:`CHART_SIZE`, shown there pixel for
pixel) at 72 dpi, so a font size in points is its height in pixels on a 1280x720 frame; no text
is smaller than :data:`MIN_FONT_PX`. Drawn with matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..output import atomic_path
from .fonts import VideoError, cjk_font

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from ..facts import VenueDay
    from ..venues import Venue

#: Size of chart.png in pixels: the panel of the 1280x720 video it is shown in
#: (:data:`bulletin.video.compose.PANEL_BOX`), so it is shown unscaled.
CHART_SIZE = (720, 504)
#: Smallest text on the chart, in pixels of a 1280x720 frame (our choice: 20 px is 2.8 % of
#: the picture height, 30 px at 1080 lines; the BBC Subtitle Guidelines set a subtitle line at
#: about 8 % of the picture height, and labels of a still graphic are read at leisure, so a
#: third of that stays legible on a television at viewing distance).
MIN_FONT_PX = 20
TITLE_FONT_PX = 24
CHART_INDICES = ("wind_chill", "frostbite", "clothing", "cold", "sunscreen", "goggles", "spectator")
DPI = 72  # one point is one pixel
_WORDS = {
    "zh": {"t": "气温", "wc": "体感温度", "unit": "°C"},
    "en": {"t": "Temperature", "wc": "Wind chill", "unit": "°C"},
}
_INK = "#e8eef4"
_MUTED = "#d8e0e8"
# Pixel layout (our choice), from the top of the picture.
_LEFT, _RIGHT = 62, 692  # plot area, leaving room for the y ticks and the last time tick
_LEGEND_LINE = 22  # height of one legend line of MIN_FONT_PX text
_STRIP = 10  # height of one level strip
_STRIP_GAP = 3
_BOTTOM = 28 + 24  # the time ticks under the strips, and under them the time zone
_MIN_TOP_PLOT = 80


@dataclass(frozen=True)
class StripLegend:
    """The key of one index strip: the index's title and the levels the strip shows, as
    (level, name, colour) in rising order, laid out on one or more lines."""

    index: str
    title: str
    levels: tuple[tuple[int, str, str], ...]
    lines: tuple[tuple[tuple[int, str, str], ...], ...]


def _text_width(text: str, prop) -> float:
    """Width in pixels (points at :data:`DPI`) of ``text`` in the font ``prop``."""
    from matplotlib.textpath import TextToPath

    width, _, _ = TextToPath().get_text_width_height_descent(text, prop, ismath=False)
    return float(width)


def _legend_lines(
    title: str, entries: list[tuple[int, str, str]], prop, room: float
) -> tuple[tuple[tuple[int, str, str], ...], ...]:
    """Break the legend of one strip into lines no wider than ``room`` pixels: the title,
    then each level as a swatch and its name; a name is never split."""
    swatch = MIN_FONT_PX + 6
    lines: list[list[tuple[int, str, str]]] = [[]]
    used = _text_width(title + "  ", prop)
    for entry in entries:
        width = swatch + _text_width(entry[1] + "   ", prop)
        if lines[-1] and used + width > room:
            lines.append([])
            used = 0.0
        lines[-1].append(entry)
        used += width
    return tuple(tuple(line) for line in lines)


def strip_legends(rows, book, lang: str, prop) -> list[StripLegend]:
    """The legend of every strip of :data:`CHART_INDICES` for ``rows``
    (:class:`bulletin.facts.table.DayHours`): the levels present that day, named as in the
    wording table (:meth:`bulletin.wording.Phrasebook.level_name`)."""
    import numpy as np

    from ..indices import LEVEL_NAMES

    legends = []
    for index in CHART_INDICES:
        values = rows.levels[f"{index}_level"]
        present = sorted({int(v) for v in values[np.isfinite(values)]})
        entries = [
            (level, book.level_name(index, level), LEVEL_NAMES[index][level].colour)
            for level in present
        ]
        title = book.title(index)
        lines = _legend_lines(title, entries, prop, _RIGHT - _LEFT)
        legends.append(StripLegend(index, title, tuple(entries), lines))
    return legends


def chart_figure(
    table: pd.DataFrame | VenueDay,
    venue: Venue,
    date: dt.date,
    lang: str,
    *,
    title: str = "",
    templates_dir: str | Path | None = None,
) -> Figure:
    """The chart of ``venue`` on local ``date`` in ``lang`` as a matplotlib Figure of
    :data:`CHART_SIZE` pixels at :data:`DPI` (a bare Figure, no pyplot: no global state, safe
    in dask worker threads)."""
    import numpy as np
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import Rectangle

    from ..facts import VenueDay
    from ..facts.table import day_hours
    from ..indices import LEVEL_NAMES
    from ..script import phrasebook
    from ..wording import zone_label

    rows = table.hours if isinstance(table, VenueDay) else day_hours(table, venue, date)
    if not len(rows):
        raise VideoError(f"venue {venue.id}: no rows on {date.isoformat()} for the chart")
    book = phrasebook(templates_dir, lang)
    words = _WORDS[lang]
    found = cjk_font()
    prop = FontProperties(fname=str(found.path), size=MIN_FONT_PX)
    title_prop = FontProperties(fname=str(found.path), size=TITLE_FONT_PX)
    hours = rows.hours
    legends = strip_legends(rows, book, lang, prop)

    width, height = CHART_SIZE
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, facecolor="#101820")

    def fx(x: float) -> float:
        return x / width

    def fy(y: float) -> float:  # pixels from the top -> figure fraction from the bottom
        return 1.0 - y / height

    strips_height = sum(
        len(legend.lines) * _LEGEND_LINE + _STRIP + _STRIP_GAP for legend in legends
    )
    strips_top = height - _BOTTOM - strips_height
    plot_bottom = strips_top - 8
    # The title is left out when the legends need its room (the video's title bar names the
    # venue and the day as well).
    top_y = TITLE_FONT_PX + 14
    if not title or plot_bottom - top_y < _MIN_TOP_PLOT:
        title, top_y = "", 10
    if title:
        fig.text(0.5, fy(6), title, color="#ffffff", fontproperties=title_prop,
                 ha="center", va="top")  # fmt: skip
    if plot_bottom - top_y < _MIN_TOP_PLOT:
        raise VideoError(
            f"venue {venue.id}: the chart's level legends need {strips_height} px, leaving "
            f"{plot_bottom - top_y} px (under {_MIN_TOP_PLOT}) for the temperatures"
        )
    top = fig.add_axes((fx(_LEFT), fy(plot_bottom), fx(_RIGHT - _LEFT),
                        (plot_bottom - top_y) / height))  # fmt: skip
    strips = fig.add_axes((fx(_LEFT), fy(height - _BOTTOM), fx(_RIGHT - _LEFT),
                           strips_height / height), sharex=top)  # fmt: skip
    for axis in (top, strips):
        axis.set_facecolor("#1d2733")
        axis.tick_params(colors=_MUTED, labelsize=MIN_FONT_PX)
        for spine in axis.spines.values():
            spine.set_color("#56657a")
    top.plot(hours, rows.temperature_degc, color="#ff8c42", lw=3, marker="o", ms=4,
             label=f"{words['t']} {words['unit']}")  # fmt: skip
    top.plot(hours, rows.wind_chill_degc, color="#4fc3f7", lw=3, marker="o", ms=4,
             label=f"{words['wc']} {words['unit']}")  # fmt: skip
    top.axhline(0.0, color="#8090a0", lw=0.8, ls="--")
    top.grid(color="#33404f", lw=0.6)
    top.yaxis.set_major_locator(_few_ticks())
    legend = top.legend(prop=prop, facecolor="#1d2733", edgecolor="#56657a", loc="best",
                        borderpad=0.3, handlelength=1.4, framealpha=0.85)  # fmt: skip
    for text in legend.get_texts():
        text.set_color(_INK)
    top.tick_params(labelbottom=False)
    for label in top.get_yticklabels():
        label.set_fontproperties(prop)

    # One strip per index, in pixel rows (y grows downwards), each under its legend lines.
    step = float(hours[1] - hours[0]) if len(hours) > 1 else 1.0
    edges = [*(hours - step / 2), hours[-1] + step / 2]
    strips.set_xlim(edges[0], edges[-1])
    strips.set_ylim(strips_height, 0)
    strips.set_yticks([])
    y = 0.0
    for legend in legends:
        picture_y = strips_top + y  # the legend's top, in pixels of the picture
        for line in legend.lines:
            x = float(_LEFT)
            if line is legend.lines[0]:
                fig.text(fx(x), fy(picture_y + _LEGEND_LINE / 2), legend.title, color="#ffffff",
                         fontproperties=prop, va="center", weight="bold")  # fmt: skip
                x += _text_width(legend.title + "  ", prop)
            for _, name, colour in line:
                fig.patches.append(
                    Rectangle((fx(x), fy(picture_y + _LEGEND_LINE / 2 + MIN_FONT_PX / 2)),
                              fx(MIN_FONT_PX), MIN_FONT_PX / height, facecolor=colour,
                              edgecolor="#101820", transform=fig.transFigure, figure=fig)
                )  # fmt: skip
                x += MIN_FONT_PX + 6
                fig.text(fx(x), fy(picture_y + _LEGEND_LINE / 2), name, color=_INK,
                         fontproperties=prop, va="center")  # fmt: skip
                x += _text_width(name + "   ", prop)
            picture_y += _LEGEND_LINE
            y += _LEGEND_LINE
        scale = LEVEL_NAMES[legend.index]
        levels = sorted(scale)
        cmap = ListedColormap([scale[level].colour for level in levels]).with_extremes(
            bad="#1d2733"
        )
        norm = BoundaryNorm([level - 0.5 for level in levels] + [levels[-1] + 0.5], cmap.N)
        values = np.ma.masked_invalid(rows.levels[f"{legend.index}_level"][None, :])
        strips.pcolormesh(edges, [y, y + _STRIP], values, cmap=cmap, norm=norm)
        y += _STRIP + _STRIP_GAP
    strips.set_xticks(range(0, 25, 3))
    strips.set_xticklabels([f"{h:02d}:00" for h in range(0, 25, 3)], fontproperties=prop)
    # The hours are the venue's local time: the axis names its zone, as at midday that day.
    midday = dt.datetime.combine(date, dt.time(12), venue.tz)
    fig.text(fx((_LEFT + _RIGHT) / 2), fy(height - 4), zone_label(midday, venue.tz, lang),
             color=_MUTED, fontproperties=prop, ha="center", va="bottom")  # fmt: skip
    return fig


def _few_ticks():
    """At most four temperature ticks (MIN_FONT_PX labels stay apart on a short axis)."""
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(nbins=3, integer=True)


def write_chart(
    table: pd.DataFrame | VenueDay,
    venue: Venue,
    date: dt.date,
    lang: str,
    path: str | Path,
    *,
    title: str = "",
    templates_dir: str | Path | None = None,
) -> Path:
    """Draw the chart of ``venue`` on local ``date`` in ``lang`` to ``path`` (atomically),
    from a venue table or from the venue-day's facts (:attr:`bulletin.facts.VenueDay.hours`)."""
    fig = chart_figure(table, venue, date, lang, title=title, templates_dir=templates_dir)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, facecolor=fig.get_facecolor())
    return path
