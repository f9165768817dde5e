"""Atomic file writing: a temporary file in the target folder, then ``os.replace``."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def temporary_beside(path: Path, suffix: str = ".tmp") -> Path:
    """An empty temporary file in ``path``'s folder (created if needed), with the permissions
    a normally created file would get (``mkstemp`` makes it private, 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(handle)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(name, 0o666 & ~umask)
    return Path(name)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    temporary = temporary_beside(path)
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, data: object) -> None:
    write_text_atomic(path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
