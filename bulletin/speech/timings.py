"""Phoneme, word and sentence timings, and the ``timings.json`` file the avatar stage reads.

``timings.json`` (version 1)::

    {"version": 1, "engine": "pyttsx3-espeak-ng", "voice": "cmn-latn-pinyin", "lang": "zh",
     "sample_rate": 22050, "duration": 12.34,
     "phonemes": [{"phoneme": "t", "start": 0.10, "end": 0.16}, ...],
     "words": [{"text": "零下", "start": 0.10, "end": 0.55}, ...],
     "sentences": [{"text": "...", "start": 0.1, "end": 3.2}, ...]}

Times are seconds from the start of the WAV. Phonemes are espeak-ng phoneme mnemonics
(``espeak-ng -x`` names such as ``aI``, ``tS;``, ``@r``); every pause (espeak's ``_``, ``_:``,
``_|`` and silence before the first sound) is written ``_``. Phonemes tile the audio: the first
starts at 0, each starts where the previous ends, the last ends at ``duration``. Words are the
*display* words of the script (``-12°C``, not "minus twelve degrees Celsius") in order, never
overlapping; a display word that is not spoken (a lone symbol) gets a zero-length timing where
the previous word ends. Sentences span their first to last word.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bulletin.errors import SpeechError
from bulletin.speech._io import write_text_atomic
from bulletin.spoken import SpokenText, Token, ends_sentence

TIMINGS_VERSION = 1
PAUSE = "_"
_DECIMALS = 4  # 0.1 ms: finer than one sample at 22,050 Hz is pointless, coarser loses exactness


@dataclass(frozen=True)
class Timing:
    """A time interval in seconds from the start of the audio."""

    start: float
    end: float


@dataclass(frozen=True)
class Phoneme(Timing):
    phoneme: str


@dataclass(frozen=True)
class Word(Timing):
    text: str


@dataclass(frozen=True)
class Sentence(Timing):
    text: str


@dataclass(frozen=True)
class RawPhoneme:
    """A phoneme in samples, with the index of the engine word it belongs to (-1: none)."""

    name: str
    start: int
    end: int
    word: int


@dataclass(frozen=True)
class RawWord:
    """An engine word event: 1-based character offset and length in the engine's input text."""

    text_position: int
    length: int


@dataclass(frozen=True)
class Timings:
    """Everything ``timings.json`` holds."""

    engine: str
    voice: str
    lang: str
    sample_rate: int
    duration: float
    phonemes: tuple[Phoneme, ...]
    words: tuple[Word, ...]
    sentences: tuple[Sentence, ...]


def phonemes_from_events(
    events: Sequence[Sequence], n_samples: int
) -> tuple[list[RawPhoneme], list[RawWord]]:
    """Turn espeak-ng word and phoneme events (in stream order) into raw phonemes and words.

    A phoneme lasts until the next phoneme event starts (the last until the end of the audio);
    it belongs to the last word event before it.
    """
    words: list[RawWord] = []
    starts: list[tuple[str, int, int]] = []
    for event in events:
        if event[0] == "word":
            words.append(RawWord(int(event[2]), int(event[3])))
        elif event[0] == "phoneme":
            sample = min(max(int(event[1]), starts[-1][1] if starts else 0), n_samples)
            starts.append((str(event[2]), sample, len(words) - 1))
    phonemes = []
    for index, (name, start, word) in enumerate(starts):
        end = starts[index + 1][1] if index + 1 < len(starts) else n_samples
        phonemes.append(RawPhoneme(name, start, end, word))
    return phonemes, words


def is_pause(name: str) -> bool:
    """espeak-ng pause mnemonics start with ``_``; IPA-mode pauses have an empty name."""
    return not name or name.startswith("_")


