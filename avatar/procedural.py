"""A procedural, stylised weather presenter drawn with numpy and PIL.

The presenter is head-and-shoulders in a studio frame: a soft studio backdrop, a jacket with
collar, hair, blinking eyes with small gaze shifts, a slowly swaying and breathing head, and a
mouth driven by the four :class:`~avatar.mouth.MouthShape` parameters. It is the default
renderer, the exact ground truth for training and metrics (every frame's mouth parameters,
blink, pose, face box and mouth box are known), and the torch-free fallback.

Speed comes from caching: the backdrop, the body and the head (without eyes and mouth) are drawn
once at 4x and downsampled; each frame only redraws the eyes and mouth in small supersampled
crops, then moves the head sprites with one affine warp each. Nothing here imports torch.

All geometry is in *head units* (``HEAD_UNIT`` times the frame height), measured from the head
centre (between the eyes), x to the right and y down.
"""

from __future__ import annotations

import functools
import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from avatar.cues import NEUTRAL, Channels, Cue, Expression, cue_channels
from avatar.errors import AvatarError
from avatar.geometry import Box
from avatar.mouth import MouthShape, MouthTrack

__all__ = [
    "BlinkSchedule",
    "HeadPose",
    "MouthShape",
    "MouthTrack",
    "PresenterFrame",
    "PresenterStyle",
    "ProceduralPresenter",
    "render_frame",
]

RGB = tuple[int, int, int]

SUPERSAMPLE = 4
#: Sub-pixel steps of the breathing shift of the body (our choice: 1/16 px, at most 1/32 px
#: from the exact shift, invisible; each step's shifted body is drawn once and kept).
BREATH_PHASES = 16
#: Memory the shifted bodies may take (our choice; 1920x1080 frames need ~90 MB).
BREATH_CACHE_BYTES = 128 << 20
"""Static layers and per-frame features are drawn at this multiple of the output size and
box-downsampled: 4x4 samples per pixel give 16 coverage levels, smooth enough for edges."""
#: Feature patches (an eye or the mouth, drawn and downsampled) a presenter keeps for reuse
#: (:meth:`ProceduralPresenter._feature_patch`; our choice: a few seconds of distinct
#: blink and mouth frames, well under a megabyte at 512x504).
FEATURE_PATCHES_KEPT = 64

# Head layout in head units (fractions of frame height), our choice for a stylised face with
# slightly enlarged eyes; classic proportions put the eyes at mid-head and the mouth a third of
# the way from nose to chin (Loomis 1943, "Drawing the Head and Hands").
HEAD_UNIT = 1.12  # one head unit as a fraction of frame height: sets the framing
HEAD_CENTRE_Y = 0.36  # head centre (eye line) as a fraction of frame height, at rest
FACE_HALF_WIDTH = 0.112
FACE_TOP = 0.158
FACE_BOTTOM = 0.162
EYE_X = 0.049
EYE_Y = 0.0
NOSE_Y = 0.058
MOUTH_Y = 0.103
NECK_PIVOT_Y = 0.19  # the head rolls about the top of the neck
SPRITE_LEFT, SPRITE_RIGHT, SPRITE_TOP, SPRITE_BOTTOM = -0.24, 0.24, -0.27, 0.36
FACE_BOX = (-0.135, -0.17, 0.135, 0.2)  # forehead to a little below the chin
MOUTH_BOX = (-0.06, MOUTH_Y - 0.04, 0.06, MOUTH_Y + 0.05)
EYE_CROP = (-0.036, -0.032, 0.036, 0.02)
NOSE_CROP = (-0.028, 0.01, 0.028, 0.076)
BROW_CROP = (-0.095, -0.078, 0.095, -0.02)

# Cue-driven motion (avatar.cues), our choices, tuned by eye at the 512x504 panel. A head turn
# is drawn on the flat head sprite: the features slide sideways over the face (the nose, in
# front, further than the eyes, brows and mouth), the head narrows a little and moves toward
# the turn; a tilt moves the features up or down.
YAW_SHIFT = 0.024  # feature shift at yaw 1, head units
NOSE_YAW_SHIFT = 0.032
PITCH_SHIFT = 0.01
YAW_SQUASH = 0.06  # horizontal narrowing of the head at yaw 1
YAW_DX = 0.012  # head translation toward the turn at yaw 1, head units
PITCH_DY = 0.006
# The gesturing arm (the screen-right one; the left is its mirror image): the elbow sits
# below the frame, the forearm rises from upright toward the target, kept between these
# angles above the horizontal so the hand stays in the frame; the hand turns at the wrist.
ARM_ELBOW = (0.12, 0.62)
FOREARM = 0.28
HAND_LENGTH = 0.12
ARM_DROP = FOREARM + HAND_LENGTH + 0.12  # how far below its raised place a lowered arm is
FOREARM_ANGLES = (50.0, 80.0)
HAND_TURN = (-25.0, 45.0)  # the hand's angle from the forearm's, toward the target


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    """Linear blend of two sRGB colours, ``t`` = 0 gives ``a``."""
    mixed = (round(x + (y - x) * t) for x, y in zip(a, b, strict=True))
    return tuple(mixed)  # type: ignore[return-value]


def _shade(colour: RGB, factor: float) -> RGB:
    """Darken (factor < 1) or lighten (factor > 1, towards white) a colour."""
    if factor <= 1.0:
        return tuple(round(c * factor) for c in colour)  # type: ignore[return-value]
    return _mix(colour, (255, 255, 255), min(factor - 1.0, 1.0))


_COLOUR_FIELDS = (
    "skin", "lips", "hair", "iris", "jacket", "shirt", "accent",
    "background_top", "background_bottom", "background_glow",
)  # fmt: skip


@dataclass(frozen=True)
class PresenterStyle:
    """Everything that makes one presenter look different from another.

    Colours are sRGB triples. ``hair_style`` picks the hair shapes, ``neckwear`` the accent at
    the collar, ``smile`` lifts the mouth corners (0-1), ``center_x`` places the presenter
    horizontally as a fraction of the frame width.
    """

    name: str = "Lin"
    skin: RGB = (236, 193, 160)
    lips: RGB = (196, 104, 104)
    hair: RGB = (58, 38, 30)
    iris: RGB = (92, 62, 40)
    jacket: RGB = (34, 58, 110)
    shirt: RGB = (246, 244, 240)
    accent: RGB = (214, 58, 62)
    background_top: RGB = (22, 46, 84)
    background_bottom: RGB = (8, 20, 42)
    background_glow: RGB = (70, 120, 176)
    hair_style: Literal["bob", "short", "long"] = "bob"
    neckwear: Literal["pin", "tie", "none"] = "pin"
    lashes: bool = True
    smile: float = 0.35
    brow_weight: float = 0.8
    face_width: float = 1.0
    center_x: float = 0.5

    def __post_init__(self) -> None:
        for name in _COLOUR_FIELDS:
            colour = getattr(self, name)
            if not (
                isinstance(colour, tuple)
                and len(colour) == 3
                and all(isinstance(c, int) and 0 <= c <= 255 for c in colour)
            ):
                raise AvatarError(f"PresenterStyle.{name} must be three ints 0-255, got {colour!r}")
        if self.hair_style not in ("bob", "short", "long"):
            raise AvatarError(f"unknown hair_style {self.hair_style!r}; use bob, short or long")
        if self.neckwear not in ("pin", "tie", "none"):
            raise AvatarError(f"unknown neckwear {self.neckwear!r}; use pin, tie or none")
        for name, low, high in (
            ("smile", 0.0, 1.0),
            ("brow_weight", 0.3, 1.5),
            ("face_width", 0.85, 1.15),
            ("center_x", 0.2, 0.8),
        ):
            value = getattr(self, name)
            if not low <= value <= high:
                raise AvatarError(f"PresenterStyle.{name} must be in [{low}, {high}], got {value}")

    @classmethod
    def default(cls) -> PresenterStyle:
        """The default presenter: dark-brown bob, navy jacket, red lapel pin."""
        return cls()

    @classmethod
    def alternate(cls) -> PresenterStyle:
        """A second, clearly different presenter: short black hair, charcoal suit and tie,
        a deeper skin tone and a warmer backdrop."""
        return cls(
            name="Kai",
            skin=(176, 124, 92),
            lips=(150, 88, 80),
            hair=(24, 22, 24),
            iris=(48, 34, 26),
            jacket=(52, 56, 62),
            shirt=(206, 224, 242),
            accent=(30, 96, 150),
            background_top=(64, 40, 70),
            background_bottom=(20, 14, 30),
            background_glow=(150, 100, 120),
            hair_style="short",
            neckwear="tie",
            lashes=False,
            smile=0.25,
            brow_weight=1.2,
            face_width=1.06,
        )

    @property
    def skin_shadow(self) -> RGB:
        return _mix(_shade(self.skin, 0.82), (150, 70, 70), 0.12)


@dataclass(frozen=True)
class HeadPose:
    """Head motion at one instant: roll in degrees (positive turns the head clockwise on
    screen), translation in head units, and the breathing lift of the shoulders."""

    roll_deg: float
    dx: float
    dy: float
    breath: float
    yaw: float = 0.0
    pitch: float = 0.0


