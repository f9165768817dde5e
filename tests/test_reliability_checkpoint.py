"""A checkpoint holding pickled code is refused in one line: no code runs, torch's advice to
retry with ``weights_only=False`` is not passed on and its warnings stay off the terminal."""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf
import torch

from avatar.errors import AvatarError
from avatar.models import load_checkpoint_bundle, load_tensors

from .clirun import run_cli


class _RunsCode:
    """Unpickling this would run ``touch MARKER``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def hostile_checkpoint(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "twin.pt"
    torch.save({"version": 1, "kind": "generator", "config": _RunsCode(marker)}, path)
    return path, marker


def test_pickled_code_is_refused_in_one_line_without_torchs_advice(hostile_checkpoint):
    path, marker = hostile_checkpoint
    with pytest.raises(AvatarError) as info:
        load_checkpoint_bundle(path)
    message = str(info.value)
    assert message == (
        f"refusing to load checkpoint {path}: it holds a pickled Python object "
        "(posix.system), not only tensors"
    )
    assert not marker.exists()


def test_resume_state_with_pickled_code_is_refused(hostile_checkpoint):
    path, marker = hostile_checkpoint
    with pytest.raises(AvatarError, match=r"refusing to load resume state .*posix\.system"):
        load_tensors(path, what="resume state")
    assert not marker.exists()


def test_damaged_file_is_named_as_such(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(AvatarError) as info:
        load_checkpoint_bundle(junk)
    assert str(info.value).startswith(f"cannot read checkpoint {junk}: damaged or not a torch")
    assert "weights_only" not in str(info.value)


def test_cli_refusal_is_one_line(hostile_checkpoint, tmp_path):
    path, marker = hostile_checkpoint
    audio = tmp_path / "speech.wav"
    sf.write(audio, (0.3 * np.sin(np.arange(16000) * 0.1)).astype("float32"), 16000)
    result = run_cli(
        "avatar", "render", "--audio", str(audio), "--avatar", str(path),
        "-o", str(tmp_path / "x.mp4"),
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"bulletin: error: refusing to load checkpoint {path}: it holds a pickled Python "
        "object (posix.system), not only tensors"
    ]
    assert "weights_only" not in result.stderr and "Warning" not in result.stderr
    assert not marker.exists() and not (tmp_path / "x.mp4").exists()
