"""Subtitles (SRT and WebVTT) from display-word timings.

Cue layout follows the Netflix Timed Text Style Guides (English, and Simplified Chinese):
at most 2 lines, at most 42 characters per line in English and 16 in Chinese, a cue shown
between 5/6 s and 7 s. Words, and numbers with their units ("-12~-5°C"), are never split: a
single word longer than a line gets a line of its own. A cue always ends with its sentence.

A sentence too long for one cue is cut into as few cues as the limits allow, of lengths as
even as possible, preferably after punctuation (the guides ask for line and cue breaks at
punctuation and after clauses); each cue fills its lines greedily. The evenness is our choice:
a greedy fill leaves orphans such as a last cue of two characters shown for half a second.
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
from bulletin.speech.timings import Timing, Word
from bulletin.spoken import check_language, ends_sentence

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
    texts = [word.text for word in words]
    groups: list[list[list[int]]] = []  # cue -> lines -> word indices
    sentence: list[int] = []
    for index, word in enumerate(words):
        if not word.text.strip():
            continue
        sentence.append(index)
        if ends_sentence(texts, index, lang):
            groups.extend(_sentence_cues(sentence, words, lang))
            sentence = []
    if sentence:
        groups.extend(_sentence_cues(sentence, words, lang))

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


def _fill_lines(indices: Sequence[int], texts: Sequence[str], lang: str) -> list[list[int]]:
    """Words on lines of at most the language's limit, filled greedily (a lone over-long word
    gets a line of its own)."""
    limit = LINE_LIMIT[lang]
    lines: list[list[int]] = []
    for index in indices:
        if lines and len(join_words([texts[i] for i in lines[-1]] + [texts[index]], lang)) <= limit:
            lines[-1].append(index)
        else:
            lines.append([index])
    return lines


def _sentence_cues(
    sentence: Sequence[int], words: Sequence[Word], lang: str
) -> list[list[list[int]]]:
    """A sentence's words as cues: fewest cues, then even lengths, then breaks after
    punctuation (dynamic programming over the cue boundaries)."""
    texts = [word.text for word in words]
    limit = LINE_LIMIT[lang]
    count = len(sentence)
    # score[i]: (cues, cost) of the best cutting of the first i words; cut[i]: its last cue's
    # first word. A one-word cue is always allowed, so every score gets a finite value.
    score: list[tuple[int, float]] = [(0, 0.0)] + [(count + 1, math.inf)] * count
    cut = [0] * (count + 1)
    for end in range(1, count + 1):
        last = sentence[end - 1]
        # Even lengths (a sum of squares) and a line's worth of cost for a break mid-clause.
        break_cost = 0 if not texts[last][-1:].isalnum() else limit * limit
        for start in range(end - 1, -1, -1):
            span = sentence[start:end]
            chars = len(join_words([texts[i] for i in span], lang))
            if start < end - 1:
                too_long = words[last].end - words[sentence[start]].start > MAX_CUE_S
                if too_long or chars > MAX_LINES * limit:
                    break  # an earlier start only makes the cue longer and wider
                if len(_fill_lines(span, texts, lang)) > MAX_LINES:
                    continue
            cues, cost = score[start]
            candidate = (cues + 1, cost + chars * chars + break_cost)
            if candidate < score[end]:
                score[end], cut[end] = candidate, start
    bounds: list[tuple[int, int]] = []
    end = count
    while end > 0:
        bounds.append((cut[end], end))
        end = cut[end]
    return [_fill_lines(sentence[start:end], texts, lang) for start, end in reversed(bounds)]


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
