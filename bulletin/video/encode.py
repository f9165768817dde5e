"""H.264/AAC encoding of composed frames: raw RGB piped straight into ffmpeg.

One ffmpeg process (the binary imageio-ffmpeg ships) reads the frames as ``rawvideo`` on its
standard input and the speech file as its second input, and writes the MP4 in one pass: x264
for the picture (converted to yuv420p by ffmpeg), AAC for the sound. Each frame is written
from the caller's array through the buffer protocol (no copy on our side), so the frames cost
the encoder's CPU time and hardly any of ours.

The streams: H.264 High in yuv420p at the given preset and CRF, AAC-LC at 44.1 kHz in stereo,
``+faststart`` (moviepy 2's, :func:`moviepy.VideoClip.write_videofile` with
``audio_codec="aac"``, which got there through a temporary AAC file and a Python copy of every
frame). The picture is converted with the ITU-R BT.709 matrix in limited range and tagged so
(:data:`avatar.video.BT709`), the HDTV colour system (ITU-R BT.709-6, 2015). ffmpeg's default
conversion uses BT.601's matrix and tags nothing; browsers show an untagged HD stream as
BT.709, and in headless Chromium a green drawn 46,160,67 was shown 36,144,67 and a red
210,40,40 as 224,57,41; the 21 level colours' red and green came out up to 19 and 22 levels
off, against 2 tagged (``tests/test_video_colour.py``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from avatar.video import BT709

from .fonts import VideoError

#: Audio of the MP4 (moviepy's defaults).
AUDIO_RATE = 44100
AUDIO_CHANNELS = 2
#: Bytes the frame pipe holds (Linux F_SETPIPE_SZ; 1 MiB, the unprivileged maximum by
#: default): a 1280x720 frame goes through in 3 wake-ups of ffmpeg instead of 43.
PIPE_BYTES = 1 << 20
#: Niceness of the encoder process (nice(1); our choice, ``benchmarks/README.md``). The
#: presenter's threads are the bulletin's critical path and x264 has slack: it waits on each
#: frame and catches up whenever the presenter blocks. At the same priority the scheduler
#: shares the cores evenly and the presenter's thread waits. Measured on 2 cores in
#: alternating rounds: the unit took 36.6 and 34.7 s at 10 against 36.4 and 38.3 s at 0 (the
#: same bytes), a gain of about 5 % that the machine's noise nearly hides.
ENCODER_NICENESS = 10


def ffmpeg_exe() -> str:
    """The ffmpeg binary imageio-ffmpeg ships (the one moviepy uses)."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _niced() -> list[str]:
    """The ``nice`` prefix that runs a command at :data:`ENCODER_NICENESS` (every thread it
    starts inherits it); none where nice(1) is not installed: the same priority then."""
    found = shutil.which("nice")
    return [found, "-n", str(ENCODER_NICENESS)] if found else []


def _file(path: Path) -> str:
    # "file:" so that a name with a colon or a leading dash is never read as a protocol or
    # an option.
    return "file:" + str(path)