def assemble(
    raw_phonemes: Sequence[RawPhoneme],
    raw_words: Sequence[RawWord],
    n_samples: int,
    sample_rate: int,
    origin: Sequence[int],
    spoken_text: SpokenText,
) -> tuple[tuple[Phoneme, ...], tuple[Word, ...], tuple[Sentence, ...]]:
    """Phoneme, display-word and sentence timings from engine phonemes and words.

    ``origin`` maps each character of the text the engine read to a display offset (-1 for
    characters with none, such as separating spaces).
    """
    phonemes = _tile_phonemes(raw_phonemes, n_samples, sample_rate)
    tokens = spoken_text.tokens
    word_token = [_token_of(word, origin, spoken_text.token_at) for word in raw_words]
    token_phonemes: list[list[tuple[int, int]]] = [[] for _ in tokens]
    for raw in raw_phonemes:
        if 0 <= raw.word < len(word_token) and not is_pause(raw.name) and raw.end > raw.start:
            token = word_token[raw.word]
            if token >= 0:
                token_phonemes[token].append((raw.start, raw.end))
    _share_joined_words(token_phonemes, tokens)
    token_span: list[tuple[int, int] | None] = [
        (group[0][0], group[-1][1]) if group else None for group in token_phonemes
    ]
    words: list[Word] = []
    previous_end = phonemes[0].end if phonemes and phonemes[0].phoneme == PAUSE else 0.0
    for token, span in zip(tokens, token_span, strict=True):
        if span is None:
            start = end = previous_end
        else:
            start = max(_seconds(span[0], sample_rate), previous_end)
            end = max(_seconds(span[1], sample_rate), start)
        words.append(Word(start=start, end=end, text=token.text))
        previous_end = end
    sentences = _sentences(words, spoken_text)
    return phonemes, tuple(words), sentences


def _seconds(sample: int, sample_rate: int) -> float:
    return round(sample / sample_rate, _DECIMALS)


def _tile_phonemes(
    raw_phonemes: Sequence[RawPhoneme], n_samples: int, sample_rate: int
) -> tuple[Phoneme, ...]:
    """Phonemes covering [0, n_samples] without gaps: pauses and gaps become ``_``."""
    pieces: list[tuple[str, int, int]] = []

    def add(name: str, start: int, end: int) -> None:
        if end <= start:
            return
        if pieces and pieces[-1][0] == PAUSE and name == PAUSE:
            pieces[-1] = (PAUSE, pieces[-1][1], end)
        else:
            pieces.append((name, start, end))

    cursor = 0
    for raw in raw_phonemes:
        start = max(raw.start, cursor)
        end = min(raw.end, n_samples)
        if start > cursor:
            add(PAUSE, cursor, start)
        add(PAUSE if is_pause(raw.name) else raw.name, start, end)
        cursor = max(cursor, end)
    if cursor < n_samples:
        add(PAUSE, cursor, n_samples)
    return tuple(
        Phoneme(start=_seconds(start, sample_rate), end=_seconds(end, sample_rate), phoneme=name)
        for name, start, end in pieces
    )


def _share_joined_words(
    token_phonemes: list[list[tuple[int, int]]], tokens: Sequence[Token]
) -> None:
    """Give display words that the engine joined to the word before them a share of its time.

    espeak-ng reads some function words together with their neighbour and sends one word event
    for both (measured: "of the" -> ``VvD@2``, a single event for "of"). Such a word would get
    no time of its own; instead the joined phonemes are split at phoneme boundaries in
    proportion to the words' letters (our choice: letters are a fair proxy for phonemes here).
    """
    count = len(tokens)
    index = 0
    while index < count:
        if not token_phonemes[index]:
            index += 1
            continue
        stop = index + 1
        while stop < count and not token_phonemes[stop] and _speakable(tokens[stop].text):
            stop += 1
        group = token_phonemes[index]
        members = list(range(index, stop))
        if len(members) > 1 and len(group) >= len(members):
            weights = [max(sum(ch.isalnum() for ch in tokens[m].text), 1) for m in members]
            total = sum(weights)
            cuts = [0]
            running = 0
            for weight in weights[:-1]:
                running += weight
                cuts.append(round(running / total * len(group)))
            cuts.append(len(group))
            for k in range(1, len(cuts) - 1):  # at least one phoneme per word
                cuts[k] = max(cuts[k], cuts[k - 1] + 1)
            for k in range(len(cuts) - 2, 0, -1):
                cuts[k] = min(cuts[k], cuts[k + 1] - 1)
            for member, first, last in zip(members, cuts, cuts[1:], strict=False):
                token_phonemes[member] = group[first:last]
        index = stop


