"""Writing results: atomically to files (temporary file, then rename), or to stdout."""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from .errors import BulletinError

FORMATS = ("csv", "json", "parquet")


class OutputError(BulletinError):
    """The output cannot be written where the user asked."""


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place only if the block succeeds.

    A failure (or an interrupt) leaves no partial file at ``path`` and removes the temporary one.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"output folder {folder} does not exist")
    # Not mkstemp: its 0600 mode would survive the rename; O_EXCL with 0666 lets the umask decide.
    tmp = folder / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as exc:
        raise OutputError(f"cannot write in {folder}: {exc.strerror or exc}") from None
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _writer(table: pd.DataFrame, fmt: str) -> Callable[[BinaryIO], None]:
    if fmt == "csv":
        return lambda f: f.write(table.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    if fmt == "json":
        return lambda f: f.write(
            (table.to_json(orient="records", force_ascii=False, indent=1) + "\n").encode("utf-8")
        )
    if fmt == "parquet":
        return lambda f: table.to_parquet(f, index=False)
    raise OutputError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")


def write_table(table: pd.DataFrame, destination: str | Path, fmt: str = "csv") -> None:
    """Write ``table`` as csv, json or parquet to a file (atomically) or to stdout (``-``)."""
    write = _writer(table, fmt)
    if str(destination) == "-":
        if fmt == "parquet" and sys.stdout.isatty():
            raise OutputError("refusing to write parquet to a terminal; use -o FILE")
        write(sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    with atomic_path(destination) as tmp, open(tmp, "wb") as handle:
        write(handle)
