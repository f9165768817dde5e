"""Real espeak-ng synthesis through pyttsx3, exact timings, batches and error cases."""

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from bulletin.errors import SpeechError
from bulletin.speech import (
    SpeechRequest,
    normalize,
    read_timings,
    synthesize,
    synthesize_many,
)
from bulletin.speech import espeak as espeak_module
from bulletin.speech.synthesis import DEFAULT_RATE, espeak_input

pytestmark = pytest.mark.media

EN_TEXT = "Light snow this afternoon, -12~-5°C. Wind 5 m/s, gusting 15 m/s at 14:00."
ZH_TEXT = "今天下午局地有小雪，气温-12~-5°C。西北风5 m/s，14:00前后阵风较大。"
FRAME_S = 0.04  # one video frame at 25 fps


def _audio(path: Path) -> tuple[np.ndarray, int]:
    samples, rate = soundfile.read(path, dtype="int16")
    return samples, rate


def _check_timings_shape(result, text: str, lang: str) -> None:
    samples, rate = _audio(result.wav_path)
    assert rate == result.sample_rate == 22050
    assert result.duration_s == pytest.approx(len(samples) / rate, abs=1e-4)
    phonemes = result.phonemes
    # Phonemes tile the whole audio with no gap or overlap.
    assert phonemes[0].start == 0.0
    assert phonemes[-1].end == pytest.approx(result.duration_s, abs=1e-4)
    for before, after in itertools.pairwise(phonemes):
        assert before.end == after.start
        assert after.end > after.start
    assert any(p.phoneme == "_" for p in phonemes)
    assert not any(p.phoneme.startswith("_") and p.phoneme != "_" for p in phonemes)
    # Words are the display words, in order, inside the audio, never overlapping.
    assert [w.text for w in result.words] == [t.text for t in normalize(text, lang).tokens]
    previous_end = 0.0
    for word in result.words:
        assert previous_end <= word.start <= word.end <= result.duration_s
        previous_end = word.end
    assert all(w.end > w.start for w in result.words)
    assert result.sentences[0].start == result.words[0].start
    assert result.sentences[-1].end == result.words[-1].end


def _check_alignment_against_audio(result) -> None:
    """Timings line up with the sound: onset within a frame, long pauses are quiet."""
    samples, rate = _audio(result.wav_path)
    level = np.abs(samples.astype(np.float64))
    threshold = 0.05 * level.max()
    onset = np.argmax(level > threshold) / rate
    first_sound = next(p for p in result.phonemes if p.phoneme != "_").start
    assert abs(onset - first_sound) <= FRAME_S
    speech = np.concatenate(
        [
            samples[int(p.start * rate) : int(p.end * rate)]
            for p in result.phonemes
            if p.phoneme != "_"
        ]
    ).astype(np.float64)
    speech_rms = np.sqrt(np.mean(speech**2))
    long_pauses = [p for p in result.phonemes if p.phoneme == "_" and p.end - p.start >= 0.1]
    assert long_pauses
    for pause in long_pauses:
        inside = samples[int(pause.start * rate) + 441 : int(pause.end * rate) - 441]
        assert np.sqrt(np.mean(inside.astype(np.float64) ** 2)) < 0.1 * speech_rms


