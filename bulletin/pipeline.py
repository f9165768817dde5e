"""Forecast to spoken bulletin: the Python API behind ``bulletin script`` and ``bulletin speak``.

::

    table = bulletin.pipeline.forecast_table(["forecast.grib2"], venues)  # or read_forecast
    script = bulletin.pipeline.make_script(table, [venue], lang="zh")
    bulletin.pipeline.write_script_files(script, "out/venue-zh")          # script.txt, ...
    spoken = bulletin.pipeline.speak_script(script, "out/venue-zh")      # + speech.wav, ...

A spoken bulletin folder holds ``script.txt`` (the display text, as captions show it),
``script.tts.txt`` (the words the voice says), ``script.json`` (sentences with the index each
is about and, once spoken, its start and end in the audio), ``speech.wav``, ``timings.json``
(:mod:`bulletin.speech.timings`), ``subtitles.srt`` and ``subtitles.vtt``. Every file is
written atomically (a temporary file in the same folder, then a rename).

The speech stage is given the script's *display* text: it normalises it itself and keeps the
display<->spoken mapping that word timings and subtitles need. :func:`speak_script` checks
that what it spoke is the script's own speech text and that its sentences are the script's,
so ``script.txt``, the spoken words and the subtitles cannot disagree. Its result,
:class:`SpokenBulletin`, carries the timed sentences and the subtitle cues, which the video
stage uses as they are (it reads nothing back from the files).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ScriptError, ScriptUsageError
from .output import check_free_space, check_writable_folder

if TYPE_CHECKING:  # the script and index layers load xarray, pvlib, ...: only when used
    import pandas as pd
    import xarray as xr

    from .facts import VenueDay
    from .script import Script
    from .speech import Cue, SpeechResult
    from .venues import Venue

SCRIPT_STEM = "script"
#: The dask chunks :func:`read_forecast` reads files with by default: each file's own chunks
#: (``{}``, xarray's "use the backend's preferred chunks").
FILE_CHUNKS: dict = {}
SRT_NAME = "subtitles.srt"
VTT_NAME = "subtitles.vtt"


@dataclass(frozen=True)
class TimedSentence:
    """A script sentence (as shown, as spoken, the index it is about or None) and when the
    speech says it, in seconds from the start of the audio."""

    display: str
    tts: str
    index: str | None
    start: float
    end: float


@dataclass(frozen=True)
class SpokenBulletin:
    """What :func:`speak_script` wrote: the script, its speech (:class:`SpeechResult`), the
    script's sentences with their times, the subtitle cues, and the files by role."""

    script: Script
    speech: SpeechResult
    sentences: tuple[TimedSentence, ...]
    cues: tuple[Cue, ...]
    files: dict[str, Path]

    @property
    def duration_s(self) -> float:
        return self.speech.duration_s

    @property
    def engine(self) -> str:
        return self.speech.engine

    @property
    def voice(self) -> str:
        return self.speech.voice

    @property
    def subtitle_cues(self) -> int:
        return len(self.cues)


@dataclass(frozen=True)
class VenueForecast:
    """The hourly venue table of some venues and the forecast's reference time (UTC)."""

    table: pd.DataFrame
    init: dt.datetime


def forecast_init(dataset: xr.Dataset) -> dt.datetime:
    """The forecast's reference (init) time in UTC; the first valid time when the file has
    no ``forecast_reference_time``."""
    import numpy as np

    reference = dataset.coords.get("forecast_reference_time")
    value = dataset["time"].values.min() if reference is None else reference.values
    seconds = int(np.datetime64(value, "s").astype("int64"))
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def read_forecast(
    forecast: Sequence[str | Path],
    venues: Sequence[Venue],
    *,
    elevation_correction: bool = True,
    chunks: str | dict | None = FILE_CHUNKS,
    latest_run: bool = False,
) -> VenueForecast:
    """Read forecast files (NetCDF, GRIB2 or Zarr, merged) and make the venue table of
    ``venues`` (:func:`bulletin.venue_table`: the indices computed at the venues): the one
    forecast -> table step of ``bulletin indices``, ``script``, ``speak``, ``run`` and
    ``daily``. ``chunks`` are the dask chunks the files are read with
    (:func:`bulletin.open_forecast`); the default, :data:`FILE_CHUNKS`, keeps each file's own
    chunks, so the range checks stream through the grid a chunk at a time and the venue
    extraction reads only the chunks around the venues: memory follows the venues and the
    chunk size, not the grid (``benchmarks/memory.py``). ``None`` reads numpy-backed, which
    holds every field of the whole grid in memory at once. ``latest_run`` takes the newest
    run where files of several runs overlap (:func:`bulletin.open_forecast`)."""
    from . import open_forecast, venue_table

    dataset = open_forecast([Path(p) for p in forecast], chunks=chunks, latest_run=latest_run)
    table = venue_table(dataset, list(venues), lapse_rate_correction=elevation_correction)
    return VenueForecast(table=table, init=forecast_init(dataset))


def forecast_table(
    forecast: Sequence[str | Path],
    venues: Sequence[Venue],
    *,
    elevation_correction: bool = True,
    latest_run: bool = False,
) -> pd.DataFrame:
    """The hourly venue table of ``venues`` from forecast files (:func:`read_forecast`)."""
    return read_forecast(
        forecast, venues, elevation_correction=elevation_correction, latest_run=latest_run
    ).table