class H264Writer:
    """``rawvideo`` frames of ``size`` (W, H) at ``fps`` plus the first ``audio_seconds`` of
    ``audio`` into the MP4 ``path``. :meth:`write` one HxWx3 uint8 frame at a time, then
    :meth:`close` (or use it as a context manager, which kills ffmpeg on an exception);
    ffmpeg's failures become a :class:`VideoError` naming ``path`` and ffmpeg's first line."""

    def __init__(
        self,
        path: Path,
        size: tuple[int, int],
        fps: int,
        audio: Path,
        audio_seconds: float,
        *,
        preset: str,
        crf: int,
        threads: int,
    ) -> None:
        self.path = Path(path)
        self.shape = (size[1], size[0], 3)
        self.audio = Path(audio)
        if not self.audio.is_file():
            raise VideoError(f"cannot encode {self.path}: speech {audio} not found")
        command = [
            *_niced(), ffmpeg_exe(), "-nostdin", "-y", "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{size[0]}x{size[1]}", "-r", str(fps),
            "-i", "pipe:0",
            "-t", f"{audio_seconds:.6f}", "-i", _file(self.audio),
            "-map", "0:v:0", "-map", "1:a:0",
            *BT709,
            "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
            "-threads", str(threads),
            "-c:a", "aac", "-ar", str(AUDIO_RATE), "-ac", str(AUDIO_CHANNELS),
            "-movflags", "+faststart", "-f", "mp4", _file(self.path),
        ]  # fmt: skip
        self._log = tempfile.TemporaryFile()  # ffmpeg's errors, read when it fails
        try:
            self._process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._log
            )
        except OSError as exc:
            self._log.close()
            raise VideoError(f"cannot encode {self.path}: cannot start ffmpeg: {exc}") from None
        self._grow_pipe()
        self.frames = 0

    def _grow_pipe(self) -> None:
        import fcntl

        setpipe = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
        if setpipe is not None and self._process.stdin is not None:
            try:
                fcntl.fcntl(self._process.stdin.fileno(), setpipe, PIPE_BYTES)
            except OSError:  # a lower limit in /proc/sys/fs/pipe-max-size: the default pipe
                pass

    @property
    def pid(self) -> int:
        """The encoder's process id."""
        return self._process.pid

    def write(self, frame: np.ndarray) -> None:
        """Send one frame (C-contiguous HxWx3 uint8, as :attr:`shape`)."""
        if frame.shape != self.shape or frame.dtype != np.uint8:
            raise VideoError(
                f"frame {self.frames} for {self.path} is {frame.shape} {frame.dtype}, "
                f"expected {self.shape} uint8"
            )
        try:
            self._process.stdin.write(memoryview(np.ascontiguousarray(frame)).cast("B"))  # type: ignore[union-attr]
        except (BrokenPipeError, ValueError):  # ffmpeg has stopped reading: it failed
            self._process.wait()
            raise self._failure("ffmpeg stopped reading the frames") from None
        self.frames += 1

    def close(self) -> None:
        """End the frames and wait for ffmpeg to finish the file."""
        try:
            try:
                self._process.stdin.close()  # type: ignore[union-attr]
            except BrokenPipeError:
                pass
            if self._process.wait() != 0:
                raise self._failure(f"ffmpeg exited with status {self._process.returncode}")
        finally:
            self._log.close()

    def abort(self) -> None:
        """Stop ffmpeg (the file it was writing is the caller's to remove)."""
        if self._process.poll() is None:
            self._process.kill()
        try:
            self._process.stdin.close()  # type: ignore[union-attr]
        except OSError:
            pass
        self._process.wait()
        self._log.close()

    def _failure(self, fallback: str) -> VideoError:
        self._log.seek(0)
        text = self._log.read().decode("utf-8", "replace").strip()
        # ffmpeg's first line, without the "[component @ 0x...]" it starts with.
        first = re.sub(r"^\[[^\]]*\]\s*", "", text.splitlines()[0]) if text else fallback
        if str(self.audio) in text:  # ffmpeg names the input it could not read further on
            first = f"speech {self.audio}: {first}"
        return VideoError(f"cannot encode {self.path}: {first}")

    def __enter__(self) -> H264Writer:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


def read_frame(path: Path, seconds: float, size: tuple[int, int]) -> np.ndarray:
    """The frame of the video ``path`` (``size`` W, H) shown at ``seconds``, as HxWx3 uint8:
    one ffmpeg call (input seeking), for checks and still images of a written video."""
    done = subprocess.run(
        [
            ffmpeg_exe(), "-nostdin", "-v", "error", "-ss", f"{seconds:.3f}", "-i", _file(path),
            "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
        ],
        capture_output=True,
    )  # fmt: skip
    expected = size[0] * size[1] * 3
    if done.returncode != 0 or len(done.stdout) != expected:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise VideoError(
            f"cannot read the frame at {seconds:.3f} s of {path}: "
            + (reason[0] if reason else f"{len(done.stdout)} bytes, expected {expected}")
        )
    return np.frombuffer(done.stdout, dtype=np.uint8).reshape(size[1], size[0], 3)
