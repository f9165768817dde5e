"""Transcript alignment: espeak-ng resynthesis warped onto footage audio by DTW."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
import soundfile

from avatar.align import dtw_path, transcript_timings
from avatar.errors import AvatarError

pytestmark = pytest.mark.media


def _espeak_available() -> bool:
    try:
        ctypes.CDLL("libespeak-ng.so.1")
    except OSError:
        return False
    return True


def test_dtw_follows_a_known_time_warp():
    rng = np.random.default_rng(0)
    source = rng.normal(size=(60, 8)).astype(np.float32)
    # The target holds each source frame for 1 or 2 frames (a slower speaker), plus noise.
    repeats = rng.integers(1, 3, size=60)
    truth = np.repeat(np.arange(60), repeats)
    target = source[truth] + 0.05 * rng.normal(size=(len(truth), 8)).astype(np.float32)
    path = dtw_path(target, source)
    assert path[0] == 0 and path[-1] == 59 and np.all(np.diff(path) >= 0)
    assert np.mean(path == truth) > 0.95
    with pytest.raises(AvatarError, match="twice as long"):
        dtw_path(target[:20], source)


@pytest.mark.skipif(not _espeak_available(), reason="espeak-ng is not installed")
def test_transcript_timings_land_on_the_footage_speech(tmp_path):
    from bulletin.speech import synthesize

    text = "Tomorrow at Yanqing, light snow and a cold wind. Dress warmly."
    # The "footage": the same words spoken more slowly, after half a second of silence.
    spoken = synthesize(text, "en", tmp_path / "slow", rate=140)
    samples, rate = soundfile.read(spoken.wav_path, dtype="float32")
    pad = np.zeros(rate // 2, np.float32)
    footage_audio = tmp_path / "footage.wav"
    soundfile.write(footage_audio, np.concatenate([pad, samples, pad]), rate)
    transcript = tmp_path / "transcript.txt"
    transcript.write_text(text + "\n", encoding="utf-8")
    timings = transcript_timings(transcript, footage_audio, synthesize)
    truth = [(p.phoneme, p.start + 0.5) for p in spoken.phonemes if p.phoneme != "_"]
    found = [(p["phoneme"], p["start"]) for p in timings["phonemes"] if p["phoneme"] != "_"]
    assert [name for name, _ in truth] == [name for name, _ in found]
    errors = np.abs(np.array([t for _, t in truth]) - np.array([t for _, t in found]))
    assert np.median(errors) < 0.04 and np.mean(errors < 0.08) > 0.9  # within 2 frames
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(AvatarError, match="empty"):
        transcript_timings(empty, footage_audio, synthesize)
