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

Temporaries carry the pid of the process that made them (``.<name>.<pid>-<random>.tmp``, an
older folder moved aside ``.<name>.<pid>-<random>.old``), so :func:`remove_stale_temporaries`
can remove, on the next run, only those whose process is no longer alive on this machine: a
run killed with ``kill -9`` cannot remove its own.

:func:`check_free_space` refuses to start a write when the folder's file system has less than
:data:`FREE_SPACE_MARGIN` bytes free, and :func:`storage_error` turns an ``OSError`` (no space,
quota, read-only file system, permission, a symbolic link loop, ...) into the one-line
:class:`OutputError` that names the path and the cause; the command line uses it for any
``OSError`` that reaches it.

What a target may be: a regular file (replaced) or nothing (created). A symbolic link is
written *through*: the file it points to is replaced and the link itself stays. A directory,
FIFO, character or block device or socket is refused with :class:`OutputError` before
anything is written, and is left untouched (renaming a file over ``/dev/null`` or a named pipe
would silently replace it by a regular file).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import io
import os
import re
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


#: Free bytes a folder's file system must have before a unit's speech or video is made (our
#: choice: several times the files of a 90 s venue bulletin, whose video is the largest).
FREE_SPACE_MARGIN = 64 * 1024 * 1024

#: Causes named in words beside the system's own text (errno(3)).
_CAUSES = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
    errno.ELOOP: "a symbolic link loop",
}


def storage_error(error: OSError, path: str | Path | None = None) -> OutputError:
    """The one-line :class:`OutputError` for ``error`` at ``path`` (default: the file the
    error names): the path, the system's text, the errno name and, for a full disk, an
    exceeded quota, a read-only file system or a link loop, the cause in words."""
    where = path if path is not None else error.filename
    text = " ".join((error.strerror or str(error) or type(error).__name__).split())
    code = errno.errorcode.get(error.errno or 0)
    cause = _CAUSES.get(error.errno or 0)
    detail = f"{text} ({code})" if code else text
    if cause:
        detail = f"{cause}: {detail}"
    return OutputError(f"{where}: {detail}" if where is not None else detail)


def check_free_space(
    folder: str | Path, needed: int = FREE_SPACE_MARGIN, *, what: str = "the output"
) -> None:
    """Raise :class:`OutputError` when the file system of ``folder`` has fewer than ``needed``
    bytes free (``shutil.disk_usage``): a full disk is named before the work that would
    fill it starts, instead of failing later in the speech engine or the video encoder."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        raise storage_error(exc, folder) from None
    if free < needed:
        raise OutputError(
            f"the disk is nearly full: {folder} has {free / 2**20:.1f} MiB free, "
            f"{what} needs at least {needed / 2**20:.0f} MiB (ENOSPC)"
        )


# fallocate(2): FALLOC_FL_KEEP_SIZE reserves the blocks without changing the file's size.
_FALLOC_FL_KEEP_SIZE = 0x01


def reserve_space(fd: int, nbytes: int, *, path: str | Path) -> None:
    """Reserve ``nbytes`` of disk for the open file ``fd`` (at ``path``, for the message)
    before a writer that cannot survive a full disk fills it: fallocate(2) with
    ``FALLOC_FL_KEEP_SIZE``, so the file still looks empty to the writer and later writes
    up to ``nbytes`` cannot fail for space. Where the file system or the platform has no
    fallocate, the free space is checked instead (which another writer can still race).
    A shortfall is the one-line "the disk is full" :class:`OutputError`; release what the
    writer did not use with ``os.ftruncate(fd, size)`` afterwards."""
    fallocate = getattr(ctypes.CDLL(None, use_errno=True), "fallocate", None)
    if fallocate is not None:
        fallocate.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64)
        if fallocate(fd, _FALLOC_FL_KEEP_SIZE, 0, nbytes) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            raise storage_error(OSError(code, os.strerror(code)), path)
    check_free_space(Path(path).parent, nbytes, what=f"writing {Path(path).name}")


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
        raise storage_error(exc, path) from None
    for test, kind in _SPECIAL_KINDS:
        if test(mode):
            raise OutputError(f"refusing to write over {path}: it is {kind}")
    return target


def disk_full_cause(folder: str | Path, error: BaseException) -> OutputError | None:
    """For a write into ``folder`` that failed with ``error`` (libraries such as netCDF-C
    report a full disk only as "NetCDF: HDF error"): the one-line "the disk is full" error
    when the folder's file system now has less than :data:`FREE_SPACE_MARGIN` bytes free,
    else None."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return None
    if free >= FREE_SPACE_MARGIN:
        return None
    detail = " ".join(str(error).split())[:120] or type(error).__name__
    return OutputError(
        f"{folder}: the disk is full ({free / 2**20:.1f} MiB free; the writer said: {detail}) "
        "(ENOSPC)"
    )


def _full_disk(folder: Path, error: BaseException) -> OutputError | None:
    """A write into ``folder`` failed with ``error``: the full disk it was, if it was one and
    ``error`` does not already say so (see :func:`disk_full_cause`)."""
    if not isinstance(error, Exception) or isinstance(error, BulletinError):
        return None
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return None  # named as such by storage_error
    return disk_full_cause(folder, error)


#: ``.<name>.<pid>-<12 hex digits><suffix>``: the temporaries and moved-aside folders of
#: :func:`atomic_path` and :func:`atomic_folder`.
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<pid>[0-9]+)-[0-9a-f]{12}(?P<suffix>\.tmp.*|\.old)$")


