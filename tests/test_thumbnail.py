"""thumbnail.jpg: a 640x360 JPEG of a frame of the video with the venue named on it.

The unit tests draw thumbnails of real pictures; the media test composes a short bulletin
video with the procedural presenter (bulletin.video.compose.write_bulletin_video) and compares
the thumbnail beside it with the video's last frame, decoded by the ffmpeg binary
imageio-ffmpeg ships.
"""

from __future__ import annotations

import datetime as dt
import subprocess

import numpy as np
import pytest
from PIL import Image

from bulletin.video.fonts import VideoError
from bulletin.video.thumbnail import (
    BAND_HEIGHT,
    THUMBNAIL_NAME,
    THUMBNAIL_SIZE,
    thumbnail_image,
    write_thumbnail,
)


def _frame(colour=(40, 90, 160)) -> np.ndarray:
    frame = np.zeros((720, 1280, 3), np.uint8)
    frame[:] = colour
    frame[100:300, 100:500] = (230, 60, 30)  # something to find again after scaling
    return frame


def test_thumbnail_is_the_frame_halved_with_the_name_on_a_band(tmp_path):
    path = write_thumbnail(_frame(), tmp_path / THUMBNAIL_NAME, title="云顶滑雪公园",
                           subtitle="2月5日 星期六")  # fmt: skip
    assert path == tmp_path / THUMBNAIL_NAME
    assert [p.name for p in tmp_path.iterdir()] == [THUMBNAIL_NAME]  # no temporary left
    with Image.open(path) as image:
        assert image.format == "JPEG"
        assert image.size == THUMBNAIL_SIZE == (640, 360)
        pixels = np.asarray(image.convert("RGB")).astype(int)
    # Above the band: the frame scaled by one half (JPEG tolerance).
    assert np.abs(pixels[100, 150] - (230, 60, 30)).max() < 20
    assert np.abs(pixels[200, 500] - (40, 90, 160)).max() < 20
    band = pixels[360 - BAND_HEIGHT :]
    # The band darkens the frame, and the name is drawn in white on it.
    assert band.mean() < pixels[: 360 - BAND_HEIGHT].mean()
    assert (band.min(axis=2) > 200).sum() > 300


def test_a_longer_name_is_drawn_smaller_to_fit(tmp_path):
    short = np.asarray(thumbnail_image(_frame(), "Yanqing"))
    long = np.asarray(thumbnail_image(_frame(), "National Alpine Skiing Centre, Yanqing " * 3))
    # The long name fits the width: the right margin stays free of text.
    assert (long[-BAND_HEIGHT:, -12:].min(axis=2) > 200).sum() == 0
    assert (short[-BAND_HEIGHT:].min(axis=2) > 200).sum() > 100


def test_without_a_title_the_thumbnail_is_the_frame_alone():
    frame = _frame()
    ours = np.asarray(thumbnail_image(frame, "  ")).astype(int)
    halved = np.asarray(Image.fromarray(frame).resize(THUMBNAIL_SIZE, Image.Resampling.LANCZOS))
    assert np.array_equal(ours, halved.astype(int))


@pytest.mark.parametrize(
    "frame",
    [np.zeros((720, 1280), np.uint8), np.zeros((720, 1280, 4), np.uint8), np.zeros((9, 16, 3))],
)
def test_a_frame_that_is_not_rgb_is_a_video_error(tmp_path, frame):
    with pytest.raises(VideoError, match="RGB uint8 frame"):
        write_thumbnail(frame, tmp_path / THUMBNAIL_NAME, title="x")
    assert not list(tmp_path.iterdir())


@pytest.mark.media
def test_write_bulletin_video_writes_the_thumbnail_of_its_last_frame(tmp_path):
    import imageio_ffmpeg
    import soundfile

    from avatar.render import render_presenter
    from bulletin.pipeline import TimedSentence
    from bulletin.speech import Cue
    from bulletin.video.cards import CARD_INDICES, CardFacts, DayFacts
    from bulletin.video.compose import Compositor, presenter_size, write_bulletin_video

    seconds, rate = 1.2, 22050
    t = np.arange(int(seconds * rate)) / rate
    wav = 0.3 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 2 * t) > 0)
    soundfile.write(tmp_path / "speech.wav", wav.astype(np.float32), rate, subtype="PCM_16")
    Image.new("RGB", (1032, 738), (30, 40, 50)).save(tmp_path / "chart.png")

    def card(index):
        return CardFacts(index, index, 1, "level one", "#1a9850", "12")

    facts = DayFacts("Genting Snow Park", dt.date(2022, 2, 5), "Saturday 5 February",
                     tuple(card(i) for i in CARD_INDICES), card("spectator"), "-3 to 2°C")  # fmt: skip
    sentences = [TimedSentence("x", "x", None, 0.0, 1.0)]
    cues = [Cue(0.0, 1.0, ("cue", ""))]
    presenter = render_presenter(tmp_path / "speech.wav", None, "procedural", presenter_size())
    compositor = Compositor(facts, "en", dt.datetime(2022, 2, 4, 12, tzinfo=dt.UTC),
                            tmp_path / "chart.png", sentences, cues, presenter)  # fmt: skip
    stats = write_bulletin_video(compositor, tmp_path / "speech.wav", seconds,
                                 tmp_path / "bulletin.mp4")  # fmt: skip
    thumbnail = tmp_path / THUMBNAIL_NAME
    assert thumbnail.is_file()
    with Image.open(thumbnail) as image:
        assert image.size == (640, 360)
        ours = np.asarray(image.convert("RGB")).astype(int)
    # The video's last frame, decoded and halved, matches the thumbnail above its band.
    decoded = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(tmp_path / "bulletin.mp4"),
         "-vf", f"select=eq(n\\,{stats.frames - 1}),scale=640:360", "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    last = np.frombuffer(decoded, np.uint8).reshape(360, 640, 3).astype(int)
    above = slice(0, 360 - BAND_HEIGHT)
    assert np.abs(ours[above] - last[above]).mean() < 6
    assert np.abs(ours[-BAND_HEIGHT:] - last[-BAND_HEIGHT:]).mean() > 10  # the band is drawn
