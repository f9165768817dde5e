"""Cues: what the presenter does while a sentence is spoken, and the eased channels they drive.

A :class:`Cue` says *when* (``start_s`` to ``end_s``, seconds from the start of the audio) and
*what*: ``"greet"`` and ``"close"`` (a smile and a slight brow lift), ``"alert"`` (a serious
face: brows lowered and drawn together, the resting smile gone) and ``"point"`` (the head turns
and the eyes look toward ``target`` for the first :data:`LOOK_S` of the cue, then back to the
camera; the arm on that side rises and gestures toward it for up to :data:`GESTURE_S`).

``target`` is a point in fractions of the presenter frame's width and height, (0, 0) its
top-left corner; it may lie outside the frame (a card to the right of the presenter has
x > 1). The caller knows its layout; the avatar only knows its own frame.

:func:`cue_channels` turns cues into per-frame pose parameters (:class:`Channels`). Every
channel rises with a smooth-step over :data:`ATTACK_S` and falls with one over
:data:`RELEASE_S` (no jumps: the largest change per second is 1.5 / :data:`ATTACK_S` of a
channel's range); cues that overlap blend (weights add, directions are weight-averaged).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from avatar.errors import AvatarError

KINDS = ("greet", "close", "point", "alert")

ATTACK_S = 0.4
"""Rise time of a channel (our choice: a deliberate head turn or expression change takes a few
hundred milliseconds; faster reads as a twitch, slower as sluggish)."""
RELEASE_S = 0.5
"""Fall time of a channel (our choice: relaxing is a little slower than the onset)."""
LOOK_S = 1.6
"""How long the head and eyes stay on a pointed-at target before returning to the camera (our
choice: a presenter glances at the graphic and addresses the viewer again)."""
GESTURE_S = 2.6
"""How long the arm gestures toward a target at most (our choice: a raised arm held through a
long sentence looks stiff)."""
LOOK_DEPTH = 0.7
"""Distance, in frame heights, from the presenter to the plane of the targets: it sets how far
the head turns for a target at a given offset (the yaw channel is the sine of that angle)."""
GREET_BROW = 0.35
"""Brow lift while greeting (an eyebrow flash is part of a friendly greeting, Eibl-Eibesfeldt
1972, "Similarities and differences between cultures in expressive movements")."""
CLOSE_BROW = 0.2


@dataclass(frozen=True)
class Cue:
    """One cue: ``kind`` (one of :data:`KINDS`) from ``start_s`` to ``end_s`` (seconds), with a
    ``target`` (x, y) in fractions of the presenter frame for ``"point"`` (None otherwise)."""

    start_s: float
    end_s: float
    kind: str
    target: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        for name in ("start_s", "end_s"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise AvatarError(f"Cue.{name} must be a finite number >= 0 s, got {value!r}")
        if self.end_s < self.start_s:
            raise AvatarError(f"Cue ends ({self.end_s} s) before it starts ({self.start_s} s)")
        if self.kind not in KINDS:
            raise AvatarError(f"unknown cue kind {self.kind!r}; use {', '.join(KINDS)}")
        if self.kind == "point":
            target = self.target
            if not (
                isinstance(target, tuple)
                and len(target) == 2
                and all(isinstance(v, int | float) and math.isfinite(v) for v in target)
                and all(-10 <= v <= 10 for v in target)
            ):
                raise AvatarError(
                    f"a point cue needs a target (x, y) in frame fractions, within +-10, "
                    f"got {target!r}"
                )
        elif self.target is not None:
            raise AvatarError(f"a {self.kind} cue takes no target, got {self.target!r}")


@dataclass(frozen=True)
class Expression:
    """The cue-driven pose of one frame.

    ``yaw`` (-1..1, positive turns the face to the screen's right) and ``pitch`` (-1..1,
    positive tilts it down) are sines of the turn toward the target; ``gaze`` is the iris
    offset looked at (x -1..1, y -0.5..0.4, as the idle gaze) and ``look`` (0..1) how much it
    replaces the idle gaze; ``arm_left``/``arm_right`` (0..1) raise the arm on that side of the
    screen toward ``left_target``/``right_target`` (frame fractions); ``smile`` (-1..1) adds to
    the style's smile (negative takes it away) and ``brow`` (-1..1) lifts the brows (negative
    lowers them and draws them together)."""

    yaw: float = 0.0
    pitch: float = 0.0
    gaze: tuple[float, float] = (0.0, 0.0)
    look: float = 0.0
    arm_left: float = 0.0
    arm_right: float = 0.0
    left_target: tuple[float, float] = (0.0, 0.5)
    right_target: tuple[float, float] = (1.0, 0.5)
    smile: float = 0.0
    brow: float = 0.0

    @property
    def neutral(self) -> bool:
        """No cue acts on this frame: the presenter renders exactly as without cues."""
        return not any(
            (self.yaw, self.pitch, self.look, self.arm_left, self.arm_right, self.smile, self.brow)
        )


NEUTRAL = Expression()

#: The channels of :class:`Channels` that are drawn directly; their per-frame change is
#: bounded. The targets are only directions of the arms, used while an arm is raised.
CONTINUOUS = (
    "yaw", "pitch", "gaze_x", "gaze_y", "look", "arm_left", "arm_right", "smile", "brow",
)  # fmt: skip


@dataclass(frozen=True)
class Channels:
    """Per-frame arrays (float64, one value per frame) of the :class:`Expression` fields."""

    yaw: np.ndarray
    pitch: np.ndarray
    gaze_x: np.ndarray
    gaze_y: np.ndarray
    look: np.ndarray
    arm_left: np.ndarray
    arm_right: np.ndarray
    left_x: np.ndarray
    left_y: np.ndarray
    right_x: np.ndarray
    right_y: np.ndarray
    smile: np.ndarray
    brow: np.ndarray

    def __len__(self) -> int:
        return len(self.yaw)

    def __getitem__(self, i: int) -> Expression:
        return Expression(
            yaw=float(self.yaw[i]),
            pitch=float(self.pitch[i]),
            gaze=(float(self.gaze_x[i]), float(self.gaze_y[i])),
            look=float(self.look[i]),
            arm_left=float(self.arm_left[i]),
            arm_right=float(self.arm_right[i]),
            left_target=(float(self.left_x[i]), float(self.left_y[i])),
            right_target=(float(self.right_x[i]), float(self.right_y[i])),
            smile=float(self.smile[i]),
            brow=float(self.brow[i]),
        )

    def max_step(self) -> float:
        """The largest change of a drawn channel (:data:`CONTINUOUS`) between two frames."""
        steps = [np.abs(np.diff(getattr(self, name))) for name in CONTINUOUS]
        return float(max((s.max() for s in steps if s.size), default=0.0))


def smoothstep(x: np.ndarray) -> np.ndarray:
    """0 below 0, 1 above 1, ``3x^2 - 2x^3`` between: zero slope at both ends."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def envelope(t: np.ndarray, start: float, end: float, hold: float | None = None) -> np.ndarray:
    """Weight of a cue at times ``t``: smooth-step up over :data:`ATTACK_S` from ``start``, down
    over :data:`RELEASE_S` from ``end`` (or from ``start + hold`` when that is earlier). Exactly
    0 before the start and after the release."""
    stop = end if hold is None else min(end, start + hold)
    return smoothstep((t - start) / ATTACK_S) * (1.0 - smoothstep((t - stop) / RELEASE_S))


