"""The wording table and number words of the scripts: every level of every index has its own
advice in both languages and reaches the rendered script; rounding and unit words."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from bulletin import compute_indices, load_catalogue, venue_table
from bulletin.indices import LEVEL_NAMES
from bulletin.script import render_overview, render_script, shipped_templates_dir
from bulletin.speech import normalize_for_speech
from bulletin.wording import (
    ADVICE_INDICES,
    LANGUAGES,
    Phrasebook,
    beaufort_force,
    load_wording,
    round_half_away,
    sky_key,
)

from .synthetic import schema_dataset

#: Every index says its level name ("X指数：level name，advice"); the English sun protection
#: line names the WHO UV category instead of the CMA level.


@pytest.fixture(scope="module")
def books() -> dict[str, Phrasebook]:
    table = load_wording([shipped_templates_dir()])
    return {lang: Phrasebook(table, lang) for lang in LANGUAGES}


def test_every_level_of_every_index_has_its_own_wording(books):
    for lang, book in books.items():
        for index in ADVICE_INDICES:
            levels = sorted(LEVEL_NAMES[index])
            advice = [book.advice(index, level) for level in levels]
            assert all(text and not text.endswith(("。", ".")) for text in advice), index
            assert len(set(advice)) == len(levels), f"{index} {lang}: repeated advice"
            names = [book.level_name(index, level) for level in levels]
            assert len(set(names)) == len(levels), f"{index} {lang}: repeated level names"
        # Each piece of advice can be spoken (numbers, SPF/UV and punctuation only).
        for index in ADVICE_INDICES:
            for level in LEVEL_NAMES[index]:
                normalize_for_speech(book.advice(index, level) + "。", lang)


@pytest.fixture(scope="module")
def table():
    catalogue = {v.id: v for v in load_catalogue()}
    forecast = schema_dataset(lat=np.linspace(40.3, 41.2, 3), lon=np.linspace(115.2, 116.0, 3))
    table = venue_table(compute_indices(forecast), [catalogue["genting-snow-park"]])
    return table[table["time_local"].str.startswith("2022-02-06")]


@pytest.mark.parametrize("index", ADVICE_INDICES)
def test_every_level_reaches_the_script(table, books, index):
    """Set the index to each of its levels for a whole day and render: the level's advice (and
    its name, where spoken) is in the venue script and the overview, in both languages."""
    venue = next(v for v in load_catalogue() if v.id == "genting-snow-park")
    for level in sorted(LEVEL_NAMES[index]):
        forced = table.assign(**{f"{index}_level": level})
        for lang in LANGUAGES:
            book = books[lang]
            for script in (
                render_script(forced, venue, lang=lang, date="2022-02-06"),
                render_overview(forced, [venue], lang=lang, date="2022-02-06"),
            ):
                said = " ".join(s.display for s in script.sentences if s.index == index)
                assert book.advice(index, level) in said, f"{index} {level} {lang} {script.kind}"
                if not (index == "sunscreen" and lang == "en"):
                    name = book.spoken_level_name(index, level)  # may start a sentence
                    assert name.lower() in said.lower(), f"{index} {level} {lang}"
                    if script.kind == "venue":
                        title = book.title(index)
                        label = f"{title}指数：" if lang == "zh" else f"{title}: "
                        if index == "spectator" and lang == "en":
                            label = ": "  # "Spectator conditions overall: " / "Overall: "
                        assert label in said, f"{index} {level} {lang}: {said}"


def test_rounding_is_half_away_from_zero():
    assert [round_half_away(x) for x in (-12.5, -12.4, -0.4, 0.5, 2.5, 11.49)] == [
        -13,
        -12,
        0,
        1,
        3,
        11,
    ]


def test_temperatures_and_ranges(books):
    zh, en = books["zh"], books["en"]
    # Chinese writes ℃ as CMA bulletins do; English °C.
    assert zh.temp(-0.4) == "0℃" and en.temp(-12.6) == "-13°C"
    assert zh.temp_range(-12.2, -4.6) == "-12～-5℃"
    assert en.temp_range(-12.2, -4.6) == "-12 to -5°C"
    # A narrow range (ends at most 2 K apart after rounding) is its middle, "左右" / "around".
    assert zh.temp_range(-24.4, -22.6) == "-24℃左右"
    assert en.temp_range(-3.1, -2.9) == "around -3°C"
    assert zh.temp_range(-24.4, -21.6) == "-23℃左右"
    assert zh.temp_range(-24.4, -21.4) == "-24～-21℃"
    assert zh.degrees_range(6.4, 9.2) == "6～9℃" and en.degrees(-7.6) == "8°C"
    assert normalize_for_speech("气温" + zh.temp_range(-12.2, -4.6) + "。", "zh") == (
        "气温零下十二到零下五摄氏度。"
    )
    assert normalize_for_speech("气温" + zh.temp_range(-24.4, -22.6) + "。", "zh") == (
        "气温零下二十四摄氏度左右。"
    )
    assert normalize_for_speech(en.temp(-12) + ".", "en") == "minus twelve degrees Celsius."


def test_beaufort_force_and_wind_words(books):
    # GB/T 28591-2012 / WMO edges: 5.5 m/s is force 4, 32.7 m/s force 12.
    assert [beaufort_force(v * 3.6) for v in (0.2, 1.6, 5.4, 5.5, 17.2, 32.7)] == [
        0,
        2,
        3,
        4,
        8,
        12,
    ]
    assert books["zh"].wind(8.0) == "微风"
    assert books["zh"].wind(25.0) == "风力4级"
    assert books["zh"].wind(80.0) == "大风，风力可达9级"
    assert books["en"].wind(23.0) == "moderate winds up to 25 km/h"
    assert books["en"].wind(1.0) == "light winds up to 5 km/h"
    zh, en = books["zh"], books["en"]
    # Direction and force as CMA says them: 16 points, one force or two adjacent ones, gusts.
    assert zh.wind_words(14.0, 25.0, 5.0, 45.0) == "北风3～4级，阵风6级"
    assert zh.wind_words(14.0, 25.0, 22.0) == "偏北风3～4级"
    assert zh.wind_words(2.0, 25.0, 45.0) == "东北风3～4级"
    assert zh.wind_words(15.0, 17.0, 250.0, 19.0) == "偏西风3级"  # gusts no stronger: unsaid
    assert zh.wind_words(14.0, 25.0) == "风力3～4级" and zh.wind_words(3.0, 8.0) == "微风"
    assert en.wind_words(14.0, 25.0, 5.0, 45.0) == "north winds 15 to 25 km/h, gusting to 45 km/h"
    assert en.wind_words(14.0, 14.0, 315.0) == "northwest winds around 15 km/h"
    assert en.wind_words(3.0, 8.0, 180.0) == "light south winds 5 to 10 km/h"
    assert normalize_for_speech(zh.wind_words(14.0, 25.0, 5.0, 45.0) + "。", "zh") == (
        "北风三到四级，阵风六级。"
    )


def test_clock_times_are_read_with_the_part_of_the_day(books):
    zh, en = books["zh"], books["en"]
    assert [zh.clock(t) for t in ("07:00", "09:00", "12:00", "15:00", "18:00", "23:00")] == [
        "早晨7点",
        "上午9点",
        "中午12点",
        "下午3点",
        "傍晚6点",
        "晚上11点",
    ]
    assert zh.day_part("07:00") == "早晨" and zh.day_part("21:00") == "夜间"
    assert en.clock("07:00") == "07:00" and en.day_part("07:00") == "early in the morning"
    assert normalize_for_speech(zh.clock("07:00") + "前后。", "zh") == "早晨七点前后。"


def test_sky_from_cloud_and_snow():
    assert [sky_key(c, 0) for c in (5, 25, 60, 90)] == ["clear", "few", "cloudy", "overcast"]
    assert sky_key(10, 2) == "cloudy_snow" and sky_key(95, 1) == "overcast_snow"
    assert sky_key(float("nan"), 0) == "clear"


def test_durations_round_down_and_minutes_to_the_nearest(books):
    zh, en = books["zh"], books["en"]
    assert [zh.duration(h) for h in (0.05, 0.45, 1.0, 1.6, 2.9)] == [
        "几分钟",
        "20分钟",
        "1小时",
        "1个半小时",
        "2个半小时",
    ]
    assert [en.duration(h) for h in (0.45, 1.2, 1.5, 3.0)] == [
        "20 minutes",
        "an hour",
        "an hour and a half",
        "3 hours",
    ]
    # Minutes to frostbite are the regression's, rounded to the nearest (said "about").
    assert [en.minutes(m) for m in (0.3, 1.2, 4.4, 7.9, 17.0, 29.9)] == [
        "1 minute",
        "1 minute",
        "4 minutes",
        "8 minutes",
        "15 minutes",
        "30 minutes",
    ]
    assert zh.minutes(12) == "10分钟" and zh.minutes(13) == "15分钟"


def test_dates_and_lists(books):
    day = dt.date(2022, 2, 5)
    assert books["zh"].date(day) == "2月5日，星期六"
    assert books["en"].date(day) == "Saturday, February 5th"
    assert books["en"].date(dt.date(2022, 2, 12)) == "Saturday, February 12th"
    assert books["zh"].join(["甲", "乙", "丙"]) == "甲、乙和丙"
    assert books["en"].join(["a", "b", "c"]) == "a, b and c" and books["en"].join(["a"]) == "a"
    assert normalize_for_speech(books["en"].date(day) + ".", "en") == "Saturday, February fifth."
