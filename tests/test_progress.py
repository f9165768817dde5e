"""Progress of a run: the library's frame and stage reports, and the bars the command line
draws from them on a terminal (and not off one).

Real parts: a real (short) video render with the procedural presenter and ffmpeg, a real dask
cluster (in-process workers), and ``bulletin run`` on a pseudo-terminal.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import pty
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bulletin.daily.run import WORKER_REPORTS_PER_S, UnitTask, reporting
from bulletin.daily.scale import run_tasks
from bulletin.progress import UnitBars

from .clirun import REPO

#: ANSI control sequences (CSI: colours, cursor moves, line erases).
CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _lines(terminal_output: str) -> list[str]:
    """What a reader of the terminal sees as lines: control sequences dropped, split at
    carriage returns and newlines."""
    plain = CSI.sub("", terminal_output)
    return [line.rstrip() for line in re.split(r"[\r\n]+", plain) if line.strip()]


def _short_video_inputs(folder: Path, seconds: float):
    """A compositor (procedural presenter, six cards, a chart) for ``seconds`` of a buzzing
    speech-like sound, as in tests/test_video_compose.py."""
    import numpy as np
    import soundfile
    from PIL import Image

    from avatar.render import render_presenter
    from bulletin.pipeline import TimedSentence
    from bulletin.speech import Cue
    from bulletin.video.cards import CARD_INDICES, CardFacts, DayFacts
    from bulletin.video.chart import CHART_SIZE
    from bulletin.video.compose import Compositor, presenter_size

    rate = 22050
    t = np.arange(int(seconds * rate)) / rate
    wav = 0.3 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 2 * t) > 0)
    soundfile.write(folder / "speech.wav", wav.astype(np.float32), rate, subtype="PCM_16")
    Image.new("RGB", CHART_SIZE, (30, 40, 50)).save(folder / "chart.png")

    def card(index):
        return CardFacts(index, index, 1, "level one", "#1a9850", "12")

    facts = DayFacts("Venue", dt.date(2022, 2, 5), "Saturday",
                     tuple(card(i) for i in CARD_INDICES), card("spectator"), "-3 to 2°C")  # fmt: skip
    keys = [None, *CARD_INDICES, None]
    step = seconds / len(keys)
    sentences = [TimedSentence("x", "x", k, i * step, (i + 0.9) * step) for i, k in enumerate(keys)]
    cues = [Cue(i * step, (i + 0.9) * step, (f"cue {i}", "")) for i in range(len(keys))]
    presenter = render_presenter(folder / "speech.wav", None, "procedural", presenter_size())
    return Compositor(facts, "en", dt.datetime(2022, 2, 4, 12, tzinfo=dt.UTC),
                      folder / "chart.png", sentences, cues, presenter)  # fmt: skip


@pytest.fixture
def screen_log():
    """A terminal screen (a StringIO) and the ``bulletin`` logger set up on it as the
    command line sets it up on stderr: one plain line per record; restored afterwards."""
    logger = logging.getLogger("bulletin")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    screen = io.StringIO()
    handler = logging.StreamHandler(screen)
    handler.setFormatter(logging.Formatter("bulletin: %(message)s"))
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, handler, screen
    logger.handlers[:], logger.level, logger.propagate = saved


@pytest.mark.media
def test_video_frames_drive_the_bar_and_a_log_line_keeps_its_own_line(tmp_path, screen_log):
    from rich.console import Console

    from bulletin.video.compose import write_bulletin_video

    logger, plain_handler, screen = screen_log
    compositor = _short_video_inputs(tmp_path, 2.0)
    console = Console(file=screen, force_terminal=True, width=100, color_system="standard")
    counts: list[tuple[int, int]] = []
    with UnitBars(1, console=console) as bars:
        assert plain_handler not in logger.handlers  # the log goes through the bars' console
        draw = bars.callbacks("venue/en")

        def on_frames(done: int, total: int) -> None:
            counts.append((done, total))
            draw["on_frames"](done, total)
            if done == total // 2:
                logging.getLogger("bulletin.video").info("halfway through the frames")
                time.sleep(0.15)  # past rich's refresh period (0.1 s), so a bar is drawn

        draw["on_stage"]("video")
        stats = write_bulletin_video(
            compositor, tmp_path / "speech.wav", 2.0, tmp_path / "bulletin.mp4",
            on_frames=on_frames,
        )  # fmt: skip
        bars.finished("venue/en", "ok")
    assert plain_handler in logger.handlers  # put back after the run
    assert not any(type(h).__name__ == "RichHandler" for h in logger.handlers)

    # The writer counts every frame once, in order, up to the video's frames.
    assert counts[0] == (0, stats.frames)
    assert [done for done, _ in counts] == list(range(stats.frames + 1))
    assert {total for _, total in counts} == {stats.frames}

    lines = _lines(screen.getvalue())
    assert any("venue/en video" in line and "frames" in line and "━" in line for line in lines)
    assert "bulletin: halfway through the frames" in lines  # a line of its own
    assert not any("halfway" in line and "━" in line for line in lines)
    assert lines[-1].startswith("bulletins") and "1/1 done" in lines[-1]


class _Recorder:
    """A RunProgress that keeps what it is told."""

    def __init__(self) -> None:
        self.stages: list[tuple[str, str]] = []
        self.frames_seen: list[tuple[str, int, int]] = []

    def units(self, total: int) -> None:
        pass

    def stage(self, unit: str, stage: str) -> None:
        self.stages.append((unit, stage))

    def frames(self, unit: str, done: int, total: int) -> None:
        self.frames_seen.append((unit, done, total))

    def finished(self, unit: str, status: str) -> None:
        pass


FRAMES = 400


def _count_frames(task, *, on_stage, on_frames) -> dict:
    """A unit's reports without the unit: the video stage and FRAMES frame counts in a row."""
    started = time.monotonic()
    on_stage("video")
    for done in range(FRAMES + 1):
        on_frames(done, FRAMES)
    return {"status": "ok", "seconds": time.monotonic() - started}


