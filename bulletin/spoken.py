"""Text normalisation for speech: numbers, units, times and dates spelled out as words.

A bulletin script is written for reading ("-12~-5°C", "5 m/s", "05:30", "SPF 30"); a speech
engine needs the words a presenter would say ("minus twelve to minus five degrees Celsius",
"零下十二到零下五摄氏度"). :func:`normalize` returns both and keeps, for every spoken character,
the offset of the display character it came from, so word timings from the engine can be
mapped back to the *display* words that subtitles show (``-12~-5°C``, not the spelled-out text).

Numbers are spelled with ``num2words`` (English) and ``cn2an`` (Chinese). Conventions, each
marked where it is our choice:

* Chinese negative temperatures are read 零下 ("below zero") and positive signed ones 零上,
  the words Chinese weather forecasts say ("最低气温零下12摄氏度"); a negative number with a
  non-temperature unit (%, m/s, clo, ...) is read 负 (the mathematical minus). A signed number
  with no unit is taken as a temperature, since in these bulletins every unitless signed
  value is one (our choice).
* English negatives are "minus", as English-language weather broadcasts say them.
* Times are 24-hour in the scripts. English reads them on the 12-hour clock with "a.m."/"p.m."
  ("14:00" -> "two p.m."), the way English-language broadcasts say them (our choice); Chinese
  reads "14:05" as 十四点零五分 and uses 两 for two o'clock (两点), as spoken Mandarin does.
* Dates are ISO ``2022-02-04`` or Chinese ``2月4日``; English says "February fourth, twenty
  twenty-two" (US order, matching the ``en-us`` voice), Chinese 二零二二年二月四日 (years digit
  by digit, as years are read in Mandarin).
* Ranges ``-12~-5``, ``3-5``, ``14–21`` are read "X to Y" / "X到Y".
* Latin letters in Chinese text: only the acronyms UV and SPF are allowed and they are spelled
  as the letter names Mandarin speakers use (U "you", V "wei", S "ai-si", P "pi", F "ai-fu"),
  written directly as tone-numbered pinyin for the ``cmn-latn-pinyin`` voice, which reads Latin
  text as pinyin (our choice: measured with ``espeak-ng -x``, "SPF" itself comes out as one
  garbled syllable cluster). Any other Latin word in Chinese text is an error: the bulletin
  writer must write it in Chinese.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

import cn2an
from num2words import num2words

from bulletin.errors import SpeechError, SpeechUsageError, unknown_name

LANGUAGES = ("en", "zh")

# Letter names of the allowed acronyms, as tone-numbered pinyin (see the module docstring).
ZH_LETTER_PINYIN = {
    "U": "you1",
    "V": "wei1",
    "S": "ai1 si1",
    "P": "pi1",
    "F": "ai1 fu1",
}
ACRONYMS = ("SPF", "UV")
_PINYIN_LETTER_NAME_RE = re.compile(
    r"\b(?:" + "|".join(sorted({s for n in ZH_LETTER_PINYIN.values() for s in n.split()})) + r")\b"
)
# Measure words and units that are read together with the number before them and so stay on
# its subtitle line ("风力5级", "30分钟", "2月7日"; our choice: the ones the bulletins use and
# common time and length units).
ZH_MEASURE_WORDS = frozenset(
    "级 类 月 日 年 号 点 时 分 秒 度 摄氏度 分钟 小时 天 倍 次 层 个 米 千米 公里 厘米 毫米".split()
)

# A unit is (English singular, English plural, Chinese, is_temperature). Longest symbols first
# so "km/h" wins over "km" and "m". English in US spelling (meter, kilometer), the variety of
# the en-us voices.
_UNITS: dict[str, tuple[str, str, str, bool]] = {
    "°C": ("degree Celsius", "degrees Celsius", "摄氏度", True),
    "℃": ("degree Celsius", "degrees Celsius", "摄氏度", True),
    "°": ("degree", "degrees", "度", True),
    "km/h": ("kilometer per hour", "kilometers per hour", "千米每小时", False),
    "m/s": ("meter per second", "meters per second", "米每秒", False),
    "W/m²": ("watt per square meter", "watts per square meter", "瓦每平方米", False),
    "W/m2": ("watt per square meter", "watts per square meter", "瓦每平方米", False),
    "hPa": ("hectopascal", "hectopascals", "百帕", False),
    "clo": ("clo", "clo", "克罗", False),
    "mm": ("millimeter", "millimeters", "毫米", False),
    "cm": ("centimeter", "centimeters", "厘米", False),
    "km": ("kilometer", "kilometers", "千米", False),
    "m": ("meter", "meters", "米", False),
    "h": ("hour", "hours", "小时", False),
    "%": ("percent", "percent", "", False),  # Chinese puts 百分之 before the number instead.
}
_UNIT_RE = re.compile(
    "(" + "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True)) + ")"
    r"(?![A-Za-z0-9²])"
)
# A Chinese temperature may also be written with the Han unit 度 right after the number.
_ZH_TEMPERATURE_WORDS = ("度", "摄氏度")

# Sets, not strings: "" in "0123456789" is True, and the text edges give "".
_DIGITS = frozenset("0123456789")
_NUMBER_RE = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?")
_DATE_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?![0-9])")
_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})(?![0-9:])")
_ORDINAL_RE = re.compile(r"(\d+)(st|nd|rd|th)(?![A-Za-z])")
_ACRONYM_RE = re.compile(r"(" + "|".join(ACRONYMS) + r")(?![A-Za-z])")
# What may follow a number up to its unit: a range continuation ("~-5", "-5", "–21") and space.
_RANGE_TAIL_RE = re.compile(r"(?:\s*[~～–]\s*|[-−])[-−+]?\d[\d,.]*")

_MINUS_SIGNS = frozenset("-−")
_RANGE_MARKS = frozenset("~～–")
_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HAN_RUN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_RE = re.compile(r"[A-Za-z]+")

_EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

# Punctuation that ends a sentence, and punctuation that belongs to a neighbouring word.
SENTENCE_END = ".!?。！？…"
_OPENING_PUNCT = "([{（【《「『“‘\"'"
_CLOSING_PUNCT = ")]}）】》」』”’\"'.,;:!?。，、；：！？…—·"
# Punctuation the Chinese voice may meet (it is turned into pauses); any other symbol in Chinese
# text is an error, since cmn-latn-pinyin would read it as garbled pinyin.
_ZH_SPEAKABLE_PUNCT = "，。、；：！？（）《》「」『』【】“”‘’…—·,.;:!?()\"'-"
_EN_ABBREVIATIONS = frozenset({"a.m.", "p.m.", "e.g.", "i.e.", "etc.", "approx.", "no.", "vs."})


def is_han(char: str) -> bool:
    """True for a CJK unified ideograph (a Chinese character)."""
    return bool(_HAN_RE.fullmatch(char))


@dataclass(frozen=True)
class Span:
    """A piece of display text and what is said for it.

    ``generated`` is True where the normaliser wrote the spoken text (numbers, units, ...),
    False where the display text is spoken as written.
    """

    display_start: int
    display_end: int
    spoken: str
    generated: bool


@dataclass(frozen=True)
class Token:
    """A display word: the unit of word timings and subtitles (never split)."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class SpokenText:
    """Display text, the text to speak, and the mapping between them."""

    lang: str
    display: str
    spans: tuple[Span, ...] = field(repr=False)

    @cached_property
    def spoken(self) -> str:
        return "".join(span.spoken for span in self.spans)

    @cached_property
    def origin(self) -> tuple[int, ...]:
        """Display offset of each spoken character (a generated span maps to its start)."""
        offsets: list[int] = []
        for span in self.spans:
            if span.generated:
                offsets.extend([span.display_start] * len(span.spoken))
            else:
                offsets.extend(range(span.display_start, span.display_end))
        return tuple(offsets)

    @cached_property
    def tokens(self) -> tuple[Token, ...]:
        return tuple(display_tokens(self.display, self.lang))

    @cached_property
    def token_at(self) -> tuple[int, ...]:
        """Token index of each display character (-1 for whitespace between tokens)."""
        index = [-1] * len(self.display)
        for number, token in enumerate(self.tokens):
            index[token.start : token.end] = [number] * (token.end - token.start)
        return tuple(index)