def _temporary_name(target: Path, suffix: str = ".tmp") -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(6)}{suffix}")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def remove_stale_temporaries(folder: str | Path, names: set[str] | None = None) -> list[Path]:
    """Remove the temporaries (``.<name>.<pid>-<random>.tmp...``) and moved-aside folders
    (``....old``) in ``folder`` whose process is no longer alive on this machine, for targets
    named in ``names`` (every target when None). A live process's temporaries, and hidden
    entries of any other form, are left alone. Returns what was removed."""
    removed = []
    try:
        entries = list(Path(folder).iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return removed
    except OSError as exc:
        raise storage_error(exc, folder) from None
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match is None or (names is not None and match["name"] not in names):
            continue
        if _process_alive(int(match["pid"])):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


@contextlib.contextmanager
def atomic_path(path: str | Path, *, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary file beside ``path`` (or beside the file a link at ``path`` points
    to); the block writes it, and it is renamed onto the target only if the block succeeds.
    ``suffix`` ends the temporary's name (for writers that choose the format by it, such as
    ffmpeg: ``".tmp.mp4"``).

    A failure (or an interrupt) leaves the target as it was and removes the temporary; a
    failure on a disk that is now full becomes the "the disk is full" :class:`OutputError`
    (:func:`disk_full_cause`), whatever the writer called it."""
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
            raise storage_error(exc, folder) from None
    else:
        raise OutputError(f"no free temporary name beside {target}")
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException as exc:
        cause = _full_disk(folder, exc)  # judged before the temporary frees the space
        tmp.unlink(missing_ok=True)
        if cause is not None:
            raise cause from None
        raise


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return ``path``."""
    try:
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
    except OSError as exc:
        raise storage_error(exc, path) from None
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; return ``path``."""
    return write_bytes(path, text.encode("utf-8"))


def check_writable_folder(folder: str | Path) -> Path:
    """Create ``folder`` (and its parents) if needed and check that files can be made in it.
    Raises :class:`OutputError` naming the folder."""
    folder = Path(folder)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.stat(folder)  # a symbolic link loop is named as such, not as "File exists"
        folder.mkdir(parents=True, exist_ok=True)
        probe = _temporary_name(folder / "write-test")
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        probe.unlink()
    except OSError as error:
        raise OutputError(f"cannot write in output folder {storage_error(error, folder)}") from None
    return folder


@contextlib.contextmanager
def provisional_folder(folder: str | Path) -> Iterator[Path]:
    """:func:`check_writable_folder` for the block; if the block fails, the folders it created
    (``folder`` and any missing parents) are removed again when still empty, so a failed
    command leaves nothing behind. Folders that were there before are kept."""
    folder = Path(folder)
    missing = []
    for candidate in (folder, *folder.parents):
        if os.path.lexists(candidate):
            break
        missing.append(candidate)
    check_writable_folder(folder)
    try:
        yield folder
    except BaseException:
        for created in missing:  # the deepest first
            try:
                created.rmdir()
            except OSError:  # not empty (something was written), or already gone
                break
        raise


def folder_target(folder: str | Path) -> Path:
    """Where a folder written to ``folder`` really goes (a link is followed); raises
    :class:`OutputError` when something other than a directory is there."""
    folder = Path(folder)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.stat(folder)
    except OSError as exc:
        raise storage_error(exc, folder) from None
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
        raise storage_error(exc, target.parent) from None
    try:
        yield tmp
        old = None
        if target.exists():
            old = _temporary_name(target, ".old")
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException as exc:
        cause = _full_disk(target.parent, exc)
        shutil.rmtree(tmp, ignore_errors=True)
        if cause is not None:
            raise cause from None
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


def write_fully(stream: BinaryIO, data: bytes | memoryview) -> None:
    """Write all of ``data`` to ``stream``. Under ``python -u`` or ``PYTHONUNBUFFERED=1``
    ``sys.stdout.buffer`` is the raw file, whose ``write`` may take only part of the data
    (when a signal arrives, or the pipe's reader has gone: the next write then raises
    ``BrokenPipeError``); the rest would be dropped without a word."""
    view = memoryview(data).cast("B")
    while view:
        written = stream.write(view)
        if written is None:  # a non-blocking descriptor that is full
            raise OutputError("cannot write to stdout: it is non-blocking and full")
        view = view[written:]


def write_table(table: pd.DataFrame, destination: str | Path, fmt: str = "csv") -> None:
    """Write ``table`` as csv, json or parquet to a file (atomically) or to stdout (``-``)."""
    write = _writer(table, fmt)
    if str(destination) == "-":
        if fmt == "parquet" and sys.stdout.isatty():
            raise OutputError("refusing to write parquet to a terminal; use -o FILE")
        data = io.BytesIO()
        write(data)
        write_fully(sys.stdout.buffer, data.getbuffer())
        sys.stdout.buffer.flush()
        return
    try:
        with atomic_path(destination) as tmp, open(tmp, "wb") as handle:
            write(handle)
    except OSError as exc:
        raise storage_error(exc, destination) from None


__all__ = [
    "FORMATS",
    "FREE_SPACE_MARGIN",
    "OutputError",
    "atomic_folder",
    "atomic_path",
    "check_free_space",
    "check_writable_folder",
    "disk_full_cause",
    "file_target",
    "folder_target",
    "provisional_folder",
    "remove_stale_temporaries",
    "reserve_space",
    "storage_error",
    "write_bytes",
    "write_fully",
    "write_table",
    "write_text",
]
