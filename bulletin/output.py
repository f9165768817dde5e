"""Writing results: atomically to files and folders (a temporary beside the target, then a
rename), or to stdout.

* :func:`atomic_path` / :func:`write_text` / :func:`write_bytes`: one file. The temporary is
  ``.<name>.<random>.tmp`` in the target's folder, created with mode ``0o666`` so the umask
  decides the permissions (``tempfile.mkstemp`` would make it ``0600``, and the mode survives
  the rename). A failure or an interrupt removes the temporary and leaves the target as it was.
* :func:`atomic_folder`: one folder of files. Everything is written into a hidden sibling
  ``.<name>.<random>.tmp``; an older folder is moved aside only when the new one is complete,
  then removed, so no reader ever sees a partial folder.
* :func:`check_writable_folder`: make a folder (and its parents) and check files can be made in
  it, before any expensive work.

What a target may be: a regular file (replaced) or nothing (created). A symbolic link is
written *through*: the file it points to is replaced and the link itself stays. A directory,
FIFO, character or block device or socket is refused with :class:`OutputError` before
anything is written, and is left untouched (renaming a file over ``/dev/null`` or a named pipe
would silently replace it by a regular file).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from .errors import BulletinError

if TYPE_CHECKING:  # pandas only for the tables: the speech stage writes files without it
    import pandas as pd

FORMATS = ("csv", "json", "parquet")


class OutputError(BulletinError):
    """The output cannot be written where the user asked."""


_SPECIAL_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def file_target(path: str | Path) -> Path:
    """Where a file written to ``path`` really goes: ``path`` itself, or the file a symbolic
    link at ``path`` points to (links are written through). Raises :class:`OutputError` when
    that is anything but a regular file or nothing."""
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    for test, kind in _SPECIAL_KINDS:
        if test(mode):
            raise OutputError(f"refusing to write over {path}: it is {kind}")
    return target


def _temporary_name(target: Path, suffix: str = ".tmp") -> Path:
    return target.with_name(f".{target.name}.{secrets.token_hex(6)}{suffix}")


@contextlib.contextmanager
def atomic_path(path: str | Path, *, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary file beside ``path`` (or beside the file a link at ``path`` points
    to); the block writes it, and it is renamed onto the target only if the block succeeds.
    ``suffix`` ends the temporary's name (for writers that choose the format by it, such as
    ffmpeg: ``".tmp.mp4"``).

    A failure (or an interrupt) leaves the target as it was and removes the temporary."""
    target = file_target(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"output folder {folder} does not exist")
    for _attempt in range(100):
        tmp = _temporary_name(target, suffix)
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise OutputError(f"cannot write in {folder}: {exc.strerror or exc}") from None
    else:
        raise OutputError(f"no free temporary name beside {target}")
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return ``path``."""
    try:
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; return ``path``."""
    return write_bytes(path, text.encode("utf-8"))


def check_writable_folder(folder: str | Path) -> Path:
    """Create ``folder`` (and its parents) if needed and check that files can be made in it.
    Raises :class:`OutputError` naming the folder."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = _temporary_name(folder / "write-test")
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        probe.unlink()
    except OSError as error:
        raise OutputError(
            f"cannot write in output folder {folder}: {error.strerror or error}"
        ) from None
    return folder


def folder_target(folder: str | Path) -> Path:
    """Where a folder written to ``folder`` really goes (a link is followed); raises
    :class:`OutputError` when something other than a directory is there."""
    folder = Path(folder)
    target = Path(os.path.realpath(folder)) if folder.is_symlink() else folder
    if target.exists() and not target.is_dir():
        raise OutputError(f"refusing to replace {folder} by a folder: it is not a directory")
    return target


@contextlib.contextmanager
def atomic_folder(folder: str | Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``folder``; the block fills it, and it replaces
    ``folder`` only if the block succeeds (an older ``folder`` is moved aside first and removed
    afterwards). A failure leaves ``folder`` as it was and removes the temporary folder."""
    target = folder_target(folder)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        for _attempt in range(100):
            tmp = _temporary_name(target)
            try:
                tmp.mkdir()
                break
            except FileExistsError:
                continue
        else:
            raise OutputError(f"no free temporary name beside {target}")
    except OSError as exc:
        raise OutputError(f"cannot write in {target.parent}: {exc.strerror or exc}") from None
    try:
        yield tmp
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.{secrets.token_hex(4)}.old")
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
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


__all__ = [
    "FORMATS",
    "OutputError",
    "atomic_folder",
    "atomic_path",
    "check_writable_folder",
    "file_target",
    "folder_target",
    "write_bytes",
    "write_table",
    "write_text",
]
