"""Video in and out through the ffmpeg binary bundled with imageio-ffmpeg.

Frames travel through pipes as raw RGB24; every ffmpeg call is an argument list built by
imageio-ffmpeg or here (never a shell string), so file names cannot inject commands. Outputs are
written to a temporary file in the target folder and renamed into place (``os.replace``), so a
failed or interrupted render never leaves a half-written ``presenter.mp4``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avatar.audio import SAMPLE_RATE, Speech
from avatar.errors import AvatarError
from avatar.files import temporary_beside

FPS = 25
#: ffmpeg output options: RGB to yuv420p by the HDTV matrix (ITU-R BT.709-6) in limited range,
#: and the stream tagged so, with ``setparams`` (ffmpeg 9 takes the description from the frames,
#: not from -colorspace and the like). ffmpeg's default converts by BT.601 and tags nothing,
#: which browsers show as BT.709: level colours up to 22 levels off (bulletin/video/encode.py).
BT709 = (
    "-vf", "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p,"
    "setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv",
)  # fmt: skip


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary shipped inside the imageio-ffmpeg wheel."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise AvatarError(
            "imageio-ffmpeg is not installed: pip install imageio-ffmpeg (it bundles ffmpeg)"
        ) from None
    return imageio_ffmpeg.get_ffmpeg_exe()


def check_frame_size(size: tuple[int, int]) -> tuple[int, int]:
    """Validate a (width, height) for H.264 yuv420p: even sides of 64 to 4096 pixels."""
    try:
        width, height = (int(v) for v in size)
    except (TypeError, ValueError):
        raise AvatarError(
            f"frame size must be two integers (width, height), got {size!r}"
        ) from None
    if not (64 <= width <= 4096 and 64 <= height <= 4096) or width % 2 or height % 2:
        raise AvatarError(
            f"frame size must be even numbers of 64-4096 px per side (H.264 4:2:0), "
            f"got {width}x{height}"
        )
    return width, height


def parse_size(text: str) -> tuple[int, int]:
    """``"640x360"`` -> (640, 360), checked with :func:`check_frame_size`."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise AvatarError(f"size must look like WIDTHxHEIGHT, e.g. 640x360, got {text!r}")
    return check_frame_size((int(parts[0]), int(parts[1])))


def write_video(
    frames: Iterable[np.ndarray],
    out_path: str | Path,
    size: tuple[int, int],
    fps: int = FPS,
    audio_path: str | Path | None = None,
    crf: int = 20,
    preset: str = "veryfast",
) -> int:
    """Encode HxWx3 uint8 frames (a stream: nothing is held) to an H.264 MP4, with the audio
    file muxed in as AAC when given; returns the number of frames written.

    x264 "veryfast" at CRF 20 is our choice: fast enough for real-time rendering on 2 cores
    (``benchmarks/avatar.py`` times render and encode), visually clean for flat-shaded graphics. ``+faststart`` moves the index
    to the front so the file streams."""
    out_path = Path(out_path)
    width, height = check_frame_size(size)
    if audio_path is not None and not Path(audio_path).is_file():
        raise AvatarError(f"audio file not found: {audio_path}")
    import imageio_ffmpeg

    temporary = temporary_beside(out_path, ".mp4")
    count = 0
    try:
        writer = imageio_ffmpeg.write_frames(
            str(temporary),
            (width, height),
            fps=fps,
            codec="libx264",
            macro_block_size=2,
            audio_path=str(audio_path) if audio_path is not None else None,
            audio_codec="aac" if audio_path is not None else None,
            output_params=[*BT709, "-preset", preset, "-crf", str(crf), "-movflags", "+faststart"],
            ffmpeg_log_level="error",
        )
        writer.send(None)  # start ffmpeg
        for frame in frames:
            if frame.shape != (height, width, 3) or frame.dtype != np.uint8:
                raise AvatarError(
                    f"frame {count} is {frame.shape} {frame.dtype}, expected "
                    f"({height}, {width}, 3) uint8"
                )
            writer.send(np.ascontiguousarray(frame))
            count += 1
        writer.close()
        if count == 0:
            raise AvatarError(f"no frames to write to {out_path}")
        os.replace(temporary, out_path)
    except OSError as exc:
        raise AvatarError(f"cannot write video {out_path}: {exc}") from None
    except RuntimeError as exc:  # imageio-ffmpeg reports ffmpeg failures as RuntimeError
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "ffmpeg failed"
        raise AvatarError(f"ffmpeg could not write {out_path}: {first}") from None
    finally:
        temporary.unlink(missing_ok=True)
    return count


@dataclass(frozen=True)
class VideoInfo:
    """What ffmpeg reports about a video file: frame size, frame rate, duration (s)."""

    size: tuple[int, int]
    fps: float
    duration: float


def video_info(path: str | Path) -> VideoInfo:
    """Size, fps and duration of a video file, from imageio-ffmpeg's header parse."""
    path = Path(path)
    if not path.is_file():
        raise AvatarError(f"video file not found: {path}")
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    try:
        meta = next(reader)
    except (RuntimeError, StopIteration, OSError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise AvatarError(f"cannot read video {path}: {reason}") from None
    finally:
        reader.close()
    size = meta.get("size")
    if not size:
        raise AvatarError(f"{path} holds no video stream")
    return VideoInfo(tuple(size), float(meta.get("fps") or 0.0), float(meta.get("duration") or 0))


def read_video(path: str | Path, fps: int = FPS) -> Iterator[np.ndarray]:
    """HxWx3 uint8 frames of a video resampled to ``fps`` (ffmpeg's fps filter), one at a time."""
    info = video_info(path)
    width, height = info.size
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path), output_params=["-vf", f"fps={fps}"])
    try:
        next(reader)  # metadata
        for raw in reader:
            yield np.frombuffer(raw, np.uint8).reshape(height, width, 3)
    except RuntimeError as exc:
        raise AvatarError(f"cannot decode video {path}: {str(exc).strip()[:200]}") from None
    finally:
        reader.close()


def has_audio_stream(path: str | Path) -> bool:
    """Whether ffmpeg lists an audio stream in the file (from its input header dump)."""
    command = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-i", str(path)]
    try:
        result = subprocess.run(command, capture_output=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AvatarError(f"ffmpeg could not open {path}: {exc}") from None
    header = result.stderr.decode("utf-8", "replace")
    return any("Stream #" in line and "Audio:" in line for line in header.splitlines())


def read_audio_track(path: str | Path, sample_rate: int = SAMPLE_RATE) -> Speech:
    """The sound of a video (or audio) file as mono float32 at ``sample_rate``, decoded by
    ffmpeg to raw PCM on a pipe. Raises :class:`AvatarError` when the file has no sound."""
    path = Path(path)
    if not path.is_file():
        raise AvatarError(f"file not found: {path}")
    if not has_audio_stream(path):
        raise AvatarError(f"{path} has no sound track")
    command = [
        ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0",
        "-vn", "-ac", "1", "-ar", str(sample_rate), "-f", "f32le", "-",
    ]  # fmt: skip
    try:
        result = subprocess.run(command, capture_output=True, check=False, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AvatarError(f"ffmpeg could not decode the sound of {path}: {exc}") from None
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise AvatarError(f"cannot read the sound of {path}: {message[-1] if message else ''}")
    samples = np.frombuffer(result.stdout, np.float32)
    if samples.size == 0:
        raise AvatarError(f"{path} has no sound track")
    return Speech(samples.copy(), sample_rate)