def check_cues(cues: Iterable[Cue], duration_s: float | None = None) -> tuple[Cue, ...]:
    """``cues`` as a tuple, each a :class:`Cue` starting within ``duration_s`` (when given);
    otherwise an :class:`AvatarError` naming the cue."""
    checked = tuple(cues)
    for position, cue in enumerate(checked):
        if not isinstance(cue, Cue):
            raise AvatarError(f"cue {position} is a {type(cue).__name__}, not an avatar.cues.Cue")
        if duration_s is not None and cue.start_s > duration_s:
            raise AvatarError(
                f"cue {position} ({cue.kind}) starts at {cue.start_s:.2f} s, after the audio "
                f"ends ({duration_s:.2f} s)"
            )
    return checked


def _weighted(weights: Sequence[np.ndarray], values: Sequence[float], n: int) -> np.ndarray:
    """Weight-averaged value where the weights add to 1 or more, faded in proportion below."""
    if not weights:
        return np.zeros(n)
    total = np.sum(weights, axis=0)
    mixed = np.sum([w * v for w, v in zip(weights, values, strict=True)], axis=0)
    return mixed / np.maximum(total, 1.0)


def _held(weights: Sequence[np.ndarray], values: Sequence[float], n: int, default: float):
    """Weight-averaged value where any weight acts; elsewhere the last value (the first one
    before any), so a lowered arm keeps its last direction."""
    if not weights:
        return np.full(n, default)
    total = np.sum(weights, axis=0)
    mixed = np.sum([w * v for w, v in zip(weights, values, strict=True)], axis=0)
    out = np.full(n, np.nan)
    acting = total > 0
    out[acting] = mixed[acting] / total[acting]
    index = np.where(acting, np.arange(n), -1)
    np.maximum.accumulate(index, out=index)
    first = int(np.argmax(acting)) if acting.any() else -1
    filled = np.where(index >= 0, out[np.maximum(index, 0)], out[first] if first >= 0 else default)
    return filled


