"""Presenter footage to training material: decoded frames, a smoothed face box per frame, square
face crops, and the 16 kHz sound.

The face box comes from scikit-image's LBP frontal-face cascade (the OpenCV LBP cascade file
shipped in the scikit-image wheel: Liao et al. 2007, "Learning multi-scale block local binary
patterns for face recognition", ICB), run on every ``detect_every``-th frame. Per sampled frame
the largest detection is kept; detections far from the median (outliers, e.g. a studio light)
are dropped; the centre and size are interpolated to every frame and smoothed with a
Savitzky-Golay filter (Savitzky & Golay 1964, Analytical Chemistry 36(8):1627-1639), our choice
for a static studio camera. Crops are squares around the face (past the frame's edge: black), so
the aspect ratio is kept.

The face crops are also measured (:mod:`avatar.face_track`): the mouth opening seen in the pixels,
which is the mouth track of footage without usable sound, and the motion and frontality from which
the render template's stretch is chosen.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.signal import savgol_filter

from avatar.audio import SAMPLE_RATE, Speech
from avatar.errors import AvatarError
from avatar.face_track import ANALYSIS_SIZE, FaceTrack, TemplateLoop, choose_template, track_face
from avatar.geometry import crop_square
from avatar.video import FPS, has_audio_stream, read_audio_track, read_video, video_info

CROP_SCALE = 1.45
"""Side of the square face crop over the width of the LBP detection. The cascade's box spans
brows to mouth; 1.45x reaches from the forehead to below the chin (calibrated on the procedural
presenter, whose exact face box is known: our choice)."""

MIN_SECONDS = 10.0
"""Shortest usable footage (our choice): the last 10 % is held out for validation and needs
room for the 5-frame sync windows plus off-sync negatives on both sides."""


SILENT_PEAK = 1e-4
"""A sound track whose peak stays below this (full scale 1) is silence: no usable sound."""


class FootageError(AvatarError):
    """Presenter footage that cannot be used: unreadable, no face, too short."""


@dataclass
class Footage:
    """Decoded footage: face crops (N, S, S, 3) uint8, square boxes (N, 4) in frame pixels, the
    sound at 16 kHz (silence when ``sound`` is False: the file has none, or it is silent), frame
    size (W, H), the sha256 of the file, the face measures and the chosen template stretch."""

    path: Path
    faces: np.ndarray
    boxes: np.ndarray
    speech: Speech
    frame_size: tuple[int, int]
    sha256: str
    fps: int = FPS
    sound: bool = True
    face: FaceTrack | None = None
    template: TemplateLoop | None = None

    @property
    def duration(self) -> float:
        return len(self.faces) / self.fps


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def face_cascade():
    """scikit-image's LBP frontal-face cascade (Liao et al. 2007), ready for :func:`detect_face`."""
    from skimage import data
    from skimage.feature import Cascade

    return Cascade(data.lbp_frontal_face_cascade_filename())


