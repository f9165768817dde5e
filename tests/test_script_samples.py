"""Bulletin scripts over the shipped samples: golden files, forbidden content, spoken length.

Every venue and every local day of both samples is rendered in both languages, as a venue
bulletin and as the daily overview. Golden files hold the full days (the default date of a
script); regenerate them with ``UPDATE_GOLDEN=1 pytest tests/test_script_samples.py`` and read
the diff before committing it.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

import pytest

from bulletin import load_catalogue, load_venues_file, open_forecast, venue_table
from bulletin.script import SPOKEN_SECONDS, Script, render_overview, render_script
from bulletin.summary import summarize
from bulletin.wording import (
    ADVICE_INDICES,
    INDEX_KEYS,
    LANGUAGES,
    Phrasebook,
    load_wording,
    shipped_templates_dir,
)

from .clirun import REPO

SAMPLES = REPO / "samples"
GOLDEN = Path(__file__).parent / "golden"
UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"

#: What no script may contain: template syntax, Python/pandas missing values, identifiers and
#: raw codes (index keys, level columns, lens codes S0-S4, the Ⅰ-Ⅳ numerals).
FORBIDDEN = re.compile(
    r"\{\{|\}\}|\{%|%\}|\{#|#\}|[\[\]{}<>]|\bNone\b|\bnan\b|\bNaN\b|\bNaT\b|\bnull\b|\binf\b"
    r"|undefined|_level|\bS[0-4]\b|[ⅠⅡⅢⅣ]|"
    + "|".join(re.escape(key) for key in INDEX_KEYS if "_" in key)
)
HAN = re.compile(r"[\u3400-\u9fff]")


def _local_dates(table) -> list[str]:
    return sorted(set(table["time_local"].str.slice(0, 10)))


def _full_dates(table) -> list[str]:
    hours = table.groupby(table["time_local"].str.slice(0, 10))["time_local"].agg(
        lambda s: (s.str.slice(11, 13).min(), s.str.slice(11, 13).max())
    )
    return [day for day, (first, last) in hours.items() if first == "00" and last == "23"]


@pytest.fixture(scope="module")
def samples():
    """(name, venue table, venues) of both samples."""
    beijing_venues = load_catalogue()
    beijing = venue_table(open_forecast(SAMPLES / "forecast_ecmwf.grib2"), beijing_venues)
    yulong_venues = load_venues_file(SAMPLES / "venues_yulong.csv")
    yulong = venue_table(open_forecast(SAMPLES / "forecast_yulong_spring.nc"), yulong_venues)
    return [("beijing", beijing, beijing_venues), ("yulong", yulong, yulong_venues)]


@pytest.fixture(scope="module")
def scripts(samples) -> list[tuple[str, bool, Script]]:
    """(sample, is a full day, script) for every venue, day and language, and the overviews."""
    result = []
    for name, table, venues in samples:
        full = set(_full_dates(table))
        for day in _local_dates(table):
            for lang in LANGUAGES:
                for venue in venues:
                    script = render_script(table, venue, lang=lang, date=day)
                    result.append((name, day in full, script))
                result.append(
                    (name, day in full, render_overview(table, venues, lang=lang, date=day))
                )
    return result


def _dump(scripts: list[Script]) -> str:
    lines = []
    for script in scripts:
        who = script.venue_id or "overview"
        lines.append(f"=== {script.kind} {who} {script.date} {script.lang}")
        for sentence in script.sentences:
            lines.append(f"[{sentence.index or '-'}] {sentence.display}")
            lines.append(f"    {sentence.tts}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("sample", ["beijing", "yulong"])
def test_golden_scripts(scripts, sample, lang):
    chosen = [s for name, full, s in scripts if name == sample and full and s.lang == lang]
    assert chosen, f"no full day in the {sample} sample"
    text = _dump(chosen)
    path = GOLDEN / f"script_{sample}_{lang}.txt"
    if UPDATE_GOLDEN:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run UPDATE_GOLDEN=1 pytest {__file__}"
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = difflib.unified_diff(
            expected.splitlines(), text.splitlines(), "golden", "now", lineterm="", n=1
        )
        pytest.fail(f"{path.name} differs (UPDATE_GOLDEN=1 to accept):\n" + "\n".join(diff))


def test_no_forbidden_content_in_any_script(scripts):
    assert len(scripts) > 100
    for _, _, script in scripts:
        where = f"{script.kind} {script.venue_id} {script.date} {script.lang}"
        for sentence in script.sentences:
            bad = FORBIDDEN.search(sentence.display) or FORBIDDEN.search(sentence.tts)
            assert not bad, f"{where}: {bad.group(0)!r} in {sentence.display!r}"
            assert sentence.index is None or sentence.index in INDEX_KEYS
        if script.lang == "zh":
            latin = set(re.findall(r"[A-Za-z]+", script.display_text.replace("°C", "")))
            assert latin <= {"SPF", "UV"}, f"{where}: Latin words {latin}"
            # The speech text: Chinese, and the letter names of SPF/UV as tone-numbered pinyin.
            spoken_latin = re.findall(r"[A-Za-z]+\d?", script.text)
            assert all(re.fullmatch(r"[a-z]+[1-5]", w) for w in spoken_latin), where
            assert not re.search(r"[0-9°%]", re.sub(r"[a-z]+[1-5]", "", script.text)), where
        else:
            assert not HAN.search(script.display_text + script.text), where
            assert not re.search(r"[0-9°%]|km/h", script.text), f"{where}: {script.text}"


def test_spoken_length_within_the_issue_ranges(scripts):
    for _, full, script in scripts:
        low, high = SPOKEN_SECONDS[script.kind]
        seconds = script.estimated_seconds
        where = f"{script.kind} {script.venue_id} {script.date} {script.lang}: {seconds:.0f} s"
        assert seconds <= high, where
        if full:  # a part-day (the first evening of a forecast) may be shorter
            assert seconds >= low, where


def test_every_index_is_spoken_once_in_order(scripts):
    for _, _, script in scripts:
        tagged = [s.index for s in script.sentences if s.index]
        order = list(dict.fromkeys(tagged))
        assert order == [*ADVICE_INDICES], f"{script.kind} {script.venue_id} {script.date}"


def test_wordings_occurring_in_the_samples_are_spoken(samples, scripts):
    """Each level that is the worst of a venue's day in the samples has its advice in that
    venue's script of that day, in both languages."""
    table_words = load_wording([shipped_templates_dir()])
    books = {lang: Phrasebook(table_words, lang) for lang in LANGUAGES}
    by_key = {(s.venue_id, str(s.date), s.lang): s for _, _, s in scripts if s.kind == "venue"}
    seen: dict[str, set[int]] = {index: set() for index in ADVICE_INDICES}
    for _, table, _ in samples:
        periods = summarize(table, by="period")
        periods = periods[periods["period"] != "night"]
        worst = periods.groupby(["venue_id", "local_date"])[
            [f"{index}_level_max" for index in ADVICE_INDICES]
        ].max()
        for (venue_id, day), row in worst.iterrows():
            for index in ADVICE_INDICES:
                level = int(row[f"{index}_level_max"])
                seen[index].add(level)
                for lang in LANGUAGES:
                    script = by_key[(venue_id, day, lang)]
                    assert books[lang].advice(index, level) in script.display_text, (
                        f"{venue_id} {day} {lang}: advice of {index} level {level} missing"
                    )
    # Venue-days of the samples reach frostbite levels 1-4 and wind chill levels 1-5 (level 5
    # and 6 occur on the summits of the grid, tests/test_samples.py); the other levels of every
    # index are rendered in test_script_wording.py.
    assert seen["frostbite"] >= {1, 2, 3, 4}
    assert seen["wind_chill"] >= {1, 2, 3, 4, 5}
