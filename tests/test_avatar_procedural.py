"""The procedural presenter: frames, determinism, blinking, boxes, mouth drawing, styles."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from avatar.errors import AvatarError
from avatar.mouth import MouthShape, MouthTrack
from avatar.procedural import (
    BlinkSchedule,
    PresenterStyle,
    ProceduralPresenter,
    render_frame,
)

pytestmark = pytest.mark.media

OPEN = MouthShape(jaw=0.9, spread=0.55, round=0.0, teeth=0.35)


def interior_pixels(image: np.ndarray, box: tuple[int, int, int, int]) -> int:
    """Pixels of the dark red mouth interior (58, 20, 26) inside a box: dark, red over green,
    which excludes the lips, the lip seam, skin, hair and both backdrops."""
    x0, y0, x1, y1 = box
    crop = image[max(y0, 0) : y1, max(x0, 0) : x1].astype(int)
    red, green = crop[..., 0], crop[..., 1]
    return int(((red - green >= 28) & (green <= 32) & (red <= 110)).sum())


def test_frame_shape_dtype_and_non_square_size():
    image = render_frame(0.5, OPEN, size=(160, 96))
    assert image.shape == (96, 160, 3)
    assert image.dtype == np.uint8
    # Not a flat fill: the presenter and backdrop have many distinct colours.
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 500


def test_same_seed_same_pixels_other_seed_differs():
    a = render_frame(1.3, OPEN, seed=7, size=(128, 128))
    b = ProceduralPresenter(size=(128, 128), seed=7).render(1.3, OPEN).image
    c = render_frame(1.3, OPEN, seed=8, size=(128, 128))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_head_moves_over_time_but_stays_in_frame():
    presenter = ProceduralPresenter(size=(128, 128), seed=3)
    frames = [presenter.render(t / 25) for t in range(0, 100, 5)]
    centres = np.array(
        [[(f.face_box[0] + f.face_box[2]) / 2, (f.face_box[1] + f.face_box[3]) / 2] for f in frames]
    )
    spread = centres.max(axis=0) - centres.min(axis=0)
    assert spread.max() >= 0.5  # it moves...
    assert spread.max() <= 0.06 * 128  # ...a little
    rolls = [abs(f.pose.roll_deg) for f in frames]
    assert 0 < max(rolls) < 4


def test_blinks_happen_within_a_few_seconds_and_close_the_eyes():
    schedule = BlinkSchedule(seed=11)
    starts = schedule.starts(until=6.0)
    assert 1 <= len(starts) <= 6 and starts[0] < 2.0
    # Lids close fully, then reopen.
    peak = starts[0] + BlinkSchedule.CLOSE_S + 0.01
    assert schedule.closure(peak) == 1.0
    assert schedule.closure(starts[0] + 0.4) == 0.0
    # And it shows: the eye whites vanish from the face box while the lids are shut.
    presenter = ProceduralPresenter(size=(192, 192), seed=11)
    closed = presenter.render(peak)
    opened = presenter.render(starts[0] - 0.2)
    assert closed.blink == 1.0 and opened.blink == 0.0

    def whites(frame) -> int:
        """Light, nearly grey pixels in the upper half of the face box: eye whites (skin is far
        more saturated; the white collar is below)."""
        x0, y0, x1, y1 = frame.face_box
        crop = frame.image[y0 : (y0 + y1) // 2, x0:x1].astype(int)
        return int(((crop.min(axis=2) > 190) & (np.ptp(crop, axis=2) < 40)).sum())

    assert whites(opened) >= 8
    assert whites(closed) == 0


def test_blink_rate_is_natural_over_a_minute():
    starts = BlinkSchedule(seed=5).starts(until=60.0)
    # Bentivoglio et al. 1997: ~17/min at rest; allow a wide band for one seeded minute.
    assert 8 <= len(starts) <= 30
    assert np.min(np.diff(starts)) >= 0.3


def test_mouth_box_has_constant_size_and_contains_the_opening():
    presenter = ProceduralPresenter(size=(256, 256), seed=2)
    frames = [presenter.render(t, OPEN) for t in (0.0, 0.7, 1.9, 3.3)]
    sizes = {(f.mouth_box[2] - f.mouth_box[0], f.mouth_box[3] - f.mouth_box[1]) for f in frames}
    face_sizes = {(f.face_box[2] - f.face_box[0], f.face_box[3] - f.face_box[1]) for f in frames}
    assert len(sizes) == 1 and len(face_sizes) == 1
    for frame in frames:
        whole = interior_pixels(frame.image, (0, 0, 256, 256))
        assert whole > 20
        assert interior_pixels(frame.image, frame.mouth_box) == whole
        fx0, fy0, fx1, fy1 = frame.face_box
        mx0, my0, mx1, my1 = frame.mouth_box
        assert fx0 <= mx0 and fy0 <= my0 and mx1 <= fx1 and my1 <= fy1


def test_mouth_parameters_change_the_mouth_as_named():
    presenter = ProceduralPresenter(size=(256, 256), seed=0)
    t = 0.2
    box = presenter.render(t).mouth_box

    def opening(shape: MouthShape) -> int:
        return interior_pixels(presenter.render(t, shape).image, box)

    closed = opening(MouthShape(jaw=0.0))
    assert closed == 0
    assert (
        opening(MouthShape(jaw=0.3)) < opening(MouthShape(jaw=0.6)) < opening(MouthShape(jaw=1.0))
    )

    def lip_width(shape: MouthShape) -> int:
        x0, y0, x1, y1 = box
        crop = presenter.render(t, shape).image[y0:y1, x0:x1].astype(int)
        lips = np.array(presenter.style.lips)
        cols = (np.abs(crop - lips).sum(axis=2) < 60).any(axis=0)
        return int(cols.sum())

    assert (
        lip_width(MouthShape(spread=1.0))
        > lip_width(MouthShape(spread=0.4))
        > lip_width(MouthShape(spread=0.4, round=1.0))
    )

    def white_teeth(shape: MouthShape) -> int:
        x0, y0, x1, y1 = box
        crop = presenter.render(t, shape).image[y0:y1, x0:x1].astype(int)
        return int(((crop > 200).all(axis=2)).sum())

    assert white_teeth(MouthShape(jaw=0.6, teeth=1.0)) > white_teeth(MouthShape(jaw=0.6, teeth=0.0))


def test_frames_follow_a_track_at_its_frame_rate():
    values = np.tile(OPEN.as_array(), (6, 1))
    values[::2] = MouthShape.rest().as_array()
    frames = list(ProceduralPresenter(size=(96, 96)).frames(MouthTrack(values, fps=25)))
    assert [f.time for f in frames] == pytest.approx([i / 25 for i in range(6)])
    assert [f.mouth.jaw for f in frames] == pytest.approx([0, 0.9, 0, 0.9, 0, 0.9])


def test_alternate_style_is_a_different_presenter():
    default = render_frame(0.5, size=(128, 128))
    alternate = render_frame(0.5, style=PresenterStyle.alternate(), size=(128, 128))
    assert np.abs(default.astype(int) - alternate.astype(int)).mean() > 20
    long_hair = PresenterStyle(hair_style="long", neckwear="none", center_x=0.35)
    assert render_frame(0.5, style=long_hair, size=(200, 120)).shape == (120, 200, 3)


@pytest.mark.parametrize(
    ("size", "center_x"), [((64, 200), 0.2), ((300, 80), 0.8), ((40, 40), 0.5)]
)
def test_presenter_may_overflow_narrow_or_wide_frames(size, center_x):
    presenter = ProceduralPresenter(PresenterStyle(center_x=center_x), size, seed=1)
    for t in (0.0, 1.3, 2.7):
        frame = presenter.render(t, OPEN)
        assert frame.image.shape == (size[1], size[0], 3)


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda: MouthShape(jaw=1.5), "MouthShape.jaw"),
        (lambda: MouthShape(spread=float("nan")), "MouthShape.spread"),
        (lambda: PresenterStyle(hair_style="mohawk"), "hair_style"),
        (lambda: PresenterStyle(skin=(300, 0, 0)), "PresenterStyle.skin"),
        (lambda: ProceduralPresenter(size=(8, 8)), "32-4096"),
        (lambda: ProceduralPresenter(size=(64, 64)).render(-1.0), "frame time"),
        (lambda: MouthTrack(np.zeros((3, 2))), r"shape \(n, 4\)"),
    ],
)
def test_bad_input_raises_one_line_project_error(make, fragment):
    with pytest.raises(AvatarError, match=fragment) as info:
        make()
    assert info.value.exit_code == 1
    assert "\n" not in str(info.value)


def test_everything_but_models_works_without_torch():
    code = (
        "import sys\n"
        "class BlockTorch:\n"  # a finder that makes any 'import torch' fail
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch' or name.startswith('torch.'):\n"
        "            raise ImportError('torch is blocked in this test')\n"
        "sys.meta_path.insert(0, BlockTorch())\n"
        "import numpy as np\n"
        "import avatar.procedural, avatar.audio, avatar.visemes, avatar.ground_truth\n"
        "from avatar.audio import Speech\n"
        "from avatar.ground_truth import ground_truth_frames\n"
        "speech = Speech(np.zeros(1600, np.float32), 16000)\n"
        "frames = list(ground_truth_frames(speech, size=(64, 64)))\n"
        "assert len(frames) == 3 and frames[0].image.shape == (64, 64, 3)\n"
        "assert 'torch' not in sys.modules\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("roll_deg", [0.0, 2.5, -7.0])
def test_warp_of_the_opaque_part_gives_the_whole_sprites_pixels(roll_deg):
    """_warp warps only the sprite's opaque part and a margin: the frame is the one the whole
    sprite's bilinear warp gives, up to the rounding of the shifted origin (a sample's weights
    differ in the 14th digit, which can turn a rounding of PIL's: at most 2 levels where the
    random sprite's alpha then differs by one)."""
    from PIL import Image

    from avatar.procedural import PresenterStyle, ProceduralPresenter, _composite_at

    presenter = ProceduralPresenter(PresenterStyle(), (512, 504), 0)
    rng = np.random.default_rng(1)
    sprite = np.zeros((361, 276, 4), dtype=np.uint8)
    sprite[40:230, 60:210] = rng.integers(0, 256, (190, 150, 4), dtype=np.uint8)
    sprite[40:230, 60:210, 3] = rng.integers(1, 256, (190, 150), dtype=np.uint8)
    sprite = Image.fromarray(sprite)
    angle = np.radians(roll_deg)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    offset = np.array([117.3, 41.6])
    background = rng.integers(0, 256, (504, 512, 4), dtype=np.uint8)
    background[..., 3] = 255  # an opaque frame, as the presenter's
    background = Image.fromarray(background)

    warped = background.copy()
    presenter._warp(warped, sprite, rot, offset)

    whole = background.copy()  # the whole sprite through the same map
    corners = np.array([[0, 0], [276, 0], [0, 361], [276, 361]], dtype=np.float64) @ rot.T + offset
    x0, y0 = np.floor(corners.min(axis=0)).astype(int)
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
    shift = rot.T @ (np.array([x0, y0], dtype=np.float64) - offset)
    data = (rot[0, 0], rot[1, 0], shift[0], rot[0, 1], rot[1, 1], shift[1])
    patch = sprite.transform(
        (int(x1 - x0), int(y1 - y0)), Image.Transform.AFFINE, data, Image.Resampling.BILINEAR
    )
    _composite_at(whole, patch, int(x0), int(y0))
    difference = np.abs(np.asarray(warped, dtype=int) - np.asarray(whole, dtype=int)).max(axis=2)
    assert difference.max() <= 2
    assert (difference > 0).sum() < 0.03 * 190 * 150
    changed = np.asarray(warped) != np.asarray(background)
    assert np.array_equal(
        changed.any(axis=2), (np.asarray(whole) != np.asarray(background)).any(axis=2)
    )