def detect_face(cascade, image: np.ndarray) -> tuple[float, float, float] | None:
    """Centre x, centre y and width (pixels) of the largest face the cascade finds, or None.

    Frames are searched at up to 360 lines (detection cost grows with area); faces smaller
    than 1/8 of the frame height are ignored, and 4 neighbouring hits are required (our
    choice: on the procedural presenter this removes every false hit on the backdrop)."""
    height, width = image.shape[:2]
    scale = min(1.0, 360 / height)
    grey = Image.fromarray(image).convert("L")
    if scale < 1.0:
        grey = grey.resize((round(width * scale), round(height * scale)), Image.Resampling.BOX)
    small = np.asarray(grey, dtype=np.float32) / 255.0
    side = small.shape[0]
    hits = cascade.detect_multi_scale(
        img=small,
        scale_factor=1.2,
        step_ratio=1,
        min_size=(side // 8, side // 8),
        max_size=(side, side),
        min_neighbor_number=4,
    )
    if not hits:
        return None
    best = max(hits, key=lambda h: h["width"] * h["height"])
    return (
        (best["c"] + best["width"] / 2) / scale,
        (best["r"] + best["height"] / 2) / scale,
        best["width"] / scale,
    )


def smooth_boxes(
    samples: list[tuple[int, tuple[float, float, float]]], n_frames: int, fps: int = FPS
) -> np.ndarray:
    """Square crop boxes (n_frames, 4) from sparse (frame, (cx, cy, w)) detections: outliers
    removed, linear interpolation, Savitzky-Golay smoothing over about 2 s (order 2)."""
    frames = np.array([f for f, _ in samples], dtype=np.float64)
    values = np.array([v for _, v in samples], dtype=np.float64)
    median = np.median(values, axis=0)
    keep = (np.abs(values[:, 2] - median[2]) <= 0.25 * median[2]) & (
        np.hypot(values[:, 0] - median[0], values[:, 1] - median[1]) <= 0.5 * median[2]
    )
    frames, values = frames[keep], values[keep]
    every = np.arange(n_frames)
    track = np.stack([np.interp(every, frames, values[:, k]) for k in range(3)], axis=1)
    window = min(n_frames - (1 - n_frames % 2), 2 * fps + 1)
    if window >= 5:
        track = savgol_filter(track, window, 2, axis=0)
    side = np.round(track[:, 2] * CROP_SCALE).astype(np.int64)
    x0 = np.round(track[:, 0] - side / 2).astype(np.int64)
    y0 = np.round(track[:, 1] - side / 2).astype(np.int64)
    return np.stack([x0, y0, x0 + side, y0 + side], axis=1)


def footage_sound(path: Path) -> Speech | None:
    """The sound of the footage, or None when it has no sound track or a silent one."""
    if not has_audio_stream(path):
        return None
    speech = read_audio_track(path)
    if speech.samples.size == 0 or float(np.max(np.abs(speech.samples))) < SILENT_PEAK:
        return None
    return speech


def ingest_footage(
    path: str | Path,
    size: int = 96,
    detect_every: int = 10,
    min_seconds: float = MIN_SECONDS,
    fps: int = FPS,
) -> Footage:
    """Read presenter footage: face boxes, ``size`` x ``size`` crops of every frame at ``fps``,
    the sound (silence, with ``sound=False``, when there is none), the face measures and the
    template stretch. Raises :class:`FootageError` for a file that is no readable video,
    footage without a detectable face (in at least half of the sampled frames) or shorter than
    ``min_seconds``."""
    path = Path(path)
    if not path.is_file():
        raise FootageError(f"footage file not found: {path}")
    try:
        info = video_info(path)
    except AvatarError as error:
        raise FootageError(str(error)) from None
    if info.duration and info.duration < min_seconds:
        raise FootageError(
            f"footage {path} lasts {info.duration:.1f} s; at least {min_seconds:.0f} s are needed"
        )
    speech = footage_sound(path)
    cascade = face_cascade()
    samples: list[tuple[int, tuple[float, float, float]]] = []
    n_frames = 0
    tried = 0
    for index, image in enumerate(read_video(path, fps)):
        n_frames = index + 1
        if index % detect_every == 0:
            tried += 1
            found = detect_face(cascade, image)
            if found is not None:
                samples.append((index, found))
    if n_frames < min_seconds * fps:
        raise FootageError(
            f"footage {path} has {n_frames / fps:.1f} s of video; at least {min_seconds:.0f} s "
            f"are needed"
        )
    if len(samples) < max(1, tried // 2):
        raise FootageError(
            f"no detectable frontal face in {path} (found in {len(samples)} of {tried} "
            f"sampled frames); the footage must show the presenter's face in every frame"
        )
    boxes = smooth_boxes(samples, n_frames, fps)
    faces = np.empty((n_frames, size, size, 3), np.uint8)
    grey = np.empty((n_frames, ANALYSIS_SIZE, ANALYSIS_SIZE), np.uint8)
    for index, image in enumerate(read_video(path, fps)):
        if index >= n_frames:
            break
        box = tuple(int(v) for v in boxes[index])
        faces[index] = crop_square(image, box, size)
        grey[index] = np.asarray(
            Image.fromarray(crop_square(image, box, ANALYSIS_SIZE)).convert("L")
        )
    face = track_face(grey, fps)
    sound = speech is not None
    if speech is None:
        speech = Speech(np.zeros(round(n_frames / fps * SAMPLE_RATE), np.float32), SAMPLE_RATE)
    return Footage(
        path,
        faces,
        boxes,
        speech,
        info.size,
        file_sha256(path),
        fps,
        sound=sound,
        face=face,
        template=choose_template(face),
    )
