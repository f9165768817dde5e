"""The bulletin video compositor: its timeline, its font, and flat memory as videos get longer.

Memory is measured as the peak resident size of a fresh process that encodes a short and a
long video (the same inputs, four times as long): a compositor that held the clip would grow
by about 2.7 MB per 1280x720 frame, i.e. by over 800 MB between the two.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bulletin.pipeline import TimedSentence
from bulletin.video.compose import Segment, panel_segments
from bulletin.video.fonts import VideoError, cjk_font

from .clirun import REPO


def _sentence(index, start, end):
    return TimedSentence(display="x", tts="x", index=index, start=start, end=end)


def test_panel_shows_the_chart_in_the_conditions_part_and_highlights_spoken_cards():
    sentences = [
        _sentence(None, 0.0, 1.0),  # greeting
        _sentence(None, 1.2, 4.0),  # date and venue
        _sentence(None, 4.2, 7.0),  # the weather
        _sentence("wind_chill", 7.2, 9.0),
        _sentence("uv_category", 9.2, 10.0),
        _sentence("spectator", 10.2, 12.0),
        _sentence(None, 12.2, 13.0),  # sign-off
    ]
    assert panel_segments(sentences) == [
        Segment(0.0, False, None),
        Segment(0.0, False, None),
        Segment(1.2, True, None),
        Segment(4.2, True, None),
        Segment(7.2, False, "wind_chill"),
        Segment(9.2, False, "sunscreen"),
        Segment(10.2, False, "spectator"),
        Segment(12.2, False, None),
    ]


def test_missing_cjk_font_names_the_debian_packages(tmp_path):
    with pytest.raises(VideoError, match="fonts-wqy-microhei or fonts-noto-cjk"):
        cjk_font(False, (tmp_path,))


_RENDER = textwrap.dedent(
    """
    import datetime as dt, json, resource, sys
    from pathlib import Path
    import numpy as np, soundfile
    from PIL import Image
    from avatar.render import render_presenter
    from bulletin.video.cards import CardFacts, DayFacts, CARD_INDICES
    from bulletin.pipeline import TimedSentence
    from bulletin.speech import Cue
    from bulletin.video.chart import CHART_SIZE
    from bulletin.video.compose import Compositor, presenter_size, write_bulletin_video

    seconds, folder = float(sys.argv[1]), Path(sys.argv[2])
    rate = 22050
    t = np.arange(int(seconds * rate)) / rate
    # A voiced buzz that comes and goes: speech-like enough to move the mouth.
    wav = 0.3 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 2 * t) > 0)
    soundfile.write(folder / "speech.wav", wav.astype(np.float32), rate, subtype="PCM_16")
    Image.new("RGB", CHART_SIZE, (30, 40, 50)).save(folder / "chart.png")
    card = lambda index: CardFacts(index, index, 1, "level one", "#1a9850", "12")
    facts = DayFacts("Venue", dt.date(2022, 2, 5), "Saturday", tuple(card(i) for i in
                     CARD_INDICES), card("spectator"), "-3 to 2°C")
    keys = [None, None, *CARD_INDICES, "spectator", None]
    step = seconds / len(keys)
    sentences = [TimedSentence("x", "x", k, i * step, (i + 0.9) * step)
                 for i, k in enumerate(keys)]
    cues = [Cue(i * step, (i + 0.9) * step, (f"cue {i}", "line two")) for i in range(len(keys))]
    presenter = render_presenter(folder / "speech.wav", None, "procedural", presenter_size())
    compositor = Compositor(facts, "en", dt.datetime(2022, 2, 4, 12, tzinfo=dt.UTC),
                            folder / "chart.png", sentences, cues, presenter)
    stats = write_bulletin_video(compositor, folder / "speech.wav", seconds,
                                 folder / "bulletin.mp4")
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"frames": stats.frames, "peak_mib": peak_kib / 1024}))
    """
)


def _render(seconds: float, folder: Path) -> dict:
    folder.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", _RENDER, str(seconds), str(folder)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.media
@pytest.mark.slow
def test_memory_stays_flat_as_the_video_gets_longer(tmp_path):
    short = _render(3.0, tmp_path / "short")
    long = _render(12.0, tmp_path / "long")
    assert (short["frames"], long["frames"]) == (75, 300)
    # 225 more frames held would be >600 MB; allow 40 MB of allocator noise.
    assert long["peak_mib"] - short["peak_mib"] < 40, (short, long)


def test_encoder_threads_follow_the_process_thread_budget(monkeypatch):
    from bulletin.video.compose import encoder_threads

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert encoder_threads() == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert encoder_threads() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("OMP_NUM_THREADS", "not-a-number")
    assert encoder_threads() == len(os.sched_getaffinity(0))


def test_conditions_map_takes_the_charts_place_in_the_first_conditions_sentence(tmp_path):
    import datetime as dt

    import numpy as np
    from PIL import Image

    from bulletin.video.cards import CARD_INDICES, CardFacts, DayFacts
    from bulletin.video.chart import CHART_SIZE
    from bulletin.video.compose import FPS, MAP_PANEL, PANEL_BOX, Compositor, presenter_size

    chart_colour, map_colour = (30, 40, 50), (200, 100, 10)
    Image.new("RGB", CHART_SIZE, chart_colour).save(tmp_path / "chart.png")
    card = lambda index: CardFacts(index, index, 1, "level one", "#1a9850", "12")  # noqa: E731
    facts = DayFacts("Venue", dt.date(2022, 2, 5), "Saturday",
                     tuple(card(i) for i in CARD_INDICES), card("spectator"), "-3 to 2°C")  # fmt: skip
    sentences = [
        _sentence(None, 0.0, 1.0),  # greeting
        _sentence(None, 1.0, 2.0),  # the sky and wind: the map
        _sentence(None, 2.0, 3.0),  # the temperatures: the chart
        _sentence("wind_chill", 3.0, 4.0),
        _sentence(None, 4.0, 5.0),  # sign-off
    ]
    width, height = presenter_size()
    presenter = (np.zeros((height, width, 3), np.uint8) for _ in range(5 * FPS))
    compositor = Compositor(facts, "en", dt.datetime(2022, 2, 4, 12, tzinfo=dt.UTC),
                            tmp_path / "chart.png", sentences, [], presenter,
                            conditions_map=Image.new("RGB", (720, 504), map_colour))  # fmt: skip
    assert [s.highlight for s in compositor.segments if s.chart] == [MAP_PANEL, None]
    x0, y0, x1, y1 = PANEL_BOX
    middle = ((y0 + y1) // 2, (x0 + x1) // 2)
    shown = {}
    for i in range(5 * FPS):
        frame = compositor.frame(i)
        if i in (int(1.5 * FPS), int(2.5 * FPS)):
            shown[i / FPS] = tuple(int(v) for v in frame[middle])
    assert shown == {1.48: map_colour, 2.48: chart_colour}
