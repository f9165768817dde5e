"""The speech synthesis the avatar needs, as a type: the caller passes a synthesizer in.

Transcript alignment (:mod:`avatar.align`) and procedural footage (:mod:`avatar.footage`) need
speech with exact phoneme times. The avatar package does not synthesise speech itself; any
callable of the :class:`Synthesize` shape will do, e.g. the project's
``bulletin.speech.synthesize`` (espeak-ng, which reports the phoneme times of its own audio).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol


class TimedPhoneme(Protocol):
    """One phoneme of synthesised speech: its name and its times in seconds from the start."""

    @property
    def phoneme(self) -> str: ...

    @property
    def start(self) -> float: ...

    @property
    def end(self) -> float: ...


class SynthesizedSpeech(Protocol):
    """What a synthesizer wrote: the audio file and the phonemes spoken in it."""

    @property
    def wav_path(self) -> Path: ...

    @property
    def phonemes(self) -> Sequence[TimedPhoneme]: ...


class Synthesize(Protocol):
    """Speak ``text`` in language ``lang`` (``"en"`` or ``"zh"``) into the folder ``out_dir``
    at ``rate`` words per minute (``None``: the synthesizer's default pace)."""

    def __call__(
        self, text: str, lang: str, out_dir: Path, *, rate: int | None = None
    ) -> SynthesizedSpeech: ...
