"""bulletin.pipeline and bulletin.unit: the one forecast -> table step, the speech result the
video is made from, the output layout, and the module graph of the command line and speech."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pandas as pd
import pytest

import bulletin
from bulletin.pipeline import (
    TimedSentence,
    forecast_init,
    make_script,
    read_forecast,
    speak_script,
)
from bulletin.unit import unit_folder

from .clirun import REPO

SAMPLES = REPO / "samples"
YULONG = SAMPLES / "forecast_yulong_spring.nc"
YULONG_VENUES = SAMPLES / "venues_yulong.csv"


@pytest.fixture(scope="module")
def yulong():
    venues = bulletin.load_venues_file(YULONG_VENUES)
    return read_forecast([YULONG], venues), venues


def test_read_forecast_is_the_venue_table_of_the_forecast_and_its_init(yulong):
    read, venues = yulong
    dataset = bulletin.open_forecast([YULONG])
    pd.testing.assert_frame_equal(read.table, bulletin.venue_table(dataset, venues))
    assert read.init == forecast_init(dataset)
    assert read.init.tzinfo is not None and read.init.utcoffset().total_seconds() == 0


def test_unit_folder_is_root_venue_lang(tmp_path):
    assert unit_folder(tmp_path, "genting-snow-park", "zh") == tmp_path / "genting-snow-park" / "zh"
    assert unit_folder("out", "_overview", "en") == Path("out/_overview/en")


@pytest.mark.media
def test_speech_result_carries_the_timings_the_files_hold(yulong, tmp_path):
    read, venues = yulong
    script = make_script(read.table, venues[:1], lang="en")
    spoken = speak_script(script, tmp_path, engine="pyttsx3")
    assert all(isinstance(s, TimedSentence) for s in spoken.sentences)
    assert [s.display for s in spoken.sentences] == [s.display for s in script.sentences]
    assert [s.index for s in spoken.sentences] == [s.index for s in script.sentences]
    starts = [s.start for s in spoken.sentences]
    assert starts == sorted(starts) and spoken.sentences[-1].end <= spoken.duration_s
    written = json.loads((tmp_path / "script.json").read_text(encoding="utf-8"))["sentences"]
    assert written == [
        {"display": s.display, "tts": s.tts, "index": s.index, "start": s.start, "end": s.end}
        for s in spoken.sentences
    ]
    import srt

    cues = list(srt.parse((tmp_path / "subtitles.srt").read_text(encoding="utf-8")))
    assert len(cues) == spoken.subtitle_cues == len(spoken.cues) > 0
    for parsed, cue in zip(cues, spoken.cues, strict=True):
        assert parsed.content == cue.text
        assert parsed.start.total_seconds() == pytest.approx(cue.start, abs=1e-3)
        assert parsed.end.total_seconds() == pytest.approx(cue.end, abs=1e-3)


def _imports(module: Path) -> set[str]:
    """The modules ``module`` imports (relative ones resolved inside ``bulletin``)."""
    package = ".".join(module.relative_to(REPO).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            name = ".".join(p for p in (base, node.module or "") if p)
            names.add(name)
            names.update(f"{name}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("bulletin/cli_run.py", "bulletin.cli"),
        ("bulletin/cli_daily.py", "bulletin.cli"),
        ("bulletin/cli_options.py", "bulletin.cli"),
        ("bulletin/speech/piper_engine.py", "bulletin.speech.synthesis"),
        ("bulletin/speech/result.py", "bulletin.speech.synthesis"),
        ("bulletin/speech/result.py", "bulletin.speech.piper_engine"),
        ("bulletin/video/compose.py", "bulletin.pipeline"),
    ],
)
def test_no_import_back_up(module, forbidden):
    imported = _imports(REPO / module)
    assert forbidden not in imported, f"{module} imports {forbidden}"
