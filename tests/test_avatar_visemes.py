"""Speech expert: espeak-ng phonemes to visemes, coarticulated tracks, the audio-only path,
and the ground-truth presenter speaking."""

from __future__ import annotations

import json

import numpy as np
import pytest

from avatar.audio import SAMPLE_RATE, Speech, frame_rms
from avatar.errors import AvatarError
from avatar.ground_truth import ground_truth_frames, mouth_track
from avatar.visemes import (
    VISEME_TARGETS,
    VISEMES,
    load_timings,
    mouth_track_from_audio,
    phoneme_visemes,
    viseme_labels,
    viseme_track,
)

pytestmark = pytest.mark.media


def timings(*phones: tuple[str, float, float], duration: float | None = None) -> dict:
    """A timings.json dict as the speech stage writes it."""
    return {
        "version": 1,
        "engine": "pyttsx3-espeak-ng",
        "voice": "en-us",
        "lang": "en",
        "sample_rate": 22050,
        "duration": duration if duration is not None else phones[-1][2],
        "phonemes": [{"phoneme": p, "start": s, "end": e} for p, s, e in phones],
        "words": [],
        "sentences": [],
    }


@pytest.mark.parametrize(
    ("symbol", "expected"),
    [
        # en-us mnemonics as libespeak-ng reports them ("Tomorrow in Beijing ... thirty")
        ("p", ("PBM",)), ("b", ("PBM",)), ("m", ("PBM",)), ("f", ("FV",)), ("v", ("FV",)),
        ("T", ("TH",)), ("D", ("TH",)), ("t#", ("ALV",)), ("n", ("ALV",)), ("dZ", ("POST",)),
        ("tS", ("POST",)), ("S", ("POST",)), ("k", ("VEL",)), ("N", ("VEL",)), ("r", ("R",)),
        ("3:", ("R",)), ("w", ("W",)), ("u:", ("W",)), ("A:", ("AA",)), ("@2", ("AH",)),
        ("i:", ("IY",)), ("E", ("EH",)), ("O@", ("OW", "AH")), ("aI", ("AA", "IY")),
        ("oU", ("OW", "W")), ("eI", ("EH", "IY")), ("'A:", ("AA",)),
        ("_", ("sil",)), ("_:", ("sil",)), ("", ("sil",)),
        # cmn-latn-pinyin mnemonics ("ni3 hao3 zhang1 jia1 ... qu4 ze2 ri4 er2")
        ("_|", ("sil",)), ("X", ("VEL",)), ("Au", ("AA", "W")), ("ts.", ("POST",)),
        ("ts.h", ("POST",)), ("tS;", ("POST",)), ("tS;h", ("POST",)), ("S;", ("POST",)),
        ("z.", ("POST",)), ("kh", ("VEL",)), ("ph", ("PBM",)), ("tsh", ("ALV",)),
        ("i[", ("IY",)), ("i.", ("IY",)), ("y", ("W",)), ("yE", ("W", "EH")),
        ("o-", ("AH",)), ("@r", ("AH", "R")), (";", ("IY",)), ("iA", ("IY", "AA")),
        # cmn voice: a final with its nasal coda is one mnemonic ("zhong1 guo2" -> ts. ong)
        ("ong", ("OW", "VEL")), ("an", ("AA", "ALV")), ("iN", ("IY", "VEL")),
    ],
)  # fmt: skip
def test_espeak_mnemonics_map_to_visemes(symbol, expected):
    assert phoneme_visemes(symbol) == expected
    assert all(v in VISEMES for v in expected)


def test_unknown_phoneme_is_a_neutral_mouth_not_a_crash(caplog):
    assert phoneme_visemes("§") == ("AH",)
    assert "unknown phoneme" in caplog.text


def test_bilabial_closes_and_open_vowel_opens():
    spec = timings(("_", 0.0, 0.3), ("m", 0.3, 0.42), ("A:", 0.42, 0.72), ("p", 0.72, 0.8),
                   ("A:", 0.8, 1.1), ("_", 1.1, 1.6))  # fmt: skip
    track = viseme_track(spec, fps=25)
    assert len(track) == 40
    jaw = track.column("jaw")
    assert jaw[:5].max() < 0.02  # leading silence
    assert jaw[int(0.36 * 25)] < 0.08  # /m/ closed
    assert jaw[int(0.57 * 25)] > 0.75  # /A:/ wide open
    assert jaw[int(0.76 * 25)] < 0.08  # /p/ closed again
    assert jaw[-8:].max() < 0.02  # trailing silence
    assert viseme_labels(spec)[int(0.36 * 25)] == "PBM"
    assert viseme_labels(spec)[int(0.57 * 25)] == "AA"


def test_a_bilabial_shorter_than_a_frame_still_closes_the_mouth():
    # espeak-ng gives /b/ 17 ms in "in Beijing": it can fall between two frame times.
    spec = timings(("A:", 0.0, 0.3), ("b", 0.305, 0.322), ("A:", 0.322, 0.6))
    jaw = viseme_track(spec, fps=25).column("jaw")
    assert jaw.min() < 0.1
    assert jaw[int(0.3135 * 25)] == jaw.min()


def test_coarticulation_is_smooth_and_anticipates_rounding():
    spec = timings(("s", 0.0, 0.2), ("t", 0.2, 0.28), ("u:", 0.28, 0.6), ("i:", 0.6, 0.9),
                   ("A:", 0.9, 1.2))  # fmt: skip
    track = viseme_track(spec, fps=100)
    values = track.values
    # No parameter jumps more than a quarter of its range in 10 ms.
    assert np.abs(np.diff(values, axis=0)).max() < 0.25
    # Smoother than stepping from target to target at the phoneme boundaries.
    labels = viseme_labels(spec, fps=100)
    steps = np.array([VISEME_TARGETS[v].as_array() for v in labels])
    assert np.abs(np.diff(values, 2, axis=0)).sum() < 0.5 * np.abs(np.diff(steps, 2, axis=0)).sum()
    # Lips round for /u:/ already through the /s t/ before it, more and more as it nears
    # (anticipatory coarticulation, Daniloff & Moll 1968), and are fully round in the vowel.
    rnd = track.column("round")
    assert rnd[5] < rnd[15] < rnd[24]
    assert rnd[24] > 0.5 > rnd[5]
    assert rnd[45] > 0.85