def test_reused_feature_patches_give_the_pixels_drawn_afresh(monkeypatch):
    """The eyes and the mouth are drawn once per distinct input and reused (most frames hold
    the eyes still, every pause the mouth); a presenter that keeps no patch draws every frame
    anew, and the frames are the same to the pixel, through blinks, saccades, speech and
    cues that smile, frown and look aside."""
    import avatar.procedural as procedural
    from avatar.cues import Cue
    from avatar.mouth import MouthTrack

    n = 150
    t = np.arange(n) / 25
    jaw = np.clip(np.sin(2 * np.pi * 3 * t), 0, None) * (t % 2 < 1.2)
    values = np.stack([jaw, 0.4 + 0.2 * jaw, 0.3 * (t > 3), 0.5 * jaw], axis=1)
    track = MouthTrack(values.astype(np.float32), 25)
    cues = [Cue(0.0, 1.5, "greet"), Cue(2.0, 4.0, "point", (1.3, 0.4)), Cue(4.2, 5.8, "alert")]
    from PIL import ImageDraw

    canvases = []
    draw = ImageDraw.Draw

    def counted(image, *args, **kwargs):
        canvases.append(1)
        return draw(image, *args, **kwargs)

    monkeypatch.setattr(ImageDraw, "Draw", counted)
    cached = ProceduralPresenter(size=(200, 196), seed=3)
    canvases.clear()  # the sprites drawn when the presenter is made
    frames = [f.image for f in cached.frames(track, cues=cues)]
    reused = len(canvases)
    monkeypatch.setattr(procedural, "FEATURE_PATCHES_KEPT", 0)
    fresh = ProceduralPresenter(size=(200, 196), seed=3)
    canvases.clear()
    again = [f.image for f in fresh.frames(track, cues=cues)]
    assert reused < len(canvases) * 0.7  # most eyes and pauses were not drawn again
    assert all(np.array_equal(a, b) for a, b in zip(frames, again, strict=True))
