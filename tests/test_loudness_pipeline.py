"""The loudness target through the command line, the daily configuration and the records:
``--loudness``, the ``loudness_lufs`` key, ``script.json``'s ``speech.loudness`` and the daily
manifest's ``loudness``."""

from __future__ import annotations

import dataclasses
import inspect
import json
from pathlib import Path

import pytest

from bulletin.cli_options import DEFAULT_LOUDNESS_LUFS as CLI_DEFAULT
from bulletin.cli_options import loudness_option
from bulletin.daily.config import ConfigError, DailyConfig, parse_config
from bulletin.daily.manifest import speech_loudness
from bulletin.daily.run import UnitTask
from bulletin.pipeline import speak_script
from bulletin.speech import DEFAULT_LOUDNESS_LUFS, measure_wav
from bulletin.unit import build_venue_bulletin

from .clirun import REPO, run_cli

SAMPLES = REPO / "samples"
YULONG_ARGS = (
    str(SAMPLES / "forecast_yulong_spring.nc"),
    "--venues-file",
    str(SAMPLES / "venues_yulong.csv"),
    "--venue",
    "yulong-ganhaizi",
)


def test_every_default_is_the_speech_stage_default():
    assert DEFAULT_LOUDNESS_LUFS == CLI_DEFAULT == -23.0
    option = loudness_option(lambda loudness_lufs: None).__click_params__[0]
    assert option.default == DEFAULT_LOUDNESS_LUFS
    for function in (speak_script, build_venue_bulletin):
        default = inspect.signature(function).parameters["loudness_lufs"].default
        assert default == DEFAULT_LOUDNESS_LUFS, function
    for cls in (DailyConfig, UnitTask):
        fields = {f.name: f.default for f in dataclasses.fields(cls)}
        assert fields["loudness_lufs"] == DEFAULT_LOUDNESS_LUFS, cls


def _config(tmp_path: Path, **extra) -> DailyConfig:
    return parse_config({"forecast": "f.grib2", "output": "out", **extra}, tmp_path / "b.toml")


def test_config_key_loudness_lufs(tmp_path):
    assert _config(tmp_path).loudness_lufs == -23.0
    assert _config(tmp_path, loudness_lufs=-16).loudness_lufs == -16.0
    with pytest.raises(ConfigError, match="'loudness_lufs' must be a number, not 'loud'"):
        _config(tmp_path, loudness_lufs="loud")
    with pytest.raises(ConfigError, match="'loudness_lufs': loudness target 2 LUFS is outside"):
        _config(tmp_path, loudness_lufs=2)


@pytest.mark.media
def test_speak_records_the_loudness_it_was_asked(tmp_path):
    out = tmp_path / "out"
    result = run_cli("speak", *YULONG_ARGS, "--lang", "zh", "--loudness", "-26", "-o", str(out))
    assert result.returncode == 0, result.stderr
    recorded = json.loads((out / "script.json").read_text(encoding="utf-8"))["speech"]["loudness"]
    measured = measure_wav(out / "speech.wav")
    assert recorded["target_lufs"] == -26.0 and recorded["max_true_peak_dbtp"] == -1.0
    assert recorded["integrated_lufs"] == pytest.approx(-26.0, abs=0.05)
    assert recorded["integrated_lufs"] == pytest.approx(measured.integrated_lufs, abs=0.005)
    assert recorded["true_peak_dbtp"] == pytest.approx(measured.true_peak_dbtp, abs=0.005)
    assert recorded["true_peak_dbtp"] <= -1.0 and recorded["peak_limited"] is False
    # What the daily manifest copies into the unit's record.
    assert speech_loudness(out) == recorded
    assert speech_loudness(tmp_path) is None


@pytest.mark.media
def test_a_bad_target_fails_before_reading(tmp_path):
    out = tmp_path / "out"
    result = run_cli("speak", *YULONG_ARGS, "--lang", "en", "--loudness", "3", "-o", str(out))
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("bulletin: error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "loudness target 3 LUFS is outside -60..-5 LUFS" in errors[0]
    assert "reading" not in result.stderr and not out.exists()
