"""``bulletin run`` through the real command line: one venue end to end, and its refusals.

The video is checked with the ffmpeg binary imageio-ffmpeg ships (no ffprobe is bundled: its
``-i`` banner is parsed), and frames are decoded from it to see the spoken card highlighted and
the AI label on screen.
"""

from __future__ import annotations

import json
import re
import subprocess
import wave
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from bulletin.unit import UNIT_FILES
from bulletin.video.cards import HIGHLIGHT_BORDER
from bulletin.video.compose import HEIGHT, LABEL_ORIGIN, PANEL_BOX, WIDTH, card_box
from bulletin.video.encode import read_frame

from .clirun import REPO, run_cli

pytestmark = [pytest.mark.media, pytest.mark.slow]

FORECAST = str(REPO / "samples" / "forecast_cf.nc")
VENUE = "big-air-shougang"
LANG = "zh"


@pytest.fixture(scope="module")
def unit(tmp_path_factory) -> Path:
    """One venue bulletin made by the CLI (shared by the tests of this module)."""
    out = tmp_path_factory.mktemp("run")
    result = run_cli(
        "run", FORECAST, "--venue", VENUE, "--lang", LANG, "--avatar", "procedural", "-o",
        str(out), timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out / VENUE / LANG


def _ffmpeg_info(path: Path) -> str:
    # `ffmpeg -i FILE` with no output exits 1 after printing the streams: that is expected.
    done = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stderr


def _frame_at(path: Path, seconds: float) -> np.ndarray:
    return read_frame(path, seconds, (WIDTH, HEIGHT))


def _wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as reader:
        return reader.getnframes() / reader.getframerate()


def _border_is_highlight(frame: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    """The middle of the card's top border has the highlight colour (H.264 tolerance)."""
    x0, y0, x1, _ = box
    strip = frame[y0 + 1 : y0 + 5, x0 + 40 : x1 - 40].reshape(-1, 3).astype(int)
    return bool(np.all(np.abs(strip.mean(axis=0) - HIGHLIGHT_BORDER) < 30))


def test_unit_folder_holds_every_file_and_nothing_half_written(unit):
    names = {p.name for p in unit.iterdir()}
    assert set(UNIT_FILES) <= names
    assert not [n for n in names if n.startswith(".") or n.endswith(".tmp")]
    assert not [p.name for p in unit.parent.iterdir() if p.name != LANG]
    # The chart is drawn at the video panel's size (720x504), the poster at the frame's.
    for name, size in (("chart.png", (720, 504)), ("poster.png", (1280, 720))):
        with Image.open(unit / name) as image:
            assert image.format == "PNG" and image.size == size
    with Image.open(unit / "thumbnail.jpg") as image:
        assert image.format == "JPEG" and image.size == (640, 360)
    header = (unit / "indices.csv").read_text(encoding="utf-8").splitlines()
    assert header[0].startswith("venue_id,time_utc,time_local,")
    assert all(line.startswith(f"{VENUE},") for line in header[1:])


def test_video_is_720p_25fps_h264_aac_as_long_as_the_speech(unit):
    info = _ffmpeg_info(unit / "bulletin.mp4")
    video = re.search(r"Stream #\S+.*Video: h264.*?, (\d+)x(\d+).*?, ([\d.]+) fps", info)
    assert video, info
    assert (int(video.group(1)), int(video.group(2)), float(video.group(3))) == (1280, 720, 25)
    assert re.search(r"Stream #\S+.*Audio: aac", info), info
    hours, minutes, seconds = re.search(r"Duration: (\d+):(\d+):([\d.]+)", info).groups()
    duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    assert abs(duration - _wav_seconds(unit / "speech.wav")) <= 0.1


def test_spoken_card_is_highlighted_and_the_ai_label_is_on_screen(unit):
    sentences = json.loads((unit / "script.json").read_text(encoding="utf-8"))["sentences"]
    about = {s["index"]: s for s in sentences if s["index"]}
    video = unit / "bulletin.mp4"
    for index, other in (("wind_chill", "goggles"), ("goggles", "wind_chill")):
        middle = (about[index]["start"] + about[index]["end"]) / 2
        frame = _frame_at(video, middle)
        assert _border_is_highlight(frame, card_box(index)), index
        assert not _border_is_highlight(frame, card_box(other)), (index, other)
        x, y = LABEL_ORIGIN
        label = frame[y + 2 : y + 6, x + 2 : x + 6].reshape(-1, 3).mean(axis=0)
        assert np.all(np.abs(label - (200, 30, 45)) < 35), label


def test_conditions_part_maps_the_index_field_around_the_venue(unit):
    """As in bulletin daily, the first sentence of the conditions part (about no index, not
    the greeting nor the sign-off) shows the map of the index field, not the chart the
    conditions part shows after it (bulletin.video.compose.panel_segments)."""
    sentences = json.loads((unit / "script.json").read_text(encoding="utf-8"))["sentences"]
    conditions = [s for s in sentences[1:-1] if s["index"] is None]
    assert len(conditions) >= 2, sentences
    x0, y0, x1, y1 = PANEL_BOX
    panels = [
        _frame_at(unit / "bulletin.mp4", (s["start"] + s["end"]) / 2)[y0:y1, x0:x1].astype(int)
        for s in conditions[:2]
    ]
    # The map and the chart are different pictures; two frames of the chart would agree to
    # within the encoder's error.
    assert np.abs(panels[0] - panels[1]).mean() > 20


def test_cards_show_what_the_script_says(unit):
    """The card facts come from the script's own day summary: same levels, same figures."""
    import pandas as pd

    from bulletin import load_catalogue
    from bulletin.venues import select_venues
    from bulletin.video.cards import day_facts

    table = pd.read_csv(unit / "indices.csv", keep_default_na=False, na_values=[""])
    venue = select_venues(load_catalogue(), [VENUE])[0]
    facts = day_facts(table, venue, LANG)
    script = json.loads((unit / "script.json").read_text(encoding="utf-8"))
    assert facts.date.isoformat() == script["date"]
    spoken = {s["index"]: s["display"] for s in script["sentences"] if s["index"]}
    # These sentences say the level's name (clothing and goggles say the advice instead).
    for card in facts.cards:
        if card.index in ("wind_chill", "frostbite", "cold", "sunscreen"):
            assert card.level_name in spoken[card.index], (card, spoken[card.index])
    assert facts.overall.level_name in spoken["spectator"]
    assert facts.cards[0].figure in spoken["wind_chill"]  # the coldest wind chill, -14°C
    assert facts.cards[4].figure == "UV 4" and "紫外线指数最高4" in spoken["sunscreen"]


def test_failing_stage_leaves_no_unit_folder(tmp_path):
    # A file that is no checkpoint passes the quick checks and fails in the presenter stage,
    # after the script and the speech were made.
    checkpoint = tmp_path / "broken.pt"
    checkpoint.write_bytes(b"not a checkpoint")
    out = tmp_path / "out"
    result = run_cli(
        "run", FORECAST, "--venue", VENUE, "--lang", "en", "--tts", "pyttsx3", "--avatar",
        str(checkpoint), "-o", str(out),
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "broken.pt" in errors[0] and "Traceback" not in result.stderr
    assert not (out / VENUE / "en").exists()
    assert not list((out / VENUE).iterdir()) if (out / VENUE).exists() else True


def test_unknown_venue_is_a_one_line_usage_error(tmp_path):
    result = run_cli("run", FORECAST, "--venue", "no-such-venue", "--lang", "zh", "-o",
                     str(tmp_path / "out"))  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no-such-venue" in lines[0], result.stderr
    assert not (tmp_path / "out" / "no-such-venue").exists()


def test_bad_language_is_a_usage_error(tmp_path):
    result = run_cli("run", FORECAST, "--venue", VENUE, "--lang", "fr", "-o", str(tmp_path))
    assert result.returncode == 2
    assert "'fr' is not one of 'zh', 'en', 'all'" in result.stderr
    assert not list(tmp_path.iterdir())