def cue_channels(
    cues: Iterable[Cue],
    n_frames: int,
    fps: float,
    start_frame: int = 0,
    head: tuple[float, float] = (0.5, 0.36),
    aspect: float = 1.0,
) -> Channels:
    """Per-frame channels of ``cues`` for frames ``start_frame ... start_frame + n_frames - 1``
    at ``fps``. ``head`` is the presenter's head (eye line) in frame fractions and ``aspect``
    the frame's width over its height: a target's direction is taken from the head."""
    cues = check_cues(cues)
    n = int(n_frames)
    t = (start_frame + np.arange(n)) / float(fps)
    smile = np.zeros(n)
    brow = np.zeros(n)
    looks: list[np.ndarray] = []
    yaws: list[float] = []
    pitches: list[float] = []
    gazes: list[tuple[float, float]] = []
    arms: dict[str, list[np.ndarray]] = {"left": [], "right": []}
    targets: dict[str, list[tuple[float, float]]] = {"left": [], "right": []}
    for cue in cues:
        if cue.kind in ("greet", "close"):
            w = envelope(t, cue.start_s, cue.end_s)
            smile += w
            brow += (GREET_BROW if cue.kind == "greet" else CLOSE_BROW) * w
        elif cue.kind == "alert":
            w = envelope(t, cue.start_s, cue.end_s)
            smile -= w
            brow -= w
        else:
            assert cue.target is not None
            vx = (cue.target[0] - head[0]) * aspect
            vy = cue.target[1] - head[1]
            yaw = vx / math.hypot(vx, LOOK_DEPTH)
            pitch = vy / math.hypot(vy, LOOK_DEPTH)
            looks.append(envelope(t, cue.start_s, cue.end_s, LOOK_S))
            yaws.append(yaw)
            pitches.append(pitch)
            gazes.append((float(np.clip(1.6 * yaw, -1, 1)), float(np.clip(1.2 * pitch, -0.5, 0.4))))
            side = "right" if vx >= 0 else "left"
            arms[side].append(envelope(t, cue.start_s, cue.end_s, GESTURE_S))
            targets[side].append(cue.target)
    look = np.minimum(np.sum(looks, axis=0), 1.0) if looks else np.zeros(n)
    arm = {
        side: np.minimum(np.sum(arms[side], axis=0), 1.0) if arms[side] else np.zeros(n)
        for side in arms
    }
    defaults = {"left": (0.0, 0.5), "right": (1.0, 0.5)}
    xy = {
        side: [
            _held(arms[side], [p[k] for p in targets[side]], n, defaults[side][k]) for k in (0, 1)
        ]
        for side in arms
    }
    return Channels(
        yaw=_weighted(looks, yaws, n),
        pitch=_weighted(looks, pitches, n),
        gaze_x=_weighted(looks, [g[0] for g in gazes], n),
        gaze_y=_weighted(looks, [g[1] for g in gazes], n),
        look=look,
        arm_left=arm["left"],
        arm_right=arm["right"],
        left_x=xy["left"][0],
        left_y=xy["left"][1],
        right_x=xy["right"][0],
        right_y=xy["right"][1],
        smile=np.clip(smile, -1.0, 1.0),
        brow=np.clip(brow, -1.0, 1.0),
    )