def check_language(lang: str) -> str:
    """Return ``lang`` if it is supported, else raise :class:`SpeechError`."""
    if lang not in LANGUAGES:
        raise SpeechUsageError(unknown_name("unsupported speech language", lang, LANGUAGES))
    return lang


def normalize_for_speech(text: str, lang: str) -> str:
    """The text a speech engine should read for ``text`` in ``lang`` ("en" or "zh")."""
    return normalize(text, lang).spoken


def normalize(text: str, lang: str) -> SpokenText:
    """Spell out numbers, units, times, dates and acronyms, keeping a display mapping.

    Raises :class:`SpeechError` for empty text, an impossible date or time, Latin words in
    Chinese text (other than UV and SPF) or Chinese characters in English text.
    """
    check_language(lang)
    if not text or not text.strip():
        raise SpeechError("nothing to say: the speech text is empty")
    spans = _Normaliser(text, lang).run()
    result = SpokenText(lang=lang, display=text, spans=tuple(spans))
    _check_speakable(result)
    return result


class _Normaliser:
    """A left-to-right scanner that turns display text into spans."""

    def __init__(self, text: str, lang: str) -> None:
        self.text = text
        self.lang = lang
        self.spans: list[Span] = []
        self.plain_start = 0
        # The last number read: its value, end offset and whether it closed a range.
        self.last_number: tuple[Decimal, int, bool] | None = None
        self.in_range = False

    # -- driver -----------------------------------------------------------------------
    def run(self) -> list[Span]:
        text = self.text
        position = 0
        rules: tuple[Callable[[int], int | None], ...] = (
            self._date,
            self._time,
            self._ordinal,
            self._signed_number,
            self._unit,
            self._range_mark,
            self._plus_after_number,
            self._acronym,
        )
        while position < len(text):
            for rule in rules:
                end = rule(position)
                if end is not None:
                    position = end
                    break
            else:
                position += 1
        self._flush_plain(len(text))
        return self.spans

    def _emit(self, start: int, end: int, spoken: str) -> int:
        self._flush_plain(start)
        if self.lang == "en" and spoken:
            # Keep generated English words apart from neighbouring letters ("5km" -> "5 km").
            before = self.spans[-1].spoken[-1:] if self.spans else ""
            if before.isalnum() and not spoken.startswith(" "):
                spoken = " " + spoken
            elif before == " ":
                spoken = spoken.lstrip(" ")
            if end < len(self.text) and self.text[end].isalnum() and not spoken.endswith(" "):
                spoken += " "
        self.spans.append(Span(start, end, spoken, generated=True))
        self.plain_start = end
        return end

    def _flush_plain(self, upto: int) -> None:
        if upto > self.plain_start:
            piece = self.text[self.plain_start : upto]
            self.spans.append(Span(self.plain_start, upto, piece, generated=False))
        self.plain_start = max(self.plain_start, upto)

    def _prev_char(self, position: int) -> str:
        return self.text[position - 1] if position > 0 else ""

    def _prev_is_digit(self, position: int) -> bool:
        return position > 0 and self.text[position - 1] in _DIGITS

    # -- rules --------------------------------------------------------------------------
    def _date(self, position: int) -> int | None:
        match = _DATE_RE.match(self.text, position)
        if not match or self._prev_is_digit(position):
            return None
        year, month, day = (int(part) for part in match.groups())
        if not (1 <= month <= 12 and 1 <= day <= 31):
            raise SpeechError(f"impossible date {match.group(0)!r} in speech text")
        if self.lang == "en":
            day_words = num2words(day, to="ordinal")
            spoken = f"{_EN_MONTHS[month - 1]} {day_words}, {num2words(year, to='year')}"
        else:
            spoken = f"{cn2an.an2cn(str(year), 'direct')}年{_zh_int(month)}月{_zh_int(day)}日"
        self.last_number = None
        return self._emit(position, match.end(), spoken)

    def _time(self, position: int) -> int | None:
        match = _TIME_RE.match(self.text, position)
        if not match or self._prev_is_digit(position) or self._prev_char(position) == ":":
            return None
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour > 24 or minute > 59 or (hour == 24 and minute):
            raise SpeechError(f"impossible time {match.group(0)!r} in speech text")
        spoken = _en_time(hour, minute) if self.lang == "en" else _zh_time(hour, minute)
        self.last_number = None
        return self._emit(position, match.end(), spoken)

    def _ordinal(self, position: int) -> int | None:
        if self.lang != "en":
            return None
        match = _ORDINAL_RE.match(self.text, position)
        if not match or self._prev_is_digit(position):
            return None
        self.last_number = None
        return self._emit(position, match.end(), num2words(int(match.group(1)), to="ordinal"))

    def _signed_number(self, position: int) -> int | None:
        text = self.text
        sign = ""
        start = position
        if text[position] in _MINUS_SIGNS | {"+"}:
            # A sign only where no number or word precedes it ("3-5" is a range, not 3 and -5).
            previous = self._prev_char(position)
            if previous.isascii() and (previous.isalnum() or previous == "."):
                return None
            sign = "-" if text[position] in _MINUS_SIGNS else "+"
            position += 1
        elif self._prev_char(position).isascii() and self._prev_char(position).isalnum():
            # Digits glued to Latin letters ("PM2.5", "A1") are read as digits one by one,
            # except after an acronym that takes a number ("SPF30").
            if text[position] not in _DIGITS or self._prev_is_digit(position):
                return None
            if not text[:position].endswith(ACRONYMS):
                return self._digits_after_letters(position)
        match = _NUMBER_RE.match(text, position)
        if not match:
            return None
        integer_part = match.group(1).replace(",", "")
        fraction = match.group(2)
        value = Decimal(integer_part + ("." + fraction if fraction else ""))
        if sign == "-":
            value = -value
        in_range = self.in_range
        self.in_range = False
        tail = text[match.end() :]
        unit, percent = self._unit_after(match.end())
        if self.lang == "en":
            spoken = _en_number(integer_part, fraction)
            if sign:
                spoken = ("minus " if sign == "-" else "plus ") + spoken
        else:
            year = tail.startswith("年") and len(integer_part) == 4 and not (sign or fraction)
            if year:
                spoken = cn2an.an2cn(integer_part, "direct")
            else:
                spoken = _zh_number(integer_part, fraction)
            if percent:
                spoken = "百分之" + spoken
            if sign:
                temperature = unit is not False
                if sign == "-":
                    spoken = ("零下" if temperature else "负") + spoken
                else:
                    spoken = ("零上" if temperature else "正") + spoken
        self.last_number = (value, match.end(), in_range)
        return self._emit(start, match.end(), spoken)

    def _digits_after_letters(self, position: int) -> int:
        match = _NUMBER_RE.match(self.text, position)
        assert match is not None
        digits = match.group(0)
        if self.lang == "en":
            words = {"0": "zero", ".": "point", ",": ""}
            spoken = " ".join(words.get(ch) or num2words(int(ch)) for ch in digits if ch != ",")
        else:
            spoken = cn2an.an2cn(digits.replace(",", ""), "direct").replace(".", "点")
        self.last_number = None
        return self._emit(position, match.end(), spoken)

    def _unit_after(self, position: int) -> tuple[bool | None, bool]:
        """(is_temperature or None when no unit, is_percent) for the unit after a number."""
        text = self.text
        tail = _RANGE_TAIL_RE.match(text, position)
        if tail:
            position = tail.end()
        while position < len(text) and text[position] == " ":
            position += 1
        match = _UNIT_RE.match(text, position)
        if match:
            symbol = match.group(1)
            return _UNITS[symbol][3], symbol == "%"
        if text.startswith(_ZH_TEMPERATURE_WORDS, position):
            return True, False
        return None, False

    def _unit(self, position: int) -> int | None:
        if self.last_number is None:
            return None
        value, number_end, in_range = self.last_number
        gap = self.text[number_end:position]
        if gap not in ("", " "):
            return None
        match = _UNIT_RE.match(self.text, position)
        if not match:
            return None
        singular_en, plural_en, chinese, _ = _UNITS[match.group(1)]
        self.last_number = None
        if self.lang == "en":
            spoken = singular_en if abs(value) == 1 and not in_range else plural_en
        else:
            spoken = chinese
        return self._emit(position, match.end(), spoken)

    def _range_mark(self, position: int) -> int | None:
        char = self.text[position]
        if char in _RANGE_MARKS:
            pass
        elif char in _MINUS_SIGNS:
            # "3-5", "-12--5": a hyphen right after a number and before a (signed) number.
            previous = self._prev_char(position)
            following = self.text[position + 1 : position + 3]
            if not (previous in _DIGITS and following[:1] in _DIGITS | _MINUS_SIGNS):
                return None
            if following[:1] in _MINUS_SIGNS and following[1:2] not in _DIGITS:
                return None
        else:
            return None
        self.in_range = True
        self.last_number = None
        return self._emit(position, position + 1, " to " if self.lang == "en" else "到")

    def _plus_after_number(self, position: int) -> int | None:
        # "SPF 50+" -> "fifty plus" / "五十加".
        if self.text[position] != "+" or self._prev_char(position) not in _DIGITS:
            return None
        self.last_number = None
        return self._emit(position, position + 1, "plus" if self.lang == "en" else "加")

    def _acronym(self, position: int) -> int | None:
        previous = self._prev_char(position)
        if previous.isascii() and previous.isalpha():
            return None
        match = _ACRONYM_RE.match(self.text, position)
        if not match:
            return None
        letters = match.group(1)
        if self.lang == "en":
            spoken = " ".join(letters)
        else:
            spoken = " " + " ".join(ZH_LETTER_PINYIN[letter] for letter in letters) + " "
        self.last_number = None
        return self._emit(position, match.end(), spoken)


