"""``bulletin daily`` and ``bulletin schedule``: the command-line face of bulletin.daily."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

log = logging.getLogger("bulletin.daily")

_config_option = click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="The TOML configuration (forecast, output, venues, languages, avatar, tts, ...).",
)
_scheduler_option = click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="dask scheduler to run on (default: $DASK_SCHEDULER_ADDRESS; none: this process).",
)
_workers_option = click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Start a local dask cluster of N single-threaded worker processes.",
)


def _check_scale(scheduler: str | None, workers: int | None) -> None:
    if scheduler and workers:
        raise click.UsageError("give --scheduler or --workers, not both")


@click.command("daily")
@_config_option
@click.option(
    "--date",
    default=None,
    metavar="YYYY-MM-DD",
    help="Local day of the bulletins (default: the config's, else the first whole day covered).",
)
@click.option("--force", is_flag=True, help="Rebuild finished venue x language units too.")
@_scheduler_option
@_workers_option
@click.option("--wait", is_flag=True, help="Wait for another run's lock instead of refusing.")
@click.pass_context
def daily_command(
    ctx: click.Context,
    config_path: Path,
    date: str | None,
    force: bool,
    scheduler: str | None,
    workers: int | None,
    wait: bool,
) -> None:
    """Build every venue's bulletin in every language for one forecast.

    Writes ROOT/<init date>/<init hour>Z/<venue>/<lang>/, the overview per language,
    manifest.json and index.html. Finished units are skipped (rerun-safe). Exit codes: 0 all
    done, 3 some units failed (the rest are published), 75 forecast not available yet (retry
    later), 1 error, 2 usage or configuration error.
    """
    from .daily.config import load_config, parse_day
    from .daily.run import run_daily
    from .progress import UnitBars

    _check_scale(scheduler, workers)
    day = parse_day(date, "--date") if date is not None else None
    config = load_config(config_path)
    # On a terminal: a bar of the units and a line per unit being built (its frames).
    with UnitBars() as bars:
        result = run_daily(
            config,
            date=day,
            force=force,
            scheduler=scheduler,
            workers=workers,
            wait=wait,
            progress=bars,
        )
    click.echo(str(result.index_path))
    ctx.exit(result.exit_code)


@click.command("schedule")
@_config_option
@click.option("--at", "at", default="05:30", show_default=True, metavar="HH:MM", help="Time.")
@click.option(
    "--tz", default="Asia/Shanghai", show_default=True, metavar="ZONE", help="IANA timezone."
)
@click.option(
    "--misfire-grace",
    type=click.IntRange(min=1),
    default=None,
    metavar="SECONDS",
    help="How late a missed run may still start (default 3600).",
)
@_scheduler_option
@_workers_option
def schedule_command(
    config_path: Path,
    at: str,
    tz: str,
    misfire_grace: int | None,
    scheduler: str | None,
    workers: int | None,
) -> None:
    """Run `bulletin daily` every day at --at in --tz, in this process (APScheduler).

    For hosts without cron or systemd timers; stop it with Ctrl-C. Each run rereads the
    configuration and logs its exit code; a failing run does not stop the schedule.
    """
    from .daily.config import load_config
    from .daily.schedule import DEFAULT_MISFIRE_GRACE_S, DailyJob, make_scheduler

    _check_scale(scheduler, workers)
    load_config(config_path)  # a bad file fails now, not at 05:30
    job = DailyJob(config_path.absolute(), scheduler=scheduler, workers=workers)
    blocking, scheduled = make_scheduler(
        job, at, tz, misfire_grace_s=misfire_grace or DEFAULT_MISFIRE_GRACE_S
    )
    import datetime as dt

    next_run = scheduled.trigger.get_next_fire_time(None, dt.datetime.now(dt.UTC))
    log.info("next run %s (%s); Ctrl-C stops", next_run.isoformat(), tz)
    try:
        blocking.start()
    except (KeyboardInterrupt, SystemExit):
        click.echo("bulletin: schedule stopped", err=True)
        sys.exit(0)


__all__ = ["daily_command", "schedule_command"]
