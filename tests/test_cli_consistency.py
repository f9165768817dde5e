"""Command-line conventions shared by every ``bulletin`` command, through the real CLI."""

from __future__ import annotations

import io
import json
import wave

import numpy as np
import pytest
import soundfile

from avatar import DEFAULT_AVATAR
from bulletin.daily.config import parse_config
from tests.clirun import REPO, run_cli

FORECAST = "samples/forecast_cf.nc"
VENUE = "genting-snow-park"
YULONG = str(REPO / "samples" / "forecast_yulong_spring.nc")
YULONG_ARGS = (YULONG, "--venues-file", str(REPO / "samples" / "venues_yulong.csv"))
YULONG_VENUES = ("yulong-glacier-park", "yulong-ganhaizi")


def test_verbose_and_quiet_after_the_subcommand(tmp_path):
    out = tmp_path / "idx.csv"
    quiet = run_cli("indices", FORECAST, "--venue", VENUE, "-o", str(out), "-q")
    assert quiet.returncode == 0, quiet.stderr
    assert "reading" not in quiet.stderr and out.read_text().startswith("venue_id,")
    verbose = run_cli("-q", "venues", "--format", "csv", "-v")
    assert verbose.returncode == 0, verbose.stderr
    before = run_cli("indices", FORECAST, "--venue", VENUE, "-o", "-", "-v")
    assert before.returncode == 0 and "bulletin: reading" in before.stderr, before.stderr
    assert before.stdout.startswith("venue_id,")


def test_unknown_table_extension_is_a_usage_error(tmp_path):
    out = tmp_path / "idx.xlsx"
    result = run_cli("indices", FORECAST, "--venue", VENUE, "-o", str(out))
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and ".xlsx" in lines[-1] and "Traceback" not in result.stderr
    assert not out.exists()
    json_out = tmp_path / "idx.json"
    ok = run_cli("indices", FORECAST, "--venue", VENUE, "-o", str(json_out), "--no-summary")
    assert ok.returncode == 0, ok.stderr
    assert json_out.read_text().lstrip().startswith(("[", "{"))


