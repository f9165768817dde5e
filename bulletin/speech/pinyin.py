"""Chinese text to tone-numbered pinyin for espeak-ng's ``cmn-latn-pinyin`` voice.

Debian's espeak-ng 1.51 has two Mandarin voices. ``cmn`` reads many characters as pinyin
spelled in English ("好" -> "hao three": https://github.com/espeak-ng/espeak-ng/issues/1236), so the project uses
``cmn-latn-pinyin``, which reads Latin text as pinyin with tone digits. That voice also accepts
Chinese characters, and ``espeak-ng -x`` shows identical phonemes for "今天下午有小雨" and
"jin1 tian1 xia4 wu3 you3 xiao3 yu3"; but its own dictionary gets common polyphones wrong
(measured: 局地 "ju de", 适宜 "shi yi(neutral)", 重新 "zhong xin", 场地/当地 "di" as "de",
着装 "zhao zhuang", 银行 "yin xing"). pypinyin's phrase dictionary reads all of these right, so
characters are converted with pypinyin (``Style.TONE3``, neutral tone as 5) and the voice is
given pinyin. espeak-ng still applies the third-tone sandhi itself (measured: "xiao3 yu3" ->
``S;j'Au35 ;'y214``), so pypinyin's own sandhi option stays off.

Numbers the normaliser wrote (十二, 一点, 零下...) are converted character by character: number
words have one reading each, and phrase context would misread them (pypinyin reads the time
"一点" as yi4 dian3, "a little").
"""

from __future__ import annotations

from dataclasses import dataclass

from pypinyin import Style, lazy_pinyin, load_phrases_dict

from bulletin.spoken import SpokenText, is_han

# Phrases pypinyin 0.55 reads wrongly in weather bulletins (checked one by one, our choice):
# 长时间 (zhang3 -> chang2), the complement particle 得 after a verb or adjective (de2 -> de5),
# and the month 一月 (yi2 -> yi1).
PHRASE_FIXES: dict[str, list[list[str]]] = {
    "长时间": [["cháng"], ["shí"], ["jiān"]],
    "冷得": [["lěng"], ["de"]],
    "热得": [["rè"], ["de"]],
    "变得": [["biàn"], ["de"]],
    "穿得": [["chuān"], ["de"]],
    "吹得": [["chuī"], ["de"]],
    "看得见": [["kàn"], ["de"], ["jiàn"]],
    "看得清": [["kàn"], ["de"], ["qīng"]],
    "一月": [["yī"], ["yuè"]],
}
load_phrases_dict(PHRASE_FIXES)

# Punctuation -> the full-width mark espeak-ng pauses on. The voice reads ASCII "." after a
# pinyin syllable as an abbreviation dot when a lower-case syllable follows (measured: no pause,
# and tone sandhi across it), while "。，、；：！？" all give pauses. Quotes and book-title marks
# are not spoken.
_PUNCTUATION = {
    "，": "，",
    "、": "、",
    "；": "；",
    "：": "：",
    "。": "。",
    "！": "！",
    "？": "？",
    "…": "。",
    ",": "，",
    ";": "；",
    ":": "：",
    ".": "。",
    "!": "！",
    "?": "？",
    "—": "，",
    "（": "，",
    "）": "，",
    "(": "，",
    ")": "，",
    "【": "，",
    "】": "，",
    "·": " ",
    "-": " ",
    "《": "",
    "》": "",
    "「": "",
    "」": "",
    "『": "",
    "』": "",
    "“": "",
    "”": "",
    "‘": "",
    "’": "",
    '"': "",
    "'": "",
}
_PAUSES = "，、；：。！？"
_SENTENCE_PAUSES = "。！？"


@dataclass(frozen=True)
class PinyinText:
    """The espeak-ng input and, for each of its characters, the display offset (-1: none)."""

    text: str
    origin: tuple[int, ...]


def to_pinyin(spoken_text: SpokenText) -> PinyinText:
    """Convert normalised Chinese text to space-separated tone-numbered pinyin."""
    spoken = spoken_text.spoken
    origin = spoken_text.origin
    generated = _generated_mask(spoken_text)
    builder = _Builder()
    position = 0
    while position < len(spoken):
        char = spoken[position]
        if is_han(char):
            end = position + 1
            while (
                end < len(spoken) and is_han(spoken[end]) and generated[end] == generated[position]
            ):
                end += 1
            run = spoken[position:end]
            if generated[position]:
                syllables = [_syllable(ch) for ch in run]
            else:
                syllables = _phrase_syllables(run)
            for offset, syllable in enumerate(syllables):
                builder.word(syllable, origin[position + offset])
            position = end
        elif char.isspace():
            builder.space()
            position += 1
        elif char.isascii() and char.isalnum():
            # Pinyin the normaliser wrote for letters (UV -> "you1 wei1").
            end = position + 1
            while end < len(spoken) and spoken[end].isascii() and spoken[end].isalnum():
                end += 1
            builder.word(spoken[position:end], origin[position])
            position = end
        else:
            builder.punctuation(_PUNCTUATION.get(char, char), origin[position])
            position += 1
    return builder.result()


def _generated_mask(spoken_text: SpokenText) -> list[bool]:
    mask: list[bool] = []
    for span in spoken_text.spans:
        mask.extend([span.generated] * len(span.spoken))
    return mask


def _syllable(char: str) -> str:
    return lazy_pinyin(char, style=Style.TONE3, neutral_tone_with_five=True)[0]


def _phrase_syllables(run: str) -> list[str]:
    syllables = lazy_pinyin(run, style=Style.TONE3, neutral_tone_with_five=True)
    if len(syllables) != len(run):
        # One reading per character is what the mapping needs; fall back to single characters.
        syllables = [_syllable(ch) for ch in run]
    return syllables


class _Builder:
    def __init__(self) -> None:
        self.chars: list[str] = []
        self.origin: list[int] = []

    def _append(self, text: str, offset: int) -> None:
        self.chars.extend(text)
        self.origin.extend([offset] * len(text))

    def space(self) -> None:
        if self.chars and self.chars[-1] != " ":
            self._append(" ", -1)

    def word(self, syllable: str, offset: int) -> None:
        self.space()
        self._append(syllable, offset)

    def punctuation(self, mark: str, offset: int) -> None:
        if not mark.strip():
            self.space()
            return
        while self.chars and self.chars[-1] == " ":
            self.chars.pop()
            self.origin.pop()
        if mark in _PAUSES and self.chars and self.chars[-1] in _PAUSES:
            # One pause for "）。" and the like: the stronger (sentence-final) mark wins.
            if mark in _SENTENCE_PAUSES and self.chars[-1] not in _SENTENCE_PAUSES:
                self.chars[-1] = mark
                self.origin[-1] = offset
            self.space()
            return
        self._append(mark, offset)
        self.space()

    def result(self) -> PinyinText:
        while self.chars and self.chars[-1] == " ":
            self.chars.pop()
            self.origin.pop()
        return PinyinText("".join(self.chars), tuple(self.origin))
