"""Forecast to spoken bulletin: the Python API behind ``bulletin script`` and ``bulletin speak``.

::

    table = bulletin.pipeline.forecast_table(["forecast.grib2"], venues)
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
so ``script.txt``, the spoken words and the subtitles cannot disagree.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ScriptError
from .output import OutputError

if TYPE_CHECKING:  # the script and index layers load xarray, pvlib, ...: only when used
    import pandas as pd

    from .script import Script
    from .venues import Venue

SCRIPT_STEM = "script"
SRT_NAME = "subtitles.srt"
VTT_NAME = "subtitles.vtt"


@dataclass(frozen=True)
class SpokenBulletin:
    """What :func:`speak_script` wrote: the script, its speech, and the files by role."""

    script: Script
    duration_s: float
    engine: str
    voice: str
    subtitle_cues: int
    files: dict[str, Path]


def forecast_table(
    forecast: Sequence[str | Path],
    venues: Sequence[Venue],
    *,
    elevation_correction: bool = True,
) -> pd.DataFrame:
    """The hourly venue table (:func:`bulletin.venue_table`) of ``venues`` from forecast files
    (NetCDF, GRIB2 or Zarr, merged), as ``bulletin indices`` computes it."""
    from . import compute_indices, open_forecast, venue_table

    dataset = open_forecast([Path(p) for p in forecast])
    return venue_table(
        compute_indices(dataset), list(venues), lapse_rate_correction=elevation_correction
    )


def check_script_request(kind: str, venues: Sequence[Venue]) -> None:
    """A venue bulletin is about exactly one venue, an overview about one or more (quick: it
    loads none of the heavy modules)."""
    if not venues:
        raise ScriptError(f"a {kind} script needs at least one venue")
    if kind == "venue" and len(venues) != 1:
        ids = ", ".join(v.id for v in venues)
        raise ScriptError(
            f"a venue bulletin is about one venue, got {len(venues)} ({ids}); "
            "give one venue, or ask for the overview of several"
        )


def make_script(
    table: pd.DataFrame,
    venues: Sequence[Venue],
    *,
    lang: str,
    kind: str = "venue",
    date: str | None = None,
    templates_dir: str | Path | None = None,
) -> Script:
    """The bulletin of ``venues[0]`` (``kind="venue"``) or the overview of all ``venues``."""
    from .script import render_overview, render_script

    check_script_request(kind, venues)
    if kind == "overview":
        return render_overview(table, venues, lang=lang, date=date, templates_dir=templates_dir)
    return render_script(table, venues[0], lang=lang, date=date, templates_dir=templates_dir)


def prepare_folder(folder: str | Path) -> Path:
    """Create ``folder`` (and its parents) if needed and check that files can be made in it."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as error:
        raise OutputError(
            f"cannot write in output folder {folder}: {error.strerror or error}"
        ) from None
    return folder


def write_script_files(script: Script, folder: str | Path) -> dict[str, Path]:
    """Write ``script.txt``, ``script.tts.txt`` and ``script.json`` into ``folder``."""
    from .script import write_script

    return write_script(script, prepare_folder(folder), stem=SCRIPT_STEM)


def speak_script(
    script: Script,
    folder: str | Path,
    *,
    engine: str = "pyttsx3",
    voice: str | None = None,
    rate: int | None = None,
) -> SpokenBulletin:
    """Speak ``script`` into ``folder``: the script files, ``speech.wav``, ``timings.json`` and
    the subtitles (see the module docstring). Raises :class:`SpeechError` for a request the
    engine cannot serve and :class:`ScriptError` if speech and script disagree."""
    from .script import write_script
    from .speech import normalize, synthesize, write_subtitles

    folder = prepare_folder(folder)
    spoken_text = normalize(script.display_text, script.lang).spoken
    if spoken_text != script.text:
        raise ScriptError(
            f"the speech stage would say other words than the script's speech text "
            f"({_first_difference(spoken_text, script.text)})"
        )
    speech = synthesize(
        script.display_text, script.lang, folder, engine=engine, voice=voice, rate=rate
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
    timed_sentences = [
        {**sentence._asdict(), "start": timing.start, "end": timing.end}
        for sentence, timing in zip(script.sentences, speech.sentences, strict=True)
    ]
    extra = {
        "sentences": timed_sentences,
        "speech": {
            "engine": speech.engine,
            "voice": speech.voice,
            "duration_s": speech.duration_s,
            "wav": speech.wav_path.name,
            "timings": speech.timings_path.name,
        },
    }
    files = write_script(script, folder, stem=SCRIPT_STEM, extra=extra)
    files.update(wav=speech.wav_path, timings=speech.timings_path, srt=srt_path, vtt=vtt_path)
    return SpokenBulletin(
        script=script,
        duration_s=speech.duration_s,
        engine=speech.engine,
        voice=speech.voice,
        subtitle_cues=len(cues),
        files=files,
    )


def _first_difference(left: str, right: str) -> str:
    at = next(
        (i for i, (a, b) in enumerate(zip(left, right, strict=False)) if a != b),
        min(len(left), len(right)),
    )
    return f"at character {at}: {left[at : at + 20]!r} vs {right[at : at + 20]!r}"


__all__ = [
    "SRT_NAME",
    "VTT_NAME",
    "SpokenBulletin",
    "check_script_request",
    "forecast_table",
    "make_script",
    "prepare_folder",
    "speak_script",
    "write_script_files",
]
