"""Rendering: speech audio (and phoneme timings) to presenter frames, streamed, or to an MP4.

``render_presenter`` returns an iterator so that the video stage composes frames without holding
the clip in memory. The number of frames is ``ceil(duration * fps)``: the picture covers the
audio and is at most one frame longer. In silences the mouth rests closed (the mouth track is
the resting shape there) while the presenter keeps blinking and breathing.

``avatar`` chooses the renderer:

* ``"procedural"``: the procedural presenter (numpy/PIL, no torch);
* ``"default"``: the GAN twin shipped at :data:`DEFAULT_CHECKPOINT` (an error says so if it
  has not been trained and committed yet; there is no silent fallback);
* a path: a twin checkpoint written by ``bulletin avatar train``.

``cues`` (:class:`avatar.cues.Cue`, seconds from the start of the audio) make the presenter
smile at a greeting and a closing, look serious for a warning, and turn, look and gesture
toward a target beside it. A twin over the procedural template turns, looks, gestures and
frowns with it (its mouth is the generator's); a twin over its own footage cannot, and
ignores them with a warning.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from avatar.audio import Speech, as_speech
from avatar.cues import Cue, check_cues
from avatar.errors import AvatarError, AvatarUsageError
from avatar.ground_truth import TimingsSource, mouth_track
from avatar.procedural import PresenterStyle, ProceduralPresenter
from avatar.video import FPS, check_frame_size, write_video
from avatar.visemes import Timings, load_timings, mouth_track_from_audio

if TYPE_CHECKING:
    from avatar.neural import NeuralPresenter

log = logging.getLogger(__name__)

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "data" / "default_twin.pt"
DEFAULT_SIZE = (640, 360)

SILENCE_PEAK = 1e-4
"""Audio whose absolute peak stays below this (-80 dBFS) is treated as silent: nothing to say.
Our choice: 16-bit dither is about -96 dBFS, any speech is far above -80 dBFS."""


def check_speech(speech: Speech, name: str) -> Speech:
    """Reject audio that holds no speech (empty or silent) with a one-line error."""
    if speech.samples.size == 0:
        raise AvatarError(f"audio {name} holds no samples")
    peak = float(np.max(np.abs(speech.samples)))
    if peak < SILENCE_PEAK:
        raise AvatarError(f"audio {name} is silent (peak {peak:.1e}): nothing to lip-sync")
    return speech


#: The presenters ``--avatar`` names; any other value is a checkpoint file.
AVATAR_NAMES = ("default", "procedural")


def resolve_avatar(avatar: str | Path) -> str | Path:
    """``"procedural"`` stays a name; ``"default"`` becomes the shipped checkpoint path (an
    :class:`AvatarError`, exit 1, when the installation lacks it); other values must be
    existing checkpoint files. A value that is neither a name nor a file is bad usage
    (:class:`AvatarUsageError`, exit 2): a misspelt name reads as a path, so both are told in
    one message. A file that is there but damaged fails when it is loaded (exit 1)."""
    if isinstance(avatar, str) and avatar == "procedural":
        return "procedural"
    if isinstance(avatar, str) and avatar == "default":
        if not DEFAULT_CHECKPOINT.is_file():
            raise AvatarError(
                f"the default GAN twin {DEFAULT_CHECKPOINT.name} is not shipped yet (it is "
                f"trained with 'bulletin avatar train'); use --avatar procedural or a twin path"
            )
        return DEFAULT_CHECKPOINT
    path = Path(avatar)
    if not path.is_file():
        close = difflib.get_close_matches(str(avatar), AVATAR_NAMES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise AvatarUsageError(
            f"unknown avatar {str(avatar)!r}: no presenter of that name and no checkpoint "
            f"file there{hint} (use {', '.join(AVATAR_NAMES)} or a twin checkpoint PATH)"
        )
    return path


def render_presenter(
    audio: Speech | str | Path,
    timings: TimingsSource | None = None,
    avatar: str | Path | Presenter = "procedural",
    size: tuple[int, int] = DEFAULT_SIZE,
    fps: int = FPS,
    style: PresenterStyle | None = None,
    seed: int = 0,
    cues: Iterable[Cue] = (),
) -> Iterator[np.ndarray]:
    """Presenter frames (HxWx3 uint8, ``size`` = (W, H)) speaking ``audio``, as a stream.

    Inputs are checked before the first frame: missing or unreadable files, silent or empty
    audio, bad timings, a bad size, an unknown or missing avatar, cues that are not
    :class:`~avatar.cues.Cue` or start after the audio all raise :class:`AvatarError`.
    ``style`` and ``seed`` pick the look and the idle motion of the procedural presenter;
    ``cues`` drive its head, arms and expression (:mod:`avatar.cues`). ``avatar`` may be a
    :class:`Presenter` already loaded (:func:`load_presenter`; ``size``, ``style`` and
    ``seed`` are then its own)."""
    if isinstance(avatar, Presenter):
        return avatar.frames(audio, timings, fps, cues)
    size = check_frame_size(size)
    inputs = _checked_inputs(audio, timings, fps, cues)
    return load_presenter(avatar, size, style, seed).render_checked(*inputs)


def _checked_inputs(
    audio: Speech | str | Path, timings: TimingsSource | None, fps: int, cues: Iterable[Cue]
) -> tuple[Speech, Timings | None, int, tuple[Cue, ...]]:
    if not (isinstance(fps, int) and 1 <= fps <= 120):
        raise AvatarError(f"fps must be an integer of 1-120, got {fps!r}")
    name = str(audio) if not isinstance(audio, Speech) else "samples"
    speech = check_speech(as_speech(audio), name)
    parsed = load_timings(timings) if timings is not None else None
    if parsed is not None and parsed.duration > speech.duration + 1.0 / fps:
        raise AvatarError(
            f"timings last {parsed.duration:.2f} s but the audio {name} only {speech.duration:.2f} s"
        )
    return speech, parsed, fps, tuple(check_cues(cues, speech.duration))


class Presenter:
    """A presenter loaded at one frame size and ready to speak (:func:`load_presenter`): the
    procedural one with its sprites drawn, or a twin with torch imported, its checkpoint read
    and its template made. Loading the shipped twin took 2.8 s of one core on the 2-core
    machines of ``benchmarks/README.md`` (torch's import 1.6 s, the checkpoint and template
    1.2 s); a caller with other work meanwhile (a bulletin's speech synthesis) loads it in a
    thread. One stream of :meth:`frames` at a time."""

    def __init__(
        self,
        avatar: str | Path,
        size: tuple[int, int],
        procedural: ProceduralPresenter | None = None,
        neural: NeuralPresenter | None = None,
    ) -> None:
        if (procedural is None) == (neural is None):
            raise ValueError("a Presenter is either procedural or neural")
        self.avatar, self.size = avatar, size
        self._procedural, self._neural = procedural, neural

    def frames(
        self,
        audio: Speech | str | Path,
        timings: TimingsSource | None = None,
        fps: int = FPS,
        cues: Iterable[Cue] = (),
    ) -> Iterator[np.ndarray]:
        """Frames speaking ``audio``, checked as :func:`render_presenter` checks them."""
        return self.render_checked(*_checked_inputs(audio, timings, fps, cues))

    def render_checked(
        self, speech: Speech, parsed: Timings | None, fps: int, cues: tuple[Cue, ...]
    ) -> Iterator[np.ndarray]:
        """Frames of inputs already checked (:meth:`frames`)."""
        neural, procedural = self._neural, self._procedural
        if procedural is not None:
            track = mouth_track(speech, parsed, fps)
            return (frame.image for frame in procedural.frames(track, cues=cues))
        assert neural is not None  # one of the two, checked when made
        if neural.mouth_source in ("timings", "face") and parsed is not None:
            track = mouth_track(speech, parsed, fps)
        else:
            if neural.mouth_source == "timings":
                log.warning(
                    "%s was trained on phoneme timings; without them the mouth follows the audio",
                    self.avatar,
                )
            track = mouth_track_from_audio(speech, fps)
        if neural.mouth_source == "face":  # trained on the jaw the face showed: the rest at rest
            track = track.jaw_only()
        return one_torch_thread(neural.frames(speech, track, cues))


def load_presenter(
    avatar: str | Path = "procedural",
    size: tuple[int, int] = DEFAULT_SIZE,
    style: PresenterStyle | None = None,
    seed: int = 0,
) -> Presenter:
    """The presenter ``avatar`` names (:func:`resolve_avatar`) loaded at ``size`` (W, H);
    ``style`` and ``seed`` are the procedural presenter's (a twin's template has its own)."""
    size = check_frame_size(size)
    choice = resolve_avatar(avatar)
    if choice == "procedural":
        return Presenter(choice, size, procedural=ProceduralPresenter(style, size, seed))
    from avatar.neural import NeuralPresenter  # torch only when a twin is used

    return Presenter(choice, size, neural=NeuralPresenter.from_checkpoint(choice, size))


def one_torch_thread(frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """``frames`` made with one torch intra-op thread, the caller's setting put back after
    each frame. The generator's convolutions are small: on 2 shared cores 2 threads took 3-5x
    the CPU seconds of 1 for the same frames, and more wall time (the waiting thread spins),
    and a bulletin's video encoder wants the other core."""
    import torch

    source = iter(frames)
    while True:
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            frame = next(source)
        except StopIteration:
            return
        finally:
            torch.set_num_threads(before)
        yield frame


def write_presenter_video(
    audio_path: str | Path,
    out_path: str | Path,
    timings: TimingsSource | None = None,
    avatar: str | Path = "procedural",
    size: tuple[int, int] = DEFAULT_SIZE,
    fps: int = FPS,
    style: PresenterStyle | None = None,
    seed: int = 0,
    cues: Iterable[Cue] = (),
) -> int:
    """Render ``audio_path`` to ``out_path`` (H.264 MP4, the speech as its AAC audio track),
    atomically; returns the number of video frames."""
    frames = render_presenter(audio_path, timings, avatar, size, fps, style, seed, cues)
    return write_video(frames, out_path, size, fps, audio_path=audio_path)
