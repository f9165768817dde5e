"""The README's exit-code table against the real command line: every row of the table
("Errors, exit codes and faults") has commands that must end with its code, and every code
those commands give is in the table. And the usage errors' "did you mean" for unknown names.

The commands stop before any bulletin is built (the usage errors before the forecast is read),
so each takes about the time of the interpreter's start; the daily run that exits 3 fails both
its units at the script stage, so it encodes no video.
"""

from __future__ import annotations

import fcntl
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bulletin.daily.config import ConfigError, load_config
from bulletin.daily.lock import LOCK_NAME
from bulletin.errors import UsageError, VenueError, VenueUsageError
from bulletin.speech import check_request
from bulletin.spoken import check_language
from bulletin.venues import load_catalogue, select_venues
from bulletin.wording import Phrasebook

from .clirun import REPO, run_cli
from .test_daily_config import write_config

SAMPLE = str(REPO / "samples" / "forecast_cf.nc")
VENUE = "genting-snow-park"
DAY = "2022-02-05"
SECTION = "## Errors, exit codes and faults"


def readme_exit_codes() -> dict[int, str]:
    """The rows of the README's exit-code table: code -> meaning."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert SECTION in text, f"README.md has no section {SECTION!r}"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\|\s*(\d+)\s*\|\s*(.+?)\s*\|\s*$", section, flags=re.MULTILINE)
    assert rows, f"no exit-code table in README.md's section {SECTION!r}"
    codes = [int(code) for code, _ in rows]
    assert len(set(codes)) == len(codes), f"an exit code is listed twice: {codes}"
    return {int(code): meaning for code, meaning in rows}


# -- one command per case: (args, folder) -> CompletedProcess ---------------------------------
def _silent_wav(folder: Path) -> Path:
    import wave

    path = folder / "silence.wav"
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(16000)
        writer.writeframes(bytes(2 * 16000))
    return path


def _daily(config: Path, *args: str) -> subprocess.CompletedProcess:
    return run_cli("daily", "--config", str(config), *args, timeout=300)


def _some_units_fail(tmp_path: Path) -> subprocess.CompletedProcess:
    # Both Chinese units (the venue's and the overview) name a value no script has, so both
    # fail when rendered: the run publishes its page and exits 3 without encoding a video.
    templates = tmp_path / "templates"
    templates.mkdir()
    source = REPO / "tests" / "daily_templates" / "broken_zh"
    for template in source.iterdir():
        (templates / template.name).write_bytes(template.read_bytes())
    (templates / "overview.zh.j2").write_text("{{ no_such_value }}。\n", encoding="utf-8")
    config = write_config(
        tmp_path, venues=[VENUE], languages=["zh"], templates=str(templates), date=DAY
    )
    return _daily(config)


def _interrupted(tmp_path: Path) -> subprocess.CompletedProcess:
    # `bulletin daily --wait` waits for the output root's lock, held here; Ctrl-C (SIGINT) is
    # sent once it says it is waiting, so it interrupts Python code, not the interpreter's start.
    config = write_config(tmp_path)
    root = tmp_path / "out"
    root.mkdir()
    with open(root / LOCK_NAME, "a+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        process = subprocess.Popen(
            [sys.executable, "-m", "bulletin", "daily", "--config", str(config), "--wait"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            # A shell without job control starts background jobs with SIGINT ignored, and
            # Python then installs no KeyboardInterrupt handler: give the child the default
            # disposition, as a terminal's Ctrl-C finds it.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        seen = []
        with selectors.DefaultSelector() as selector:
            selector.register(process.stderr, selectors.EVENT_READ)
            deadline = time.monotonic() + 120
            while not any("waiting for" in line for line in seen):
                if time.monotonic() > deadline or process.poll() is not None:
                    process.kill()
                    pytest.fail(f"bulletin daily --wait never waited: {''.join(seen)}")
                if selector.select(timeout=1):
                    seen.append(process.stderr.readline())
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(
        process.args, process.returncode, stdout, "".join(seen) + stderr
    )


CASES: dict[int, dict[str, Callable[[Path], subprocess.CompletedProcess]]] = {
    0: {"venues": lambda tmp: run_cli("venues")},
    1: {
        "missing forecast file": lambda tmp: run_cli(
            "indices", str(tmp / "missing.nc"), "-o", str(tmp / "out.csv")
        ),
        "venue file with a bad row": lambda tmp: run_cli(
            "venues", "--venues-file", str(_bad_venues_file(tmp))
        ),
    },
    2: {
        "bad --date": lambda tmp: run_cli(
            "script", SAMPLE, "--venue", VENUE, "--lang", "en", "--date", "2022-13-01"
        ),
        "unknown venue": lambda tmp: run_cli(
            "indices", SAMPLE, "--venue", "genting-snowpark", "-o", str(tmp / "out.csv")
        ),
        "piper cannot speak zh": lambda tmp: run_cli(
            "speak",
            SAMPLE,
            "--venue",
            VENUE,
            "--lang",
            "zh",
            "--tts",
            "piper",
            "-o",
            str(tmp / "out"),
        ),
        "unknown config key": lambda tmp: _daily(write_config(tmp, outptu="out")),
        "unknown config language": lambda tmp: _daily(write_config(tmp, languages=["eng"])),
        "piper with zh in the config": lambda tmp: _daily(
            write_config(tmp, tts="piper", languages=["zh"])
        ),
        "unknown option": lambda tmp: run_cli("venues", "--no-such-option"),
        "--grid to stdout": lambda tmp: run_cli("indices", SAMPLE, "--grid", "-o", "-"),
        "unknown --avatar": lambda tmp: run_cli(
            "run", SAMPLE, "--venue", VENUE, "--avatar", "procedual", "-o", str(tmp / "out")
        ),
        "odd avatar render --size": lambda tmp: run_cli(
            "avatar",
            "render",
            "--audio",
            str(_silent_wav(tmp)),
            "--size",
            "641x360",
            "-o",
            str(tmp / "x.mp4"),
        ),
    },
    3: {"some daily units fail": _some_units_fail},
    75: {
        "forecast not there yet": lambda tmp: _daily(
            write_config(tmp, forecast="incoming/{date:%Y%m%d}/*.nc"), "--date", DAY
        )
    },
    130: {"interrupted": _interrupted},
}


def _bad_venues_file(folder: Path) -> Path:
    path = folder / "venues.csv"
    path.write_text("id,name,lat,lon,elevation_m\nsummit,Summit,95,116,10\n", encoding="utf-8")
    return path


def test_the_readme_lists_the_codes_the_commands_give():
    assert sorted(readme_exit_codes()) == sorted(CASES)


#: Cases that take more than about 5 s (the daily run reads the forecast and writes its page).
SLOW = {"some daily units fail"}


@pytest.mark.parametrize(
    ("code", "case"),
    [
        pytest.param(code, case, marks=[pytest.mark.slow] if case in SLOW else [])
        for code, cases in CASES.items()
        for case in cases
    ],
)
def test_each_row_of_the_table(tmp_path, code, case):
    assert code in readme_exit_codes(), f"exit code {code} is not in README.md's table"
    result = CASES[code][case](tmp_path)
    assert result.returncode == code, (case, result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    if code in (1, 2, 75):
        errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
        assert len(errors) == 1, result.stderr


# -- "did you mean": an unknown name is answered with the closest known one ----------------------
def _one_line(error: Exception) -> str:
    message = str(error)
    assert "\n" not in message
    return message


def test_an_unknown_venue_id_names_the_closest_venue():
    catalogue = load_catalogue()
    with pytest.raises(VenueUsageError) as caught:
        select_venues(catalogue, ["genting-snowpark"])
    message = _one_line(caught.value)
    assert message.startswith(
        "unknown venue id 'genting-snowpark'; did you mean 'genting-snow-park'? (known ids: "
    )
    assert caught.value.exit_code == 2 and isinstance(caught.value, VenueError)
    assert all(venue.id in message for venue in catalogue)
    with pytest.raises(VenueUsageError) as caught:
        select_venues(catalogue, ["atlantis"])
    assert "did you mean" not in str(caught.value)  # nothing is close: no guess
    assert str(caught.value).startswith("unknown venue id 'atlantis' (known ids: big-air-")


@pytest.mark.parametrize(
    ("check", "guess"),
    [
        (lambda: check_language("eng"), "unsupported speech language 'eng'; did you mean 'en'?"),
        (lambda: Phrasebook({}, "zh-"), "unsupported script language 'zh-'; did you mean 'zh'?"),
        (lambda: check_request("en", engine="pipr"), "unknown speech engine 'pipr'; did you mean"),
    ],
)
def test_an_unknown_language_or_engine_names_the_closest(check, guess):
    with pytest.raises(UsageError) as caught:
        check()
    assert guess in _one_line(caught.value) and caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("keys", "table", "guess"),
    [
        ({"outptu": "out"}, "", "unknown config key 'outptu' in "),
        ({"languages": ["eng"]}, "", "unknown language 'eng'; did you mean 'en'? (known: en, zh)"),
        ({"tts": "pipr"}, "", "unknown engine 'pipr'; did you mean 'piper'?"),
        (
            {"forecast": "ecmwf-opendata:ifs"},
            "\n[opendata]\nretrys = 2\n",
            "unknown config key 'opendata.retrys'; did you mean 'opendata.retries'?",
        ),
    ],
)
def test_an_unknown_config_key_or_value_names_the_closest(tmp_path, keys, table, guess):
    path = write_config(tmp_path, **keys)
    path.write_text(path.read_text(encoding="utf-8") + table, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = _one_line(caught.value)
    assert guess in message and caught.value.exit_code == 2
    if "outptu" in keys:
        assert message.endswith(
            "bulletin.toml; did you mean 'output'? (known keys: agency, avatar, date, forecast, "
            "languages, logo, loudness_lufs, opendata, output, site_url, templates, tts, venues, "
            "venues_file, voice)"
        )