def check_script_request(kind: str, venues: Sequence[Venue]) -> None:
    """A venue bulletin is about exactly one venue, an overview about one or more (quick: it
    loads none of the heavy modules)."""
    if not venues:
        raise ScriptUsageError(f"a {kind} script needs at least one venue")
    if kind == "venue" and len(venues) != 1:
        ids = ", ".join(v.id for v in venues)
        raise ScriptUsageError(
            f"a venue bulletin is about one venue, got {len(venues)} ({ids}); "
            "give one venue, or ask for the overview of several"
        )


def make_script(
    table: pd.DataFrame | VenueDay,
    venues: Sequence[Venue],
    *,
    lang: str,
    kind: str = "venue",
    date: str | None = None,
    templates_dir: str | Path | None = None,
) -> Script:
    """The bulletin of ``venues[0]`` (``kind="venue"``) or the overview of all ``venues``;
    ``table`` may be the venue's facts already (:func:`bulletin.facts.venue_day`)."""
    from .script import render_overview, render_script

    check_script_request(kind, venues)
    if kind == "overview":
        return render_overview(table, venues, lang=lang, date=date, templates_dir=templates_dir)
    return render_script(table, venues[0], lang=lang, date=date, templates_dir=templates_dir)


def prepare_folder(folder: str | Path) -> Path:
    """Create ``folder`` (and its parents) if needed and check that files can be made in it
    (:func:`bulletin.output.check_writable_folder`)."""
    return check_writable_folder(folder)


def write_script_files(script: Script, folder: str | Path) -> dict[str, Path]:
    """Write ``script.txt``, ``script.tts.txt`` and ``script.json`` into ``folder``."""
    from .script import write_script

    return write_script(script, prepare_folder(folder), stem=SCRIPT_STEM)


def speak_script(
    script: Script,
    folder: str | Path,
    *,
    engine: str = "auto",
    voice: str | None = None,
    rate: int | None = None,
    loudness_lufs: float | None = -23.0,
) -> SpokenBulletin:
    """Speak ``script`` into ``folder``: the script files, ``speech.wav``, ``timings.json`` and
    the subtitles (see the module docstring). The speech is normalised to ``loudness_lufs``
    (:mod:`bulletin.speech.loudness`; EBU R128's -23 LUFS by default), and ``script.json``'s
    ``speech.loudness`` records what was measured. Raises :class:`SpeechError` for a request the
    engine cannot serve, :class:`ScriptError` if speech and script disagree and
    :class:`bulletin.output.OutputError` when the disk has less than
    :data:`bulletin.output.FREE_SPACE_MARGIN` bytes free. ``engine`` is any name of
    :data:`bulletin.speech.synthesis.ENGINES` (``auto``: per language, the best installed voice);
    ``script.json``'s ``speech`` records the engine that spoke, its voice and their licence."""
    from .script import write_script
    from .speech import engine_licence, normalize, synthesize, write_subtitles

    folder = prepare_folder(folder)
    check_free_space(folder, what="the speech")  # a full disk is named before synthesis
    spoken_text = normalize(script.display_text, script.lang).spoken
    if spoken_text != script.text:
        raise ScriptError(
            f"the speech stage would say other words than the script's speech text "
            f"({_first_difference(spoken_text, script.text)})"
        )
    speech = synthesize(
        script.display_text,
        script.lang,
        folder,
        engine=engine,
        voice=voice,
        rate=rate,
        loudness_lufs=loudness_lufs,
    )
    displays = [sentence.display for sentence in script.sentences]
    spoken = [sentence.text for sentence in speech.sentences]
    if spoken != displays:
        raise ScriptError(
            f"the speech has {len(spoken)} sentence(s), the script {len(displays)}; "
            f"first difference: {_first_difference(' | '.join(spoken), ' | '.join(displays))}"
        )
    srt_path, vtt_path = folder / SRT_NAME, folder / VTT_NAME
    cues = write_subtitles(speech.words, script.lang, srt_path, vtt_path)
    timed = tuple(
        TimedSentence(**sentence._asdict(), start=timing.start, end=timing.end)
        for sentence, timing in zip(script.sentences, speech.sentences, strict=True)
    )
    extra = {
        "sentences": [
            {
                "display": s.display,
                "tts": s.tts,
                "index": s.index,
                "start": s.start,
                "end": s.end,
            }
            for s in timed
        ],
        "speech": {
            "engine": speech.engine,
            "voice": speech.voice,
            "licence": engine_licence(speech.engine),
            "duration_s": speech.duration_s,
            "wav": speech.wav_path.name,
            "timings": speech.timings_path.name,
            "loudness": None if speech.loudness is None else speech.loudness.to_json(),
        },
    }
    files = write_script(script, folder, stem=SCRIPT_STEM, extra=extra)
    files.update(wav=speech.wav_path, timings=speech.timings_path, srt=srt_path, vtt=vtt_path)
    return SpokenBulletin(
        script=script, speech=speech, sentences=timed, cues=tuple(cues), files=files
    )


def _first_difference(left: str, right: str) -> str:
    at = next(
        (i for i, (a, b) in enumerate(zip(left, right, strict=False)) if a != b),
        min(len(left), len(right)),
    )
    return f"at character {at}: {left[at : at + 20]!r} vs {right[at : at + 20]!r}"


__all__ = [
    "FILE_CHUNKS",
    "SRT_NAME",
    "VTT_NAME",
    "SpokenBulletin",
    "TimedSentence",
    "VenueForecast",
    "check_script_request",
    "forecast_init",
    "forecast_table",
    "make_script",
    "prepare_folder",
    "read_forecast",
    "speak_script",
    "write_script_files",
]
