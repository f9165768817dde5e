"""The presenter's commands are reachable as ``bulletin avatar`` with the CLI's error style."""

from __future__ import annotations

from .clirun import run_cli


def test_bulletin_avatar_group_lists_render_and_train():
    result = run_cli("avatar", "--help")
    assert result.returncode == 0, result.stderr
    assert "render" in result.stdout and "train" in result.stdout


def test_bulletin_avatar_render_missing_audio_is_one_line(tmp_path):
    out = tmp_path / "presenter.mp4"
    result = run_cli("avatar", "render", "--audio", str(tmp_path / "none.wav"), "-o", str(out))
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "none.wav" in lines[0] and "Traceback" not in result.stderr
    assert not out.exists()