# -- number words ---------------------------------------------------------------------------
def _en_number(integer_part: str, fraction: str | None) -> str:
    """English words for an unsigned number; decimals are read digit by digit ("two point five")."""
    words = num2words(int(integer_part)).replace(",", "")
    if fraction:
        digits = " ".join("zero" if ch == "0" else num2words(int(ch)) for ch in fraction)
        words += " point " + digits
    return words


def _zh_int(value: int) -> str:
    return cn2an.an2cn(str(value))


def _zh_number(integer_part: str, fraction: str | None) -> str:
    """Chinese words for an unsigned number (cn2an's "low" style: 十二, 二点五, 一千二百)."""
    words = cn2an.an2cn(integer_part)
    if fraction:
        words += "点" + cn2an.an2cn(fraction, "direct")
    return words


def _en_time(hour: int, minute: int) -> str:
    if minute == 0 and hour in (0, 24):
        return "midnight"
    if minute == 0 and hour == 12:
        return "noon"
    suffix = "a.m." if hour < 12 or hour == 24 else "p.m."
    clock_hour = hour % 12 or 12
    if minute == 0:
        return f"{num2words(clock_hour)} {suffix}"
    minute_words = num2words(minute) if minute >= 10 else f"oh {num2words(minute)}"
    return f"{num2words(clock_hour)} {minute_words} {suffix}"