def _usage_error(result, *fragments: str) -> str:
    """Exit code 2 and one line on stderr, naming ``fragments``."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# -- -o - is stdout where one stream is written, a usage error where a folder is ------------------
@pytest.mark.media
def test_speak_dash_writes_the_wav_to_stdout_and_logs_to_stderr(tmp_path):
    result = run_cli(
        "speak", *YULONG_ARGS, "--venue", "yulong-ganhaizi", "--lang", "en", "--tts", "pyttsx3",
        "-o", "-", cwd=tmp_path, text=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    with wave.open(io.BytesIO(result.stdout)) as audio:
        assert audio.getnchannels() == 1 and audio.getframerate() == 22050
        seconds = audio.getnframes() / audio.getframerate()
    assert 30 < seconds < 120
    assert b"wrote the WAV" in result.stderr and b"reading" in result.stderr
    assert list(tmp_path.iterdir()) == []  # no folder named '-', no temporary files


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("run", *YULONG_ARGS, "--venue", "yulong-ganhaizi", "--lang", "en", "-o", "-"),
         ("bulletin run -o -", "give -o DIR")),
        (("speak", *YULONG_ARGS, "--venue", "all", "--lang", "en", "-o", "-"),
         ("2 are asked for", "yulong-ganhaizi/en", "give -o DIR")),
        (("script", *YULONG_ARGS, "--venue", "yulong-ganhaizi", "--lang", "all"),
         ("2 are asked for", "yulong-ganhaizi/zh", "yulong-ganhaizi/en")),
        (("avatar", "train", "--footage", "clip.mp4", "-o", "-"),
         ("avatar train -o -", "give a path")),
    ],
    ids=["run", "speak-several", "script-several", "avatar-train"],
)  # fmt: skip
def test_dash_where_a_folder_or_several_bulletins_are_written_is_a_usage_error(
    tmp_path, args, fragments
):
    result = run_cli(*args, cwd=tmp_path)
    _usage_error(result, *fragments)
    assert "reading" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_daily_output_dash_is_a_configuration_error(tmp_path):
    config = tmp_path / "bulletin.toml"
    config.write_text('forecast = "f.nc"\noutput = "-"\n')
    _usage_error(run_cli("daily", "--config", str(config)), "config key 'output'", "a folder")
    assert not (tmp_path / "-").exists()


@pytest.mark.media
def test_avatar_render_dash_writes_the_mp4_to_stdout(tmp_path):
    audio = tmp_path / "speech.wav"
    t = np.arange(16000) / 16000
    soundfile.write(audio, 0.3 * np.sin(2 * np.pi * 180 * t) * (t % 0.25 < 0.15), 16000)
    result = run_cli(
        "avatar", "render", "--audio", str(audio), "--avatar", "procedural",
        "--size", "96x64", "-o", "-", cwd=tmp_path, text=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout[4:8] == b"ftyp" and len(result.stdout) > 1000  # an MP4 file
    assert b"25 frames" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["speech.wav"]


# -- --lang all and --venue all: one folder per venue x language ---------------------------------
def test_script_of_all_venues_in_all_languages_writes_the_run_layout(tmp_path):
    out = tmp_path / "scripts"
    result = run_cli("script", *YULONG_ARGS, "--venue", "all", "--lang", "all", "-o", str(out))
    assert result.returncode == 0, result.stderr
    folders = sorted(str(p.relative_to(out)) for p in out.glob("*/*"))
    assert folders == sorted(f"{v}/{lang}" for v in YULONG_VENUES for lang in ("zh", "en"))
    for venue in YULONG_VENUES:
        for lang in ("zh", "en"):
            folder = out / venue / lang
            assert sorted(p.name for p in folder.iterdir()) == [
                "script.json", "script.tts.txt", "script.txt"
            ]  # fmt: skip
            meta = json.loads((folder / "script.json").read_text(encoding="utf-8"))
            assert (meta["venue_id"], meta["lang"]) == (venue, lang)
    assert result.stderr.count("reading ") == 1  # the forecast is read once for all four


def test_venue_all_is_every_venue_on_indices_and_run(tmp_path):
    table = run_cli("indices", *YULONG_ARGS, "--venue", "all", "-o", "-")
    assert table.returncode == 0, table.stderr
    ids = {line.split(",")[0] for line in table.stdout.splitlines()[1:]}
    assert ids == set(YULONG_VENUES)
    missing_twin = str(tmp_path / "no-twin.pt")
    run = run_cli("run", *YULONG_ARGS, "--venue", "all", "--lang", "all",
                  "--avatar", missing_twin, "-o", str(tmp_path / "out"))  # fmt: skip
    assert run.returncode == 2 and "no-twin.pt" in run.stderr, run.stderr  # past the venues
    assert "unknown venue" not in run.stderr and not (tmp_path / "out").exists()


def test_overview_in_all_languages_goes_where_the_daily_run_puts_it(tmp_path):
    out = tmp_path / "overview"
    result = run_cli(
        "script", *YULONG_ARGS, "--kind", "overview", "--venue", "all", "--lang", "all",
        "-o", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(str(p.relative_to(out)) for p in out.glob("*/*")) == [
        "_overview/en", "_overview/zh"
    ]  # fmt: skip
    for lang in ("zh", "en"):
        meta = json.loads((out / "_overview" / lang / "script.json").read_text(encoding="utf-8"))
        assert meta["lang"] == lang and sorted(meta["venue_ids"]) == sorted(YULONG_VENUES)


# -- one default presenter ------------------------------------------------------------------------
def _avatar_help(*command: str) -> str:
    result = run_cli(*command, "--help")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    start = text.index("--avatar", text.index("Options:"))  # the option, not the description
    return text[start : text.index("--", start + 2)]


def test_run_daily_and_avatar_render_share_one_default_presenter(tmp_path):
    run_help, render_help = _avatar_help("run"), _avatar_help("avatar", "render")
    assert run_help == render_help, (run_help, render_help)
    assert f"[default: {DEFAULT_AVATAR}]" in run_help and "shipped GAN twin" in run_help
    config = parse_config({"forecast": "f.nc", "output": "out"}, tmp_path / "bulletin.toml")
    assert config.avatar == DEFAULT_AVATAR == "default"


# -- one meaning per option name ------------------------------------------------------------------
def test_train_crop_size_is_not_the_render_frame_size(tmp_path):
    train = run_cli("avatar", "train", "--help")
    assert train.returncode == 0 and "--crop-size [96|128]" in train.stdout, train.stdout
    assert "--size" not in train.stdout  # the old spelling is hidden
    render = run_cli("avatar", "render", "--help")
    assert "--size TEXT" in render.stdout and "WIDTHxHEIGHT" in render.stdout
    old = run_cli("avatar", "train", "--footage", str(tmp_path / "clip.mp4"), "--size", "96",
                  "-o", str(tmp_path / "twin.pt"))  # fmt: skip
    assert old.returncode == 1 and "deprecated; use --crop-size" in old.stderr, old.stderr
    assert "footage file not found" in old.stderr
    bad = run_cli("avatar", "train", "--footage", "clip.mp4", "--crop-size", "640x360",
                  "-o", str(tmp_path / "twin.pt"))  # fmt: skip
    assert bad.returncode == 2 and "'640x360' is not one of '96', '128'" in bad.stderr