def _task(lang: str) -> UnitTask:
    return UnitTask(lang=lang, folder=Path("unused"), table=None, venues=(), venue=None,
                    date=dt.date(2022, 2, 5), init=dt.datetime(2022, 2, 4, 12, tzinfo=dt.UTC),
                    avatar="procedural", tts="pyttsx3", voice=None, templates=None)  # fmt: skip


def test_in_process_every_frame_count_reaches_the_progress():
    progress = _Recorder()
    with reporting(None, progress, _count_frames) as build:
        run_tasks(None, build, [_task("en")], lambda task, result: None)
    assert progress.stages == [("overview/en", "video")]
    assert progress.frames_seen == [("overview/en", d, FRAMES) for d in range(FRAMES + 1)]


def test_worker_frame_counts_reach_the_client_throttled():
    from dask.distributed import Client, LocalCluster

    progress = _Recorder()
    with (
        LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)
        as cluster,
        Client(cluster) as client,
    ):  # fmt: skip
        with reporting(client, progress, _count_frames) as build:
            [result] = run_tasks(client, build, [_task("zh")], lambda task, result: None)
            for _ in range(100):  # the events travel beside the result: wait for the last
                if progress.frames_seen and progress.frames_seen[-1][1] == FRAMES:
                    break
                time.sleep(0.05)
    assert result["status"] == "ok"
    assert progress.stages == [("overview/zh", "video")]
    done = [
        d for unit, d, total in progress.frames_seen if (unit, total) == ("overview/zh", FRAMES)
    ]
    assert len(done) == len(progress.frames_seen)
    assert done[0] == 0 and done[-1] == FRAMES and done == sorted(set(done))
    # The first, the last, and at most WORKER_REPORTS_PER_S a second in between.
    assert len(done) <= 2 + WORKER_REPORTS_PER_S * result["seconds"] + 1


def _run_bulletin_on_a_terminal(*args: str) -> tuple[int, str]:
    """``bulletin ARGS`` with stderr on a pseudo-terminal: its exit code and what the
    terminal got."""
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "110", "PYTHONUNBUFFERED": "1"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "bulletin", *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=follower, cwd=REPO, env=env,
    )  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the terminal is closed once the process has ended
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return process.wait(timeout=300), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.media
@pytest.mark.slow
def test_bulletin_run_on_a_terminal_shows_stages_and_frames(tmp_path):
    code, screen = _run_bulletin_on_a_terminal(
        "run", str(REPO / "samples" / "forecast_cf.nc"), "--venue", "genting-snow-park",
        "--lang", "en", "--avatar", "procedural",
        "--templates", str(REPO / "tests" / "daily_templates" / "short"), "-o", str(tmp_path),
    )  # fmt: skip
    assert code == 0, screen
    lines = _lines(screen)
    # The short stages may come and go between two redraws (10 a second); the video lasts.
    frames = [line for line in lines if "genting-snow-park/en video" in line and "frames" in line]
    assert frames and any("eta 0:" in line for line in frames)
    # The line written while the bars were up is a line of its own, not glued to a bar.
    wrote = [line for line in lines if line.startswith("bulletin: wrote ")]
    assert wrote and not any("━" in line for line in wrote)
    assert "1/1 done" in lines[-1]