def _zh_time(hour: int, minute: int) -> str:
    hour_words = "两" if hour == 2 else _zh_int(hour)
    if minute == 0:
        return f"{hour_words}点"
    minute_words = _zh_int(minute) if minute >= 10 else "零" + _zh_int(minute)
    return f"{hour_words}点{minute_words}分"


# -- checks and tokens ----------------------------------------------------------------------
def _check_speakable(spoken_text: SpokenText) -> None:
    spoken = spoken_text.spoken
    if not any(ch.isalnum() for ch in spoken):
        raise SpeechError("nothing to say: the speech text has no words, only punctuation")
    if spoken_text.lang == "en":
        han = _HAN_RE.search(spoken)
        if han:
            raise SpeechError(
                f"Chinese character {han.group(0)!r} in English speech text; "
                "the English voice cannot read it"
            )
        return
    for span in spoken_text.spans:
        if span.generated:
            continue
        latin = _LATIN_RE.search(span.spoken)
        if latin:
            if _PINYIN_LETTER_NAME_RE.search(spoken_text.display):
                # "ai1 si1 pi1": the letter names this module writes for SPF, given back to it.
                raise SpeechError(
                    f"tone-numbered pinyin {latin.group(0)!r} in Chinese text: this looks like "
                    "text already normalised for speech (Script.text); pass the display text "
                    "(Script.display_text)"
                )
            raise SpeechError(
                f"English word {latin.group(0)!r} in Chinese speech text: write it in Chinese "
                f"(only {' and '.join(ACRONYMS)} may stay in Latin letters)"
            )
        for char in span.spoken:
            if not (is_han(char) or char.isspace() or char in _ZH_SPEAKABLE_PUNCT):
                raise SpeechError(
                    f"cannot speak {char!r} (U+{ord(char):04X}) in Chinese speech text: "
                    "write it in Chinese characters"
                )


