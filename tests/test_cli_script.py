"""``bulletin script`` through the real command line: zh and en scripts to stdout and to a
folder, the overview, user templates, and a one-line error for each bad input.

Most runs use the small Yulong sample (two venues, NetCDF), so the set stays quick; runs that
fail on their arguments stop before any forecast is read.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bulletin import load_venues_file
from bulletin.pipeline import forecast_table
from bulletin.script import render_overview, render_script

from .clirun import REPO, run_cli

SAMPLES = REPO / "samples"
YULONG = str(SAMPLES / "forecast_yulong_spring.nc")
YULONG_VENUES = str(SAMPLES / "venues_yulong.csv")
VENUE = "yulong-ganhaizi"
YULONG_ARGS = (YULONG, "--venues-file", YULONG_VENUES)


@pytest.fixture(scope="module")
def yulong():
    """The Yulong venue table and venues, as the command line computes them."""
    venues = load_venues_file(Path(YULONG_VENUES))
    return forecast_table([YULONG], venues), {v.id: v for v in venues}


def _one_line_error(result, *fragments: str, code: int = 1) -> str:
    """The command failed with exit code ``code`` (1 bad input, 2 bad usage) and one
    ``bulletin: error:`` line naming it."""
    assert result.returncode == code, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("bulletin: error:")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def test_chinese_venue_script_to_stdout_is_the_display_text(yulong):
    table, venues = yulong
    result = run_cli("script", *YULONG_ARGS, "--venue", VENUE, "--lang", "zh")
    assert result.returncode == 0, result.stderr
    expected = render_script(table, venues[VENUE], lang="zh")
    assert result.stdout == expected.display_text + "\n"
    assert result.stdout.startswith("观众朋友们好！") and "玉龙雪山甘海子" in result.stdout
    assert "about" in result.stderr and "s spoken" in result.stderr  # the log line


def test_script_files_in_a_new_folder(yulong, tmp_path):
    table, venues = yulong
    out = tmp_path / "nested" / "en"
    result = run_cli(
        "script", *YULONG_ARGS, "--venue", VENUE, "--lang", "en", "--date", "2022-04-25",
        "-o", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert sorted(p.name for p in out.iterdir()) == ["script.json", "script.tts.txt", "script.txt"]
    expected = render_script(table, venues[VENUE], lang="en", date="2022-04-25")
    assert (out / "script.txt").read_text(encoding="utf-8") == expected.display_text + "\n"
    assert (out / "script.tts.txt").read_text(encoding="utf-8") == expected.text + "\n"
    document = json.loads((out / "script.json").read_text(encoding="utf-8"))
    assert document["date"] == "2022-04-25" and document["venue_id"] == VENUE
    tagged = [s["index"] for s in document["sentences"] if s["index"]]
    assert list(dict.fromkeys(tagged)) == [
        "wind_chill", "frostbite", "clothing", "cold", "sunscreen", "goggles", "spectator",
    ]  # fmt: skip
    assert "twenty-fifth" in document["text"] and "25th" in document["display_text"]


def test_overview_of_the_chosen_venues_in_chinese(yulong):
    table, venues = yulong
    result = run_cli("script", *YULONG_ARGS, "--kind", "overview", "--lang", "zh", "-o", "-")
    assert result.returncode == 0, result.stderr
    expected = render_overview(table, list(venues.values()), lang="zh")
    assert result.stdout == expected.display_text + "\n"
    assert "各场馆的观赛天气概览" in result.stdout
    assert "玉龙雪山冰川公园" in result.stdout and "玉龙雪山甘海子" in result.stdout


def test_user_templates_override_the_shipped_ones(tmp_path):
    (tmp_path / "venue.en.j2").write_text(
        "Good evening from {{ venue.name }}.\n"
        "[wind_chill]It will feel like {{ indices.wind_chill.lowest|temp }} at worst.\n",
        encoding="utf-8",
    )
    result = run_cli(
        "script", *YULONG_ARGS, "--venue", VENUE, "--lang", "en", "--templates", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Good evening from Yulong Snow Mountain Ganhaizi. ")
    assert result.stdout.rstrip().endswith("°C at worst.")


# -- bad input: one line each, before the forecast is read where the arguments tell --------------
def test_unknown_venue():
    result = run_cli("script", YULONG, "--venue", "nowhere", "--lang", "en")
    _one_line_error(result, "unknown venue id 'nowhere'", "national-stadium", code=2)
    assert "reading" not in result.stderr


@pytest.mark.parametrize(
    ("extra", "fragments", "code"),
    [
        ((), ("needs --venue ID",), 2),
        (("--venue", VENUE, "--venue", "yulong-glacier-park"), ("one bulletin to stdout",), 2),
        (("--venue", VENUE, "--date", "2022-13-01"), ("date '2022-13-01' is not a date",), 2),
        (("--venue", VENUE, "--templates", "no/such/folder"), ("templates folder", "not exist"), 1),
    ],
)
def test_bad_arguments_fail_before_reading(extra, fragments, code):
    result = run_cli("script", *YULONG_ARGS, "--lang", "en", *extra)
    _one_line_error(result, *fragments, code=code)
    assert "reading" not in result.stderr


@pytest.mark.parametrize(
    ("template", "fragments"),
    [
        ("Hello {% if %}.\n", ("venue.en.j2 line 1", "Expected an expression")),
        ("{{ venue.name.__class__ }}.\n", ("venue.en.j2 line 1", "blocked by the sandbox")),
    ],
)
def test_bad_templates(tmp_path, template, fragments):
    (tmp_path / "venue.en.j2").write_text(template, encoding="utf-8")
    result = run_cli(
        "script", *YULONG_ARGS, "--venue", VENUE, "--lang", "en", "--templates", str(tmp_path)
    )
    _one_line_error(result, *fragments)
    assert result.stdout == ""


def test_date_outside_the_forecast():
    result = run_cli(
        "script", *YULONG_ARGS, "--venue", VENUE, "--lang", "en", "--date", "2022-01-01"
    )
    _one_line_error(result, "2022-01-01 is not in the venue table", "2022-04-24 to 2022-04-26")


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    result = run_cli("script", *YULONG_ARGS, "--venue", VENUE, "--lang", "en", "-o", str(blocker))
    _one_line_error(result, "cannot write in output folder", str(blocker))
    assert "reading" not in result.stderr


def test_missing_forecast_file(tmp_path):
    missing = tmp_path / "nothing.nc"
    result = run_cli(
        "script", str(missing), "--venues-file", YULONG_VENUES, "--venue", VENUE, "--lang", "zh"
    )
    _one_line_error(result, "forecast file not found", "nothing.nc")


def test_unsupported_language_is_a_usage_error():
    result = run_cli("script", *YULONG_ARGS, "--venue", VENUE, "--lang", "fr")
    assert result.returncode == 2
    assert "Invalid value for '--lang'" in result.stderr and "Traceback" not in result.stderr
