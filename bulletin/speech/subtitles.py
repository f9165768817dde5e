"""Subtitles (SRT and WebVTT) from display-word timings.

Cue layout follows the Netflix Timed Text Style Guides (English, and Simplified Chinese;
https://partnerhelp.netflixstudios.com/hc/en-us/sections/203480497): at most 2 lines, at most
42 characters per line in English and 16 in Chinese, a cue shown between 5/6 s and 7 s, line
and cue breaks at punctuation and after clauses, never between an article or a preposition and
the word it introduces, never between an adjective and its noun where it can be avoided, and
"chained" cues: a gap under half a second between two cues is closed (the Netflix subtitle
timing guidelines). Words, and numbers with their units ("-12~-5°C"), are never split: a single
word longer than a line gets a line of its own. A cue always ends with its sentence.

A sentence too long for one cue is cut, and every cue cut into lines, by one dynamic programme
over the sentence's word boundaries that adds up a cost per cue (fewer cues are better), per
break (free after punctuation; dear inside a clause; prohibitive where it leaves a lone word or
a one-to-two-character fragment of a clause, after an English function word, or, in Chinese,
after a preposition, adverb or conjunction and before a particle, locative or measure word,
the parts of speech from jieba's dictionary), and for uneven lengths. The costs are our choice.
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


CHAIN_GAP_S = 0.5
"""Gaps between cues shorter than this are closed (Netflix subtitle timing guidelines)."""

# Costs of the layout (our choice; see the module docstring).
CUE_COST = 4.0
CLAUSE_BREAK_COST = 0.0  # after punctuation inside the sentence
PREFERRED_BREAK_COST = 1.0  # before an English conjunction or preposition
WORD_BREAK_COST = 2.0  # any other word boundary inside a clause
NAME_BREAK_COST = 10.0  # inside a name or a compound noun
CUE_BREAK_FACTOR = 2.0  # a cue break inside a clause costs twice a line break there
BAD_BREAK_COST = 100.0  # a break the style guides forbid

#: English words a line or cue never ends with (articles, prepositions, conjunctions, auxiliaries,
#: possessives and intensifiers that introduce the next word; our list after the Netflix English
#: guide's "do not separate an article, preposition or conjunction from the word it governs").
EN_BINDS_NEXT = frozenset(
    "a an the of to at in on for from with by as into onto over under near than and or but nor "
    "so is are was were be been will would can could should may might must not no your our its "
    "their his her my this these those very too more most less least around about up down "
    "minus plus per such".split()
)
#: English words a break before is preferred (a new clause or phrase starts; Chinese: after a
#: word of :data:`ZH_ENDS_PHRASE`).
EN_STARTS_PHRASE = frozenset(
    "and but or so with without while when where which who because if then for from at in on to "
    "around until after before".split()
)
#: jieba dictionary tags a Chinese break never follows (preposition, adverb, conjunction) or
#: precedes (locative, measure word, particles, modal particle).
ZH_BINDS_NEXT = frozenset({"p", "d", "c"})
ZH_BINDS_PREVIOUS = frozenset({"f", "q", "u", "uj", "ul", "uz", "ug", "uv", "ud", "y"})
#: jieba tags of the words a Chinese phrase often ends with (locative, time word).
ZH_ENDS_PHRASE = frozenset({"f", "t"})
#: jieba tags of the words of a Chinese noun phrase (nouns, place and other names, verbal
#: nouns) and of the adjectives that modify them.
ZH_NOUNS = frozenset({"n", "ns", "nr", "nt", "nz", "vn", "ng"})
ZH_MODIFIERS = ZH_NOUNS | {"a", "an", "b"}
_CLAUSE_END = frozenset(",;:，、；：。！？!?.…—")


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
    chain_ms = round(CHAIN_GAP_S * 1000)
    for number, group in enumerate(groups):
        start = round(words[group[0][0]].start * 1000)
        end = max(round(words[group[-1][-1]].end * 1000), start + min_ms)
        if number + 1 < len(groups):
            following = round(words[groups[number + 1][0][0]].start * 1000)
            if following - end < chain_ms:
                end = following  # chained: no blank flicker between the two cues
            end = max(min(end, following), start)
        line_texts = tuple(join_words([texts[i] for i in line], lang) for line in group)
        cues.append(Cue(start=start / 1000, end=end / 1000, lines=line_texts))
    return cues


def _letters(text: str) -> int:
    """Characters of ``text`` that are neither punctuation nor spaces."""
    return sum(1 for char in text if char.isalnum() or char in "°℃%~-+:")


def _is_clause_end(text: str) -> bool:
    return text.rstrip("\"'”’)）」』")[-1:] in _CLAUSE_END


def _bare(text: str) -> str:
    return text.strip("\"'“”‘’()（）「」『』,;:.!?，、；：。！？…—").lower()


def _zh_tag(word: str) -> str | None:
    """The part of speech of a Chinese word in jieba's dictionary (None: not in it)."""
    import jieba.posseg

    return jieba.posseg.dt.word_tag_tab.get(_bare(word))


def _zh_nounish(word: str, tag: str | None, tags: frozenset[str]) -> bool:
    """A Chinese word with one of ``tags``, or a Chinese word outside jieba's dictionary (the
    segmenter keeps such runs whole only when they are names or compounds)."""
    if tag is None:
        return bool(word) and all("\u3400" <= char <= "\u9fff" for char in _bare(word))
    return tag in tags


