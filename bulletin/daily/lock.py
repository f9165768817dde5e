"""One daily run at a time per output root: an ``fcntl.flock`` on ``ROOT/.bulletin-daily.lock``.

The kernel drops the lock when its holder exits, however it exits (``kill -9`` included), so
a stale lock file never blocks the next run; the pid written into it only names the holder in
the refusal message.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from ..errors import BulletinError

LOCK_NAME = ".bulletin-daily.lock"

log = logging.getLogger("bulletin.daily")


class LockedError(BulletinError):
    """Another run holds the output root's lock (exit code 1)."""


def _holder(handle) -> str:
    try:
        handle.seek(0)
        text = handle.read().strip()
    except OSError:
        return "unknown"
    return text if text.isdigit() else "unknown"


@contextlib.contextmanager
def run_lock(root: Path, *, wait: bool = False, poll_s: float = 1.0) -> Iterator[Path]:
    """Hold the lock of ``root`` for the block. Without ``wait`` a held lock raises
    :class:`LockedError` naming the lock file and the holder's pid; with ``wait`` it blocks
    until the holder finishes."""
    path = root / LOCK_NAME
    try:
        handle = open(path, "a+")  # held open for the whole block
    except OSError as exc:
        raise BulletinError(f"cannot open lock file {path}: {exc.strerror or exc}") from None
    waiting = False
    try:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait:
                    raise LockedError(
                        f"another bulletin daily run holds {path} (pid {_holder(handle)}); "
                        "try again when it has finished, or pass --wait"
                    ) from None
                if not waiting:
                    log.info("waiting for %s (held by pid %s)", path, _holder(handle))
                    waiting = True
                time.sleep(poll_s)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield path
    finally:
        handle.close()  # closing the descriptor releases the flock


__all__ = ["LOCK_NAME", "LockedError", "run_lock"]
