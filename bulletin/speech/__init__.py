"""Speech stage: bulletin script text -> WAV, phoneme/word/sentence timings and subtitles.

``synthesize(text, lang, out_dir)`` writes ``speech.wav`` and ``timings.json`` (format in
:mod:`bulletin.speech.timings`) with an engine of :data:`ENGINES` (``auto``: per language the
natural voice that is installed, else espeak-ng; :func:`resolve_engine`); ``write_subtitles``
turns the word timings into SRT and WebVTT. The WAV is normalised to a programme loudness
(:mod:`bulletin.speech.loudness`, EBU R128's -23 LUFS by default).
"""

from bulletin.speech.loudness import DEFAULT_LOUDNESS_LUFS, Loudness, measure_wav
from bulletin.speech.result import SpeechResult
from bulletin.speech.subtitles import Cue, build_cues, write_subtitles
from bulletin.speech.synthesis import (
    ENGINES,
    SpeechRequest,
    check_request,
    engine_licence,
    resolve_engine,
    synthesize,
    synthesize_many,
)
from bulletin.speech.timings import (
    Phoneme,
    Sentence,
    Timing,
    Timings,
    Word,
    read_timings,
)
from bulletin.spoken import normalize, normalize_for_speech

__all__ = [
    "DEFAULT_LOUDNESS_LUFS",
    "ENGINES",
    "Cue",
    "Loudness",
    "Phoneme",
    "Sentence",
    "SpeechRequest",
    "SpeechResult",
    "Timing",
    "Timings",
    "Word",
    "build_cues",
    "check_request",
    "engine_licence",
    "measure_wav",
    "normalize",
    "normalize_for_speech",
    "read_timings",
    "resolve_engine",
    "synthesize",
    "synthesize_many",
    "write_subtitles",
]