@dataclass(frozen=True)
class PresenterFrame:
    """One rendered frame with its exact ground truth.

    ``image`` is HxWx3 uint8. ``face_box`` and ``mouth_box`` are (x0, y0, x1, y1) pixel boxes,
    x1/y1 exclusive, of constant size for a given presenter (only their position follows the
    head and the features, which a head turn slides sideways), so they can be used directly as
    training crops; they may extend past the frame. ``expression`` holds the cue channels
    (:class:`avatar.cues.Expression`) the frame was drawn with.
    """

    image: np.ndarray
    time: float
    mouth: MouthShape
    blink: float
    pose: HeadPose
    gaze: tuple[float, float]
    face_box: Box
    mouth_box: Box
    expression: Expression = NEUTRAL


class BlinkSchedule:
    """Seeded spontaneous blinks: when each blink starts and how far the lids are closed.

    Inter-blink intervals are gamma distributed with mean 3.5 s (shape 2.5, at least 0.6 s),
    i.e. about 17 blinks/min, the resting rate measured by Bentivoglio et al. 1997, "Analysis of
    blink rate patterns in normal subjects", Movement Disorders 12(6):1028-1034 (17/min at rest,
    26/min in conversation). Each blink closes in 75 ms, holds 25 ms and reopens in 150 ms: the
    closing phase is about twice as fast as the opening (Evinger, Manning & Sibony 1991,
    "Eyelid movements", Investigative Ophthalmology & Visual Science 32(2):387-400). One blink in
    ten is followed quickly by a second (our choice, to avoid a metronomic look).
    """

    CLOSE_S = 0.075
    HOLD_S = 0.025
    OPEN_S = 0.150
    MEAN_INTERVAL_S = 3.5

    def __init__(self, seed: int) -> None:
        self._rng = np.random.default_rng([seed, 0xB11C])
        self._starts: list[float] = []
        # The first blink comes early so that short clips show one.
        self._next = float(self._rng.uniform(0.4, 1.6))

    def _extend_to(self, t: float) -> None:
        while self._next <= t + self.CLOSE_S + self.HOLD_S + self.OPEN_S:
            self._starts.append(self._next)
            if self._rng.random() < 0.1:
                gap = float(self._rng.uniform(0.3, 0.45))
            else:
                shape = 2.5
                gap = max(0.6, float(self._rng.gamma(shape, self.MEAN_INTERVAL_S / shape)))
            self._next += gap

    def starts(self, until: float) -> list[float]:
        """Start times of all blinks that begin before ``until`` seconds."""
        self._extend_to(until)
        return [s for s in self._starts if s < until]

    def closure(self, t: float) -> float:
        """Lid closure at ``t``: 0 = open, 1 = closed."""
        self._extend_to(t)
        for start in reversed(self._starts):
            if start <= t:
                u = t - start
                break
        else:
            return 0.0
        if u < self.CLOSE_S:
            x = u / self.CLOSE_S
            return x * x * (3 - 2 * x)
        u -= self.CLOSE_S
        if u < self.HOLD_S:
            return 1.0
        u -= self.HOLD_S
        if u < self.OPEN_S:
            x = u / self.OPEN_S
            return 1.0 - x * x * (3 - 2 * x)
        return 0.0


@dataclass(frozen=True)
class _Motion:
    """Seeded parameters of the idle head motion (sum of slow sines, our choice).

    Amplitudes are small on purpose: a news presenter's head roll stays within a few degrees
    (our choice; speech-related head motion is of this order, Munhall et al. 2004, "Visual
    prosody and speech intelligibility", Psychological Science 15(2):133-137). Breathing is a
    0.25 Hz rise and fall of the shoulders, 15 breaths/min, inside the adult resting range of
    12-20/min (e.g. Barrett et al., Ganong's Review of Medical Physiology).
    """

    roll: tuple[tuple[float, float, float], ...]
    dx: tuple[tuple[float, float, float], ...]
    dy: tuple[tuple[float, float, float], ...]
    breath_hz: float
    breath_phase: float

    @classmethod
    def from_seed(cls, seed: int) -> _Motion:
        rng = np.random.default_rng([seed, 0x4EAD])

        def sines(amplitudes: Iterable[float], base_hz: Iterable[float]) -> tuple:
            return tuple(
                (a, f * float(rng.uniform(0.85, 1.15)), float(rng.uniform(0, 2 * math.pi)))
                for a, f in zip(amplitudes, base_hz, strict=True)
            )

        return cls(
            roll=sines((1.1, 0.5, 0.2), (0.11, 0.29, 0.67)),
            dx=sines((0.0035, 0.0015), (0.07, 0.23)),
            dy=sines((0.0018, 0.0008), (0.13, 0.41)),
            breath_hz=0.25 * float(rng.uniform(0.9, 1.1)),
            breath_phase=float(rng.uniform(0, 2 * math.pi)),
        )

    @staticmethod
    def _eval(terms: tuple[tuple[float, float, float], ...], t: float) -> float:
        return sum(a * math.sin(2 * math.pi * f * t + p) for a, f, p in terms)

    def pose(self, t: float, speaking: float = 0.0) -> HeadPose:
        # Speech livens the head a little: larger sway, plus a faster small nod.
        gain = 1.0 + 0.6 * speaking
        breath = 0.0032 * math.sin(2 * math.pi * self.breath_hz * t + self.breath_phase)
        nod = 0.0018 * speaking * math.sin(2 * math.pi * 1.7 * t + self.breath_phase)
        return HeadPose(
            roll_deg=gain * self._eval(self.roll, t),
            dx=gain * self._eval(self.dx, t),
            dy=self._eval(self.dy, t) + nod + breath,
            breath=breath,
        )


class _Gaze:
    """Small seeded saccades: the eyes hold on the camera and sometimes glance a little away.

    Fixations last 0.8-3 s (our choice within the usual 0.2-3 s range of conversational
    fixations); 70 % of them are on the lens, the others move the iris by up to two thirds of
    its radius sideways and less vertically.
    """

    def __init__(self, seed: int) -> None:
        self._rng = np.random.default_rng([seed, 0x6A2E])
        self._times: list[float] = [0.0]
        self._targets: list[tuple[float, float]] = [(0.0, 0.0)]

    def at(self, t: float) -> tuple[float, float]:
        while self._times[-1] <= t:
            self._times.append(self._times[-1] + float(self._rng.uniform(0.8, 3.0)))
            if self._rng.random() < 0.7:
                self._targets.append((0.0, 0.0))
            else:
                self._targets.append(
                    (float(self._rng.uniform(-1, 1)), float(self._rng.uniform(-0.5, 0.4)))
                )
        index = int(np.searchsorted(self._times, t, side="right")) - 1
        # A saccade takes about 40 ms; ease into the new target over that time.
        x = min(1.0, (t - self._times[index]) / 0.04)
        previous = self._targets[index - 1] if index > 0 else self._targets[0]
        target = self._targets[index]
        return (
            previous[0] + (target[0] - previous[0]) * x,
            previous[1] + (target[1] - previous[1]) * x,
        )


class _Pen:
    """Draws in head units on a supersampled canvas whose head-unit origin is at ``origin``."""

    def __init__(self, image: Image.Image, origin: tuple[float, float], scale: float) -> None:
        self.image = image
        self.draw = ImageDraw.Draw(image)
        self.origin = origin
        self.scale = scale

    def xy(self, points: np.ndarray) -> list[float]:
        """Head-unit ``points`` (N x 2) as canvas pixels, flat ``[x, y, x, y, ...]`` as
        ImageDraw takes them (one list, not N tuples: the pens draw thousands per frame)."""
        pts = np.asarray(points, dtype=np.float64) * self.scale + np.asarray(self.origin)
        return pts.ravel().tolist()

    def polygon(self, points: np.ndarray, fill: tuple) -> None:
        self.draw.polygon(self.xy(points), fill=fill)

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, fill: tuple) -> None:
        x0, y0, x1, y1 = self.xy(np.array([[cx - rx, cy - ry], [cx + rx, cy + ry]]))
        self.draw.ellipse([x0, y0, x1, y1], fill=fill)

    def line(self, points: np.ndarray, fill: tuple, width: float) -> None:
        self.draw.line(self.xy(points), fill=fill, width=max(1, round(width * self.scale)))

    def stroke(self, points: np.ndarray, fill: tuple, widths: np.ndarray) -> None:
        """A line of varying width (tapered strokes: brows, lash lines, hair strands)."""
        pts = np.asarray(points, dtype=np.float64)
        tangent = np.gradient(pts, axis=0)
        normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
        normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
        half = 0.5 * np.asarray(widths, dtype=np.float64)[:, None] * normal
        self.polygon(np.concatenate([pts + half, (pts - half)[::-1]]), fill)


def _arc(x0: float, x1: float, n: int, fn) -> np.ndarray:
    xs = np.linspace(x0, x1, n)
    return np.stack([xs, fn(xs)], axis=1)


