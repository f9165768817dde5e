"""The avatar package stands alone: no import of ``bulletin``, its own errors, and speech
synthesis passed in by the caller (the ``bulletin`` command line passes its speech stage)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from avatar.errors import AvatarError

REPO = Path(__file__).resolve().parents[1]


def _avatar_modules() -> list[str]:
    return sorted(
        f"avatar.{path.stem}" for path in (REPO / "avatar").glob("*.py") if path.stem != "__init__"
    )


def test_every_avatar_module_imports_with_bulletin_blocked():
    code = (
        "import importlib, sys\n"
        "class BlockBulletin:\n"  # a finder that makes any 'import bulletin' fail
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'bulletin' or name.startswith('bulletin.'):\n"
        "            raise ImportError('bulletin is blocked in this test')\n"
        "sys.meta_path.insert(0, BlockBulletin())\n"
        f"for name in {_avatar_modules()!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ImportError as exc:\n"
        "        if 'torch' not in str(exc):\n"  # torch is optional; bulletin never needed
        "            raise\n"
        "assert not any(m.split('.')[0] == 'bulletin' for m in sys.modules)\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_avatar_error_is_its_own_family_with_an_exit_code():
    assert AvatarError.__mro__[1:] == (Exception, BaseException, object)
    assert AvatarError("bad timings").exit_code == 1


def test_standalone_train_with_a_transcript_says_it_needs_speech_synthesis(tmp_path):
    footage = tmp_path / "footage.mp4"
    footage.write_bytes(b"not a video")
    transcript = tmp_path / "transcript.txt"
    transcript.write_text("Light snow.\n", encoding="utf-8")
    out = tmp_path / "twin.pt"
    result = subprocess.run(
        [sys.executable, "-m", "avatar.cli", "train", "--footage", str(footage),
         "--transcript", str(transcript), "-o", str(out)],
        capture_output=True, text=True, timeout=120, cwd=REPO, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "needs speech synthesis" in lines[0], result.stderr
    assert not out.exists()


def test_train_twin_with_a_transcript_and_no_synthesizer_is_an_error(tmp_path):
    pytest.importorskip("torch")
    from avatar.train import train_twin

    transcript = tmp_path / "transcript.txt"
    transcript.write_text("Light snow.\n", encoding="utf-8")
    with pytest.raises(AvatarError, match="needs a speech synthesizer"):
        train_twin(tmp_path / "footage.mp4", tmp_path / "twin.pt", transcript=transcript)


def test_bulletin_avatar_train_passes_the_speech_stage_in(tmp_path):
    """Through ``bulletin avatar``, a transcript gets past the synthesizer check: the footage
    (not a video) is what fails, in one line."""
    pytest.importorskip("torch")
    from .clirun import run_cli

    footage = tmp_path / "footage.mp4"
    footage.write_bytes(b"not a video")
    transcript = tmp_path / "transcript.txt"
    transcript.write_text("Light snow.\n", encoding="utf-8")
    out = tmp_path / "twin.pt"
    result = run_cli(
        "avatar", "train", "--footage", str(footage), "--transcript", str(transcript),
        "-o", str(out),
    )  # fmt: skip
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("bulletin: error:"), result.stderr
    assert "speech synthesis" not in lines[0] and "footage.mp4" in lines[0]
    assert not out.exists()
