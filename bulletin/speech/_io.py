"""Atomic file output for the speech stage: a temporary file in the same folder, then rename."""

from __future__ import annotations

import os
import secrets
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
    """A fresh, unused, empty file next to ``final`` (the caller writes it, then
    :func:`commit`). Created with mode 0o666 less the umask, as ``open`` would, so the final
    file gets the usual permissions (``tempfile.mkstemp`` would make it owner-only)."""
    for _attempt in range(100):
        path = final.parent / f".{final.stem}-{secrets.token_hex(6)}{suffix}"
        try:
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(handle)
        return path
    raise FileExistsError(f"no free temporary name next to {final}")


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
