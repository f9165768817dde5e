"""Subtitles (SRT and WebVTT) from display-word timings.

Cue layout follows the Netflix Timed Text Style Guides (English, and Simplified Chinese):
at most 2 lines, at most 42 characters per line in English and 16 in Chinese, a cue shown
between 5/6 s and 7 s. Words, and numbers with their units ("-12~-5°C"), are never split: a
single word longer than a line gets a line of its own. A cue always ends with its sentence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import srt
import webvtt

from bulletin.errors import SpeechError
from bulletin.speech._io import write_text_atomic
from bulletin.speech.normalize import check_language, ends_sentence
from bulletin.speech.timings import Timing, Word

LINE_LIMIT = {"en": 42, "zh": 16}
MAX_LINES = 2
MIN_CUE_S = 5 / 6
MAX_CUE_S = 7.0


@dataclass(frozen=True)
class Cue(Timing):
    """One subtitle: up to :data:`MAX_LINES` lines shown from ``start`` to ``end``."""

    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def join_words(words: Sequence[str], lang: str) -> str:
    """Display words as one line: spaces in English; in Chinese only between Latin/digits."""
    if lang == "en":
        return " ".join(words)
    line = ""
    for word in words:
        if line and line[-1].isascii() and line[-1].isalnum() and word[0].isascii():
            line += " "
        line += word
    return line


def build_cues(words: Sequence[Word], lang: str) -> list[Cue]:
    """Group timed display words into cues (see the module docstring for the rules)."""
    check_language(lang)
    limit = LINE_LIMIT[lang]
    texts = [word.text for word in words]
    groups: list[list[list[int]]] = []  # cue -> lines -> word indices
    lines: list[list[int]] = []

    def close() -> None:
        nonlocal lines
        if lines:
            groups.append(lines)
        lines = []

    for index, word in enumerate(words):
        if not word.text.strip():
            continue
        if lines and word.end - words[lines[0][0]].start > MAX_CUE_S:
            close()
        if not lines:
            lines = [[index]]
        else:
            candidate = [texts[i] for i in lines[-1]] + [word.text]
            if len(join_words(candidate, lang)) <= limit:
                lines[-1].append(index)
            elif len(lines) < MAX_LINES:
                lines.append([index])
            else:
                close()
                lines = [[index]]
        if ends_sentence(texts, index, lang):
            close()
    close()

    # Times in whole milliseconds (what SRT and WebVTT can hold).
    cues: list[Cue] = []
    min_ms = math.ceil(MIN_CUE_S * 1000)
    for number, group in enumerate(groups):
        start = round(words[group[0][0]].start * 1000)
        end = max(round(words[group[-1][-1]].end * 1000), start + min_ms)
        if number + 1 < len(groups):
            following = round(words[groups[number + 1][0][0]].start * 1000)
            end = max(min(end, following), start)
        line_texts = tuple(join_words([texts[i] for i in line], lang) for line in group)
        cues.append(Cue(start=start / 1000, end=end / 1000, lines=line_texts))
    return cues


def srt_text(cues: Sequence[Cue]) -> str:
    subtitles = [
        srt.Subtitle(
            index=number,
            start=timedelta(seconds=cue.start),
            end=timedelta(seconds=cue.end),
            content=cue.text,
        )
        for number, cue in enumerate(cues, start=1)
    ]
    return srt.compose(subtitles, reindex=False)


def vtt_text(cues: Sequence[Cue]) -> str:
    document = webvtt.WebVTT(
        captions=[
            webvtt.Caption(start=_vtt_time(cue.start), end=_vtt_time(cue.end), text=cue.text)
            for cue in cues
        ]
    )
    return document.content


def _vtt_time(seconds: float) -> str:
    milliseconds = round(seconds * 1000)
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{whole:02d}.{millis:03d}"


def write_subtitles(
    words: Sequence[Word],
    lang: str,
    srt_path: Path | None = None,
    vtt_path: Path | None = None,
) -> list[Cue]:
    """Write SRT and/or WebVTT subtitles for ``words`` atomically; return the cues."""
    if srt_path is None and vtt_path is None:
        raise SpeechError("write_subtitles needs an SRT path, a WebVTT path or both")
    cues = build_cues(words, lang)
    if not cues:
        raise SpeechError("no words to put in subtitles")
    if srt_path is not None:
        write_text_atomic(Path(srt_path), srt_text(cues))
    if vtt_path is not None:
        write_text_atomic(Path(vtt_path), vtt_text(cues))
    return cues
