"""overview.mp4: the presenter beside the venue map, the venue being spoken about ringed while
its sentence is said, encoded with the speech (a few seconds of a synthetic voice)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pytest
import soundfile

from bulletin import open_forecast
from bulletin.pipeline import TimedSentence, read_forecast
from bulletin.speech import Cue
from bulletin.venues import load_catalogue
from bulletin.video.compose import FPS, PANEL_BOX, PRESENTER_BOX
from bulletin.video.maps import HIGHLIGHT, terrain_from_forecast
from bulletin.video.overview import (
    OVERVIEW_VIDEO,
    map_venues,
    write_overview_video,
)

from .clirun import REPO

DAY = dt.date(2022, 2, 7)


@dataclass(frozen=True)
class Spoken:
    """A speech result of the shape :func:`bulletin.pipeline.speak_script` returns."""

    sentences: tuple
    cues: tuple
    files: dict
    duration_s: float


@pytest.mark.media
def test_overview_video_rings_the_venue_being_spoken_about(tmp_path):
    catalogue = {venue.id: venue for venue in load_catalogue()}
    venues = [catalogue["genting-snow-park"], catalogue["big-air-shougang"]]
    forecast = [REPO / "samples" / "forecast_ecmwf.grib2"]
    read = read_forecast(forecast, venues)
    terrain = terrain_from_forecast(open_forecast(forecast), [(v.lat, v.lon) for v in venues])
    rate, seconds = 22050, 3.0
    t = np.arange(int(seconds * rate)) / rate
    voice = 0.3 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 2 * t) > 0)
    soundfile.write(tmp_path / "speech.wav", voice.astype(np.float32), rate, subtype="PCM_16")
    said = [(0.0, "Good morning."), (1.0, "Coldest at Genting Snow Park."),
            (2.0, "Mildest at Big Air Shougang.")]  # fmt: skip
    spoken = Spoken(
        sentences=tuple(TimedSentence(d, d, None, s, s + 0.9) for s, d in said),
        cues=tuple(Cue(s, s + 0.9, (d,)) for s, d in said),
        files={"wav": tmp_path / "speech.wav"},
        duration_s=seconds,
    )
    stats = write_overview_video(
        read.table, venues, "en", DAY, spoken, tmp_path, terrain=terrain,
        forecast_init=read.init, avatar="procedural",
    )  # fmt: skip
    video = tmp_path / OVERVIEW_VIDEO
    assert video.is_file() and stats.frames == round(seconds * FPS)
    assert not list(tmp_path.glob("*.tmp*"))

    from moviepy import VideoFileClip

    with VideoFileClip(str(video)) as clip:
        assert tuple(clip.size) == (1280, 720)
        assert clip.audio is not None
        frames = {when: clip.get_frame(when) for when in (0.5, 1.5, 2.5)}

    # Where the venues are on the panel: the map drawn as the video draws it.
    from bulletin.video.maps import render_venue_map

    x0, y0, x1, y1 = PANEL_BOX
    drawn = render_venue_map(terrain, map_venues(read.table, venues, "en", DAY), (x1 - x0, y1 - y0))

    def ringed(frame, venue_id):
        x, y = (round(v) for v in drawn.positions[venue_id])
        patch = frame[y0 + y - 20 : y0 + y + 21, x0 + x - 20 : x0 + x + 21].astype(int)
        return (np.abs(patch - HIGHLIGHT).max(axis=-1) < 60).sum() > 30

    assert not ringed(frames[0.5], "genting-snow-park")
    assert ringed(frames[1.5], "genting-snow-park")
    assert not ringed(frames[1.5], "big-air-shougang")
    assert ringed(frames[2.5], "big-air-shougang")
    # The presenter is there, beside the map: not the empty box colour.
    px0, py0, px1, py1 = PRESENTER_BOX
    assert frames[1.5][py0:py1, px0:px1].std() > 10
