"""Programme loudness: BS.1770-4 measurement, true peak, normalisation of the real speech, and
the level of the video's muxed audio."""

from __future__ import annotations

import math
import subprocess

import numpy as np
import pytest

from bulletin.errors import SpeechError
from bulletin.speech import DEFAULT_LOUDNESS_LUFS, measure_wav, normalize, synthesize
from bulletin.speech import espeak as espeak_module
from bulletin.speech.loudness import (
    MAX_TRUE_PEAK_DBTP,
    check_loudness_target,
    integrated_loudness,
    normalize_pcm,
    read_wav,
    true_peak_dbtp,
)
from bulletin.speech.synthesis import DEFAULT_RATE, espeak_input

EN_TEXT = (
    "Good morning from Yanqing. Early today it is -18°C at the finish area, with a north-west "
    "wind of 8 m/s gusting to 15 m/s. Dress warmly, in three layers."
)
ZH_TEXT = "观众朋友们好！今天早晨最低气温-18℃，西北风5级，对观赛影响很大，请注意保暖。"


def _sine(frequency: float, amplitude: float, seconds: float, rate: int, phase: float = 0.0):
    t = np.arange(round(seconds * rate)) / rate
    return amplitude * np.sin(2 * np.pi * frequency * t + phase)


def test_bs1770_calibration_tone():
    # ITU-R BS.1770-4, 2.1: a 0 dB FS 997 Hz sine in one channel reads -3.01 LKFS; EBU Tech
    # 3341 allows a meter +-0.1 LU on its test signals.
    for rate in (48_000, 22_050):
        tone = _sine(997, 10 ** (-20 / 20), 5.0, rate)
        assert integrated_loudness(tone, rate) == pytest.approx(-23.01, abs=0.1)


def test_true_peak_finds_the_peak_between_samples():
    # A sine at a quarter of the sample rate, 45 degrees off: every sample is at 0.707 of the
    # amplitude, the waveform between them reaches it (ITU-R BS.1770-4 Annex 2's reason).
    rate = 48_000
    tone = _sine(rate / 4, 0.5, 1.0, rate, phase=math.pi / 4)
    sample_peak = 20 * math.log10(np.max(np.abs(tone)))
    assert sample_peak == pytest.approx(20 * math.log10(0.5) - 3.01, abs=0.02)
    # EBU Tech 3341 (2016) table 2: a true-peak meter reads within +0.2/-0.4 dB.
    true_peak = true_peak_dbtp(tone, rate)
    assert 20 * math.log10(0.5) - 0.4 <= true_peak <= 20 * math.log10(0.5) + 0.2
    assert true_peak_dbtp(np.zeros(100), rate) == -math.inf