def test_gaps_and_syllable_pauses():
    # A real pause (gap of 0.4 s) closes the mouth; a 12 ms Mandarin "_|" barely moves it.
    gap = timings(("a", 0.0, 0.3), ("a", 0.7, 1.0))
    jaw = viseme_track(gap).column("jaw")
    assert jaw[int(0.5 * 25)] < 0.05
    syllables = timings(("a", 0.0, 0.3), ("_|", 0.3, 0.312), ("a", 0.312, 0.6))
    assert viseme_track(syllables).column("jaw").min() > 0.8


def test_timings_file_round_trip_and_errors(tmp_path):
    path = tmp_path / "timings.json"
    path.write_text(json.dumps(timings(("m", 0.0, 0.1), ("a", 0.1, 0.3), duration=0.5)))
    loaded = load_timings(path)
    assert [p.symbol for p in loaded.phones] == ["m", "a"]
    assert loaded.duration == 0.5 and loaded.lang == "en"
    assert len(viseme_track(path)) == 13

    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(AvatarError, match="cannot read timings file"):
        load_timings(bad)
    with pytest.raises(AvatarError, match="not found"):
        load_timings(tmp_path / "missing.json")
    with pytest.raises(AvatarError, match=r"phonemes\[1\].*before the previous"):
        load_timings(timings(("a", 0.5, 0.6), ("b", 0.1, 0.2)))
    with pytest.raises(AvatarError, match=r"phonemes\[0\].*'start' must be a number"):
        load_timings(timings(("a", "0.1", 0.2)))
    with pytest.raises(AvatarError, match="start <= end"):
        load_timings(timings(("a", 0.3, 0.2)))
    with pytest.raises(AvatarError, match="version"):
        load_timings({"version": 2, "phonemes": []})


def syllables(seconds: float = 2.0, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Speech-like test signal: a 120 Hz voice with formant-like harmonics, switched on and off
    at 4 syllables per second, with 0.5 s of silence before and after."""
    t = np.arange(round(seconds * rate)) / rate
    voice = sum(np.sin(2 * np.pi * 120 * k * t) / k for k in range(1, 30))
    syllable = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 0.7
    quiet = np.zeros(rate // 2)
    return np.concatenate([quiet, 0.1 * voice * syllable, quiet]).astype(np.float32)


def test_audio_only_track_follows_energy_and_rests_in_silence():
    x = syllables()
    speech = Speech(x, SAMPLE_RATE)
    track = mouth_track_from_audio(speech)
    assert len(track) == 75
    rms = frame_rms(x, SAMPLE_RATE, fps=25, n_frames=len(track))
    jaw = track.column("jaw")
    assert np.corrcoef(jaw, rms)[0, 1] > 0.7
    assert jaw[:11].max() == 0 and jaw[-11:].max() == 0  # silence: mouth shut
    assert jaw.max() > 0.5
    rest = VISEME_TARGETS["sil"].as_array()
    assert np.allclose(track.values[:11], rest)


def test_audio_only_path_handles_silence_and_other_rates():
    silent = mouth_track_from_audio(Speech(np.zeros(22050, np.float32), 22050))
    assert len(silent) == 25 and silent.column("jaw").max() == 0
    assert len(mouth_track_from_audio(Speech(np.zeros(0, np.float32), 16000))) == 0


def test_ground_truth_presenter_is_shut_in_silence_and_open_in_speech():
    # Silence 0-0.6 s, "ma ma ma" 0.6-1.5 s, silence to 2.0 s.
    spec = timings(("_", 0.0, 0.6), ("m", 0.6, 0.68), ("A:", 0.68, 0.9), ("m", 0.9, 0.98),
                   ("A:", 0.98, 1.2), ("m", 1.2, 1.28), ("A:", 1.28, 1.5), ("_", 1.5, 2.0),
                   duration=2.0)  # fmt: skip
    speech = Speech(np.zeros(2 * SAMPLE_RATE, np.float32), SAMPLE_RATE)
    frames = list(ground_truth_frames(speech, spec, size=(128, 128), seed=4))
    assert len(frames) == 50

    def opening(frame) -> int:
        x0, y0, x1, y1 = frame.mouth_box
        crop = frame.image[max(y0, 0) : y1, max(x0, 0) : x1].astype(int)
        red, green = crop[..., 0], crop[..., 1]
        return int(((red - green >= 28) & (green <= 32) & (red <= 110)).sum())

    openings = np.array([opening(f) for f in frames])
    assert openings[:14].max() == 0 and openings[39:].max() == 0
    assert openings[19] > 5 and openings[26] > 5  # the vowels
    # The presenter is alive in the silence: head motion and breathing change the pixels.
    assert not np.array_equal(frames[0].image, frames[12].image)


def test_mouth_track_uses_timings_when_given_and_audio_otherwise():
    x = syllables(1.0)
    speech = Speech(x, SAMPLE_RATE)
    from_audio = mouth_track(speech)
    closed = mouth_track(speech, timings(("_", 0.0, 2.0)))
    assert len(from_audio) == len(closed) == 50
    assert from_audio.column("jaw").max() > 0.3
    assert closed.column("jaw").max() < 0.01
