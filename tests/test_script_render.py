"""Rendering bulletin scripts: the script object, data-driven wording, the sandbox, user
templates and wording, and one-line errors for bad input."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from bulletin import compute_indices, load_catalogue, venue_table
from bulletin.errors import BulletinError, ScriptError
from bulletin.script import Script, render_overview, render_script, write_script

from .synthetic import schema_dataset

VENUE_IDS = ("national-alpine-skiing-centre", "genting-snow-park")


def _venues():
    catalogue = {v.id: v for v in load_catalogue()}
    return [catalogue[vid] for vid in VENUE_IDS]


def _table(t2m: np.ndarray | None = None) -> pd.DataFrame:
    """Three full local days (5-7 February, Asia/Shanghai) at two mountain venues."""
    lat = np.linspace(40.3, 41.2, 4)
    lon = np.linspace(115.2, 116.0, 4)
    forecast = schema_dataset(lat=lat, lon=lon, t2m=t2m)
    return venue_table(compute_indices(forecast), _venues())


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return _table()


@pytest.fixture(scope="module")
def venue():
    return _venues()[0]


def _one_line_error(excinfo: pytest.ExceptionInfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message and message
    assert isinstance(excinfo.value, BulletinError)
    return message


# -- the script object ---------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_script_fields_and_sentences(table, venue, lang):
    script = render_script(table, venue, lang=lang)
    assert isinstance(script, Script)
    assert (script.venue_id, script.lang, script.kind) == (venue.id, lang, "venue")
    assert str(script.date) == "2022-02-05"  # the first full local day
    glue = "" if lang == "zh" else " "
    assert script.text == glue.join(s.tts for s in script.sentences)
    assert script.display_text == glue.join(s.display for s in script.sentences)
    assert all(len(s) == 3 for s in script.sentences)  # (display, tts, index)
    degree = "℃" if lang == "zh" else "°C"
    assert degree in script.display_text and degree not in script.text
    name = venue.name_zh if lang == "zh" else venue.name
    assert name in script.sentences[0].display + script.sentences[1].display
    if lang == "en" and venue.name.startswith("National "):
        assert f"for the {venue.name}" in script.sentences[0].display
    json.dumps(script.to_dict(), ensure_ascii=False)


def test_default_date_skips_a_partial_first_day(table, venue):
    later = table[table["time_local"] >= "2022-02-05T12"]
    assert str(render_script(later, venue, lang="en").date) == "2022-02-06"
    # A part-day can still be asked for explicitly.
    assert str(render_script(later, venue, lang="en", date="2022-02-05").date) == "2022-02-05"


def test_overview_groups_venues(table):
    venues = _venues()
    script = render_overview(table, venues, lang="zh", date="2022-02-06")
    assert (script.kind, script.venue_id, script.venue_ids) == ("overview", None, VENUE_IDS)
    # Both venues are in different zones; each zone gets its weather sentence.
    assert "延庆赛区" in script.display_text and "张家口赛区" in script.display_text
    same = table.copy()
    for column in ("cold_level", "sunscreen_level"):
        same[column] = same[column].max()
    uniform = render_overview(same, venues, lang="en", date="2022-02-06")
    cold = next(s.display for s in uniform.sentences if s.index == "cold")
    assert "all venues" in cold


def test_write_script_is_atomic_and_complete(table, venue, tmp_path):
    script = render_script(table, venue, lang="zh")
    paths = write_script(script, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths.values())
    assert paths["display"].read_text(encoding="utf-8").strip() == script.display_text
    assert paths["tts"].read_text(encoding="utf-8").strip() == script.text
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["venue_id"] == venue.id and len(data["sentences"]) == len(script.sentences)
    with pytest.raises(BulletinError):
        write_script(script, tmp_path / "missing")


# -- words from the data -------------------------------------------------------------------
def _cold_wave_t2m() -> np.ndarray:
    hours = np.arange(72)[:, None, None]
    t2m = -4.0 + 5.0 * np.sin(2 * np.pi * (hours - 14) / 24) + np.zeros((72, 4, 4))
    t2m[48:] -= 12.0  # 7 February: the daily minimum falls by 12 K
    return t2m


def test_trend_cold_wave_is_said_on_its_day():
    table = _table(_cold_wave_t2m())
    venue = _venues()[0]
    zh = render_script(table, venue, lang="zh", date="2022-02-07")
    en = render_script(table, venue, lang="en", date="2022-02-07")
    # A 12 K fall of the daily minimum to <= 0 °C: GB/T 20484-2017 超强寒潮, an orange
    # cold-wave warning, worded on the CMA pattern and shown in the banner.
    assert "寒潮橙色" in zh.display_text and "下降12℃" in zh.display_text
    assert "cold wave" in en.display_text and "12°C" in en.display_text
    assert [a["title"] for a in zh.alerts if a["kind"] == "cold_wave"] == ["寒潮橙色预警"]
    assert "Orange cold wave alert" in [a["title"] for a in en.alerts]
    steady = render_script(table, venue, lang="zh", date="2022-02-06")
    assert not any(word in steady.display_text for word in ("寒潮", "转冷", "回暖"))
    overview = render_overview(table, _venues(), lang="en", date="2022-02-07")
    assert "cold wave" in overview.display_text and "all venues" in overview.display_text


def test_trend_warming_on_the_daily_maximum():
    t2m = _cold_wave_t2m()
    t2m[48:] += 20.0  # 7 February 8 K warmer than the 6th
    script = render_script(_table(t2m), _venues()[0], lang="zh", date="2022-02-07")
    assert "明显回暖，最高气温比昨天高8℃" in script.display_text


def test_parts_of_the_day_with_the_same_weather_are_merged(table, venue, tmp_path):
    calm = table.assign(cloud_cover_pct=5.0, wind_speed_10m_kmh=8.0, snowfall_mmh=0.0)
    zh = render_script(calm, venue, lang="zh", date="2022-02-06")
    en = render_script(calm, venue, lang="en", date="2022-02-06")
    assert "全天晴" in zh.display_text and "上午" not in zh.display_text
    assert "All day: clear" in en.display_text and "This morning" not in en.display_text
    windy = calm.copy()
    afternoon = windy["time_local"].str.slice(11, 13).astype(int).between(12, 17)
    windy.loc[afternoon, "wind_speed_10m_kmh"] = 60.0
    # Only the parts of the day: the full windy script runs long and goes concise (whole day).
    (tmp_path / "venue.zh.j2").write_text(
        "{% for p in periods %}{{ p.label }}{{ p.sky }}，{{ p.wind }}。\n{% endfor %}",
        encoding="utf-8",
    )
    split = render_script(windy, venue, lang="zh", date="2022-02-06", templates_dir=tmp_path)
    # The table has no wind direction: the force alone (two adjacent forces where the hours
    # of a part differ), "微风" below force 3.
    assert split.display_text == "上午晴，微风。下午晴，风力7级。傍晚到夜间晴，微风。"


def test_frostbite_minutes_only_inside_the_regression_range(table, venue):
    day = table["time_local"].str.startswith("2022-02-06")
    cold = table.copy()
    cold.loc[day, "frostbite_level"] = 3
    cold.loc[day, "frostbite_minutes"] = 7.6
    cold.loc[day, "wind_speed_10m_kmh"] = 40.0
    quoted = render_script(cold, venue, lang="en", date="2022-02-06")
    # The regression's 7.6 minutes, to the nearest minute: "about 8", not a bound.
    assert "freezing in about 8 minutes" in quoted.display_text or (
        "freeze in about 8 minutes" in quoted.display_text
    )
    calm = cold.copy()
    calm.loc[day, "wind_speed_10m_kmh"] = 15.0  # below the 25 km/h fit range: ECCC band
    banded = render_script(calm, venue, lang="zh", date="2022-02-06")
    assert "5到10分钟就可能冻伤" in banded.display_text


def test_repeated_sentences_are_said_once(table, venue, tmp_path):
    (tmp_path / "venue.en.j2").write_text(
        "[wind_chill]Wrap up. Wrap up.\n[goggles]Wrap up.\nGoodbye.\n", encoding="utf-8"
    )
    script = render_script(table, venue, lang="en", templates_dir=tmp_path)
    assert [s.display for s in script.sentences] == ["Wrap up.", "Goodbye."]
    assert script.sentences[0].index == "wind_chill"


# -- user templates and wording ------------------------------------------------------------
def test_user_template_overrides_by_name_only(table, venue, tmp_path):
    (tmp_path / "venue.en.j2").write_text(
        "[spectator]{{ venue.name }}: {{ indices.spectator.name }}.\n", encoding="utf-8"
    )
    en = render_script(table, venue, lang="en", templates_dir=tmp_path)
    assert en.display_text.startswith(venue.name + ":") and en.sentences[0].index == "spectator"
    zh = render_script(table, venue, lang="zh", templates_dir=tmp_path)
    assert "观众朋友们好" in zh.display_text  # the shipped Chinese template


def test_user_wording_is_laid_over_the_shipped_table(table, venue, tmp_path):
    level = int(table[table["time_local"].str.startswith("2022-02-05")]["cold_level"].max())
    (tmp_path / "wording.toml").write_text(
        f'[advice.cold]\n{level} = {{ zh = "多喝热水", en = "drink hot water" }}\n',
        encoding="utf-8",
    )
    script = render_script(table, venue, lang="en", templates_dir=tmp_path)
    assert "drink hot water" in script.display_text
    assert "Wind chill" in script.display_text  # everything else still shipped


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[advice.cold\n", "wording.toml"),
        ('[advice.cold]\n1 = { zh = "", en = "x" }\n', "advice.cold.1.zh is empty"),
        (
            '[advice.goggles]\n1 = { zh = "同", en = "same" }\n2 = { zh = "同", en = "same" }\n',
            "two levels of goggles share",
        ),
    ],
)
def test_bad_user_wording_is_a_clear_error(table, venue, tmp_path, text, expected):
    (tmp_path / "wording.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ScriptError) as excinfo:
        render_script(table, venue, lang="en", templates_dir=tmp_path)
    assert expected in _one_line_error(excinfo)


# -- the sandbox ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Hello.\n{{ ''.__class__.__mro__ }}\n", "line 2"),
        ("{{ cycler.__init__.__globals__ }}\n", "sandbox"),
        ("{{ joiner.__init__.__globals__.os }}\n", "sandbox"),
        ("{{ range.__self__ }}\n", "venue.en.j2"),
        ("{{ venue.__class__ }}\n", "sandbox"),
        ("{% include '/etc/passwd' %}\n", "not found"),
        ("{% include '../../../../../etc/passwd' %}\n", "not found"),
        ("{{ 'x' * 100000000 }}\n", "sandbox"),
        ("{{ 10 ** 100000 }}\n", "sandbox"),
        ("{{ range(10**9)|list }}\n", "venue.en.j2"),
    ],
)
def test_template_reaching_for_internals_or_files_fails_safely(
    table, venue, tmp_path, source, expected
):
    (tmp_path / "venue.en.j2").write_text(source, encoding="utf-8")
    with pytest.raises(ScriptError) as excinfo:
        render_script(table, venue, lang="en", templates_dir=tmp_path)
    message = _one_line_error(excinfo)
    assert expected in message
    assert "root:" not in message  # nothing of /etc/passwd leaks


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Hello.\n\n{{ no_such_value }}\n", ["venue.en.j2 line 3", "'no_such_value' is undefined"]),
        ("{{ venue.nickname }}\n", ["venue.en.j2 line 1", "nickname"]),
        ("{% if %}\n", ["venue.en.j2 line 1"]),
        ("{{ 1 + 'a' }}\n", ["venue.en.j2 line 1", "TypeError"]),
        ("[no_index]Hi.\n", ["unknown index tag [no_index]"]),
        ("It is {{ none }} today.\n", ["'None'"]),
        ("Level {{ '{{' }} x.\n", ["wrote '{'"]),
        ("\n\n", ["empty script"]),
    ],
)
def test_template_mistakes_name_the_template_and_line(table, venue, tmp_path, source, expected):
    (tmp_path / "venue.en.j2").write_text(source, encoding="utf-8")
    with pytest.raises(ScriptError) as excinfo:
        render_script(table, venue, lang="en", templates_dir=tmp_path)
    message = _one_line_error(excinfo)
    for part in expected:
        assert part in message


def test_chinese_template_with_english_words_is_refused(table, venue, tmp_path):
    (tmp_path / "venue.zh.j2").write_text("今天 sunny，请涂SPF30防晒霜。\n", encoding="utf-8")
    with pytest.raises(ScriptError) as excinfo:
        render_script(table, venue, lang="zh", templates_dir=tmp_path)
    assert "'sunny'" in _one_line_error(excinfo)


# -- bad input -----------------------------------------------------------------------------
def test_bad_arguments_are_one_line_errors(table, venue, tmp_path):
    cases = [
        (lambda: render_script(table, venue, lang="fr"), "unsupported script language"),
        (lambda: render_script(table, venue, lang="en", kind="radio"), "unknown script kind"),
        (lambda: render_script(table, venue, lang="en", date="5 Feb"), "is not a date"),
        (lambda: render_script(table, venue, lang="en", date="2022-03-01"), "not in the venue"),
        (
            lambda: render_script(table, dataclasses.replace(venue, id="nowhere"), lang="en"),
            "'nowhere' is not in the venue table",
        ),
        (
            lambda: render_script(table.drop(columns="cold_level"), venue, lang="en"),
            "lacks column(s) cold_level",
        ),
        (
            lambda: render_script(table.iloc[0:0].assign(member=0), venue, lang="en"),
            "ensemble venue table is empty",
        ),
        (
            lambda: render_script(table, venue, lang="en", templates_dir=tmp_path / "no"),
            "does not exist",
        ),
        (
            lambda: render_script(table, dataclasses.replace(venue, name_zh="Genting"), lang="zh"),
            "no Chinese name",
        ),
        (lambda: render_overview(table, [], lang="en"), "at least one venue"),
    ]
    for call, expected in cases:
        with pytest.raises(ScriptError) as excinfo:
            call()
        assert expected in _one_line_error(excinfo)
