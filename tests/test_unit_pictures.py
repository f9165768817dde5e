"""The unit draws its pictures and loads its presenter while the speech is synthesised
(bulletin.unit): a failure on either side leaves no partial folder, and the drawing has ended
before the unit returns, whichever side failed."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import bulletin.pipeline as pipeline
import bulletin.video.chart as chart
from bulletin.errors import BulletinError, SpeechError
from bulletin.unit import build_venue_bulletin, unit_folder
from bulletin.venues import load_catalogue, select_venues

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "forecast_cf.nc"


@pytest.fixture(scope="module")
def forecast():
    venue = select_venues(load_catalogue(), ["genting-snow-park"])[0]
    return pipeline.read_forecast([SAMPLE], [venue]), venue


def _build(forecast, root: Path):
    table, venue = forecast[0].table, forecast[1]
    return build_venue_bulletin(
        table, venue, "en", unit_folder(root, venue.id, "en"), avatar="procedural",
        tts="espeak", date="2022-02-07",
    )  # fmt: skip


def _failing(error: Exception):
    def fail(*args, **kwargs):
        raise error

    return fail


def test_a_speech_failure_waits_for_the_pictures_and_leaves_nothing(
    forecast, tmp_path, monkeypatch
):
    finished = threading.Event()
    write_chart = chart.write_chart

    def slow_chart(*args, **kwargs):
        time.sleep(1.0)  # still drawing when the speech fails
        result = write_chart(*args, **kwargs)
        finished.set()
        return result

    monkeypatch.setattr(chart, "write_chart", slow_chart)
    monkeypatch.setattr(
        pipeline, "speak_script", _failing(SpeechError("the speech failed on purpose"))
    )
    with pytest.raises(SpeechError, match="on purpose"):
        _build(forecast, tmp_path)
    assert finished.is_set()  # joined before the temporary folder went
    time.sleep(0.2)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_a_picture_failure_is_the_unit_error_after_the_speech(forecast, tmp_path, monkeypatch):
    spoke = []
    speak_script = pipeline.speak_script

    def counted(*args, **kwargs):
        spoke.append(1)
        return speak_script(*args, **kwargs)

    monkeypatch.setattr(pipeline, "speak_script", counted)
    monkeypatch.setattr(
        chart, "write_chart", _failing(BulletinError("the chart failed on purpose"))
    )
    with pytest.raises(BulletinError, match="chart failed on purpose"):
        _build(forecast, tmp_path)
    assert spoke == [1]
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
