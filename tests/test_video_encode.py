"""The frame encoder (bulletin.video.encode): raw frames and the speech into one MP4 by ffmpeg."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

from bulletin.video.encode import H264Writer, ffmpeg_exe
from bulletin.video.fonts import VideoError

pytestmark = pytest.mark.media

SIZE = (64, 48)  # W, H
FPS = 25


def _speech(path: Path, seconds: float = 0.6) -> Path:
    rate = 22050
    t = np.arange(int(seconds * rate)) / rate
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate,
                    subtype="PCM_16")  # fmt: skip
    return path


def _writer(out: Path, speech: Path, seconds: float) -> H264Writer:
    return H264Writer(out, SIZE, FPS, speech, seconds, preset="superfast", crf=23, threads=1)


def _decoded(path: Path) -> np.ndarray:
    done = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
    )
    return np.frombuffer(done.stdout, np.uint8).reshape(-1, SIZE[1], SIZE[0], 3)


def test_frames_and_speech_become_h264_and_aac(tmp_path):
    speech = _speech(tmp_path / "speech.wav")
    colours = [(200, 40, 40), (40, 200, 40), (40, 40, 200)]
    with _writer(tmp_path / "out.mp4", speech, 15 / FPS) as writer:
        for k in range(15):
            frame = np.empty((SIZE[1], SIZE[0], 3), np.uint8)
            frame[:] = colours[k // 5]
            view = frame.view()
            view.flags.writeable = False  # the compositor's read-only buffer is accepted
            writer.write(view)
    info = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(tmp_path / "out.mp4")],
        capture_output=True, text=True, check=False,
    ).stderr  # fmt: skip
    assert "Video: h264" in info and "yuv420p" in info and "64x48" in info and "25 fps" in info
    assert "Audio: aac" in info and "44100 Hz, stereo" in info
    frames = _decoded(tmp_path / "out.mp4")
    assert len(frames) == 15
    for k, colour in enumerate(colours):
        middle = frames[5 * k + 2, SIZE[1] // 2, SIZE[0] // 2].astype(int)
        assert np.abs(middle - colour).max() < 12, (k, middle)


def test_missing_speech_is_a_one_line_error_naming_the_video(tmp_path):
    frame = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    with pytest.raises(
        VideoError, match=r"cannot encode .*out\.mp4: speech .*missing\.wav not found"
    ) as caught:
        with _writer(tmp_path / "out.mp4", tmp_path / "missing.wav", 1.0) as writer:
            for _ in range(FPS):
                writer.write(frame)
    assert "\n" not in str(caught.value)


def test_unreadable_speech_is_ffmpegs_one_line_error(tmp_path):
    (tmp_path / "speech.wav").write_bytes(b"not a wav file")
    frame = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    with pytest.raises(
        VideoError, match=r"cannot encode .*out\.mp4: speech .*speech\.wav: [^\[]"
    ) as caught:
        with _writer(tmp_path / "out.mp4", tmp_path / "speech.wav", 1.0) as writer:
            for _ in range(FPS):
                writer.write(frame)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "out.mp4").exists() or (tmp_path / "out.mp4").stat().st_size == 0


def test_a_frame_of_the_wrong_size_is_refused(tmp_path):
    speech = _speech(tmp_path / "speech.wav")
    with pytest.raises(
        VideoError, match=r"frame 0 .* is \(48, 60, 3\) uint8, expected \(48, 64, 3\)"
    ):
        with _writer(tmp_path / "out.mp4", speech, 0.2) as writer:
            writer.write(np.zeros((48, 60, 3), np.uint8))