def _is_fragment(texts: Sequence[str], lang: str) -> bool:
    """A lone word, or one or two characters: what a line or a clause part must not be."""
    return len(texts) == 1 or _letters("".join(texts)) <= 2


def _break_costs(texts: Sequence[str], lang: str) -> list[float]:
    """Cost of a line break after each word of a sentence (the last entry: the sentence end)."""
    count = len(texts)
    clause_of = []  # (first, last) word index of each word's clause
    first = 0
    for index in range(count):
        if _is_clause_end(texts[index]) or index == count - 1:
            clause_of.extend([(first, index)] * (index - first + 1))
            first = index + 1
    tags = [_zh_tag(text) for text in texts] if lang == "zh" else []
    single_han = {
        _bare(text)
        for text in texts
        if len(_bare(text)) == 1 and "\u3400" <= _bare(text) <= "\u9fff"
    }
    costs = []
    for index in range(count):
        if index == count - 1 or _is_clause_end(texts[index]):
            costs.append(CLAUSE_BREAK_COST)
            continue
        low, high = clause_of[index]
        head, tail = texts[low : index + 1], texts[index + 1 : high + 1]
        cost = WORD_BREAK_COST
        if lang == "en":
            if _bare(texts[index + 1]) in EN_STARTS_PHRASE:
                cost = PREFERRED_BREAK_COST
            if texts[index][:1].isupper() and texts[index + 1][:1].isupper():
                cost = NAME_BREAK_COST  # "Genting Snow Park"
            if _bare(texts[index]) in EN_BINDS_NEXT:
                cost = BAD_BREAK_COST
        elif tags[index] in ZH_BINDS_NEXT or tags[index + 1] in ZH_BINDS_PREVIOUS:
            cost = BAD_BREAK_COST
        elif tags[index] in ZH_ENDS_PHRASE:
            cost = PREFERRED_BREAK_COST  # after "早晨6点前后"
        elif _zh_nounish(texts[index], tags[index], ZH_MODIFIERS) and _zh_nounish(
            texts[index + 1], tags[index + 1], ZH_NOUNS
        ):
            cost = NAME_BREAK_COST  # "张家口赛区", "最高气温"
        elif _bare(texts[index]) in single_han and _bare(texts[index + 1]) in single_han:
            cost = NAME_BREAK_COST  # two one-character words: a word outside the dictionary
        if _is_fragment(head, lang) or _is_fragment(tail, lang):
            cost += BAD_BREAK_COST
        costs.append(cost)
    return costs


def _sentence_cues(
    sentence: Sequence[int], words: Sequence[Word], lang: str
) -> list[list[list[int]]]:
    """A sentence's words as cues of lines: the layout of least cost (module docstring), by
    dynamic programming over the cue boundaries with the best line split of each cue."""
    texts = [words[i].text for i in sentence]
    limit = LINE_LIMIT[lang]
    count = len(sentence)
    breaks = _break_costs(texts, lang)
    width = {}  # (start, end) -> characters of the line of words start..end-1

    def chars(start: int, end: int) -> int:
        key = (start, end)
        if key not in width:
            width[key] = len(join_words(texts[start:end], lang))
        return width[key]

    def fits(start: int, end: int) -> bool:
        return end - start == 1 or chars(start, end) <= limit

    def lines_cost(start: int, end: int) -> tuple[float, list[tuple[int, int]]] | None:
        """The best one- or two-line layout of words start..end-1, or None."""
        several = count > end - start  # the cue is part of a longer sentence
        best: tuple[float, list[tuple[int, int]]] | None = None
        if fits(start, end):
            alone = several and _is_fragment(texts[start:end], lang)
            best = (BAD_BREAK_COST if alone else 0.0, [(start, end)])
        for split in range(start + 1, end):
            if not (fits(start, split) and fits(split, end)):
                continue
            top, bottom = chars(start, split), chars(split, end)
            cost = breaks[split - 1] + ((top - bottom) / limit) ** 2
            for low, high in ((start, split), (split, end)):
                if _is_fragment(texts[low:high], lang):
                    cost += BAD_BREAK_COST
            if best is None or cost < best[0]:
                best = (cost, [(start, split), (split, end)])
        return best

    score = [0.0] + [math.inf] * count
    choice: list[tuple[int, list[tuple[int, int]]]] = [(0, [])] * (count + 1)
    for end in range(1, count + 1):
        end_cost = 0.0 if end == count else breaks[end - 1] * CUE_BREAK_FACTOR
        for start in range(end - 1, -1, -1):
            if end - start > 1:
                too_long = words[sentence[end - 1]].end - words[sentence[start]].start > MAX_CUE_S
                if too_long or chars(start, end) > MAX_LINES * limit + 1:
                    break  # an earlier start only makes the cue longer and wider
            layout = lines_cost(start, end)
            if layout is None or score[start] == math.inf:
                continue
            spread = (chars(start, end) / limit) ** 2
            candidate = score[start] + CUE_COST + spread + layout[0] + end_cost
            if candidate < score[end]:
                score[end], choice[end] = candidate, (start, layout[1])
    cues: list[list[list[int]]] = []
    end = count
    while end > 0:
        start, lines = choice[end]
        cues.append([[sentence[i] for i in range(low, high)] for low, high in lines])
        end = start
    return list(reversed(cues))


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
