"""``chart.png``: the venue's day, hour by hour: temperature, wind chill and the index levels.

Top: temperature and wind chill (°C) against local time. Below: one strip per index, each hour
coloured by its level on the index's own scale (:data:`bulletin.indices.LEVEL_NAMES`), so the
chart and the cards share colours. Drawn with matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from ..output import atomic_path
from .fonts import VideoError, cjk_font

if TYPE_CHECKING:
    import pandas as pd

    from ..facts import VenueDay
    from ..venues import Venue

#: Size of chart.png in pixels (our choice: the 16:11.5 panel the video shows it in, at 1.5x).
CHART_SIZE = (1032, 738)
CHART_INDICES = ("wind_chill", "frostbite", "clothing", "cold", "sunscreen", "goggles", "spectator")
_WORDS = {
    "zh": {"t": "气温", "wc": "体感温度", "hour": "当地时间", "unit": "°C"},
    "en": {"t": "Temperature", "wc": "Wind chill", "hour": "Local time", "unit": "°C"},
}


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
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    from ..facts import VenueDay
    from ..facts.table import day_hours
    from ..indices import LEVEL_NAMES
    from ..script import phrasebook

    rows = table.hours if isinstance(table, VenueDay) else day_hours(table, venue, date)
    if not len(rows):
        raise VideoError(f"venue {venue.id}: no rows on {date.isoformat()} for the chart")
    book = phrasebook(templates_dir, lang)
    words = _WORDS[lang]
    found = cjk_font()
    prop = FontProperties(fname=str(found.path))
    hours = rows.hours

    width, height = CHART_SIZE
    dpi = 100
    # A bare Figure (no pyplot): no global state, safe in dask worker threads.
    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, facecolor="#101820")
    grid = fig.add_gridspec(2, 1, height_ratios=(3.0, 2.2), hspace=0.12,
                            left=0.235, right=0.965, top=0.9, bottom=0.09)  # fmt: skip
    top = fig.add_subplot(grid[0])
    strips = fig.add_subplot(grid[1], sharex=top)
    for axis in (top, strips):
        axis.set_facecolor("#1d2733")
        axis.tick_params(colors="#d8e0e8", labelsize=15)
        for spine in axis.spines.values():
            spine.set_color("#56657a")
    temperature = rows.temperature_degc
    chill = rows.wind_chill_degc
    top.plot(hours, temperature, color="#ff8c42", lw=3, marker="o", ms=5, label=words["t"])
    top.plot(hours, chill, color="#4fc3f7", lw=3, marker="o", ms=5, label=words["wc"])
    top.axhline(0.0, color="#8090a0", lw=0.8, ls="--")
    top.set_ylabel(words["unit"], color="#d8e0e8", fontproperties=prop, fontsize=17)
    top.grid(color="#33404f", lw=0.6)
    prop_legend = FontProperties(fname=str(found.path), size=15)
    legend = top.legend(prop=prop_legend, facecolor="#1d2733", edgecolor="#56657a", loc="best")
    for text in legend.get_texts():
        text.set_color("#e8eef4")
    top.tick_params(labelbottom=False)
    if title:
        fig.suptitle(title, color="#ffffff", fontproperties=prop, fontsize=22, y=0.975)

    # One strip per index: hour cells coloured by level on that index's scale.
    step = float(hours[1] - hours[0]) if len(hours) > 1 else 1.0
    edges = [*(hours - step / 2), hours[-1] + step / 2]
    labels = []
    for row, index in enumerate(CHART_INDICES):
        scale = LEVEL_NAMES[index]
        levels = sorted(scale)
        cmap = ListedColormap([scale[level].colour for level in levels])
        norm = BoundaryNorm([level - 0.5 for level in levels] + [levels[-1] + 0.5], cmap.N)
        values = rows.levels[f"{index}_level"][None, :]
        strips.pcolormesh(edges, [row, row + 0.9], values, cmap=cmap, norm=norm)
        labels.append(book.title(index))
    strips.set_ylim(len(CHART_INDICES), -0.1)
    strips.set_yticks([i + 0.45 for i in range(len(CHART_INDICES))])
    strips.set_yticklabels(labels, fontproperties=prop, fontsize=16, color="#d8e0e8")
    strips.set_xlim(edges[0], edges[-1])
    strips.set_xticks(range(0, 25, 3))
    strips.set_xticklabels([f"{h:02d}:00" for h in range(0, 25, 3)])
    strips.set_xlabel(words["hour"], color="#d8e0e8", fontproperties=prop, fontsize=16)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, facecolor=fig.get_facecolor())
    return path
