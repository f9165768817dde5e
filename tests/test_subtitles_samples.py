"""Subtitle layout over the shipped sample scripts spoken by espeak-ng (real word timings).

Hypothesis draws a script of either sample, in either language, and a run of its sentences;
espeak-ng speaks them and the cues must hold the layout rules of
:mod:`bulletin.speech.subtitles` for what it said.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulletin import load_catalogue, load_venues_file, open_forecast, venue_table
from bulletin.script import render_overview, render_script
from bulletin.speech import build_cues, synthesize
from bulletin.speech.subtitles import CHAIN_GAP_S, LINE_LIMIT, MAX_LINES, join_words
from bulletin.spoken import display_tokens

from .clirun import REPO

pytestmark = pytest.mark.media

SAMPLES = REPO / "samples"
CLAUSE_END = ",;:，、；：。！？!?."


@pytest.fixture(scope="module")
def sample_scripts():
    """Every venue bulletin and overview of every local day of both samples, both languages."""
    catalogue = load_catalogue()
    yulong = load_venues_file(SAMPLES / "venues_yulong.csv")
    scripts = []
    for path, venues in (
        (SAMPLES / "forecast_ecmwf.grib2", catalogue),
        (SAMPLES / "forecast_yulong_spring.nc", yulong),
    ):
        table = venue_table(open_forecast(path), venues)
        for day in sorted(set(table["time_local"].str.slice(0, 10))):
            for lang in ("zh", "en"):
                scripts.extend(render_script(table, v, lang=lang, date=day) for v in venues)
                scripts.append(render_overview(table, venues, lang=lang, date=day))
    return scripts


def _letters(text: str) -> int:
    return sum(1 for char in text if char.isalnum())


def _is_fragment(words: list[str], lang: str) -> bool:
    """A lone English word or one or two letters: never a line of its own or a clause's tail."""
    return (lang == "en" and len(words) == 1) or _letters("".join(words)) <= 2


def check_cues(cues, words, lang: str) -> None:
    """The layout rules, for cues built from ``words`` (display words with real timings)."""
    texts = [w.text for w in words if w.text.strip()]
    limit = LINE_LIMIT[lang]
    # Lines as word lists, in order: the cues hold every word once, whole, in order.
    position = 0
    lines: list[tuple[int, int, list[str]]] = []  # (cue, line, words)
    for number, cue in enumerate(cues):
        assert 1 <= len(cue.lines) <= MAX_LINES, cue
        for row, line in enumerate(cue.lines):
            taken = []
            while join_words(taken, lang) != line:
                assert position < len(texts), (line, taken)
                taken.append(texts[position])
                position += 1
            assert len(line) <= limit or len(taken) == 1, line
            lines.append((number, row, taken))
    assert position == len(texts)
    # No lone fragment on a second line.
    for _, row, taken in lines:
        assert row == 0 or not _is_fragment(taken, lang), taken
    # Every break inside a clause leaves at least two words / three letters of it after it:
    # never "07:00 / 前后", "影响 / 很大，", "considerable / impact,", "at a / time.".
    flat = [word for _, _, taken in lines for word in taken]
    at = 0
    for (_, _, taken), _following in itertools.pairwise(lines):
        at += len(taken)
        if taken[-1][-1] in CLAUSE_END:
            continue
        tail = []
        for word in flat[at:]:
            tail.append(word)
            if word.rstrip("\"'”’)）")[-1:] in CLAUSE_END:
                break
        assert not _is_fragment(tail, lang), (join_words(taken, lang), tail)
    # Chained: consecutive cues either touch or leave at least half a second.
    for before, after in itertools.pairwise(cues):
        gap = after.start - before.end
        assert gap == 0 or gap >= CHAIN_GAP_S - 1e-9, (before, after)
        assert before.start < before.end <= after.start


@settings(
    max_examples=14,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_cues_of_spoken_sample_scripts_hold_the_layout_rules(sample_scripts, tmp_path, data):
    script = data.draw(st.sampled_from(sample_scripts), label="script")
    count = len(script.sentences)
    first = data.draw(st.integers(0, count - 1), label="first sentence")
    last = data.draw(st.integers(first, min(count, first + 4) - 1), label="last sentence")
    text = "".join(
        s.display + ("" if script.lang == "zh" else " ") for s in script.sentences[first : last + 1]
    ).strip()
    folder = tmp_path / f"{script.lang}-{script.venue_id}-{script.date}-{first}-{last}"
    speech = synthesize(text, script.lang, folder, loudness_lufs=None)
    check_cues(build_cues(speech.words, script.lang), speech.words, script.lang)


@pytest.mark.parametrize(
    ("text", "lang", "together"),
    [
        (
            "预计07:00前后气温最低，为-18°C，对观赛影响很大，请注意保暖。",
            "zh",
            ["07:00前后", "影响很大，"],
        ),
        (
            "Spectator conditions overall: considerable impact, so limit your time in the stands "
            "and take breaks in heated areas.",
            "en",
            ["considerable impact,"],
        ),
        (
            "Clothing: full cold-weather gear, breaks indoors, so wear every layer, with a face "
            "mask and mittens; stay out no longer than an hour and a half at a time.",
            "en",
            ["at a time."],
        ),
    ],
)
def test_the_issue_examples_stay_on_one_line(tmp_path, text, lang, together):
    speech = synthesize(text, lang, tmp_path / "speech", loudness_lufs=None)
    assert [w.text for w in speech.words] == [t.text for t in display_tokens(text, lang)]
    cues = build_cues(speech.words, lang)
    check_cues(cues, speech.words, lang)
    lines = [line for cue in cues for line in cue.lines]
    for phrase in together:
        assert any(phrase in line for line in lines), (phrase, lines)