def _face_outline(half_width: float, n: int = 160) -> np.ndarray:
    """Egg-shaped face: a rounded cranium over a jaw that tapers to a soft chin (our shape)."""
    phi = np.linspace(0, 2 * np.pi, n, endpoint=False)
    c, s = np.cos(phi), np.sin(phi)
    lower = s > 0
    x = half_width * c * np.where(lower, 1 - 0.34 * s**2, 1.0)
    # Flatten the chin slightly: pull the lowest points up a little.
    y = np.where(lower, FACE_BOTTOM * s * (1 - 0.06 * s**8), FACE_TOP * s)
    return np.stack([x, y], axis=1)


class ProceduralPresenter:
    """A presenter of one style, frame size and seed. Static layers are drawn once here;
    :meth:`render` costs only the eyes, the mouth and two affine warps per frame."""

    def __init__(
        self,
        style: PresenterStyle | None = None,
        size: tuple[int, int] = (256, 256),
        seed: int = 0,
    ) -> None:
        width, height = (int(v) for v in size)
        if not (32 <= width <= 4096 and 32 <= height <= 4096):
            raise AvatarError(f"presenter frame size must be 32-4096 px per side, got {size}")
        self.style = style or PresenterStyle.default()
        self.size = (width, height)
        self.seed = int(seed)
        self._unit = HEAD_UNIT * height  # one head unit in output pixels
        fw = self.style.face_width
        self._face_half_width = FACE_HALF_WIDTH * fw
        self._eye_x = EYE_X * (0.5 + 0.5 * fw)
        self._rest_centre = (self.style.center_x * width, HEAD_CENTRE_Y * height)
        self._blinks = BlinkSchedule(self.seed)
        self._gaze = _Gaze(self.seed)
        self._motion = _Motion.from_seed(self.seed)
        # Sprite geometry: head-unit origin at an integer output pixel.
        self._sprite_origin = (
            math.ceil(-SPRITE_LEFT * self._unit) + 2,
            math.ceil(-SPRITE_TOP * self._unit) + 2,
        )
        self._sprite_size = (
            self._sprite_origin[0] + math.ceil(SPRITE_RIGHT * self._unit) + 2,
            self._sprite_origin[1] + math.ceil(SPRITE_BOTTOM * self._unit) + 2,
        )
        self._background = self._draw_background()
        self._body, self._body_top = self._draw_body()
        self._body_phases: dict[int, Image.Image] = {0: self._body}
        self._patches: OrderedDict[tuple, Image.Image] = OrderedDict()
        self._hair_back = self._draw_sprite(self._paint_hair_back)
        self._head = self._draw_sprite(self._paint_head)
        self._eye_crops = [self._crop_box(EYE_CROP, dx) for dx in (-self._eye_x, self._eye_x)]
        self._mouth_crop = self._crop_box(MOUTH_BOX, 0.0)

    # ----------------------------------------------------------------- static layers

    def _draw_background(self) -> Image.Image:
        """Studio backdrop: vertical gradient, a soft glow behind the presenter, out-of-focus
        studio lights and a vignette; a little seeded dither keeps the gradient free of
        banding after 8-bit quantisation."""
        width, height = self.size
        st = self.style
        y = (np.arange(height, dtype=np.float32) / height)[:, None, None]
        top = np.array(st.background_top, np.float32)
        bottom = np.array(st.background_bottom, np.float32)
        img = top + (bottom - top) * y
        img = np.broadcast_to(img, (height, width, 3)).copy()
        xx = (np.arange(width, dtype=np.float32)[None, :] - self._rest_centre[0]) / height
        yy = (np.arange(height, dtype=np.float32)[:, None] - 0.42 * height) / height
        glow = np.exp(-(xx**2 / 0.16 + yy**2 / 0.22))[..., None]
        img += (np.array(st.background_glow, np.float32) - img) * 0.55 * glow
        # Bokeh: big, very soft discs of light in the upper backdrop.
        lights = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(lights)
        rng = np.random.default_rng([self.seed, 0xB0CE])
        for _ in range(14):
            cx = float(rng.uniform(0, width))
            cy = float(rng.uniform(0, 0.55 * height))
            r = float(rng.uniform(0.02, 0.06)) * height
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=int(rng.uniform(60, 140)))
        lights = lights.filter(ImageFilter.GaussianBlur(0.012 * height))
        light = np.asarray(lights, np.float32)[..., None] / 255.0
        img += (np.array(_shade(st.background_glow, 1.5), np.float32) - img) * 0.35 * light
        rr = ((np.arange(width)[None, :] - width / 2) / width) ** 2 + (
            (np.arange(height)[:, None] - height / 2) / height
        ) ** 2
        img *= (1.0 - 0.45 * np.clip(rr * 1.6, 0, 1) ** 1.5)[..., None]
        img += rng.uniform(-0.5, 0.5, img.shape).astype(np.float32)
        rgb = np.clip(img + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(rgb).convert("RGBA")

    def _draw_body(self) -> tuple[Image.Image, int]:
        """Neck, shoulders, jacket with lapels, shirt collar and the neckwear accent.

        Returned as an RGBA strip from ``top`` to a little past the frame bottom (the body only
        ever moves vertically, with breathing). Layer order, back to front: jacket collar behind
        the neck, neck, jacket front, shirt, collar flaps, lapels, accent, lighting.
        """
        width, height = self.size
        u = self._unit
        top = max(0, int(self._rest_centre[1] + 0.02 * u))
        ss = SUPERSAMPLE
        margin = 3  # rows below the frame, so that breathing never uncovers the bottom edge
        canvas = Image.new("RGBA", (width * ss, (height - top + margin) * ss), (0, 0, 0, 0))
        origin = (self._rest_centre[0] * ss, (self._rest_centre[1] - top) * ss)
        scale = u * ss
        pen = _Pen(canvas, origin, scale)
        st = self.style
        fw = st.face_width
        skin = (*st.skin, 255)
        jacket = (*st.jacket, 255)
        shirt = (*st.shirt, 255)
        bottom = (height - self._rest_centre[1]) / u + 0.05
        open_collar = st.neckwear != "tie"

        # Collar band behind the neck: jacket, with the shirt collar just above it.
        pen.polygon(
            np.array([[-0.085, 0.25], [-0.06, 0.2], [0.06, 0.2], [0.085, 0.25]]) * [fw, 1],
            (*_shade(st.jacket, 0.75), 255),
        )
        pen.polygon(
            np.array([[-0.066, 0.23], [-0.055, 0.19], [0.055, 0.19], [0.066, 0.23]]) * [fw, 1],
            (*_shade(st.shirt, 0.78), 255),
        )
        # Neck, with the shadow the jaw casts on it.
        neck = np.array(
            [[-0.046, 0.04], [0.046, 0.04], [0.05, 0.2], [0.06, 0.3], [-0.06, 0.3], [-0.05, 0.2]]
        ) * [fw, 1]
        pen.polygon(neck, skin)
        shade = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
        shade_pen = _Pen(shade, origin, scale)
        shade_pen.ellipse(0, 0.155, 0.07 * fw, 0.05, (*st.skin_shadow, 255))
        shade_pen.ellipse(0.05 * fw, 0.2, 0.015, 0.07, (*st.skin_shadow, 150))
        shade = shade.filter(ImageFilter.GaussianBlur(0.012 * scale))
        canvas.alpha_composite(self._clip(shade, canvas))

        # Jacket: shoulders slope from the neck and fall past the frame edge.
        def side(sign: float) -> np.ndarray:
            t = np.linspace(0, 1, 40)[:, None]
            # Shoulder line: a cubic Bezier from the neck base to the upper arm.
            p0, p1, p2, p3 = ([0.07, 0.225], [0.16, 0.24], [0.3, 0.265], [0.38, 0.37])
            b = (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3
            arm = np.array([[0.42, 0.52], [0.45, bottom]])
            return np.concatenate([b, arm]) * [sign * fw, 1]

        right, left = side(1.0), side(-1.0)
        pen.polygon(np.concatenate([left[::-1], right, [[-0.45 * fw, bottom]]]), jacket)
        # Shirt in the V of the jacket; with an open collar, a V of skin at the throat.
        pen.polygon(np.array([[-0.08, 0.225], [0.08, 0.225], [0.0, 0.56]]), shirt)
        if open_collar:
            pen.polygon(np.array([[-0.048, 0.2], [0.048, 0.2], [0.0, 0.33]]) * [fw, 1], skin)
        # Collar flaps: open ones lie along the V, closed ones meet under the tie knot.
        collar_edge = (*_shade(st.shirt, 0.8), 255)
        for sign in (-1.0, 1.0):
            if open_collar:
                flap = np.array(
                    [[0.046, 0.195], [0.078, 0.222], [0.082, 0.3], [0.006, 0.345], [0.042, 0.255]]
                )
            else:
                flap = np.array([[0.05, 0.19], [0.072, 0.222], [0.062, 0.3], [0.0, 0.262]])
            flap = flap * [sign * fw, 1]
            pen.polygon(flap, shirt)
            pen.line(np.concatenate([flap[1:], flap[:1]]), collar_edge, 0.002)
        # Lapels: lighter facets from the collar to the button point, with a notch.
        lapel_colour = (*_shade(st.jacket, 1.12), 255)
        lapel_edge = (*_shade(st.jacket, 0.7), 255)
        for sign in (-1.0, 1.0):
            lapel = np.array(
                [
                    [0.075, 0.23],
                    [0.105, 0.245],
                    [0.13, 0.325],
                    [0.108, 0.34],
                    [0.13, 0.355],
                    [0.025, 0.57],
                    [0.0, 0.57],
                    [0.082, 0.3],
                ]
            )
            lapel = lapel * [sign * fw, 1]
            pen.polygon(lapel, lapel_colour)
            pen.line(lapel[2:6], lapel_edge, 0.003)
        if st.neckwear == "tie":
            knot = np.array([[-0.017, 0.245], [0.017, 0.245], [0.012, 0.285], [-0.012, 0.285]])
            blade = np.array(
                [[-0.012, 0.285], [0.012, 0.285], [0.027, 0.52], [0.0, 0.55], [-0.027, 0.52]]
            )
            # Diagonal stripes are drawn on their own layer and limited to the blade.
            tie = Image.new("RGBA", canvas.size, (*st.accent, 255))
            tie_pen = _Pen(tie, origin, scale)
            for k in range(6):
                y0 = 0.32 + 0.045 * k
                stripe = np.array(
                    [[-0.03, y0], [0.03, y0 - 0.02], [0.03, y0 - 0.011], [-0.03, y0 + 0.009]]
                )
                tie_pen.polygon(stripe, (*_shade(st.accent, 1.3), 255))
            blade_mask = Image.new("L", canvas.size, 0)
            ImageDraw.Draw(blade_mask).polygon(pen.xy(blade), fill=255)
            canvas.paste(tie, (0, 0), blade_mask)
            pen.polygon(knot, (*_shade(st.accent, 0.85), 255))
            # The lapels fall over the tie's edges only below the button point: nothing to do.
        elif st.neckwear == "pin":
            px, py = -0.165 * fw, 0.4
            pen.ellipse(px, py, 0.012, 0.012, (*_shade(st.accent, 0.7), 255))
            pen.ellipse(px, py, 0.0095, 0.0095, (*st.accent, 255))
            pen.ellipse(px - 0.003, py - 0.003, 0.0028, 0.0028, (255, 255, 255, 210))
        # Studio lighting on the jacket: darker towards the edges, a rim light on the shoulders.
        light = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
        light_pen = _Pen(light, origin, scale)
        for sign in (-1.0, 1.0):
            light_pen.ellipse(0.43 * sign * fw, 0.65, 0.1, 0.3, (0, 0, 0, 110))
        light_pen.line(left[::-1][4:36], (255, 255, 255, 55), 0.006)
        light_pen.line(right[4:36], (255, 255, 255, 55), 0.006)
        light = light.filter(ImageFilter.GaussianBlur(0.01 * scale))
        canvas.alpha_composite(self._clip(light, canvas))
        # Sleeve seams: where the set-in sleeves meet the jacket front, curving from the
        # shoulder point down towards the armpit.
        seam_colour = (*_shade(st.jacket, 0.62), 255)
        for sign in (-1.0, 1.0):
            seam = _arc(0.0, 1.0, 24, lambda u: u)
            u = seam[:, 0]
            xs = (0.325 - 0.035 * np.sin(np.pi * u) + 0.01 * u) * sign * fw
            ys = 0.265 + 0.3 * u
            pen.stroke(np.stack([xs, ys], 1), seam_colour, 0.004 * np.sin(np.pi * (0.1 + 0.8 * u)))
        return canvas.reduce(ss), top

    @staticmethod
    def _clip(layer: Image.Image, target: Image.Image) -> Image.Image:
        """``layer`` with its alpha limited to where ``target`` is opaque (shading on a shape)."""
        alpha = np.minimum(np.asarray(layer.getchannel("A")), np.asarray(target.getchannel("A")))
        out = layer.copy()
        out.putalpha(Image.fromarray(alpha))
        return out

    def _draw_sprite(self, paint) -> Image.Image:
        """A head-attached RGBA layer, painted at 4x in head units and downsampled."""
        ss = SUPERSAMPLE
        canvas = Image.new("RGBA", (self._sprite_size[0] * ss, self._sprite_size[1] * ss))
        origin = (self._sprite_origin[0] * ss, self._sprite_origin[1] * ss)
        paint(_Pen(canvas, origin, self._unit * ss))
        return canvas.reduce(ss)

    def _hair_outline(self) -> np.ndarray:
        """The outer silhouette of the hair mass behind and around the head."""
        st = self.style
        a = self._face_half_width
        if st.hair_style == "short":
            # A boxy crop: flatter crown, full at the temples.
            phi = np.linspace(np.pi, 2 * np.pi, 60)
            x = (a + 0.014) * np.cos(phi)
            y = -0.02 - (FACE_TOP + 0.052) * np.abs(np.sin(phi)) ** 0.72
            return np.stack([x, y], axis=1)
        length = 0.2 if st.hair_style == "bob" else 0.33
        phi = np.linspace(np.pi, 2 * np.pi, 60)
        top = np.stack([(a + 0.035) * np.cos(phi), -0.01 + (FACE_TOP + 0.055) * np.sin(phi)], 1)
        right = np.array([[a + 0.04, 0.04], [a + 0.045, length - 0.03], [a + 0.02, length]])
        hem = _arc(a + 0.02, -a - 0.02, 30, lambda x: length + 0.012 * (1 - (x / a) ** 2))
        left = right[::-1] * [-1, 1]
        return np.concatenate([top, right, hem, left])

    def _paint_hair_back(self, pen: _Pen) -> None:
        st = self.style
        if st.hair_style == "short":
            return
        pen.polygon(self._hair_outline(), (*_shade(st.hair, 0.8), 255))

    def _paint_head(self, pen: _Pen, features: bool = True) -> None:
        """The head sprite; without ``features`` it lacks the nose and the brows, which a
        frame with cue motion paints itself (:meth:`render`)."""
        st = self.style
        a = self._face_half_width
        skin = (*st.skin, 255)
        ear_fill = (*_shade(st.skin, 0.93), 255)
        # Ears (the bob hides them later).
        for sign in (-1.0, 1.0):
            pen.ellipse(sign * (a + 0.004), 0.022, 0.02, 0.034, ear_fill)
            pen.ellipse(sign * (a + 0.006), 0.024, 0.009, 0.02, (*st.skin_shadow, 255))
        face = _face_outline(a)
        pen.polygon(face, skin)
        # Soft modelling: darker jaw sides and temples, warm cheeks; drawn on a layer, blurred,
        # then limited to the face.
        ss_unit = pen.scale
        shade = Image.new("RGBA", pen.image.size, (0, 0, 0, 0))
        spen = _Pen(shade, pen.origin, pen.scale)
        shadow = (*st.skin_shadow, 120)
        for sign in (-1.0, 1.0):
            spen.ellipse(sign * (a + 0.02), 0.07, 0.045, 0.12, shadow)
            spen.ellipse(
                sign * 0.066, 0.066, 0.026, 0.016, (*_mix(st.skin, (230, 90, 100), 0.5), 60)
            )
        spen.ellipse(0, 0.19, 0.08, 0.03, (*st.skin_shadow, 140))  # under the chin
        spen.ellipse(0, MOUTH_Y + 0.042, 0.02, 0.007, (*st.skin_shadow, 70))  # below lower lip
        shade = shade.filter(ImageFilter.GaussianBlur(0.012 * ss_unit))
        face_mask = Image.new("L", pen.image.size, 0)
        ImageDraw.Draw(face_mask).polygon(pen.xy(face), fill=255)
        alpha = np.minimum(np.asarray(shade.getchannel("A")), np.asarray(face_mask))
        shade.putalpha(Image.fromarray(alpha))
        pen.image.alpha_composite(shade)
        pen.draw = ImageDraw.Draw(pen.image)
        if features:
            self._paint_nose(pen)
            self._paint_brows(pen)
        self._paint_hair_front(pen)

    def _paint_nose(self, pen: _Pen) -> None:
        """A soft side shadow and a small tip with nostrils."""
        st = self.style
        nose_line = (*_shade(st.skin, 0.78), 255)
        pen.stroke(
            _arc(-0.006, -0.012, 12, lambda x: 0.018 + (x + 0.006) / -0.006 * 0.03),
            (*_shade(st.skin, 0.88), 255),
            np.linspace(0.001, 0.004, 12),
        )
        pen.stroke(
            _arc(
                -0.016,
                0.016,
                24,
                lambda x: NOSE_Y + 0.004 - 0.01 * (1 - (x / 0.016) ** 2) ** 2 + 0.006,
            ),
            nose_line,
            0.0032 * np.sin(np.linspace(0.2, np.pi - 0.2, 24)),
        )
        for sign in (-1.0, 1.0):
            pen.ellipse(
                sign * 0.0085, NOSE_Y + 0.003, 0.0045, 0.0025, (*_shade(st.skin, 0.68), 255)
            )

    def _paint_brows(self, pen: _Pen, lift: float = 0.0) -> None:
        """Both brows; ``lift`` > 0 raises them, < 0 lowers them, most at the inner ends, and
        draws them together (the corrugator's frown, Ekman & Friesen 1978, FACS AU 4)."""
        st = self.style
        colour = (*_shade(st.hair, 0.9 if st.hair_style != "short" else 1.0), 255)
        n = 24
        for sign in (-1.0, 1.0):
            xs = np.linspace(0.018, 0.074, n) * (0.5 + 0.5 * st.face_width)
            u = (xs - xs[0]) / (xs[-1] - xs[0])
            arch = 0.012 if st.lashes else 0.007
            ys = -0.043 - arch * np.sin(np.pi * np.clip(u * 1.15, 0, 1)) + 0.006 * u
            widths = st.brow_weight * 0.0075 * (1 - 0.75 * u**1.5) * np.sqrt(np.clip(u * 8, 0.3, 1))
            if lift > 0:
                ys = ys - 0.0065 * lift * (0.7 + 0.3 * u)
            elif lift < 0:
                frown = -lift
                ys = ys + frown * (0.006 * (1 - u) + 0.0015)
                xs = xs - frown * 0.0045 * (1 - u)
                widths = widths * (1 + 0.15 * frown)
            pen.stroke(np.stack([sign * xs, ys], axis=1), colour, widths)

    def _paint_hair_front(self, pen: _Pen) -> None:
        st = self.style
        a = self._face_half_width
        hair = (*st.hair, 255)
        sheen = (*_shade(st.hair, 1.35), 150)
        strand = (*_shade(st.hair, 0.7), 200)
        if st.hair_style == "short":
            # Hairline with a side part on the presenter's right (screen left) and short
            # sideburns in front of the ears.
            def forehead(x: np.ndarray) -> np.ndarray:
                part = 0.012 * np.exp(-(((x + 0.042) / 0.01) ** 2))
                return -0.1 + 0.05 * np.abs(x / a) ** 4 - part

            hairline = np.concatenate(
                [
                    [[a + 0.006, 0.014], [a - 0.006, 0.01], [a - 0.01, -0.04]],
                    _arc(a - 0.014, -a + 0.014, 50, forehead),
                    [[-a + 0.01, -0.04], [-a + 0.006, 0.01], [-a - 0.006, 0.014]],
                ]
            )
            pen.polygon(np.concatenate([self._hair_outline(), hairline]), hair)
            # Comb lines sweep from the part across the crown; a soft sheen on the far side.
            for k in range(5):
                x0 = -0.04 + 0.005 * k
                pen.stroke(
                    _arc(
                        x0,
                        x0 + 0.09 - 0.008 * k,
                        16,
                        lambda x, x0=x0, k=k: -0.115 - 0.012 * k + 1.6 * (x - x0 - 0.035) ** 2,
                    ),
                    strand,
                    0.0022 * np.sin(np.linspace(0.2, np.pi - 0.2, 16)),
                )
            return
        # Bob / long: a cap with a side-swept fringe and locks framing the face over the ears.
        top = self._hair_outline()[:60]
        fringe = np.concatenate(
            [
                [[a + 0.03, 0.13], [a + 0.004, 0.12], [a - 0.006, 0.04], [a - 0.02, -0.045]],
                _arc(
                    a - 0.03,
                    -0.02,
                    30,
                    lambda x: -0.06 - 0.05 * ((a - 0.03 - x) / (a + 0.01)) ** 0.7,
                ),
                _arc(
                    -0.03,
                    -a + 0.012,
                    20,
                    lambda x: -0.108 + 0.07 * ((-0.03 - x) / (a - 0.042)) ** 1.6,
                ),
                [[-a + 0.003, 0.03], [-a - 0.006, 0.12], [-a - 0.03, 0.13]],
            ]
        )
        pen.polygon(np.concatenate([top, fringe]), hair)
        # Sheen on the crown and strands in the sweep give the hair some volume.
        pen.stroke(
            _arc(-0.07, 0.02, 24, lambda x: -0.175 + 0.9 * (x + 0.02) ** 2),
            sheen,
            0.007 * np.sin(np.linspace(0.2, np.pi - 0.2, 24)),
        )
        for k, x0 in enumerate((-0.02, 0.02, 0.055)):
            pen.stroke(
                _arc(
                    x0,
                    x0 + 0.04 + 0.01 * k,
                    12,
                    lambda x, x0=x0: -0.15 + 0.07 * ((x - x0) / 0.05) ** 1.3,
                ),
                strand,
                0.0025 * np.sin(np.linspace(0.2, np.pi - 0.2, 12)),
            )

    # ----------------------------------------------------------------- per-frame features

    def _crop_box(
        self, box: tuple[float, float, float, float], dx: float, dy: float = 0.0
    ) -> tuple[int, int, int, int]:
        """Integer sprite-pixel box covering a head-unit box (x0, y0, x1, y1) shifted by
        (dx, dy)."""
        ox, oy = self._sprite_origin
        u = self._unit
        x0 = math.floor(ox + (box[0] + dx) * u)
        y0 = math.floor(oy + (box[1] + dy) * u)
        x1 = math.ceil(ox + (box[2] + dx) * u)
        y1 = math.ceil(oy + (box[3] + dy) * u)
        return x0, y0, x1, y1

    def _feature_pen(
        self, crop: tuple[int, int, int, int], shift: tuple[float, float] = (0.0, 0.0)
    ) -> _Pen:
        """A supersampled canvas for one crop, pre-filled with skin colour at zero alpha so that
        its anti-aliased edges blend towards skin, never towards black. Its head-unit origin
        is moved by ``shift`` (head units): what it paints slides over the face."""
        ss = SUPERSAMPLE
        x0, y0, x1, y1 = crop
        canvas = Image.new("RGBA", ((x1 - x0) * ss, (y1 - y0) * ss), (*self.style.skin, 0))
        origin = ((self._sprite_origin[0] - x0) * ss, (self._sprite_origin[1] - y0) * ss)
        if shift != (0.0, 0.0):
            origin = (
                origin[0] + shift[0] * self._unit * ss,
                origin[1] + shift[1] * self._unit * ss,
            )
        return _Pen(canvas, origin, self._unit * ss)

    def _feature_patch(self, key: tuple, paint: Callable[[_Pen], None]) -> Image.Image:
        """The RGBA patch ``paint`` draws on the feature canvas of ``key``'s crop and shift
        (``key[1]``, ``key[2]``), downsampled; ``key`` holds every input of the drawing, so a
        patch drawn before is reused as it is (the same pixels). The eyes hold still between
        blinks and saccades, the mouth in every pause: most frames redraw nothing."""
        patch = self._patches.get(key)
        if patch is not None:
            self._patches.move_to_end(key)
            return patch
        pen = self._feature_pen(key[1], key[2])
        paint(pen)
        patch = pen.image.reduce(SUPERSAMPLE)
        self._patches[key] = patch
        if len(self._patches) > FEATURE_PATCHES_KEPT:
            self._patches.popitem(last=False)
        return patch

    def _paint_eye(
        self, pen: _Pen, ex: float, blink: float, gaze: tuple[float, float], smile: float = 0.0
    ) -> None:
        """One eye; ``smile`` (0-1) raises the lower lid (the cheek raiser of a felt smile,
        Ekman, Davidson & Friesen 1990, "The Duchenne smile", J. Pers. Soc. Psychol. 58(2))."""
        st = self.style
        sign = 1.0 if ex > 0 else -1.0
        hw, up, low = 0.026, 0.0148, 0.0093
        xs = np.linspace(-hw, hw, 25)
        s = xs / hw
        outer = sign * s  # +1 at the outer corner
        tilt = 0.0025 * outer  # outer corners slightly raised: a friendly look
        up_open = EYE_Y - up * (1 - s**2) ** 0.85 - tilt - 0.0015 * (1 - s**2) * (-outer)
        low_open = EYE_Y + low * (1 - s**2) ** 0.9 - tilt
        if smile > 0:
            low_open = low_open - 0.35 * smile * low * (1 - s**2) ** 0.9
        closed = EYE_Y + 0.55 * low * (1 - s**2) - tilt
        o = 1.0 - blink
        upper = closed + o * (up_open - closed)
        lower = closed + o * (low_open - closed)
        lid_colour = (38, 26, 24, 255)
        crease = (*_shade(st.skin, 0.8), 255)
        # Lid crease, fixed: only the lid below it moves.
        pen.stroke(
            np.stack([ex + xs[3:-3] * 1.02, up_open[3:-3] - 0.0065], axis=1),
            crease,
            0.0018 * np.sin(np.linspace(0.3, np.pi - 0.3, len(xs) - 6)),
        )
        if o > 0.12:
            almond = np.concatenate(
                [np.stack([ex + xs, upper], 1), np.stack([ex + xs, lower], 1)[::-1]]
            )
            mask = Image.new("L", pen.image.size, 0)
            ImageDraw.Draw(mask).polygon(pen.xy(almond), fill=255)
            eye = Image.new("RGBA", pen.image.size, (250, 248, 245, 255))
            epen = _Pen(eye, pen.origin, pen.scale)
            ix = ex + 0.0075 * gaze[0]
            iy = EYE_Y - 0.001 + 0.004 * gaze[1]
            epen.ellipse(ix, iy, 0.0119, 0.0119, (*_shade(st.iris, 0.6), 255))
            epen.ellipse(ix, iy, 0.0103, 0.0103, (*st.iris, 255))
            epen.ellipse(ix, iy + 0.0022, 0.0082, 0.0066, (*_shade(st.iris, 1.25), 255))
            epen.ellipse(ix, iy, 0.0053, 0.0053, (14, 10, 10, 255))
            epen.ellipse(ix + 0.0039, iy - 0.0042, 0.0024, 0.0024, (255, 255, 255, 255))
            # The upper lid's shadow on the eyeball.
            epen.polygon(
                np.concatenate(
                    [
                        np.stack([ex + xs, upper - 0.002], 1),
                        np.stack([ex + xs, upper + 0.0035], 1)[::-1],
                    ]
                ),
                (120, 90, 85, 90),
            )
            pen.image.paste(eye, (0, 0), mask)
            lash_w = (0.0042 if st.lashes else 0.003) * np.sin(np.linspace(0.15, np.pi - 0.15, 25))
            pen.stroke(np.stack([ex + xs, upper], 1), lid_colour, lash_w)
            if st.lashes:  # a small wing at the outer corner
                k = -1 if sign > 0 else 0
                x_c, y_c = ex + xs[k], upper[k]
                wing = np.array(
                    [
                        [x_c - sign * 0.006, y_c - 0.0018],
                        [x_c + sign * 0.005, y_c - 0.0045],
                        [x_c - sign * 0.002, y_c + 0.0012],
                    ]
                )
                pen.polygon(wing, lid_colour)
            pen.stroke(
                np.stack([ex + xs[4:-2], lower[4:-2]], 1),
                (*_shade(st.skin, 0.72), 255),
                0.0012 * np.sin(np.linspace(0.2, np.pi - 0.2, len(xs) - 6)),
            )
        else:
            pen.stroke(
                np.stack([ex + xs, upper], 1),
                lid_colour,
                0.0034 * np.sin(np.linspace(0.15, np.pi - 0.15, 25)),
            )

    def _paint_mouth(self, pen: _Pen, mouth: MouthShape, smile: float = 0.0) -> None:
        """Lips, opening, teeth and tongue from the four mouth parameters.

        The mapping is our choice, tuned by eye: spread widens the mouth (0.82-1.18 of the
        relaxed width), rounding narrows it by up to a third and thickens the lips (protrusion),
        the jaw opens the lips mostly by lowering the lower lip (about 70 %, the upper lip is
        raised by the rest), and teeth shows a band of the upper incisors under the upper lip.
        ``smile`` (-1..1, a cue's) adds to the style's smile, widening the mouth a little, or
        takes it away, down to slightly lowered corners.
        """
        st = self.style
        jaw, spread, rnd, teeth = mouth.jaw, mouth.spread, mouth.round, mouth.teeth
        half_w = 0.039 * (0.82 + 0.36 * spread) * (1 - 0.33 * rnd)
        smiling = st.smile
        if smile > 0:
            smiling = st.smile + (1 - st.smile) * smile
            half_w *= 1 + 0.08 * smile
        elif smile < 0:
            smiling = st.smile * (1 + smile) + 0.25 * smile
        inner_w = half_w * (0.86 - 0.32 * rnd)
        opening = 0.046 * jaw * (1 + 0.6 * rnd)
        open_up, open_low = 0.3 * opening, 0.7 * opening
        thick_up = 0.0078 * (1 + 0.5 * rnd)
        thick_low = 0.0105 * (1 + 0.45 * rnd)
        lift = (0.0055 * smiling + 0.004 * max(smile, 0.0)) * (1 - rnd) * (1 - 0.5 * jaw)
        n = 41
        xs = np.linspace(-half_w, half_w, n)
        so = xs / half_w
        si = np.clip(xs / inner_w, -1, 1)
        seam = MOUTH_Y - lift * so**2
        gap = 1 - si**2
        inner_top = seam - open_up * gap**0.7
        inner_bot = seam + open_low * gap**0.6
        bow = (
            1
            + 0.18 * np.exp(-(((np.abs(so) - 0.3) / 0.16) ** 2))
            - 0.3 * np.exp(-((so / 0.12) ** 2))
        )
        outer_top = inner_top - thick_up * (1 - so**2) ** 0.55 * bow
        outer_bot = inner_bot + thick_low * (1 - so**2) ** 0.6
        lip_low = (*st.lips, 255)
        lip_up = (*_shade(st.lips, 0.86), 255)
        # Lip outline shadow first, slightly larger, for definition against the skin.
        rim = (*_mix(st.skin_shadow, st.lips, 0.4), 255)
        outline = np.concatenate([np.stack([xs, outer_top], 1), np.stack([xs, outer_bot], 1)[::-1]])
        centre = np.array([0.0, MOUTH_Y])
        pen.polygon(centre + (outline - centre) * [1.04, 1.1], rim)
        pen.polygon(
            np.concatenate([np.stack([xs, outer_top], 1), np.stack([xs, inner_top], 1)[::-1]]),
            lip_up,
        )
        pen.polygon(
            np.concatenate([np.stack([xs, inner_bot], 1), np.stack([xs, outer_bot], 1)[::-1]]),
            lip_low,
        )
        if opening * self._unit * SUPERSAMPLE > 0.6:
            hole = np.concatenate(
                [np.stack([xs, inner_top], 1), np.stack([xs, inner_bot], 1)[::-1]]
            )
            mask = Image.new("L", pen.image.size, 0)
            ImageDraw.Draw(mask).polygon(pen.xy(hole), fill=255)
            inside = Image.new("RGBA", pen.image.size, (58, 20, 26, 255))
            ipen = _Pen(inside, pen.origin, pen.scale)
            ipen.ellipse(
                0,
                MOUTH_Y + open_low + 0.004,
                inner_w * 0.75,
                0.6 * open_low + 0.004,
                (176, 78, 86, 255),
            )  # tongue
            if teeth > 0.02:
                band = 0.0022 + 0.0105 * teeth
                tooth_top = inner_top - 0.003
                tooth_bottom = inner_top + band * (1 - 0.5 * (np.abs(so) ** 2))
                ipen.polygon(
                    np.concatenate(
                        [
                            np.stack([xs * 0.9, tooth_top], 1),
                            np.stack([xs * 0.9, tooth_bottom], 1)[::-1],
                        ]
                    ),
                    (240, 236, 228, 255),
                )
                ipen.line(
                    np.array([[0.0, MOUTH_Y - open_up], [0.0, MOUTH_Y - open_up + band]]),
                    (205, 198, 190, 255),
                    0.0008,
                )
                if teeth > 0.5 and jaw > 0.25:  # lower incisors peek out on wide, toothy vowels
                    low_top = inner_bot - 0.0035 * (teeth - 0.5) * 2 * (1 - so**2)
                    ipen.polygon(
                        np.concatenate(
                            [
                                np.stack([xs * 0.7, low_top], 1),
                                np.stack([xs * 0.7, inner_bot + 0.002], 1)[::-1],
                            ]
                        ),
                        (226, 220, 212, 255),
                    )
            pen.image.paste(inside, (0, 0), mask)
        # The line where the lips meet, darkest at the corners.
        # It fades out as the lips part and the dark opening takes over.
        closeness = max(0.0, 1.0 - opening / 0.004)
        if closeness > 0:
            seam_w = 0.0022 * (0.4 + 0.6 * np.abs(so) ** 0.5) * (1 - 0.1 * so**2) * closeness
            middle = 0.5 * (inner_top + inner_bot)
            pen.stroke(np.stack([xs, middle], 1), (*_shade(st.lips, 0.45), 255), seam_w)
        # Gloss on the lower lip and soft corner creases.
        gloss_y = inner_bot[n // 2] + 0.45 * thick_low * (1 + 0.3 * rnd)
        pen.ellipse(0.003, gloss_y, 0.3 * half_w, 0.22 * thick_low, (*_shade(st.lips, 1.35), 150))
        for sign in (-1.0, 1.0):
            pen.ellipse(
                sign * (half_w + 0.0015),
                MOUTH_Y - lift - 0.0005,
                0.0022,
                0.0022,
                (*st.skin_shadow, 150),
            )

    # ----------------------------------------------------------------- frames

    def pose(self, t: float, speaking: float = 0.0) -> HeadPose:
        """Head pose at ``t`` seconds (``speaking`` in [0, 1] livens the motion)."""
        return self._motion.pose(t, speaking)

    def blink(self, t: float) -> float:
        """Lid closure at ``t`` seconds, 0 open to 1 closed."""
        return self._blinks.closure(t)

    def _head_transform(self, pose: HeadPose) -> tuple[np.ndarray, np.ndarray]:
        """(matrix, offset) mapping sprite pixel coordinates to frame pixel coordinates: the
        roll, and the narrowing of a head turn (:data:`YAW_SQUASH`) about the neck pivot."""
        u = self._unit
        theta = math.radians(pose.roll_deg)
        c, s = math.cos(theta), math.sin(theta)
        rot = np.array([[c, -s], [s, c]])
        if pose.yaw:
            rot = rot @ np.diag([1.0 - YAW_SQUASH * abs(pose.yaw), 1.0])
        pivot_sprite = np.array([self._sprite_origin[0], self._sprite_origin[1] + NECK_PIVOT_Y * u])
        pivot_frame = np.array(
            [
                self._rest_centre[0] + pose.dx * u,
                self._rest_centre[1] + (NECK_PIVOT_Y + pose.dy) * u,
            ]
        )
        return rot, pivot_frame - rot @ pivot_sprite

    def _head_point(self, rot: np.ndarray, offset: np.ndarray, x: float, y: float) -> np.ndarray:
        """Frame pixel position of a head-unit point."""
        p = np.array(
            [self._sprite_origin[0] + x * self._unit, self._sprite_origin[1] + y * self._unit]
        )
        return rot @ p + offset

    def _box(
        self,
        rot: np.ndarray,
        offset: np.ndarray,
        box: tuple[float, float, float, float],
        shift: tuple[float, float] = (0.0, 0.0),
    ) -> Box:
        cx, cy = self._head_point(
            rot, offset, (box[0] + box[2]) / 2 + shift[0], (box[1] + box[3]) / 2 + shift[1]
        )
        w = round((box[2] - box[0]) * self._unit)
        h = round((box[3] - box[1]) * self._unit)
        x0 = round(cx - w / 2)
        y0 = round(cy - h / 2)
        return x0, y0, x0 + w, y0 + h

    def _body_at_phase(self, phase: int) -> Image.Image:
        """The body strip moved down by ``phase / BREATH_PHASES`` of a pixel (bilinear), made
        once per phase: the shift was ~40 % of a frame's drawing time when made every frame.
        Frames so large that the phases would take over :data:`BREATH_CACHE_BYTES` shift the
        body every frame instead."""
        body = self._body_phases.get(phase)
        if body is None:
            body = self._body.transform(
                self._body.size,
                Image.Transform.AFFINE,
                (1, 0, 0, 0, 1, -phase / BREATH_PHASES),
                Image.Resampling.BILINEAR,
            )
            if self._body.width * self._body.height * 4 * BREATH_PHASES <= BREATH_CACHE_BYTES:
                self._body_phases[phase] = body
        return body

    def _warp(
        self,
        frame: Image.Image,
        sprite: Image.Image,
        rot: np.ndarray,
        offset: np.ndarray,
        rotation: bool = True,
    ) -> None:
        """Composite ``sprite`` onto ``frame`` through the affine map ``rot``, ``offset``
        (bilinear); ``rotation`` says ``rot`` is a pure rotation."""
        # Only the sprite's opaque part and a margin wider than the bilinear kernel are warped
        # (a head sprite is about two thirds transparent): the same samples (up to the rounding
        # of the shifted origin), a third of the work.
        bbox = sprite.getchannel("A").getbbox()
        if bbox is None:
            return
        bx = max(bbox[0] - _WARP_MARGIN, 0)
        by = max(bbox[1] - _WARP_MARGIN, 0)
        ex = min(bbox[2] + _WARP_MARGIN, sprite.width)
        ey = min(bbox[3] + _WARP_MARGIN, sprite.height)
        if (bx, by, ex, ey) != (0, 0, sprite.width, sprite.height):
            sprite = sprite.crop((bx, by, ex, ey))
            offset = offset + rot @ np.array([bx, by], dtype=np.float64)
        sw, sh = sprite.size
        corners = np.array([[0, 0], [sw, 0], [0, sh], [sw, sh]], dtype=np.float64)
        mapped = corners @ rot.T + offset
        x0, y0 = np.floor(mapped.min(axis=0)).astype(int)
        x1, y1 = np.ceil(mapped.max(axis=0)).astype(int)
        # A rotation's inverse is its transpose; a head turn's narrowing or a mirrored arm
        # needs the general one.
        inv = rot.T if rotation else np.linalg.inv(rot)
        # Output pixel (X, Y) of the warped patch sits at frame (x0 + X, y0 + Y).
        shift = inv @ (np.array([x0, y0], dtype=np.float64) - offset)
        data = (inv[0, 0], inv[0, 1], shift[0], inv[1, 0], inv[1, 1], shift[1])
        patch = sprite.transform(
            (int(x1 - x0), int(y1 - y0)), Image.Transform.AFFINE, data, Image.Resampling.BILINEAR
        )
        _composite_at(frame, patch, int(x0), int(y0))

    # ----------------------------------------------------------------- cue motion

    @functools.cached_property
    def _head_bare(self) -> Image.Image:
        """The head sprite without the nose and the brows, drawn the first time a frame moves
        them (:meth:`render`)."""
        return self._draw_sprite(lambda pen: self._paint_head(pen, features=False))

    def _local_sprite(
        self, paint, box: tuple[float, float, float, float]
    ) -> tuple[Image.Image, np.ndarray]:
        """An RGBA sprite of the head-unit box (x0, y0, x1, y1) around a local origin, painted
        at 4x and downsampled, with the origin's pixel position in it."""
        ss = SUPERSAMPLE
        u = self._unit
        ox, oy = math.ceil(-box[0] * u) + 2, math.ceil(-box[1] * u) + 2
        w, h = ox + math.ceil(box[2] * u) + 2, oy + math.ceil(box[3] * u) + 2
        canvas = Image.new("RGBA", (w * ss, h * ss), (0, 0, 0, 0))
        paint(_Pen(canvas, (ox * ss, oy * ss), u * ss))
        return canvas.reduce(ss), np.array([ox, oy], dtype=np.float64)

    @functools.cached_property
    def _forearm(self) -> tuple[Image.Image, np.ndarray]:
        """The jacket sleeve from below the elbow (the origin) to the shirt cuff at the wrist,
        along +x; drawn the first time an arm is raised."""
        st = self.style
        sleeve = (*_shade(st.jacket, 1.08), 255)
        edge = (*_shade(st.jacket, 0.62), 255)

        def paint(pen: _Pen) -> None:
            w = FOREARM
            outline = np.array(
                [[-0.1, -0.05], [w - 0.012, -0.036], [w - 0.012, 0.036], [-0.1, 0.05]]
            )
            pen.polygon(outline, sleeve)
            pen.line(outline[:2], edge, 0.004)
            pen.line(outline[2:], edge, 0.004)
            pen.line(
                np.array([[0.02, 0.018], [0.16, 0.012]]), (*_shade(st.jacket, 0.8), 255), 0.003
            )
            cuff = np.array([[w - 0.016, -0.034], [w + 0.004, -0.031], [w + 0.004, 0.031],
                             [w - 0.016, 0.034]])  # fmt: skip
            pen.polygon(cuff, (*st.shirt, 255))
            pen.line(cuff[1:3], (*_shade(st.shirt, 0.78), 255), 0.002)

        return self._local_sprite(paint, (-0.11, -0.06, FOREARM + 0.01, 0.06))

    @functools.cached_property
    def _hand(self) -> tuple[Image.Image, np.ndarray]:
        """An open hand, fingers together and the thumb on the upper side, from the wrist (the
        origin) along +x: the presenting gesture toward a graphic."""
        st = self.style
        skin = (*st.skin, 255)
        line = (*_shade(st.skin, 0.72), 255)

        def paint(pen: _Pen) -> None:
            pen.ellipse(0.03, 0.0, 0.036, 0.029, line)
            pen.ellipse(0.03, 0.0, 0.033, 0.026, skin)
            fingers = np.array(
                [[0.03, -0.024], [0.1, -0.022], [0.114, -0.012], [0.116, 0.004], [0.104, 0.018],
                 [0.03, 0.024]]
            )  # fmt: skip
            pen.polygon(fingers * [1.0, 1.12], line)
            pen.polygon(fingers, skin)
            for y in (-0.012, 0.0, 0.011):
                pen.line(np.array([[0.07, y], [0.108, y * 0.8]]), line, 0.0016)
            thumb = np.array([[0.012, -0.018], [0.04, -0.042], [0.064, -0.05], [0.07, -0.042],
                              [0.05, -0.022]])  # fmt: skip
            centre = thumb.mean(axis=0)
            pen.polygon(centre + (thumb - centre) * 1.12, line)
            pen.polygon(thumb, skin)

        return self._local_sprite(paint, (-0.01, -0.06, HAND_LENGTH + 0.005, 0.04))

    def _arm_transforms(
        self, side: float, raised: float, target: tuple[float, float], breath: float
    ) -> list[tuple[Image.Image, np.ndarray, np.ndarray]]:
        """(sprite, matrix, offset) of the forearm and the hand of the arm on ``side`` (+1
        screen right, -1 left) raised by ``raised`` (0-1) toward ``target`` (frame fractions).
        Lowered, the arm is upright and :data:`ARM_DROP` lower, out of the frame."""
        width, height = self.size
        u = self._unit
        cx, cy = self._rest_centre
        # The target in head units from the head, mirrored for the left arm (drawn as the
        # mirror image of a right arm).
        tx = side * (target[0] * width - cx) / u
        ty = (target[1] * height - cy) / u
        ex, ey = ARM_ELBOW[0] * self.style.face_width, ARM_ELBOW[1]
        aim = math.degrees(math.atan2(-(ty - ey), tx - ex))  # above the horizontal
        forearm_up = min(max(aim, FOREARM_ANGLES[0]), FOREARM_ANGLES[1])
        wx = ex + FOREARM * math.cos(math.radians(forearm_up))
        wy = ey - FOREARM * math.sin(math.radians(forearm_up))
        hand_aim = math.degrees(math.atan2(-(ty - wy), tx - wx))
        hand_up = forearm_up + min(max(hand_aim - forearm_up, HAND_TURN[0]), HAND_TURN[1])
        # From upright (90 degrees) to the aim as the arm rises.
        forearm_deg = 90.0 + raised * (forearm_up - 90.0)
        hand_deg = 90.0 + raised * (hand_up - 90.0)
        # A lowered arm is further out, so the rising hand comes up beside the body.
        elbow = np.array([ex + (1.0 - raised) * 0.12, ey + (1.0 - raised) * ARM_DROP + breath])
        fa = math.radians(forearm_deg)
        wrist = elbow + FOREARM * np.array([math.cos(fa), -math.sin(fa)])
        mirror = np.diag([side, 1.0])
        out = []
        for (sprite, origin), joint, degrees in (
            (self._forearm, elbow, forearm_deg),
            (self._hand, wrist, hand_deg),
        ):
            a = math.radians(-degrees)  # y points down: up is a negative angle
            rot = mirror @ np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
            place = np.array([cx + side * joint[0] * u, cy + joint[1] * u])
            out.append((sprite, rot, place - rot @ origin))
        return out

    # ----------------------------------------------------------------- frames

    def render(
        self,
        t: float,
        mouth: MouthShape | None = None,
        speaking: float = 0.0,
        expression: Expression | None = None,
    ) -> PresenterFrame:
        """The presenter at ``t`` seconds with the given mouth (rest mouth when None) and cue
        channels (``expression``, :mod:`avatar.cues`; none when None). A neutral expression
        gives exactly the frame without one."""
        if not math.isfinite(t) or t < 0:
            raise AvatarError(f"frame time must be a finite number >= 0 s, got {t!r}")
        mouth = mouth or MouthShape.rest()
        cue = expression or NEUTRAL
        blink = self._blinks.closure(t)
        gaze = self._gaze.at(t)
        pose = self._motion.pose(t, speaking)
        if cue.neutral:
            head = self._head.copy()
            shift = (0.0, 0.0)
            eye_crops = self._eye_crops
            mouth_crop = self._mouth_crop
        else:
            if cue.look:
                gaze = (
                    gaze[0] * (1 - cue.look) + cue.gaze[0],
                    gaze[1] * (1 - cue.look) + cue.gaze[1],
                )
            pose = HeadPose(
                roll_deg=pose.roll_deg,
                dx=pose.dx + YAW_DX * cue.yaw,
                dy=pose.dy + PITCH_DY * cue.pitch,
                breath=pose.breath,
                yaw=cue.yaw,
                pitch=cue.pitch,
            )
            shift = (YAW_SHIFT * cue.yaw, PITCH_SHIFT * cue.pitch)
            head = self._head_bare.copy()
            nose_shift = (NOSE_YAW_SHIFT * cue.yaw, shift[1])
            for box, moved, paint in (
                (NOSE_CROP, nose_shift, self._paint_nose),
                (BROW_CROP, shift, lambda pen: self._paint_brows(pen, cue.brow)),
            ):
                crop = self._crop_box(box, moved[0], moved[1])
                pen = self._feature_pen(crop, moved)
                paint(pen)
                head.alpha_composite(pen.image.reduce(SUPERSAMPLE), dest=crop[:2])
            eye_crops = [self._crop_box(EYE_CROP, dx + shift[0], shift[1])
                         for dx in (-self._eye_x, self._eye_x)]  # fmt: skip
            mouth_crop = self._crop_box(MOUTH_BOX, shift[0], shift[1])
        eye_smile = max(cue.smile, 0.0)
        for crop, ex in zip(eye_crops, (-self._eye_x, self._eye_x), strict=True):
            patch = self._feature_patch(
                ("eye", crop, shift, ex, blink, gaze, eye_smile),
                lambda pen, ex=ex: self._paint_eye(pen, ex, blink, gaze, eye_smile),
            )
            head.alpha_composite(patch, dest=crop[:2])
        patch = self._feature_patch(
            ("mouth", mouth_crop, shift, mouth, cue.smile),
            lambda pen: self._paint_mouth(pen, mouth, cue.smile),
        )
        head.alpha_composite(patch, dest=mouth_crop[:2])

        frame = self._background.copy()
        rot, offset = self._head_transform(pose)
        pure_rotation = not pose.yaw
        if self.style.hair_style != "short":
            self._warp(frame, self._hair_back, rot, offset, pure_rotation)
        breath_px = pose.breath * self._unit
        body_y = self._body_top + breath_px
        iy = math.floor(body_y)
        phase = round((body_y - iy) * BREATH_PHASES)
        if phase == BREATH_PHASES:
            iy, phase = iy + 1, 0
        _composite_at(frame, self._body_at_phase(phase), 0, iy)
        for side, raised, target in (
            (-1.0, cue.arm_left, cue.left_target),
            (1.0, cue.arm_right, cue.right_target),
        ):
            if raised > 0:
                for sprite, matrix, place in self._arm_transforms(
                    side, raised, target, pose.breath
                ):
                    self._warp(frame, sprite, matrix, place, rotation=False)
        self._warp(frame, head, rot, offset, pure_rotation)
        image = np.asarray(frame.convert("RGB"))
        return PresenterFrame(
            image=image,
            time=float(t),
            mouth=mouth,
            blink=blink,
            pose=pose,
            gaze=gaze,
            face_box=self._box(rot, offset, FACE_BOX, shift),
            mouth_box=self._box(rot, offset, MOUTH_BOX, shift),
            expression=cue,
        )

    def channels(
        self, cues: Iterable[Cue], n_frames: int, fps: float, start_frame: int = 0
    ) -> Channels:
        """The per-frame cue channels (:func:`avatar.cues.cue_channels`) of ``cues`` for this
        presenter's frame (head position and aspect)."""
        width, height = self.size
        head = (self._rest_centre[0] / width, self._rest_centre[1] / height)
        return cue_channels(cues, n_frames, fps, start_frame, head=head, aspect=width / height)

    def frames(
        self,
        track: MouthTrack,
        speaking: np.ndarray | None = None,
        start_frame: int = 0,
        cues: Iterable[Cue] = (),
    ) -> Iterator[PresenterFrame]:
        """Frames for a mouth track, one per track entry at ``track.fps``.

        ``speaking`` (per frame, 0-1, optional) livens the head motion during speech; by
        default it is derived from the jaw track, smoothed over about half a second.
        ``cues`` (:class:`avatar.cues.Cue`, times from frame 0) turn the head, raise an arm
        and change the expression."""
        if speaking is None:
            speaking = speaking_envelope(track)
        elif len(speaking) != len(track):
            raise AvatarError(f"speaking has {len(speaking)} frames, the mouth track {len(track)}")
        cues = tuple(cues)
        channels = self.channels(cues, len(track), track.fps, start_frame) if cues else None
        for i in range(len(track)):
            t = (start_frame + i) / track.fps
            expression = channels[i] if channels is not None else None
            yield self.render(t, track[i], float(speaking[i]), expression)


#: Transparent pixels kept around a sprite's opaque part when it is warped (:meth:`_warp`):
#: more than the one-pixel reach of the bilinear filter.
_WARP_MARGIN = 3


def _composite_at(frame: Image.Image, layer: Image.Image, x0: int, y0: int) -> None:
    """Alpha-composite ``layer`` with its top-left corner at (x0, y0), which may lie outside
    the frame on any side (PIL needs a non-negative destination inside the frame)."""
    left, top = max(0, -x0), max(0, -y0)
    right = min(layer.width, frame.width - x0)
    bottom = min(layer.height, frame.height - y0)
    if right <= left or bottom <= top:
        return
    if (left, top, right, bottom) != (0, 0, layer.width, layer.height):
        layer = layer.crop((left, top, right, bottom))
    frame.alpha_composite(layer, dest=(x0 + left, y0 + top))


def speaking_envelope(track: MouthTrack) -> np.ndarray:
    """How much the presenter is talking, per frame: jaw activity through a 0.5 s moving
    average, saturating at a typical speaking level (our choice)."""
    jaw = track.column("jaw").astype(np.float64)
    n = max(1, round(0.5 * track.fps))
    kernel = np.ones(n) / n
    activity = np.convolve(jaw, kernel, mode="same") if len(jaw) else jaw
    return np.clip(activity / 0.25, 0.0, 1.0)


@functools.lru_cache(maxsize=8)
def _cached_presenter(
    style: PresenterStyle, size: tuple[int, int], seed: int
) -> ProceduralPresenter:
    return ProceduralPresenter(style, size, seed)


def render_frame(
    t: float,
    mouth: MouthShape | None = None,
    style: PresenterStyle | None = None,
    size: tuple[int, int] = (256, 256),
    seed: int = 0,
) -> np.ndarray:
    """One HxWx3 uint8 frame of the presenter at ``t`` seconds (blink, gaze and head motion
    follow from ``seed``; the same arguments always give the same pixels)."""
    presenter = _cached_presenter(style or PresenterStyle.default(), tuple(size), int(seed))
    return presenter.render(t, mouth).image
