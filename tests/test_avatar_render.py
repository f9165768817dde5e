"""Rendering: streamed frames, presenter.mp4 with the speech as its sound, clear errors, and the
GAN paste-back (pixels outside the mask are the template's)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
from click.testing import CliRunner

from avatar import render as render_module
from avatar.audio import SAMPLE_RATE
from avatar.cli import avatar_cli
from avatar.errors import AvatarError
from avatar.mouth import MouthShape
from avatar.procedural import ProceduralPresenter
from avatar.video import parse_size, read_audio_track, read_video, video_info

pytestmark = pytest.mark.media

SIZE = (160, 120)


def speech_like(seconds: float, pause: tuple[float, float] | None = None) -> np.ndarray:
    """A harmonic 'voice' whose loudness moves at a syllable rate (4 Hz), silent in ``pause``."""
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    voice = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 20))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)
    if pause is not None:
        envelope[(t >= pause[0]) & (t < pause[1])] = 0
    return (0.08 * envelope * voice).astype(np.float32)


@pytest.fixture(scope="module")
def wav_5s(tmp_path_factory):
    path = tmp_path_factory.mktemp("audio") / "speech.wav"
    soundfile.write(path, speech_like(5.0, pause=(2.0, 3.0)), SAMPLE_RATE)
    return path


def test_five_second_render_has_the_audio_length_and_rests_in_silence(wav_5s, tmp_path):
    frames = render_module.render_presenter(wav_5s, avatar="procedural", size=SIZE)
    assert not isinstance(frames, list)  # a stream
    images = list(frames)
    assert len(images) == 125 and images[0].shape == (120, 160, 3)
    out = tmp_path / "presenter.mp4"
    n = render_module.write_presenter_video(wav_5s, out, avatar="procedural", size=SIZE)
    assert n == 125
    info = video_info(out)
    assert info.size == SIZE and info.fps == 25
    sound = read_audio_track(out)
    assert abs(sound.duration - 5.0) <= 1 / 25 + 0.03  # AAC priming may add a few ms
    decoded = list(read_video(out))
    assert len(decoded) == 125
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind

    # In the pause (2-3 s) the mouth is the resting mouth; in speech it is not.
    presenter = ProceduralPresenter(size=SIZE)
    rest = presenter.render(2.5, MouthShape.rest()).image
    x0, y0, x1, y1 = presenter.render(2.5).mouth_box
    mouth = np.s_[max(y0, 0) : y1, max(x0, 0) : x1]
    silent = images[round(2.5 * 25)]
    assert np.abs(silent[mouth].astype(int) - rest[mouth]).max() <= 8
    talking = [np.abs(images[i][mouth].astype(int) - rest[mouth]).max() for i in range(25, 45)]
    assert max(talking) > 40


def test_silent_zero_length_and_missing_audio_are_clear_errors(tmp_path):
    silent = tmp_path / "silent.wav"
    soundfile.write(silent, np.zeros(SAMPLE_RATE, np.float32), SAMPLE_RATE)
    with pytest.raises(AvatarError, match="silent"):
        render_module.render_presenter(silent, avatar="procedural", size=SIZE)
    empty = tmp_path / "empty.wav"
    soundfile.write(empty, np.zeros(0, np.float32), SAMPLE_RATE)
    with pytest.raises(AvatarError, match="no samples"):
        render_module.render_presenter(empty, avatar="procedural", size=SIZE)
    with pytest.raises(AvatarError, match="not found"):
        render_module.render_presenter(tmp_path / "nope.wav", avatar="procedural", size=SIZE)


@pytest.mark.parametrize("text", ["640", "640x", "axb", "641x360", "32x32", "9000x360"])
def test_bad_sizes_are_rejected(text):
    with pytest.raises(AvatarError, match="size"):
        parse_size(text)


def test_cli_render_and_its_one_line_errors(wav_5s, tmp_path, monkeypatch):
    runner = CliRunner()
    out = tmp_path / "clip.mp4"
    ok = runner.invoke(
        avatar_cli,
        [
            "render",
            "--audio",
            str(wav_5s),
            "--avatar",
            "procedural",
            "--size",
            "96x64",
            "-o",
            str(out),
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert video_info(out).size == (96, 64)

    def error_of(*args: str, code: int = 1) -> str:
        result = runner.invoke(avatar_cli, ["render", *args, "-o", str(tmp_path / "x.mp4")])
        assert isinstance(result.exception, AvatarError), result.output
        assert result.exception.exit_code == code, result.exception
        return str(result.exception)

    assert "not found" in error_of("--audio", str(tmp_path / "missing.wav"))
    assert "timings file not found" in error_of(
        "--audio", str(wav_5s), "--timings", str(tmp_path / "t.json")
    )
    # A bad --size is bad usage (exit 2), as click's own option checks are.
    assert "WIDTHxHEIGHT" in error_of("--audio", str(wav_5s), "--size", "big", code=2)
    assert "even numbers" in error_of("--audio", str(wav_5s), "--size", "641x360", code=2)
    assert "64-4096" in error_of("--audio", str(wav_5s), "--size", "32x32", code=2)
    # An avatar that names no presenter and no file is bad usage; a damaged file bad input.
    missing = str(tmp_path / "no.pt")
    assert "checkpoint" in error_of("--audio", str(wav_5s), "--avatar", missing, code=2)
    assert "did you mean 'procedural'" in error_of(
        "--audio", str(wav_5s), "--avatar", "procedual", code=2
    )
    monkeypatch.setattr(render_module, "DEFAULT_CHECKPOINT", tmp_path / "default_twin.pt")
    assert "not shipped yet" in error_of("--audio", str(wav_5s), "--avatar", "default")
    assert not (tmp_path / "x.mp4").exists()


def test_paste_mask_is_zero_on_the_upper_half_and_the_rim():
    from avatar.neural import paste_back, paste_mask

    mask = paste_mask(64)
    assert mask[:32].max() == 0 and mask[:, 0].max() == 0 and mask[-1].max() == 0
    assert mask[48, 32] == 1
    template = np.random.default_rng(0).integers(0, 256, (80, 100, 3), dtype=np.uint8)
    face = np.full((64, 64, 3), 255, np.uint8)
    out = paste_back(template, face, (-10, 20, 60, 90))  # partly outside the frame
    changed = np.any(out != template, axis=2)
    assert changed[:55].sum() == 0  # above the crop's mid line nothing moves
    assert changed[60:85, 5:45].all()


def test_rendering_pastes_only_the_mouth_region_and_keeps_hair_and_collar():
    from avatar.neural import MOUTH_ELLIPSE, mouth_mask, paste_back, paste_mask

    mask = mouth_mask(96)
    assert np.all(mask <= paste_mask(96))  # inside the trained lower-half region
    cx, cy, rx, ry = MOUTH_ELLIPSE
    assert mask[round(cy * 96), round(cx * 96)] == 1
    # The sides of the lower half (hair beside the jaw) and its bottom rows (neck, collar).
    assert mask[60:, : round((cx - rx) * 96)].max() == 0
    assert mask[60:, round((cx + rx) * 96) + 1 :].max() == 0
    assert mask[round((cy + ry) * 96) + 1 :].max() == 0
    template = np.random.default_rng(1).integers(0, 256, (120, 120, 3), dtype=np.uint8)
    face = np.full((48, 48, 3), 255, np.uint8)  # a 48^2 face on a 96 px box: upscaled
    out = paste_back(template, face, (10, 10, 106, 106), mask="mouth")
    changed = np.any(out != template, axis=2)
    assert changed[10 + round(cy * 96), 10 + round(cx * 96)]
    region = np.zeros_like(changed)
    region[10:106, 10:106] = mouth_mask(96) > 0
    assert not changed[~region].any()  # the template, exactly, outside the mouth region
    with pytest.raises(ValueError, match="mask"):
        paste_back(template, face, (10, 10, 106, 106), mask="upper")


def test_procedural_render_and_the_command_line_work_without_torch(wav_5s, tmp_path):
    import subprocess
    import sys

    code = (
        "import sys\n"
        "class BlockTorch:\n"  # a finder that makes any 'import torch' fail
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch' or name.startswith('torch.'):\n"
        "            raise ImportError('torch is blocked in this test')\n"
        "sys.meta_path.insert(0, BlockTorch())\n"
        "from avatar.cli import main\n"
        f"main(['render', '--audio', {str(wav_5s)!r}, '--avatar', 'procedural', '--size', '96x64', '-o', {str(tmp_path / 'p.mp4')!r}])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert video_info(tmp_path / "p.mp4").size == (96, 64)


def test_the_crop_calibration_is_measured_once_per_presenter(monkeypatch):
    """The detector runs on the rest frames of a (style, size, seed) once per process; another
    seed is measured for itself, and the result is the measurement's."""
    import avatar.ingest as ingest
    from avatar.neural import CALIBRATION_TIMES, ProceduralTemplate
    from avatar.procedural import PresenterStyle

    calls = []
    detect = ingest.detect_face

    def counted(*args, **kwargs):
        calls.append(1)
        return detect(*args, **kwargs)

    monkeypatch.setattr(ingest, "detect_face", counted)
    first = ProceduralTemplate(PresenterStyle(), (320, 316), 11, lbp_boxes=True)
    assert len(calls) == len(CALIBRATION_TIMES)
    again = ProceduralTemplate(PresenterStyle(), (320, 316), 11, lbp_boxes=True)
    assert len(calls) == len(CALIBRATION_TIMES) and again.adjust == first.adjust
    ProceduralTemplate(PresenterStyle(), (320, 316), 12, lbp_boxes=True)
    assert len(calls) == 2 * len(CALIBRATION_TIMES)
    assert first.adjust != (0.0, 0.0, 1.0)


def test_a_loaded_presenter_renders_what_render_presenter_renders(wav_5s):
    """load_presenter does the loading once (bulletin.unit does it while the speech is made);
    its frames are render_presenter's, on every render of the same loaded presenter."""
    by_name = list(render_module.render_presenter(wav_5s, avatar="procedural", size=SIZE))
    loaded = render_module.load_presenter("procedural", SIZE)
    assert loaded.size == SIZE
    for _ in range(2):
        frames = list(render_module.render_presenter(wav_5s, avatar=loaded))
        assert len(frames) == len(by_name)
        assert all(np.array_equal(a, b) for a, b in zip(frames, by_name, strict=True))
    # The loaded presenter checks its inputs as render_presenter does.
    with pytest.raises(AvatarError, match="fps must be"):
        loaded.frames(wav_5s, fps=0)
    with pytest.raises(AvatarError, match="unknown avatar"):
        render_module.load_presenter("procedurall", SIZE)