def display_tokens(text: str, lang: str) -> list[Token]:
    """Split display text into words that subtitles and word timings never split.

    English: runs of non-space characters. Chinese: runs of Chinese characters are split into
    words with jieba's dictionary (precise mode, no HMM guessing, so the split is stable), and
    each run of other characters ("-12~-5°C", "SPF30+") is one word. Punctuation sticks to the
    word before it (opening brackets and quotes to the word after it). A number and its unit
    ("5 m/s") and an acronym and its number ("SPF 30") stay one word.
    """
    han_word_end = _han_word_ends(text) if lang == "zh" else {}
    pieces: list[list[int]] = []  # [start, end] of each word
    pending_open: int | None = None
    position = 0
    length = len(text)
    while position < length:
        char = text[position]
        if char.isspace():
            position += 1
            continue
        if char in _OPENING_PUNCT and (position + 1 < length and not text[position + 1].isspace()):
            pending_open = position if pending_open is None else pending_open
            position += 1
            continue
        if _is_attached_punct(text, position):
            if pieces and (pending_open is None):
                pieces[-1][1] = position + 1
            else:
                start = pending_open if pending_open is not None else position
                pieces.append([start, position + 1])
                pending_open = None
            position += 1
            continue
        start = pending_open if pending_open is not None else position
        pending_open = None
        if lang == "zh" and is_han(char):
            end = han_word_end.get(position, position + 1)
        else:
            end = position + 1
            while end < length:
                nxt = text[end]
                if nxt.isspace() or (lang == "zh" and is_han(nxt)):
                    break
                if _is_attached_punct(text, end):
                    break
                end += 1
        pieces.append([start, end])
        position = end
    if pending_open is not None:
        pieces.append([pending_open, length])
    merged: list[list[int]] = []
    for piece in pieces:
        if merged and _belong_together(text, merged[-1], piece):
            merged[-1][1] = piece[1]
        else:
            merged.append(piece)
    return [Token(text[start:end], start, end) for start, end in merged]


