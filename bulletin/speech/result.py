"""What the speech stage returns: :class:`SpeechResult`, shared by both engines.

Its own module so that :mod:`bulletin.speech.synthesis` (which dispatches to the engines) and
:mod:`bulletin.speech.piper_engine` both import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bulletin.speech.loudness import Loudness
from bulletin.speech.timings import Phoneme, Sentence, Timings, Word

WAV_NAME = "speech.wav"
TIMINGS_NAME = "timings.json"


@dataclass(frozen=True)
class SpeechResult:
    """What :func:`bulletin.speech.synthesize` wrote and the timings inside ``timings.json``."""

    wav_path: Path
    timings_path: Path
    duration_s: float
    sample_rate: int
    phonemes: tuple[Phoneme, ...]
    words: tuple[Word, ...]
    sentences: tuple[Sentence, ...]
    engine: str
    voice: str
    lang: str
    loudness: Loudness | None = None  # measured on speech.wav as written


def speech_result(
    timings: Timings, wav_path: Path, timings_path: Path, loudness: Loudness | None = None
) -> SpeechResult:
    """The result of a synthesis whose ``timings`` were written to ``timings_path``."""
    return SpeechResult(
        wav_path=wav_path,
        timings_path=timings_path,
        duration_s=timings.duration,
        sample_rate=timings.sample_rate,
        phonemes=timings.phonemes,
        words=timings.words,
        sentences=timings.sentences,
        engine=timings.engine,
        voice=timings.voice,
        lang=timings.lang,
        loudness=loudness,
    )


__all__ = ["TIMINGS_NAME", "WAV_NAME", "SpeechResult", "speech_result"]