def _speakable(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _token_of(raw_word: RawWord, origin: Sequence[int], token_at: Sequence[int]) -> int:
    first = max(raw_word.text_position - 1, 0)
    for offset in range(first, min(first + max(raw_word.length, 1), len(origin))):
        display = origin[offset]
        if display >= 0 and token_at[display] >= 0:
            return token_at[display]
    return -1


def _sentences(words: Sequence[Word], spoken_text: SpokenText) -> tuple[Sentence, ...]:
    tokens = spoken_text.tokens
    texts = [token.text for token in tokens]
    sentences: list[Sentence] = []
    first = 0
    for index in range(len(tokens)):
        if ends_sentence(texts, index, spoken_text.lang) or index == len(tokens) - 1:
            text = spoken_text.display[tokens[first].start : tokens[index].end]
            sentences.append(Sentence(start=words[first].start, end=words[index].end, text=text))
            first = index + 1
    return tuple(sentences)


# -- timings.json ---------------------------------------------------------------------------
def timings_to_json(timings: Timings) -> str:
    """The ``timings.json`` text (UTF-8, Chinese kept readable)."""
    document = {
        "version": TIMINGS_VERSION,
        "engine": timings.engine,
        "voice": timings.voice,
        "lang": timings.lang,
        "sample_rate": timings.sample_rate,
        "duration": timings.duration,
        "phonemes": [
            {"phoneme": p.phoneme, "start": p.start, "end": p.end} for p in timings.phonemes
        ],
        "words": [{"text": w.text, "start": w.start, "end": w.end} for w in timings.words],
        "sentences": [{"text": s.text, "start": s.start, "end": s.end} for s in timings.sentences],
    }
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def write_timings(path: Path, timings: Timings) -> None:
    """Write ``timings.json`` atomically."""
    write_text_atomic(path, timings_to_json(timings))


def read_timings(path: Path) -> Timings:
    """Read and check a ``timings.json`` file; raise :class:`SpeechError` if it is malformed."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SpeechError(f"cannot read timings file {path}: {error}") from None
    try:
        if document["version"] != TIMINGS_VERSION:
            raise SpeechError(
                f"timings file {path} has version {document['version']!r}, "
                f"expected {TIMINGS_VERSION}"
            )
        timings = Timings(
            engine=str(document["engine"]),
            voice=str(document["voice"]),
            lang=str(document["lang"]),
            sample_rate=int(document["sample_rate"]),
            duration=float(document["duration"]),
            phonemes=tuple(
                Phoneme(start=float(p["start"]), end=float(p["end"]), phoneme=str(p["phoneme"]))
                for p in document["phonemes"]
            ),
            words=tuple(
                Word(start=float(w["start"]), end=float(w["end"]), text=str(w["text"]))
                for w in document["words"]
            ),
            sentences=tuple(
                Sentence(start=float(s["start"]), end=float(s["end"]), text=str(s["text"]))
                for s in document["sentences"]
            ),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise SpeechError(f"timings file {path} is malformed: {error!r}") from None
    check_timings(timings, source=str(path))
    return timings


def check_timings(timings: Timings, *, source: str = "timings") -> None:
    """Raise :class:`SpeechError` unless the timings are ordered and inside the audio."""
    limit = timings.duration + 1e-3
    for kind, items in (
        ("phoneme", timings.phonemes),
        ("word", timings.words),
        ("sentence", timings.sentences),
    ):
        previous_end = 0.0
        for item in items:
            if not (
                math.isfinite(item.start)
                and math.isfinite(item.end)
                and previous_end - 1e-6 <= item.start <= item.end <= limit
            ):
                raise SpeechError(
                    f"{source}: {kind} {item!r} is out of order or outside the audio "
                    f"(0-{timings.duration} s)"
                )
            previous_end = item.end