def _belong_together(text: str, first: list[int], second: list[int]) -> bool:
    """ "5" + "m/s", "SPF" + "30": one space apart, and never to be split; in Chinese a number
    and the measure word right after it ("5" + "级", "30" + "分钟")."""
    left = text[first[0] : first[1]]
    right = text[second[0] : second[1]]
    if first[1] == second[0] and left[-1:].isdigit():
        return right.rstrip(_CLOSING_PUNCT) in ZH_MEASURE_WORDS
    if text[first[1] : second[0]] != " ":
        return False
    if left[-1:].isdigit() and _UNIT_RE.match(right):
        return True
    return left in ACRONYMS and right[:1].isdigit()


def _han_word_ends(text: str) -> dict[int, int]:
    """Start offset -> end offset of each dictionary word in the Chinese-character runs."""
    import jieba  # loads its dictionary (~0.6 s) on first use: only for Chinese text

    jieba.setLogLevel(logging.WARNING)
    ends: dict[int, int] = {}
    for run in _HAN_RUN_RE.finditer(text):
        position = run.start()
        for word in jieba.lcut(run.group(0), HMM=False):
            ends[position] = position + len(word)
            position += len(word)
    return ends


def _is_attached_punct(text: str, position: int) -> bool:
    """Punctuation that belongs to the previous word (not a decimal point or thousands comma)."""
    char = text[position]
    if char not in _CLOSING_PUNCT:
        return False
    if char in ".,:'’" and 0 < position < len(text) - 1:
        if text[position - 1].isdigit() and text[position + 1].isdigit():
            return False
        if char in "'’" and text[position - 1].isalpha() and text[position + 1].isalpha():
            return False  # "don't"
    if char == "." and position + 1 < len(text) and text[position + 1].isalpha():
        return False  # "a.m." stays one word
    return True


def ends_sentence(words: Sequence[str], index: int, lang: str) -> bool:
    """True if display word ``words[index]`` closes a sentence (not "a.m." mid-sentence)."""
    word = words[index].rstrip("\"'”’)）」』")
    if not word or word[-1] not in SENTENCE_END:
        return False
    if lang == "en":
        if word.lower() in _EN_ABBREVIATIONS and index + 1 < len(words):
            following = words[index + 1].lstrip("\"'“‘(")
            return bool(following) and following[0].isupper()
    return True
