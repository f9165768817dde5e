"""Items of an iterator made ahead in a thread.

The presenter's stages release the GIL where they spend their time (PIL's drawing and
resampling, numpy, torch), so a stage run in its own thread overlaps the next one on a second
core: the procedural template is drawn while the generator runs, and a bulletin's presenter
frames are made while the frames before them are composited and encoded.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class MadeAhead(Generic[T]):
    """The items of ``items`` made ahead in a thread, at most ``depth`` of them waiting.
    Iterated like ``items``; an exception in the thread is raised at the item it happened
    at; :meth:`close` (or leaving a ``with`` block) stops the thread at its next item."""

    def __init__(self, items: Iterable[T], depth: int, name: str = "made-ahead") -> None:
        self._queue: queue.Queue = queue.Queue(depth)
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(
            target=self._run, args=(iter(items),), name=name, daemon=True
        )
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                # Closed while waiting: make no more items (a twin's batch costs ~0.1 s).
                return not self._stop.is_set()
            except queue.Full:
                continue
        return False

    def _run(self, items: Iterator[T]) -> None:
        try:
            for item in items:
                if not self._put(("item", item)):
                    return
        except BaseException as exc:  # raised again in the consuming thread
            self._put(("error", exc))
            return
        self._put(("end", None))

    def __iter__(self) -> MadeAhead[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        kind, value = self._queue.get()
        if kind == "item":
            return value
        self._done = True
        self._thread.join()
        if kind == "error":
            raise value
        raise StopIteration

    def close(self) -> None:
        """Stop making items (the thread ends at its next item)."""
        self._stop.set()
        self._done = True

    def __enter__(self) -> MadeAhead[T]:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()
