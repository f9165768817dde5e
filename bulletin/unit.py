"""One venue, one language: every file of a venue bulletin, built atomically.

:func:`build_venue_bulletin` is the unit of work of ``bulletin run`` and ``bulletin daily``. It
reuses the stages' own functions: the script (:func:`bulletin.pipeline.make_script`), the speech
(:func:`bulletin.pipeline.speak_script`), the presenter (:func:`avatar.render.render_presenter`)
and the pictures and video (:mod:`bulletin.video`). Files (:data:`UNIT_FILES`, plus
``script.tts.txt`` and ``script.json``)::

    indices.csv    the venue's hourly rows, as ``bulletin indices`` writes them
    script.txt     script.tts.txt  script.json (sentences with their index and times)
    speech.wav     timings.json    subtitles.srt  subtitles.vtt
    chart.png      poster.png      bulletin.mp4   thumbnail.jpg (the video's last frame, titled)

Everything is written into a temporary sibling folder which is renamed into place only when
complete (:func:`bulletin.output.atomic_folder`); an older folder is replaced only then, so a
crash (or ``kill -9``) never leaves a partial unit folder. Before the speech
(:func:`bulletin.pipeline.speak_script`) and before the video the disk must have
:data:`bulletin.output.FREE_SPACE_MARGIN` bytes free, so a full disk is named as such at once. Where a unit goes under an output
root is :func:`unit_folder` (``ROOT/<venue_id>/<lang>``), for ``bulletin run`` and
``bulletin daily`` alike. The video is composed from the speech step's result (its timed
sentences and subtitle cues), not from the files written before it. What the video needs that
does not depend on the speech (the cards' facts, the chart, the poster, the conditions map and
the loaded presenter, :func:`avatar.render.load_presenter`) is made in a thread while the speech
is synthesised; that thread has ended before the folder is renamed or removed.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .output import OutputError, atomic_folder, check_free_space, remove_stale_temporaries

if TYPE_CHECKING:
    import pandas as pd

    from .venues import Venue
    from .video.maps import LevelField

log = logging.getLogger(__name__)

UNIT_FILES = (
    "indices.csv",
    "script.txt",
    "speech.wav",
    "timings.json",
    "subtitles.srt",
    "subtitles.vtt",
    "chart.png",
    "poster.png",
    "bulletin.mp4",
    "thumbnail.jpg",
)
STAGES = ("script", "speech", "avatar", "compose")
#: The steps ``on_stage`` names as a unit is built (the presenter and the compositing
#: overlap in "video").
PROGRESS_STAGES = ("script", "speech", "video")


@dataclass(frozen=True)
class UnitResult:
    """A finished unit: where it is, its files, the speech length and the time of each stage
    (``avatar``: presenter frames; ``compose``: chart, poster, compositing and encoding)."""

    venue_id: str
    lang: str
    folder: Path
    files: dict[str, Path]
    speech_seconds: float
    stage_seconds: dict[str, float]


def unit_folder(root: str | Path, venue_id: str, lang: str) -> Path:
    """The folder of the ``venue_id`` x ``lang`` unit under an output root:
    ``root/<venue_id>/<lang>`` (``bulletin run``'s ``OUT`` or ``bulletin daily``'s run folder;
    the daily overview uses it with its own folder name in place of a venue id)."""
    return Path(root) / venue_id / lang


def remove_stale_units(
    root: str | Path, venue_ids: list[str], langs: tuple[str, ...]
) -> list[Path]:
    """Remove what killed runs left of these units under ``root``: the temporary and
    moved-aside folders of ``root/<venue_id>/<lang>`` whose process is no longer alive
    (:func:`bulletin.output.remove_stale_temporaries`; a concurrent run's are kept)."""
    removed = []
    for venue_id in venue_ids:
        parent = unit_folder(root, venue_id, langs[0]).parent
        removed += remove_stale_temporaries(parent, set(langs))
    return removed


def build_venue_bulletin(
    table: pd.DataFrame,
    venue: Venue,
    lang: str,
    folder: str | Path,
    *,
    avatar: str | Path = "default",
    tts: str = "auto",
    voice: str | None = None,
    loudness_lufs: float | None = -23.0,
    date: str | dt.date | None = None,
    forecast_init: dt.datetime | None = None,
    templates_dir: str | Path | None = None,
    index_field: LevelField | None = None,
    on_stage: Callable[[str], None] | None = None,
    on_frames: Callable[[int, int], None] | None = None,
) -> UnitResult:
    """Build the unit ATOMICALLY at ``folder`` (e.g. ``OUT/<venue_id>/<lang>``): everything is
    made in a temporary sibling folder and renamed into place at the end (an existing folder
    is replaced only after the new one is complete). A crash leaves no partial ``folder``.

    ``table`` is a venue table (:func:`bulletin.pipeline.forecast_table`), possibly of several
    venues; ``date`` the local day (default: the first full one); ``loudness_lufs`` the speech's
    programme loudness (:func:`bulletin.pipeline.speak_script`); ``index_field`` an index's
    grid field around the venue, mapped in the video's conditions part
    (:func:`bulletin.video.overview.venue_level_fields`). ``on_stage(name)`` is called as
    each of :data:`PROGRESS_STAGES` starts, ``on_frames(done, total)`` as the video's frames
    are made (:func:`bulletin.video.compose.write_bulletin_video`). Errors are
    :class:`~bulletin.errors.BulletinError` subclasses with one-line messages."""
    from avatar.render import load_presenter, render_presenter, resolve_avatar

    from .facts import venue_day, venue_rows
    from .output import write_table
    from .pipeline import make_script, speak_script
    from .script import parse_date
    from .venues import check_venue_id
    from .video.cards import day_facts
    from .video.chart import write_chart
    from .video.compose import Compositor, presenter_cues, presenter_size, write_bulletin_video
    from .video.overview import conditions_map
    from .video.poster import write_poster

    check_venue_id(venue.id)
    resolve_avatar(avatar)  # a missing twin fails before any work
    folder = Path(folder)
    stage: dict[str, float] = dict.fromkeys(STAGES, 0.0)
    report = on_stage or (lambda _: None)
    # The pool's thread is joined before the temporary folder is renamed or removed.
    with atomic_folder(folder) as tmp, ThreadPoolExecutor(1, "unit-pictures") as pictures:
        report("script")
        started = time.perf_counter()
        rows = venue_rows(table, venue)
        write_table(rows.frame, tmp / "indices.csv", "csv")
        # The venue-day's facts are built once and feed the script, the cards and the chart.
        day = venue_day(rows, venue, parse_date(date))
        script = make_script(day, [venue], lang=lang, templates_dir=templates_dir)
        stage["script"] = time.perf_counter() - started
        # Without an init time, the first valid time is shown (bulletin daily's rule for files
        # without a reference time).
        init = forecast_init or rows.utc.min().to_pydatetime()

        def draw_pictures():
            """What the video needs that does not depend on the speech, made while it is
            synthesised: it uses a core where the speech leaves one idle (loading the voice,
            the loudness pass; benchmarks/README.md)."""
            facts = day_facts(day, venue, lang, templates_dir=templates_dir)
            chart = write_chart(
                day, venue, day.date, lang, tmp / "chart.png",
                title=f"{facts.venue_name}  {facts.date_text}", templates_dir=templates_dir,
            )  # fmt: skip
            write_poster(facts, lang, init, chart, tmp / "poster.png")
            # The map of an index around the venue in the conditions part (bulletin.video.overview).
            mapped = None if index_field is None else conditions_map(
                index_field, venue, lang, templates_dir
            )  # fmt: skip
            return facts, chart, mapped, load_presenter(avatar, presenter_size())

        drawn = pictures.submit(draw_pictures)

        report("speech")
        started = time.perf_counter()
        spoken = speak_script(script, tmp, engine=tts, voice=voice, loudness_lufs=loudness_lufs)
        stage["speech"] = time.perf_counter() - started

        report("video")
        started = time.perf_counter()
        check_free_space(tmp, what=f"the video of {venue.id}/{lang}")
        facts, chart, mapped, loaded = drawn.result()
        # The presenter smiles, warns and gestures toward the cards with the sentences.
        presenter = render_presenter(
            tmp / "speech.wav", tmp / "timings.json", avatar=loaded,
            cues=presenter_cues(spoken.sentences, script.alerts),
        )  # fmt: skip
        compositor = Compositor(
            facts, lang, init, chart, spoken.sentences, spoken.cues, presenter,
            conditions_map=mapped,
        )  # fmt: skip
        stats = write_bulletin_video(
            compositor, tmp / "speech.wav", spoken.duration_s, tmp / "bulletin.mp4",
            on_frames=on_frames,
        )  # fmt: skip
        stage["avatar"] = stats.presenter_seconds
        stage["compose"] = time.perf_counter() - started - stats.presenter_seconds

        missing = [name for name in UNIT_FILES if not (tmp / name).is_file()]
        if missing:
            raise OutputError(f"unit {venue.id}/{lang} lacks {', '.join(missing)}")
    files = {path.name: path for path in sorted(folder.iterdir()) if path.is_file()}
    log.info(
        "%s/%s: %.1f s of speech; script %.1f s, speech %.1f s, avatar %.1f s, compose %.1f s",
        venue.id,
        lang,
        spoken.duration_s,
        *(stage[name] for name in STAGES),
    )
    return UnitResult(
        venue_id=venue.id,
        lang=lang,
        folder=folder,
        files=files,
        speech_seconds=spoken.duration_s,
        stage_seconds=stage,
    )


__all__ = [
    "PROGRESS_STAGES",
    "STAGES",
    "UNIT_FILES",
    "UnitResult",
    "build_venue_bulletin",
    "remove_stale_units",
    "unit_folder",
]
