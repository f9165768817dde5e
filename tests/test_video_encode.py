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


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_the_encoder_runs_below_the_presenters_priority(tmp_path):
    """ffmpeg runs at ENCODER_NICENESS above this process's niceness (every thread of it):
    the presenter's threads keep the cores when both want them."""
    import os
    import shutil
    import time

    from bulletin.video.encode import ENCODER_NICENESS

    if shutil.which("nice") is None:
        pytest.skip("nice(1) is not installed: the encoder runs at the same priority")
    speech = _speech(tmp_path / "speech.wav")
    with _writer(tmp_path / "out.mp4", speech, 3 / FPS) as writer:
        writer.write(np.zeros((SIZE[1], SIZE[0], 3), np.uint8))
        pid = writer.pid
        for _ in range(500):  # nice(1) sets the niceness, then becomes ffmpeg (exec)
            if Path(f"/proc/{pid}/exe").resolve() == Path(ffmpeg_exe()).resolve():
                break
            time.sleep(0.01)
        else:
            pytest.fail("the encoder's process never became ffmpeg")
        time.sleep(0.2)  # its threads start
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
        assert len(tasks) > 1
        for task in tasks:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            assert int(fields[16]) == os.getpriority(os.PRIO_PROCESS, 0) + ENCODER_NICENESS
        for _ in range(2):
            writer.write(np.zeros((SIZE[1], SIZE[0], 3), np.uint8))
    assert (tmp_path / "out.mp4").stat().st_size > 0
