"""What the speech stage returns: :class:`SpeechResult`, shared by both engines.

Its own module so that :mod:`bulletin.speech.synthesis` (which dispatches to the engines) and
:mod:`bulletin.speech.piper_engine` both import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bulletin.speech._io import speech_file
from bulletin.speech.loudness import Loudness, normalize_pcm, write_wav
from bulletin.speech.timings import Phoneme, Sentence, Timings, Word, check_timings, write_timings

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


def finish_speech(
    out_dir: Path, audio: np.ndarray, timings: Timings, loudness_lufs: float | None
) -> SpeechResult:
    """Check ``timings``, normalise the engine's ``audio`` (float or int16 samples at
    ``timings.sample_rate``) to ``loudness_lufs`` and write ``speech.wav`` and
    ``timings.json`` into ``out_dir``: the wav appears only once both are written. The end of
    every engine that makes its samples in memory (piper, FastSpeech2)."""
    check_timings(timings)
    wav_path = out_dir / WAV_NAME
    timings_path = out_dir / TIMINGS_NAME
    pcm, loudness = normalize_pcm(audio, timings.sample_rate, loudness_lufs)
    with speech_file(wav_path) as temporary:
        write_wav(temporary, pcm, timings.sample_rate)
        write_timings(timings_path, timings)
    return speech_result(timings, wav_path, timings_path, loudness)


__all__ = ["TIMINGS_NAME", "WAV_NAME", "SpeechResult", "finish_speech", "speech_result"]
