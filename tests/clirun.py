"""Run the real ``bulletin`` command line in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 300, text: bool = True
) -> subprocess.CompletedProcess:
    """``bulletin ARGS``; ``text=False`` keeps stdout and stderr as bytes (``-o -`` audio)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "bulletin", *args],
        capture_output=True,
        text=text,
        cwd=cwd or REPO,
        env=env,
        timeout=timeout,
        check=False,
    )
