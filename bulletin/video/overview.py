"""``overview.mp4``: the daily overview of all venues, one per language.

Layout (the venue bulletin's, :mod:`bulletin.video.compose`): the title bar (the overview's
title, the local date, the forecast time), the presenter on the left with the AI label, and in
the panel a map of every venue (:mod:`bulletin.video.maps`) over the forecast's own terrain,
each venue a dot in the colour of its spectator level (T/CMSA 0033-2022 composite, as in the
venue bulletins); the burned-in subtitles below. While a sentence names venues (by name, or
by their zone: "延庆赛区" / "Yanqing zone"), those venues are ringed and labelled, from the
sentence's start to the next one's (the speech result's sentence timings).

The map is drawn once; each highlighted state (the venues one sentence names, and the
subtitle cue) is composed once and cached while it lasts, and each frame has the presenter
pasted in (:class:`bulletin.video.compose.PresenterCompositor`). The frames are encoded by
:func:`bulletin.video.compose.write_bulletin_video`.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from PIL import Image, ImageDraw

from .cards import CardFacts, DayFacts
from .compose import (
    BACKGROUND,
    HEIGHT,
    PANEL_BOX,
    PRESENTER_BOX,
    SUBTITLE_BOX,
    WIDTH,
    PresenterCompositor,
    TimedCue,
    VideoStats,
    draw_title_bar,
    subtitle_layer,
)
from .fonts import VideoError
from .maps import MapVenue, Terrain, VenueMap, render_venue_map

if TYPE_CHECKING:
    import pandas as pd

    from ..venues import Venue

OVERVIEW_VIDEO = "overview.mp4"
OVERVIEW_TITLE = {"zh": "各场馆观赛气象", "en": "All venues"}
#: Words of the overview script (templates/overview.*.j2) that speak of every venue at once.
ALL_VENUES_WORDS = {"zh": ("各场馆",), "en": ("all venues", "every venue", "All venues")}


class SpokenOverview(Protocol):
    """The speech result as the overview video needs it
    (:class:`bulletin.pipeline.SpokenBulletin`): timed sentences (``display``, ``start``),
    subtitle cues, the written files (``wav``, ``timings``) and the duration."""

    @property
    def sentences(self) -> Sequence: ...

    @property
    def cues(self) -> Sequence[TimedCue]: ...

    @property
    def files(self) -> dict[str, Path]: ...

    @property
    def duration_s(self) -> float: ...


def map_venues(
    table: pd.DataFrame,
    venues: Sequence[Venue],
    lang: str,
    date: dt.date,
    templates_dir: str | Path | None = None,
) -> list[MapVenue]:
    """The venues as the map shows them: name in ``lang`` and the spectator level of the
    day (the worst of its spectator hours, :meth:`bulletin.facts.VenueDay.level`, the level
    the venue bulletin's overall strip shows)."""
    from ..facts import venue_day
    from ..indices import LEVEL_NAMES
    from ..script import phrasebook
    from ..wording import venue_name

    book = phrasebook(templates_dir, lang)
    shown = []
    for venue in venues:
        level = venue_day(table, venue, date).level("spectator")
        shown.append(
            MapVenue(
                venue_id=venue.id,
                label=venue_name(venue, lang),
                latitude=venue.lat,
                longitude=venue.lon,
                level_name=book.level_name("spectator", level),
                colour=LEVEL_NAMES["spectator"][level].colour,
            )
        )
    return shown


def named_venues(text: str, venues: Sequence[Venue], lang: str) -> tuple[str, ...]:
    """Ids of the venues ``text`` names: by their name in ``lang``, or by their zone
    (``zone_zh`` / ``zone``), in the order of ``venues``; all of them where it speaks of
    every venue (:data:`ALL_VENUES_WORDS`)."""
    from ..wording import venue_name

    if any(word in text for word in ALL_VENUES_WORDS[lang]):
        return tuple(venue.id for venue in venues)
    named = []
    for venue in venues:
        zone = venue.zone_zh if lang == "zh" else venue.zone
        if venue_name(venue, lang) in text or (zone and zone in text):
            named.append(venue.id)
    return tuple(named)


def highlight_timeline(
    sentences: Sequence, venues: Sequence[Venue], lang: str
) -> list[tuple[float, tuple[str, ...]]]:
    """(start, venue ids) from each sentence's start: the venues it names (none for a
    sentence that names none), held until the next sentence starts."""
    timeline = [(0.0, ())]
    for sentence in sentences:
        timeline.append((float(sentence.start), named_venues(sentence.display, venues, lang)))
    return timeline


def venue_target(
    venue_map: VenueMap, venues: Sequence[Venue], lang: str
) -> Callable[[object], tuple[float, float] | None]:
    """The presenter's target for an overview sentence (the ``target`` of
    :func:`bulletin.video.compose.presenter_cues`): the venues it names
    (:func:`named_venues`) at the centre of their markers on the map, in video pixels (the
    map fills :data:`PANEL_BOX`); None for a sentence that names none, or every one of
    several venues (nothing on the map to turn to)."""
    px, py = PANEL_BOX[:2]

    def target(sentence) -> tuple[float, float] | None:
        named = named_venues(sentence.display, venues, lang)
        spots = [venue_map.positions[vid] for vid in named if vid in venue_map.positions]
        if not spots or (len(venues) > 1 and len(named) == len(venues)):
            return None
        return (
            px + sum(x for x, _ in spots) / len(spots),
            py + sum(y for _, y in spots) / len(spots),
        )

    return target


def overview_map(
    table: pd.DataFrame,
    venues: Sequence[Venue],
    lang: str,
    date: dt.date,
    *,
    terrain: Terrain | None,
    templates_dir: str | Path | None = None,
) -> VenueMap:
    """The overview's map of ``venues`` (:func:`map_venues`) at the panel's size."""
    x0, y0, x1, y1 = PANEL_BOX
    shown = map_venues(table, venues, lang, date, templates_dir)
    return render_venue_map(terrain, shown, (x1 - x0, y1 - y0))


def _title_facts(
    lang: str, date: dt.date, venues: Sequence[MapVenue], book, zone: dt.tzinfo
) -> DayFacts:
    """The title bar's facts: the overview's title and date, its times in ``zone`` (the first
    venue's, as on the daily page); its rule is in the colour of the worst spectator level
    of the day."""
    from ..indices import LEVEL_NAMES

    scale = LEVEL_NAMES["spectator"]
    colours = {venue.colour for venue in venues}
    worst = max((level for level in scale if scale[level].colour in colours), default=min(scale))
    overall = CardFacts("spectator", book.title("spectator"), worst, "", scale[worst].colour, "")
    return DayFacts(OVERVIEW_TITLE[lang], date, book.date(date), (), overall, "", zone)


class OverviewCompositor(PresenterCompositor):
    """Frames of the overview, one state picture per (highlighted venues, cue), pasted with
    the presenter (made ahead in a thread, as the venue bulletin's). ``frame(i)`` must be
    asked in order; it pulls one presenter frame per call (the interface
    :func:`bulletin.video.compose.write_bulletin_video` encodes)."""

    def __init__(
        self,
        title: DayFacts,
        lang: str,
        forecast_init: dt.datetime,
        venue_map: VenueMap,
        timeline: Sequence[tuple[float, tuple[str, ...]]],
        cues: Sequence[TimedCue],
        presenter: Iterable[np.ndarray],
    ) -> None:
        self.facts = title  # the title bar's (and the thumbnail's) name and date
        self._timeline = list(timeline)
        self._starts = [start for start, _ in self._timeline]
        self.cues = list(cues)
        self._cue_starts = [c.start for c in self.cues]
        base = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
        draw_title_bar(base, title, lang, forecast_init)
        ImageDraw.Draw(base).rectangle(PRESENTER_BOX, fill=(28, 36, 46))
        self._base = base
        self._map = venue_map
        x0, y0, x1, y1 = PANEL_BOX
        if venue_map.image.size != (x1 - x0, y1 - y0):
            raise VideoError(f"map is {venue_map.image.size}, the panel {(x1 - x0, y1 - y0)}")
        self._panels: dict[tuple[str, ...], Image.Image] = {}
        self._state: tuple | None = None
        self._state_image: np.ndarray | None = None
        super().__init__(presenter, lang)  # the presenter's thread starts once the map is checked

    def _panel(self, venue_ids: tuple[str, ...]) -> Image.Image:
        if venue_ids not in self._panels:
            if len(self._panels) > 32:  # bounded: a long overview names many venue groups
                self._panels.clear()
            image = self._base.copy()
            image.paste(self._map.highlighted(venue_ids), PANEL_BOX[:2])
            self._panels[venue_ids] = image
        return self._panels[venue_ids]

    def _state_at(self, t: float) -> np.ndarray:
        venue_ids = self._timeline[max(0, bisect.bisect_right(self._starts, t) - 1)][1]
        position = bisect.bisect_right(self._cue_starts, t) - 1
        cue = position if position >= 0 and t < self.cues[position].end else -1
        state = (venue_ids, cue)
        if state != self._state:
            image = self._panel(venue_ids).copy()
            image.paste(subtitle_layer(self.cues[cue].text if cue >= 0 else ""), SUBTITLE_BOX[:2])
            self._state, self._state_image = state, np.asarray(image)
        return self._state_image


def overview_compositor(
    table: pd.DataFrame,
    venues: Sequence[Venue],
    lang: str,
    date: dt.date,
    spoken: SpokenOverview,
    presenter: Iterable[np.ndarray],
    *,
    terrain: Terrain | None,
    forecast_init: dt.datetime,
    templates_dir: str | Path | None = None,
    venue_map: VenueMap | None = None,
) -> OverviewCompositor:
    """The compositor of the overview of ``venues`` on ``date`` from the speech result;
    ``venue_map`` is :func:`overview_map`'s, drawn here when not given."""
    from ..script import phrasebook

    if venue_map is None:
        venue_map = overview_map(
            table, venues, lang, date, terrain=terrain, templates_dir=templates_dir
        )
    shown = venue_map.venues
    zone = venues[0].tz if venues else dt.UTC
    title = _title_facts(lang, date, shown, phrasebook(templates_dir, lang), zone)
    timeline = highlight_timeline(spoken.sentences, venues, lang)
    return OverviewCompositor(
        title, lang, forecast_init, venue_map, timeline, spoken.cues, presenter
    )


def overview_cues(
    sentences: Sequence,
    venues: Sequence[Venue],
    lang: str,
    venue_map: VenueMap,
    alerts: Sequence[Mapping[str, str]] = (),
) -> list:
    """The presenter's cues in the overview: :func:`bulletin.video.compose.presenter_cues`
    (greeting and closing smile, warnings serious) turning toward the venues a sentence
    names on the map (:func:`venue_target`) instead of the cards."""
    from .compose import presenter_cues

    return presenter_cues(sentences, alerts, target=venue_target(venue_map, venues, lang))


def write_overview_video(
    table: pd.DataFrame,
    venues: Sequence[Venue],
    lang: str,
    date: dt.date,
    spoken: SpokenOverview,
    folder: str | Path,
    *,
    terrain: Terrain | None,
    forecast_init: dt.datetime,
    avatar: str | Path = "procedural",
    templates_dir: str | Path | None = None,
    on_frames: Callable[[int, int], None] | None = None,
    alerts: Sequence[Mapping[str, str]] = (),
) -> VideoStats:
    """Write ``folder/overview.mp4`` (atomically) from the overview's speech result (its
    ``speech.wav`` and ``timings.json`` in ``folder``), with the presenter ``avatar``;
    ``on_frames`` as :func:`bulletin.video.compose.write_bulletin_video` calls it. The
    presenter's cues are the venue bulletin's (:func:`overview_cues`; ``alerts`` are the
    script's, :attr:`bulletin.script.Script.alerts`)."""
    from avatar.render import render_presenter

    from .compose import presenter_size, write_bulletin_video

    folder = Path(folder)
    wav = spoken.files.get("wav", folder / "speech.wav")
    timings = spoken.files.get("timings")  # None: the mouth follows the sound alone
    venue_map = overview_map(
        table, venues, lang, date, terrain=terrain, templates_dir=templates_dir
    )
    cues = overview_cues(spoken.sentences, venues, lang, venue_map, alerts)
    presenter = render_presenter(wav, timings, avatar=avatar, size=presenter_size(), cues=cues)
    compositor = overview_compositor(
        table, venues, lang, date, spoken, presenter, terrain=terrain,
        forecast_init=forecast_init, templates_dir=templates_dir, venue_map=venue_map,
    )  # fmt: skip
    return write_bulletin_video(
        compositor, wav, spoken.duration_s, folder / OVERVIEW_VIDEO, on_frames=on_frames
    )


def forecast_terrain(forecast: Sequence[str | Path], venues: Sequence[Venue]) -> Terrain | None:
    """The terrain of the overview map: the orography of the forecast files around
    ``venues`` (:func:`bulletin.video.maps.terrain_from_forecast`; opened lazily, so only
    that field around the venues is read)."""
    from ..forecast import open_forecast
    from .maps import terrain_from_forecast

    dataset = open_forecast([Path(p) for p in forecast], chunks={})
    try:
        return terrain_from_forecast(dataset, [(v.lat, v.lon) for v in venues])
    finally:
        dataset.close()


#: The index whose field the venue bulletin maps during its conditions part (our choice: the
#: wind chill, ECCC levels, at the hour of the day's lowest wind chill, which the conditions
#: part names).
FIELD_INDEX = "wind_chill"


def venue_level_fields(
    forecast: Sequence[str | Path],
    venues: Sequence[Venue],
    table: pd.DataFrame,
    date: dt.date,
) -> dict[str, object]:
    """For each venue, the grid field of the :data:`FIELD_INDEX` level
    (:func:`bulletin.compute_indices` on the forecast around the venues, over the local
    ``date``) at the hour of the venue's lowest wind chill that day
    (:attr:`bulletin.facts.VenueDay.wind_chill_min`): venue id ->
    :class:`bulletin.video.maps.LevelField`; venues on an unstructured grid are left out."""
    from ..compute import compute_indices
    from ..facts import venue_day
    from ..forecast import open_forecast
    from .maps import FIELD_MARGIN_DEG, level_field_from_indices

    wanted = {}
    for venue in venues:
        coldest = venue_day(table, venue, date).wind_chill_min
        local = dt.datetime.combine(date, dt.time.fromisoformat(coldest.time), venue.tz)
        wanted[venue.id] = np.datetime64(local.astimezone(dt.UTC).replace(tzinfo=None), "ns")
    dataset = open_forecast([Path(p) for p in forecast], chunks={})
    try:
        times = sorted(set(wanted.values()))
        # Only the hours mapped: the wind chill level is computed hour by hour.
        subset = dataset.sel(time=times, method="nearest")
        if "latitude" in subset.dims and "longitude" in subset.dims:
            lats = [v.lat for v in venues]
            lons = [v.lon for v in venues]
            subset = subset.sel(
                latitude=slice(min(lats) - FIELD_MARGIN_DEG, max(lats) + FIELD_MARGIN_DEG),
                longitude=slice(min(lons) - FIELD_MARGIN_DEG, max(lons) + FIELD_MARGIN_DEG),
            )
        indices = compute_indices(subset)
        fields: dict[str, object] = {}
        for venue in venues:
            field = level_field_from_indices(
                indices, FIELD_INDEX, wanted[venue.id], (venue.lat, venue.lon)
            )
            if field is not None:
                fields[venue.id] = field
        return fields
    finally:
        dataset.close()


def conditions_map(
    field, venue: Venue, lang: str, templates_dir: str | Path | None = None
) -> Image.Image:
    """The venue bulletin's map of ``field`` (a :class:`bulletin.video.maps.LevelField`, e.g.
    from :func:`venue_level_fields`) around ``venue``, at the panel's size: the index's title
    and the local time in the title line, the levels named in ``lang``."""
    from ..indices import LEVEL_NAMES
    from ..script import phrasebook
    from ..wording import venue_name, zone_label
    from .maps import render_level_field

    book = phrasebook(templates_dir, lang)
    names = {
        level: (book.level_name(field.index, level), name.colour)
        for level, name in LEVEL_NAMES[field.index].items()
    }
    utc = dt.datetime.fromisoformat(field.when.removesuffix(" UTC")).replace(tzinfo=dt.UTC)
    local = f"{utc.astimezone(venue.tz):%H:%M} {zone_label(utc, venue.tz, lang)}"
    spot = MapVenue(venue.id, venue_name(venue, lang), venue.lat, venue.lon, "", "#000000")
    x0, y0, x1, y1 = PANEL_BOX
    title = f"{book.title(field.index)}  {local}"
    shown = dataclasses.replace(field, when="")
    return render_level_field(shown, spot, (x1 - x0, y1 - y0), names, title=title)
