"""Audio front end: loading, resampling, mel filterbank, log-mel windows, voice activity."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from avatar.audio import (
    HOP,
    MEL_FLOOR,
    SAMPLE_RATE,
    Speech,
    frame_rms,
    hz_to_mel,
    load_audio,
    log_mel,
    mel_filterbank,
    mel_to_hz,
    mel_windows,
    resample_to,
    voice_activity,
)
from avatar.errors import AvatarError


def tone(freq: float, seconds: float, rate: int = SAMPLE_RATE, amp: float = 0.3) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_load_audio_mixes_to_mono_and_keeps_rate(tmp_path):
    stereo = np.stack([tone(440, 0.5, 22050), np.zeros(11025, np.float32)], axis=1)
    path = tmp_path / "speech.wav"
    soundfile.write(path, stereo, 22050, subtype="PCM_16")
    speech = load_audio(path)
    assert speech.sample_rate == 22050
    assert speech.samples.shape == (11025,)
    assert speech.duration == pytest.approx(0.5)
    assert np.abs(speech.samples).max() == pytest.approx(0.15, abs=0.01)


def test_missing_and_unreadable_audio_raise_project_errors(tmp_path):
    with pytest.raises(AvatarError, match="audio file not found"):
        load_audio(tmp_path / "nope.wav")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF not really a wave file")
    with pytest.raises(AvatarError, match="cannot read audio file"):
        load_audio(junk)
    with pytest.raises(AvatarError, match="NaN"):
        Speech(np.array([0.0, np.nan], np.float32), 16000)


def test_resampling_22050_to_16k_keeps_length_and_pitch():
    x = tone(1000, 1.0, 22050)
    y = resample_to(x, 22050, 16000)
    assert len(y) == 16000
    spectrum = np.abs(np.fft.rfft(y))
    assert np.argmax(spectrum) == pytest.approx(1000, abs=1)  # 1 Hz bins for 1 s
    assert Speech(x, 22050).to_16k().sample_rate == 16000


def test_slaney_mel_scale_and_filterbank_shape():
    # Slaney's scale is linear (200/3 Hz per mel) to 1 kHz = 15 mel, then 27 mel per x6.4.
    assert hz_to_mel(1000.0) == pytest.approx(15.0)
    assert hz_to_mel(6400.0) == pytest.approx(42.0)
    assert hz_to_mel(500.0) == pytest.approx(7.5)
    assert hz_to_mel(1000.0, htk=True) == pytest.approx(999.99, abs=0.05)
    freqs = np.array([55.0, 700.0, 3000.0, 7600.0])
    assert mel_to_hz(hz_to_mel(freqs)) == pytest.approx(freqs)
    bank = mel_filterbank()
    assert bank.shape == (80, 401)
    assert (bank >= 0).all()
    # Unit area (Slaney normalisation) for filters wide enough to be sampled well (> 4 bins).
    bin_hz = SAMPLE_RATE / 800
    areas = bank.sum(axis=1) * bin_hz
    widths = (bank > 0).sum(axis=1)
    assert areas[widths > 8] == pytest.approx(1.0, abs=0.05)
    # Filters peak in increasing frequency order, inside 55-7600 Hz.
    peaks = bank.argmax(axis=1) * bin_hz
    assert np.all(np.diff(peaks) >= 0)
    assert peaks[0] >= 40 and peaks[-1] <= 7600


def test_log_mel_frames_range_and_tone_band():
    x = tone(1000, 1.0)
    mel = log_mel(x)
    assert mel.shape == (80, 1 + len(x) // HOP)
    assert mel.dtype == np.float32
    assert mel.min() >= -4 and mel.max() <= 4
    centres = mel_to_hz(np.linspace(hz_to_mel(55.0), hz_to_mel(7600.0), 82)[1:-1])
    loudest = centres[mel[:, 10:-10].mean(axis=1).argmax()]
    assert loudest == pytest.approx(1000, rel=0.1)
    assert (log_mel(np.zeros(4000, np.float32)) == MEL_FLOOR).all()


@pytest.mark.parametrize("click_s", [0.0, 0.31, 1.23, 2.96])
def test_a_click_at_time_t_lands_in_video_frame_t_times_25(click_s):
    x = np.zeros(3 * SAMPLE_RATE, np.float32)
    x[round(click_s * SAMPLE_RATE)] = 1.0
    windows = mel_windows(x, fps=25)
    assert windows.shape == (75, 80, 16)
    centre_energy = windows[:, :, 7:9].mean(axis=(1, 2))
    assert int(np.argmax(centre_energy)) == min(int(click_s * 25), 74)


def test_mel_windows_are_padded_with_silence_at_the_ends():
    x = tone(300, 0.2)
    windows = mel_windows(x, fps=25, window_s=0.2, n_frames=10)
    assert windows.shape == (10, 80, 16)
    assert (windows[-1] == MEL_FLOOR).all()  # frame 9 spans 0.28-0.48 s, after the audio
    assert (windows[0, :, :2] == MEL_FLOOR).all()  # frame 0 reaches back before t = 0
    assert windows[0, :, 8:].max() > MEL_FLOOR


def test_frame_rms_and_voice_activity_follow_the_signal():
    x = np.concatenate(
        [np.zeros(8000), tone(200, 1.0), np.zeros(800), tone(200, 0.5), np.zeros(16000)]
    ).astype(np.float32)  # 0.5 s silence, 1 s tone, 50 ms gap, 0.5 s tone, 1 s silence
    rms = frame_rms(x, SAMPLE_RATE, fps=25)
    assert len(rms) == 77  # 3.05 s: the last frame is partial
    assert rms[20] == pytest.approx(0.3 / np.sqrt(2), rel=0.01)
    assert rms[5] == 0
    activity = voice_activity(x, SAMPLE_RATE, fps=25)
    voiced = activity.voiced
    assert not voiced[:12].any() and not voiced[-24:].any()
    assert voiced[13:50].all()  # the 50 ms gap is bridged
    assert activity.envelope[20] == pytest.approx(1.0, abs=0.05)
    assert activity.envelope[5] == 0.0


def test_voice_activity_drops_isolated_clicks():
    x = np.zeros(SAMPLE_RATE, np.float32)
    x[8000:8040] = 0.5  # 2.5 ms burst at 0.5 s, frame 12
    x[12000:16000] = tone(200, 0.25)  # 0.75-1.0 s, frames 18.75-25
    voiced = voice_activity(x, SAMPLE_RATE, fps=25).voiced
    assert not voiced[:18].any()
    assert voiced[19:25].all()