def test_english_speech_with_word_timings(tmp_path):
    result = synthesize(EN_TEXT, "en", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["speech.wav", "timings.json"]
    _check_timings_shape(result, EN_TEXT, "en")
    _check_alignment_against_audio(result)
    spoken_words = len(normalize(EN_TEXT, "en").spoken.split())
    words_per_minute = spoken_words / result.duration_s * 60
    assert 0.6 * DEFAULT_RATE["en"] < words_per_minute < 1.2 * DEFAULT_RATE["en"]
    assert [s.text for s in result.sentences] == [
        "Light snow this afternoon, -12~-5°C.",
        "Wind 5 m/s, gusting 15 m/s at 14:00.",
    ]
    range_word = next(w for w in result.words if w.text == "-12~-5°C.")
    # "minus twelve to minus five degrees Celsius" takes far longer than one short word.
    assert range_word.end - range_word.start > 4 * (result.words[0].end - result.words[0].start)


def test_mandarin_speech_is_pinyin_syllables_not_letter_spelling(tmp_path):
    result = synthesize(ZH_TEXT, "zh", tmp_path)
    _check_timings_shape(result, ZH_TEXT, "zh")
    _check_alignment_against_audio(result)
    timings = json.loads(result.timings_path.read_text(encoding="utf-8"))
    assert timings["voice"] == "cmn-latn-pinyin"
    # Real Mandarin: one syllable per character at about news pace (Mandarin news is read at about
    # 4–5 characters per second). Letter spelling ("hao three") would be far slower.
    syllables = len(espeak_input(normalize(ZH_TEXT, "zh"))[0].split())
    assert 3.0 < syllables / result.duration_s < 7.0
    names = {p.phoneme for p in result.phonemes}
    assert {"tS;", "S;", "s."} & names  # Mandarin initials (j/x/sh), not English ones
    assert not {"eI", "aI", "T"} & names  # English "hao three" would bring these
    words = [w.text for w in result.words]
    assert words[:4] == ["今天下午", "局地", "有", "小雪，"]  # jieba dictionary words
    assert "-12~-5°C。" in words


@pytest.mark.parametrize(("text", "lang"), [(EN_TEXT, "en"), (ZH_TEXT, "zh")])
def test_timing_pass_pcm_is_the_wav_pcm(tmp_path, text, lang):
    # Without loudness normalisation the WAV is the engine's audio, sample for sample.
    result = synthesize(text, lang, tmp_path / "out", loudness_lufs=None)
    engine_text, _ = espeak_input(normalize(text, lang))
    raw = tmp_path / "timing-pass.pcm"
    timing = espeak_module.timing_pass(engine_text, result.voice, DEFAULT_RATE[lang], pcm_path=raw)
    timing_pcm = np.fromfile(raw, dtype="<i2")
    wav_pcm, _ = _audio(result.wav_path)
    assert timing.n_samples == len(wav_pcm)
    assert np.array_equal(timing_pcm, wav_pcm)
    # Event positions are sample indices of that same audio.
    samples = [event[1] for event in timing.events]
    assert samples == sorted(samples) and samples[-1] <= len(wav_pcm)


def test_timings_json_format(tmp_path):
    result = synthesize("Sunny, -3°C.", "en", tmp_path)
    document = json.loads(result.timings_path.read_text(encoding="utf-8"))
    assert list(document) == [
        "version",
        "engine",
        "voice",
        "lang",
        "sample_rate",
        "duration",
        "phonemes",
        "words",
        "sentences",
    ]
    assert document["version"] == 1
    assert document["engine"] == "pyttsx3-espeak-ng"
    assert (document["voice"], document["lang"], document["sample_rate"]) == ("en-us", "en", 22050)
    assert list(document["phonemes"][0]) == ["phoneme", "start", "end"]
    assert [w["text"] for w in document["words"]] == ["Sunny,", "-3°C."]
    assert document["sentences"] == [
        {
            "text": "Sunny, -3°C.",
            "start": document["words"][0]["start"],
            "end": document["words"][1]["end"],
        }
    ]
    loaded = read_timings(result.timings_path)
    assert loaded.words == result.words and loaded.phonemes == result.phonemes


def test_many_wavs_in_one_run_with_changing_rates(tmp_path):
    requests = []
    for index in range(12):
        lang = "en" if index % 2 == 0 else "zh"
        text = "Snow showers, -8°C." if lang == "en" else "阵雪，气温-8°C。"
        rate = (130, 175, 220)[index // 2 % 3] + (60 if lang == "zh" else 0)
        requests.append(SpeechRequest(text, lang, tmp_path / f"item{index:02d}", rate=rate))
    results = synthesize_many(requests)
    assert len(results) == 12
    durations: dict[tuple[str, int], set[float]] = {}
    for request, result in zip(requests, results, strict=True):
        samples, _ = _audio(result.wav_path)
        assert len(samples) > 0
        assert result.wav_path.parent == request.out_dir
        assert read_timings(result.timings_path).duration == result.duration_s
        durations.setdefault((request.lang, request.rate), set()).add(result.duration_s)
    # Same text and rate: same audio length every time; a faster rate: shorter audio.
    assert all(len(values) == 1 for values in durations.values())
    for lang in ("en", "zh"):
        by_rate = sorted(
            (rate, values.pop()) for (key, rate), values in durations.items() if key == lang
        )
        lengths = [length for _, length in by_rate]
        assert lengths == sorted(lengths, reverse=True) and len(set(lengths)) == 3


def test_missing_espeak_names_the_debian_packages(tmp_path, monkeypatch):
    monkeypatch.setattr(espeak_module, "ESPEAK_LIBRARY", "libespeak-ng-not-here.so.1")
    with pytest.raises(SpeechError, match="install the Debian packages espeak-ng libespeak-ng1"):
        synthesize("Sunny.", "en", tmp_path)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"text": "Sunny.", "lang": "en", "voice": "en-xx-nowhere"},
            "unknown espeak-ng voice 'en-xx-nowhere'",
        ),
        ({"text": "晴。", "lang": "zh", "voice": "cmn"}, "only cmn-latn-pinyin reads"),
        ({"text": "Sunny.", "lang": "en", "voice": "de"}, "not an English espeak-ng voice"),
        ({"text": "Sunny.", "lang": "en", "voice": "mb-us1"}, "MBROLA"),
        ({"text": "   ", "lang": "en"}, "the speech text is empty"),
        ({"text": "Sunny.", "lang": "en", "rate": 20}, "outside 80-450"),
        (
            {"text": "Sunny.", "lang": "en", "engine": "festival"},
            "unknown speech engine 'festival'",
        ),
        ({"text": "晴。", "lang": "zh", "engine": "piper"}, "piper engine speaks English only"),
        ({"text": "Sunny.", "lang": "de"}, "unsupported speech language 'de'"),
    ],
)
def test_bad_requests_give_one_line_errors(tmp_path, kwargs, message):
    with pytest.raises(SpeechError) as caught:
        synthesize(out_dir=tmp_path / "out", **kwargs)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "out" / "speech.wav").exists()


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder should be")
    with pytest.raises(SpeechError, match="cannot create speech output folder"):
        synthesize("Sunny.", "en", blocker / "speech")
    with pytest.raises(SpeechError, match="cannot create speech output folder"):
        synthesize("Sunny.", "en", blocker)


def test_batch_refuses_two_items_in_one_folder(tmp_path):
    requests = [SpeechRequest("Sunny.", "en", tmp_path), SpeechRequest("Cloudy.", "en", tmp_path)]
    with pytest.raises(SpeechError, match="same folder"):
        synthesize_many(requests)


def test_malformed_timings_file_is_reported(tmp_path):
    path = tmp_path / "timings.json"
    path.write_text('{"version": 1, "engine": "x"}', encoding="utf-8")
    with pytest.raises(SpeechError, match="is malformed"):
        read_timings(path)
    result = synthesize("Sunny.", "en", tmp_path / "ok")
    document = json.loads(result.timings_path.read_text(encoding="utf-8"))
    document["words"][0]["end"] = document["duration"] + 5
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(SpeechError, match="outside the audio"):
        read_timings(path)
