"""The procedural presenter speaking a given audio: the exact ground truth for training the
neural renderer and for lip-sync metrics.

Every yielded :class:`~avatar.procedural.PresenterFrame` carries its image and the parameters
that made it (mouth shape, blink, head pose, gaze, face and mouth boxes). In silences the mouth
rests closed while the presenter keeps blinking, breathing and moving slightly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from avatar.audio import Speech, as_speech, n_video_frames
from avatar.errors import AvatarError
from avatar.mouth import MouthTrack
from avatar.procedural import PresenterFrame, PresenterStyle, ProceduralPresenter
from avatar.visemes import Timings, mouth_track_from_audio, viseme_track

TimingsSource = Timings | Mapping | str | Path


def mouth_track(
    audio: Speech | str | Path, timings: TimingsSource | None = None, fps: float = 25.0
) -> MouthTrack:
    """The mouth track for ``audio``: from phoneme timings when given (exact, coarticulated),
    otherwise from the audio alone. It has one row per video frame of the audio's duration."""
    if fps <= 0:
        raise AvatarError(f"fps must be positive, got {fps}")
    speech = as_speech(audio)
    n_frames = n_video_frames(speech.duration, fps)
    if timings is not None:
        return viseme_track(timings, fps, n_frames)
    return mouth_track_from_audio(speech, fps, n_frames)


def ground_truth_frames(
    audio: Speech | str | Path,
    timings: TimingsSource | None = None,
    style: PresenterStyle | None = None,
    size: tuple[int, int] = (256, 256),
    fps: float = 25.0,
    seed: int = 0,
) -> Iterator[PresenterFrame]:
    """Frames of the procedural presenter speaking ``audio`` (a path or :class:`Speech`), one
    per ``1 / fps`` seconds, driven by ``timings`` (a ``timings.json`` path or dict) when given,
    by the audio alone otherwise. Deterministic for a given ``seed``."""
    track = mouth_track(audio, timings, fps)
    presenter = ProceduralPresenter(style, size, seed)
    yield from presenter.frames(track)
