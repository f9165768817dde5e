"""Subtitle cues, SRT and WebVTT from word timings."""

import itertools

import pytest
import srt
import webvtt
from hypothesis import given, settings
from hypothesis import strategies as st

from bulletin.errors import SpeechError
from bulletin.speech import Word, synthesize
from bulletin.speech.subtitles import (
    LINE_LIMIT,
    MAX_CUE_S,
    MAX_LINES,
    build_cues,
    join_words,
    write_subtitles,
)
from bulletin.spoken import display_tokens

pytestmark = pytest.mark.media


def _timed(texts: list[str], step: float = 0.3) -> list[Word]:
    return [Word(start=i * step, end=i * step + step * 0.8, text=t) for i, t in enumerate(texts)]


def _check_layout(cues, words: list[Word], lang: str) -> None:
    limit = LINE_LIMIT[lang]
    texts = [w.text for w in words]
    rebuilt: list[str] = []
    for cue in cues:
        assert 1 <= len(cue.lines) <= MAX_LINES
        for line in cue.lines:
            assert len(line) <= limit or line in texts  # only a lone over-long word may exceed
        rebuilt.extend(cue.lines)
    # Every word appears whole and in order: lines are exactly the words, regrouped.
    assert join_words(rebuilt, lang) == join_words(texts, lang)
    for before, after in itertools.pairwise(cues):
        assert before.end <= after.start


def test_english_cues_respect_line_limits_and_sentences():
    text = (
        "Good morning from Yanqing. Early today it is -18°C at the finish area, with a "
        "north-west wind of 8 m/s gusting to 15 m/s. Dress warmly, in three layers."
    )
    words = _timed([token.text for token in display_tokens(text, "en")])
    assert "8 m/s" in [w.text for w in words]
    cues = build_cues(words, "en")
    _check_layout(cues, words, "en")
    assert cues[0].text == "Good morning from Yanqing."
    # A sentence never continues into the next cue's first line mid-way, and "8 m/s" (one
    # display word) is never split.
    assert all(
        "m/s" not in line or "8 m/s" in line or "15 m/s" in line for c in cues for line in c.lines
    )
    assert any(c.text.endswith("m/s.") for c in cues)


def test_chinese_cues_use_16_characters_and_keep_numbers_whole():
    words = _timed(
        [
            *"观众 朋友 们 早上好， 这里 是 延庆 国家 高山 滑雪 中心 观赛 天气 播报。".split(),
            *"07:00 终点 区 气温 -18°C， 西北风".split(),
            *["8 m/s，", "阵风", "15 m/s。"],
        ]
    )
    cues = build_cues(words, "zh")
    _check_layout(cues, words, "zh")
    # The venue's name stays whole on the second line (a break inside a noun phrase is dear).
    assert cues[0].lines == ("观众朋友们早上好，这里是延庆", "国家高山滑雪中心观赛天气播报。")
    assert all(len(line) <= 16 for cue in cues for line in cue.lines)
    assert any("-18°C，" in line for cue in cues for line in cue.lines)


def test_over_long_word_gets_a_line_of_its_own():
    words = _timed(["See", "https://example.org/a/very/long/path/that/goes/on/and/on", "now."])
    cues = build_cues(words, "en")
    lines = [line for cue in cues for line in cue.lines]
    assert "https://example.org/a/very/long/path/that/goes/on/and/on" in lines


def test_cues_last_at_most_seven_seconds_and_at_least_five_sixths():
    words = _timed(["word"] * 60, step=0.9)
    cues = build_cues(words, "en")
    assert all(cue.end - cue.start <= MAX_CUE_S for cue in cues)
    short = build_cues([Word(start=1.0, end=1.2, text="Hi.")], "en")
    assert short[0].end - short[0].start >= 5 / 6 - 1e-9


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.text(alphabet="abcdefghij-°C0123456789.", min_size=1, max_size=50),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from(["en", "zh"]),
)
def test_layout_invariants_hold_for_any_words(texts, lang):
    words = _timed(texts)
    _check_layout(build_cues(words, lang), words, lang)


def test_srt_and_vtt_files_from_real_speech(tmp_path):
    text = "今天下午局地有小雪，气温-12~-5°C。西北风5 m/s，阵风较大，请注意保暖。"
    result = synthesize(text, "zh", tmp_path / "speech")
    cues = write_subtitles(result.words, "zh", tmp_path / "zh.srt", tmp_path / "zh.vtt")
    parsed_srt = list(srt.parse((tmp_path / "zh.srt").read_text(encoding="utf-8")))
    parsed_vtt = webvtt.read(str(tmp_path / "zh.vtt"))
    assert [s.content for s in parsed_srt] == [c.text for c in cues]
    assert [c.text for c in parsed_vtt] == [c.text for c in cues]
    assert parsed_srt[0].start.total_seconds() == cues[0].start
    last_end_ms = round(cues[-1].end * 1000)
    assert parsed_vtt[-1].end == f"00:00:{last_end_ms // 1000:02d}.{last_end_ms % 1000:03d}"
    shown = "".join(cue.text.replace("\n", "") for cue in cues)
    assert "-12~-5°C。" in shown and "5 m/s，" in shown  # display text, not spoken words
    assert cues[-1].end <= result.duration_s + 5 / 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["speech", "zh.srt", "zh.vtt"]


def test_subtitle_errors(tmp_path):
    with pytest.raises(SpeechError, match="needs an SRT path"):
        write_subtitles(_timed(["x"]), "en", None, None)
    with pytest.raises(SpeechError, match="no words"):
        write_subtitles([], "en", tmp_path / "a.srt")
    with pytest.raises(SpeechError, match="unsupported speech language 'fr'"):
        build_cues(_timed(["x"]), "fr")
    with pytest.raises(SpeechError, match="cannot write"):
        write_subtitles(_timed(["x"]), "en", tmp_path / "missing-folder" / "a.srt")


def test_long_sentence_cut_evenly_after_punctuation_without_orphans():
    text = "感冒指数：较易发，主要因为昼夜温差大和寒冷，注意保暖，多喝温水。"
    words = _timed([token.text for token in display_tokens(text, "zh")], step=0.25)
    cues = build_cues(words, "zh")
    _check_layout(cues, words, "zh")
    # 32 characters need two cues; a greedy fill would leave "温水。" alone in the second.
    assert [cue.text.replace("\n", "") for cue in cues] == [
        "感冒指数：较易发，主要因为昼夜温差大和寒冷，",
        "注意保暖，多喝温水。",
    ]


def test_a_number_stays_with_its_measure_word():
    words = _timed([token.text for token in display_tokens("全天晴，气温-6~4°C，风力5级。", "zh")])
    assert [w.text for w in words][-1] == "5级。"
    lines = [line for cue in build_cues(words, "zh") for line in cue.lines]
    assert not any(line.endswith("5") for line in lines)