def test_normalise_with_gain_and_lower_gain_when_the_peak_needs_it():
    rate = 22_050
    quiet = np.round(_sine(440, 0.05, 3.0, rate) * 32767).astype(np.int16)
    out, loudness = normalize_pcm(quiet, rate, -23.0)
    assert loudness.integrated_lufs == pytest.approx(-23.0, abs=0.05)
    assert not loudness.peak_limited
    assert loudness.gain_db == pytest.approx(
        -23.0 - integrated_loudness(quiet / 32768, rate), abs=1e-6
    )
    assert loudness.true_peak_dbtp == pytest.approx(true_peak_dbtp(out / 32768, rate), abs=1e-9)
    # Sparse clicks: loud peaks, little loudness. -10 LUFS cannot be reached under -1 dBTP.
    clicks = np.zeros(rate * 3, dtype=np.int16)
    clicks[:: rate // 4] = 3000
    out, loudness = normalize_pcm(clicks, rate, -10.0)
    assert loudness.peak_limited
    assert loudness.true_peak_dbtp <= MAX_TRUE_PEAK_DBTP
    assert loudness.true_peak_dbtp > MAX_TRUE_PEAK_DBTP - 0.2
    assert loudness.integrated_lufs < -10.0
    # No target: the samples as they were, measured.
    same, measured = normalize_pcm(quiet, rate, None)
    assert np.array_equal(same, quiet) and measured.target_lufs is None
    # Silence stays silence.
    silent, measured = normalize_pcm(np.zeros(rate, dtype=np.int16), rate, -23.0)
    assert not silent.any() and measured.integrated_lufs is None


def test_loudness_target_errors():
    assert check_loudness_target(-16) == -16.0
    assert check_loudness_target(None) is None
    with pytest.raises(SpeechError, match=r"outside -60\.\.-5 LUFS"):
        check_loudness_target(3)
    with pytest.raises(SpeechError, match="not a number"):
        check_loudness_target("loud")


@pytest.mark.media
@pytest.mark.parametrize(("text", "lang"), [(EN_TEXT, "en"), (ZH_TEXT, "zh")])
def test_speech_wav_is_at_the_programme_loudness(tmp_path, text, lang):
    result = synthesize(text, lang, tmp_path / "out")
    measured = measure_wav(result.wav_path)
    assert result.loudness is not None
    assert result.loudness.target_lufs == DEFAULT_LOUDNESS_LUFS == -23.0
    # EBU R128 allows +-0.5 LU around the target; one gain reaches it to rounding.
    assert measured.integrated_lufs == pytest.approx(-23.0, abs=0.05)
    assert measured.true_peak_dbtp <= MAX_TRUE_PEAK_DBTP
    assert result.loudness.integrated_lufs == pytest.approx(measured.integrated_lufs, abs=1e-9)
    assert result.loudness.true_peak_dbtp == pytest.approx(measured.true_peak_dbtp, abs=1e-9)
    # The gain scales the engine's audio and moves nothing: the timing pass's samples, scaled.
    engine_text, _ = espeak_input(normalize(text, lang))
    raw = tmp_path / "timing-pass.pcm"
    espeak_module.timing_pass(engine_text, result.voice, DEFAULT_RATE[lang], pcm_path=raw)
    engine = np.fromfile(raw, dtype="<i2").astype(np.float64)
    written, _ = read_wav(result.wav_path)
    assert len(written) == len(engine)
    expected = engine * 10 ** (result.loudness.gain_db / 20)
    assert np.max(np.abs(written - expected)) <= 1.0


@pytest.mark.media
def test_loudness_target_is_a_keyword(tmp_path):
    quieter = synthesize(EN_TEXT, "en", tmp_path / "quieter", loudness_lufs=-27)
    assert measure_wav(quieter.wav_path).integrated_lufs == pytest.approx(-27.0, abs=0.05)
    assert not quieter.loudness.peak_limited
    # -16 LUFS (a streaming level) would put this voice's peaks over -1 dBTP: the gain stops
    # where the true peak meets the ceiling, and the loudness stays below the target.
    louder = synthesize(EN_TEXT, "en", tmp_path / "louder", loudness_lufs=-16)
    measured = measure_wav(louder.wav_path)
    assert louder.loudness.peak_limited
    assert MAX_TRUE_PEAK_DBTP - 0.2 < measured.true_peak_dbtp <= MAX_TRUE_PEAK_DBTP
    assert -23.0 < measured.integrated_lufs < -16.0
    raw = synthesize(EN_TEXT, "en", tmp_path / "raw", loudness_lufs=None)
    assert raw.loudness.target_lufs is None and raw.loudness.gain_db == 0.0
    with pytest.raises(SpeechError, match="loudness target"):
        synthesize(EN_TEXT, "en", tmp_path / "bad", loudness_lufs=0)


def _muxed_audio(video, rate: int) -> np.ndarray:
    """The audio track of ``video`` decoded with the bundled ffmpeg: mono floats at ``rate``."""
    import imageio_ffmpeg

    done = subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v",
            "error",
            "-i",
            str(video),
            "-vn",
            "-ac",
            "1",
            "-ar",
            str(rate),
            "-f",
            "f32le",
            "-",
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return np.frombuffer(done.stdout, dtype="<f4").astype(np.float64)


@pytest.mark.media
def test_the_video_keeps_the_speech_level(tmp_path):
    import datetime as dt

    from PIL import Image

    from avatar.render import render_presenter
    from bulletin.pipeline import TimedSentence
    from bulletin.speech import Cue
    from bulletin.video.cards import CARD_INDICES, CardFacts, DayFacts
    from bulletin.video.compose import Compositor, presenter_size, write_bulletin_video

    speech = synthesize(EN_TEXT, "en", tmp_path / "speech")
    chart = tmp_path / "chart.png"
    Image.new("RGB", (1032, 738), (30, 40, 50)).save(chart)
    card = lambda index: CardFacts(index, index, 1, "level one", "#1a9850", "12")  # noqa: E731
    facts = DayFacts(
        "Venue",
        dt.date(2022, 2, 5),
        "Saturday",
        tuple(card(i) for i in CARD_INDICES),
        card("spectator"),
        "-3 to 2°C",
    )
    sentences = [TimedSentence(s.text, s.text, None, s.start, s.end) for s in speech.sentences]
    cues = [Cue(s.start, s.end, (s.text[:40],)) for s in speech.sentences]
    presenter = render_presenter(speech.wav_path, None, "procedural", presenter_size())
    compositor = Compositor(
        facts, "en", dt.datetime(2022, 2, 4, 12, tzinfo=dt.UTC), chart, sentences, cues, presenter
    )
    video = tmp_path / "bulletin.mp4"
    write_bulletin_video(compositor, speech.wav_path, speech.duration_s, video)
    rate = 48_000
    muxed = _muxed_audio(video, rate)
    assert len(muxed) / rate == pytest.approx(speech.duration_s, abs=0.1)
    # AAC changes the waveform a little, not the programme loudness.
    assert integrated_loudness(muxed, rate) == pytest.approx(-23.0, abs=0.2)
    assert true_peak_dbtp(muxed, rate) <= MAX_TRUE_PEAK_DBTP
