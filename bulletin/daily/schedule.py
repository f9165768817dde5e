"""``bulletin schedule``: the daily run, every day at a fixed local time, in this process.

For containers and machines without cron or systemd timers. It uses APScheduler 3.x (4.x is
a different, asynchronous API): a :class:`~apscheduler.schedulers.blocking.BlockingScheduler`
with one job on a :class:`~apscheduler.triggers.cron.CronTrigger` at ``--at`` in ``--tz``.
The job options are APScheduler's own (APScheduler 3.x documentation, "User guide": missed job
executions and coalescing, limiting the number of concurrently executing instances): ``coalesce``
(runs missed while the machine slept become one), ``max_instances=1`` (never two at once) and
a misfire grace time (a run up to that late still happens; our default: one hour).

Each run reloads the configuration file (so edits apply the next morning) and calls
:func:`bulletin.daily.run.run_daily` without a date (the first whole day the forecast
covers). A failing run is logged and the scheduler keeps going.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avatar.errors import AvatarError

from ..errors import BulletinError
from .config import ConfigError, load_config

#: Seconds a run may start late and still happen (our choice: an hour, so a machine that
#: wakes at 06:20 still publishes the morning's bulletins).
DEFAULT_MISFIRE_GRACE_S = 3600
_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")

log = logging.getLogger("bulletin.daily")


def parse_time_of_day(text: str) -> tuple[int, int]:
    """``HH:MM`` (24-hour clock) as (hour, minute)."""
    match = _TIME_RE.match(text.strip())
    if not match:
        raise ConfigError(f"--at {text!r} is not a time of day (use HH:MM, e.g. 05:30)")
    return int(match.group(1)), int(match.group(2))


def check_timezone(name: str):
    """The IANA timezone ``name`` as a ZoneInfo."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"--tz {name!r} is not an IANA timezone (e.g. Asia/Shanghai)") from None


@dataclass
class DailyJob:
    """The scheduled job: run the daily bulletins from ``config_path``; remembers the exit
    code of its last run (None before the first)."""

    config_path: Path
    scheduler: str | None = None
    workers: int | None = None
    last_exit_code: int | None = None

    def __call__(self) -> int:
        from .run import run_daily

        try:
            result = run_daily(
                load_config(self.config_path), scheduler=self.scheduler, workers=self.workers
            )
            code = result.exit_code
        except (BulletinError, AvatarError) as exc:
            log.error("daily run failed: %s", exc)
            code = exc.exit_code
        except Exception as exc:  # keep the scheduler alive; say what broke
            log.error("daily run failed: internal error: %s: %s", type(exc).__name__, exc)
            code = 1
        self.last_exit_code = code
        log.info("daily run finished with exit code %d", code)
        return code


def make_scheduler(
    job: DailyJob, at: str, tz: str, *, misfire_grace_s: int = DEFAULT_MISFIRE_GRACE_S
) -> tuple[Any, Any]:
    """A BlockingScheduler (not started) with ``job`` daily at ``at`` (HH:MM) in ``tz``;
    returns (scheduler, apscheduler job)."""
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger

    hour, minute = parse_time_of_day(at)
    zone = check_timezone(tz)
    scheduler = BlockingScheduler(timezone=zone)
    trigger = CronTrigger(hour=hour, minute=minute, timezone=zone)
    scheduled = scheduler.add_job(
        job,
        trigger,
        id="bulletin-daily",
        name=f"bulletin daily --config {job.config_path}",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=misfire_grace_s,
    )
    return scheduler, scheduled


__all__ = [
    "DEFAULT_MISFIRE_GRACE_S",
    "DailyJob",
    "check_timezone",
    "make_scheduler",
    "parse_time_of_day",
]
