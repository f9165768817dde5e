"""Mouth parameters shared by the renderer and the speech expert.

A mouth is four numbers in [0, 1]; a track is those four numbers per video frame. The
parametrisation follows the usual articulatory split of visual speech into jaw opening, lip
spreading and lip rounding/protrusion (Cohen & Massaro 1993, "Modeling coarticulation in
synthetic visual speech", in *Models and Techniques in Computer Animation*, pp. 139-156, whose
face model is driven by jaw rotation, lip protrusion and mouth width among others), plus the
visibility of the upper teeth, which is what tells /f v th s/ apart from a closed or rounded mouth.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from avatar.errors import AvatarError

MOUTH_PARAMETERS: tuple[str, ...] = ("jaw", "spread", "round", "teeth")


@dataclass(frozen=True, slots=True)
class MouthShape:
    """One mouth pose; every field is in [0, 1].

    * ``jaw``: jaw opening, 0 = lips together, 1 = widest open vowel.
    * ``spread``: lip width, 0 = narrow, 0.4 = relaxed, 1 = wide smile /i/.
    * ``round``: rounding and protrusion, 0 = none, 1 = tight /u/ pucker.
    * ``teeth``: how much of the upper teeth shows inside the opening.
    """

    jaw: float = 0.0
    spread: float = 0.4
    round: float = 0.0
    teeth: float = 0.0

    def __post_init__(self) -> None:
        for name in MOUTH_PARAMETERS:
            value = getattr(self, name)
            if not (isinstance(value, int | float | np.floating) and 0.0 <= value <= 1.0):
                raise AvatarError(f"MouthShape.{name} must be a number in [0, 1], got {value!r}")

    @classmethod
    def rest(cls) -> MouthShape:
        """The relaxed closed mouth of a presenter who is not speaking."""
        return cls()

    def as_array(self) -> np.ndarray:
        """The four parameters as float32, in :data:`MOUTH_PARAMETERS` order."""
        return np.array([self.jaw, self.spread, self.round, self.teeth], dtype=np.float32)


@dataclass(frozen=True)
class MouthTrack:
    """Mouth parameters per video frame: ``values`` has shape (n_frames, 4), columns
    :data:`MOUTH_PARAMETERS`, frame ``i`` shown from ``i / fps`` to ``(i + 1) / fps`` seconds."""

    values: np.ndarray
    fps: float = 25.0

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float32)
        if values.ndim != 2 or values.shape[1] != len(MOUTH_PARAMETERS):
            raise AvatarError(f"MouthTrack values must have shape (n, 4), got {values.shape}")
        if not np.all(np.isfinite(values)):
            raise AvatarError("MouthTrack values contain NaN or infinity")
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise AvatarError(f"MouthTrack fps must be positive, got {self.fps!r}")
        # Keep every frame a valid MouthShape even after smoothing overshoot.
        object.__setattr__(self, "values", np.clip(values, 0.0, 1.0))

    @classmethod
    def silent(cls, n_frames: int, fps: float = 25.0) -> MouthTrack:
        """A track of ``n_frames`` resting, closed mouths."""
        rest = MouthShape.rest().as_array()
        return cls(np.tile(rest, (max(int(n_frames), 0), 1)), fps)

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def __getitem__(self, index: int) -> MouthShape:
        jaw, spread, round_, teeth = (float(v) for v in self.values[index])
        return MouthShape(jaw, spread, round_, teeth)

    def __iter__(self) -> Iterator[MouthShape]:
        for index in range(len(self)):
            yield self[index]

    def column(self, name: str) -> np.ndarray:
        """One parameter over time, e.g. ``track.column("jaw")``."""
        if name not in MOUTH_PARAMETERS:
            raise AvatarError(f"unknown mouth parameter {name!r}; known: {MOUTH_PARAMETERS}")
        return self.values[:, MOUTH_PARAMETERS.index(name)]

    def jaw_only(self) -> MouthTrack:
        """The same jaw opening with lip spreading, rounding and teeth at rest: the track a
        twin trained on the face's own pixels (which tell the opening only) was trained on."""
        values = np.tile(MouthShape.rest().as_array(), (len(self), 1))
        values[:, 0] = self.values[:, 0]
        return MouthTrack(values, self.fps)

    @property
    def duration(self) -> float:
        """Seconds covered by the track."""
        return len(self) / self.fps
