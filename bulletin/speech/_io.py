"""Atomic file output for the speech stage: a temporary file in the same folder, then rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bulletin.errors import SpeechError


def prepare_output_dir(out_dir: Path) -> Path:
    """Create ``out_dir`` if needed and check that files can be created in it."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SpeechError(
            f"cannot create speech output folder {out_dir}: {error.strerror or error}"
        ) from None
    try:
        with tempfile.NamedTemporaryFile(dir=out_dir, prefix=".write-test-"):
            pass
    except OSError as error:
        raise SpeechError(
            f"speech output folder {out_dir} is not writable: {error.strerror or error}"
        ) from None
    return out_dir


def temporary_path(final: Path, suffix: str) -> Path:
    """A fresh, unused path next to ``final`` (the caller writes it, then :func:`commit`)."""
    handle, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.stem}-", suffix=suffix)
    os.close(handle)
    return Path(name)


def commit(temporary: Path, final: Path) -> None:
    """Move a finished temporary file into place atomically."""
    os.replace(temporary, final)


def discard(temporary: Path) -> None:
    temporary.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    path = Path(path)
    try:
        temporary = temporary_path(path, ".tmp")
    except OSError as error:
        raise SpeechError(f"cannot write {path}: {error.strerror or error}") from None
    try:
        temporary.write_text(text, encoding="utf-8")
        commit(temporary, path)
    except OSError as error:
        discard(temporary)
        raise SpeechError(f"cannot write {path}: {error.strerror or error}") from None
    except BaseException:
        discard(temporary)
        raise
