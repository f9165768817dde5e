"""Progress bars of the command line, and log lines that do not break them (stderr).

On a terminal, a run of bulletin units (``bulletin run``, ``bulletin daily``) shows a bar for
the whole run (units done, the estimated time left) and one line per unit being built: its
name, its stage (:data:`bulletin.unit.PROGRESS_STAGES`) and, while the video is made, its
frames with the time left. Meanwhile the ``bulletin`` logger writes through rich's console
(:class:`rich.logging.RichHandler`), which prints each log line on its own line above the
bars. Off a terminal (CI, a pipe, a file) there are no bars and the log lines stay the plain
lines the command line's handler writes (bulletin.cli): bars only when stderr is a terminal,
as cfgrib's command line does.

The library draws nothing: it reports through callbacks (``on_stage``, ``on_frames`` of
:func:`bulletin.unit.build_venue_bulletin`; :class:`bulletin.daily.run.RunProgress` of
:func:`bulletin.daily.run.run_daily`), which :class:`UnitBars` implements.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

#: The logger whose stream handlers print through the bars' console.
LOGGER = "bulletin"


def stderr_console() -> Console | None:
    """A rich console on stderr when stderr is a terminal, else None (no bars). Only the
    terminal counts: rich's own test also honours variables such as ``FORCE_COLOR`` that CI
    systems set, and bars in a CI log are noise."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console

    return Console(stderr=True)


def _terminal_handlers(logger: logging.Logger, console: Console) -> list[logging.Handler]:
    """The plain stream handlers of ``logger`` that write where the bars are drawn (or to
    stderr); file handlers and others are left alone."""
    streams = (console.file, sys.stderr, sys.__stderr__)
    return [
        h
        for h in logger.handlers
        if type(h) is logging.StreamHandler and any(h.stream is s for s in streams)
    ]


class UnitBars:
    """The bars of a run of units, as a context manager (see the module docstring).

    ``total`` is the number of units (or later :meth:`units`); ``console`` where to draw
    (default: :func:`stderr_console`; None off a terminal: every method does nothing). The
    methods are those of :class:`bulletin.daily.run.RunProgress` and may be called from any
    thread; reports of a unit after :meth:`finished` are ignored (a worker's last frame count
    can arrive after its result)."""

    def __init__(
        self, total: int | None = None, *, console: Console | None = None, what: str = "bulletins"
    ) -> None:
        self._console = console if console is not None else stderr_console()
        self._total = total
        self._what = what
        self._lock = threading.Lock()
        self._progress: Progress | None = None
        self._overall: TaskID | None = None
        self._rows: dict[str, TaskID] = {}
        self._share: dict[str, float] = {}  # in-flight units: fraction of their frames made
        self._finished: set[str] = set()
        self._swapped: list[tuple[logging.Handler, logging.Handler]] = []

    @property
    def active(self) -> bool:
        """Whether bars are drawn (a terminal)."""
        return self._console is not None

    def __enter__(self) -> UnitBars:
        if self._console is None:
            return self
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[count]}"),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=self._console,
            # Data on stdout stays there (bulletin daily prints the page's path); stray writes
            # to stderr (a warning, another logger) are printed above the bars.
            redirect_stdout=False,
            redirect_stderr=True,
        )
        self._overall = self._progress.add_task(self._what, total=self._total, count="")
        self._route_logs()
        self._progress.start()
        if self._total is not None:
            self.units(self._total)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._progress is None:
            return
        with self._lock:
            for row in self._rows.values():
                self._progress.remove_task(row)
            self._rows.clear()
        self._progress.stop()
        self._restore_logs()
        self._progress = None

    def _route_logs(self) -> None:
        """The ``bulletin`` logger's handlers that write to the terminal give way to a
        RichHandler on the bars' console, with the same format, level and filters."""
        from rich.logging import RichHandler

        logger = logging.getLogger(LOGGER)
        for old in _terminal_handlers(logger, self._console):
            new = RichHandler(
                console=self._console, show_time=False, show_level=False, show_path=False
            )
            new.setFormatter(old.formatter or logging.Formatter("bulletin: %(message)s"))
            new.setLevel(old.level)
            for log_filter in old.filters:
                new.addFilter(log_filter)
            logger.handlers[logger.handlers.index(old)] = new
            self._swapped.append((old, new))

    def _restore_logs(self) -> None:
        logger = logging.getLogger(LOGGER)
        for old, new in self._swapped:
            if new in logger.handlers:
                logger.handlers[logger.handlers.index(new)] = old
        self._swapped.clear()

    # -- the library's reports (bulletin.daily.run.RunProgress) -------------------------------
    def units(self, total: int) -> None:
        with self._lock:
            self._total = total
            self._redraw_overall()

    def stage(self, unit: str, stage: str) -> None:
        with self._lock:
            row = self._row(unit)
            if row is not None:
                self._progress.update(row, description=f"  {unit} {stage}")

    def frames(self, unit: str, done: int, total: int) -> None:
        with self._lock:
            row = self._row(unit)
            if row is None:
                return
            self._progress.update(row, total=total, completed=done, count=f"{done}/{total} frames")
            self._share[unit] = done / total if total else 0.0
            self._redraw_overall()

    def finished(self, unit: str, status: str) -> None:
        with self._lock:
            self._finished.add(unit)
            self._share.pop(unit, None)
            row = self._rows.pop(unit, None)
            if row is not None and self._progress is not None:
                self._progress.remove_task(row)
            self._redraw_overall()

    def callbacks(self, unit: str) -> dict[str, Callable[..., Any]]:
        """``on_stage`` and ``on_frames`` for :func:`bulletin.unit.build_venue_bulletin`."""
        return {
            "on_stage": lambda stage: self.stage(unit, stage),
            "on_frames": lambda done, total: self.frames(unit, done, total),
        }

    # -- drawing (under the lock) -------------------------------------------------------------
    def _row(self, unit: str) -> TaskID | None:
        """The line of ``unit``, added when it first reports; None without bars or once the
        unit is finished."""
        if self._progress is None or unit in self._finished:
            return None
        if unit not in self._rows:
            self._rows[unit] = self._progress.add_task(f"  {unit}", total=None, count="")
        return self._rows[unit]

    def _redraw_overall(self) -> None:
        """The run's bar: finished units plus the share of the frames of those in flight,
        so its estimate moves while a unit's video is made."""
        if self._progress is None or self._overall is None:
            return
        finished = len(self._finished)
        self._progress.update(
            self._overall,
            total=self._total,
            completed=finished + sum(self._share.values()),
            count=f"{finished}/{self._total} done" if self._total is not None else "",
        )


__all__ = ["LOGGER", "UnitBars", "stderr_console"]
