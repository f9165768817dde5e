"""The ``bulletin`` command line: a thin layer over the Python API.

Data goes to a file or, with ``-o -``, to stdout; logs and summaries go to stderr. Every error
the user can cause ends in one line on stderr and a non-zero exit code, never a traceback
(``-v`` shows the traceback of an unexpected internal error).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from avatar.cli import make_avatar_cli
from avatar.errors import AvatarError

from .cli_daily import daily_command, schedule_command
from .cli_options import (
    STDOUT,
    CommandLineError,
    date_option,
    elevation_option,
    forecast_argument,
    lang_option,
    languages_of,
    latest_run_option,
    load_venues,
    loudness_option,
    quiet_option,
    templates_option,
    tts_option,
    venue_option,
    venues_file_option,
    verbose_option,
    voice_option,
)
from .cli_run import run_command
from .cli_serve import serve_command
from .errors import BulletinError, ScriptUsageError
from .output import storage_error
from .venues import venues_to_csv, venues_to_json

if TYPE_CHECKING:
    import pandas as pd

    from .pipeline import SpokenBulletin
    from .script import Script
    from .venues import Venue

log = logging.getLogger("bulletin")
_state = {"verbose": 0, "quiet": False}


def _configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("bulletin: %(message)s"))
    root = logging.getLogger("bulletin")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="spectator-bulletin", prog_name="bulletin")
@verbose_option
@quiet_option
def cli(verbose: int, quiet: bool) -> None:
    """Spectator weather bulletins for outdoor winter-sport venues."""
    _state["verbose"] = verbose
    _state["quiet"] = quiet
    _configure_logging(verbose, quiet)


@cli.command("venues")
@venues_file_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
def venues_command(venues_file: Path | None, fmt: str) -> None:
    """List the venue catalogue."""
    venues = load_venues(venues_file, ())
    if fmt == "csv":
        click.echo(venues_to_csv(venues), nl=False)
    elif fmt == "json":
        click.echo(venues_to_json(venues), nl=False)
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table("id", "name", "名称", "lat", "lon", "elev m", "timezone")
        for v in venues:
            table.add_row(
                v.id,
                v.name,
                v.name_zh,
                f"{v.lat:.4f}",
                f"{v.lon:.4f}",
                f"{v.elevation_m:.0f}",
                v.timezone,
            )
        # Off a terminal rich would wrap to 80 columns; keep one venue per line for pipes.
        Console(width=None if sys.stdout.isatty() else 200).print(table)


def _print_summary(table) -> None:
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    from .summary import summarize

    daily = summarize(table)
    out = Table(title="Daily worst levels per venue (local days)", title_justify="left")
    for header in (
        "venue",
        "date",
        "T min..max °C",
        "wind chill",
        "chill",
        "frost",
        "cloth",
        "cold",
        "sun",
        "goggle",
        "spectator",
    ):
        out.add_column(header)
    roman = {1: "I", 2: "II", 3: "III", 4: "IV"}

    def lv(value) -> str:
        return "-" if value is None or value is pd.NA else str(int(value))

    for row in daily.itertuples(index=False):
        spectator = row.spectator_level_max
        out.add_row(
            row.venue_id,
            row.local_date,
            f"{row.temperature_min:.0f}..{row.temperature_max:.0f}",
            f"{row.wind_chill_min:.0f}",
            lv(row.wind_chill_level_max),
            lv(row.frostbite_level_max),
            lv(row.clothing_level_max),
            lv(row.cold_level_max),
            lv(row.sunscreen_level_max),
            lv(row.goggles_level_max),
            "-" if spectator is pd.NA else roman.get(int(spectator), "-"),
        )
    # Off a terminal rich would squeeze the table into 80 columns.
    console = Console(stderr=True)
    Console(stderr=True, width=None if console.is_terminal else 140).print(out)


@cli.command("indices")
@forecast_argument
@venue_option(help="Venue id (repeatable); all venues when omitted or 'all'.")
@venues_file_option
@click.option(
    "-o",
    "--output",
    required=True,
    metavar="FILE|-",
    help="Where to write the table; '-' for stdout.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json", "parquet"]),
    default=None,
    help="Output format (default: from the file suffix, else csv).",
)
@elevation_option
@latest_run_option
@click.option(
    "--summary/--no-summary",
    default=True,
    show_default=True,
    help="Print a daily worst-level table to stderr (not with -o -).",
)
@click.option(
    "--grid",
    is_flag=True,
    help="Write the indices and levels on the forecast grid (CF NetCDF .nc or Zarr .zarr) "
    "instead of the venue table.",
)
def indices_command(
    forecast: tuple[Path, ...],
    venue_ids: tuple[str, ...],
    venues_file: Path | None,
    output: str,
    fmt: str | None,
    elevation_correction: bool,
    latest_run: bool,
    summary: bool,
    grid: bool,
) -> None:
    """Compute the six spectator indices at venues and export the table.

    FORECAST: one or more NetCDF, GRIB2 or Zarr forecast files (merged).
    """
    from .output import file_target, write_table
    from .pipeline import forecast_table

    if grid:
        from .forecast import open_forecast
        from .grid_output import grid_format, write_grid_indices
        from .output import check_free_space

        grid_format(output)  # a usage error (exit 2) before the forecast is read
        folder = Path(output).absolute().parent
        check_free_space(folder, what="the gridded indices")
        log.info("reading %s", ", ".join(str(p) for p in forecast))
        write_grid_indices(open_forecast(forecast, chunks={}, latest_run=latest_run), output)
        log.info("wrote the gridded indices to %s", output)
        return
    if output != "-":
        file_target(output)  # a directory, FIFO or device fails before the forecast is read
    if fmt is None:
        fmt = _table_format(output)
    venues = load_venues(venues_file, venue_ids)
    log.info("reading %s", ", ".join(str(p) for p in forecast))
    log.info("computing indices for %d venue(s)", len(venues))
    table = forecast_table(
        forecast, venues, elevation_correction=elevation_correction, latest_run=latest_run
    )
    write_table(table, output, fmt)
    if output != "-":
        log.info("wrote %d rows to %s", len(table), output)
        if summary:
            _print_summary(table)


TABLE_FORMATS = ("csv", "json", "parquet")


def _table_format(output: str) -> str:
    """The table format named by the extension of ``output`` (csv for stdout); a usage error
    (exit 2) for any other extension, never a silent CSV."""
    if output == "-":
        return "csv"
    suffix = Path(output).suffix.lower().lstrip(".")
    if suffix not in TABLE_FORMATS:
        raise CommandLineError(
            f"cannot tell the table format of {output!r} from its extension "
            f"{('.' + suffix) if suffix else '(none)'}: use .csv, .json or .parquet, or --format"
        )
    return suffix


# -- bulletin script / bulletin speak -----------------------------------------------------------
def _bulletin_options(command):
    """The options ``script`` and ``speak`` share: which bulletins, from which forecast."""
    options = [
        forecast_argument,
        venue_option(
            help="Venue id, repeatable: one bulletin each, or with --kind overview the venues "
            "of the overview (default: all); all: every venue."
        ),
        lang_option(help="Language: zh, en or all (one bulletin each)."),
        click.option(
            "--kind",
            type=click.Choice(["venue", "overview"]),
            default="venue",
            show_default=True,
            help="One venue's bulletin, or the daily overview of the venues.",
        ),
        date_option,
        templates_option,
        venues_file_option,
        elevation_option,
        latest_run_option,
    ]
    for option in reversed(options):
        command = option(command)
    return command


@dataclass(frozen=True)
class _Bulletin:
    """One bulletin a command makes: its venues (one, or the overview's), its language, and
    the name of its folder under the output root when there are several."""

    venues: tuple[Venue, ...]
    lang: str
    name: str


def _bulletin_plan(
    venues_file: Path | None, venue_ids: tuple[str, ...], kind: str, lang: str
) -> list[_Bulletin]:
    """The bulletins asked for, one per venue (or one overview) and language (quick checks:
    before the heavy modules load)."""
    from .pipeline import check_script_request

    if kind == "venue" and not venue_ids:
        raise ScriptUsageError(
            "a venue bulletin needs --venue ID or --venue all (or --kind overview)"
        )
    venues = load_venues(venues_file, venue_ids)
    languages = languages_of(lang)
    if kind == "overview":
        from .daily.run import OVERVIEW_FOLDER

        check_script_request(kind, venues)
        return [_Bulletin(tuple(venues), language, OVERVIEW_FOLDER) for language in languages]
    return [_Bulletin((v,), language, v.id) for v in venues for language in languages]


def _one_stream(command: str, plan: list[_Bulletin], what: str) -> None:
    """stdout holds one bulletin's ``what``; several are a usage error."""
    if len(plan) > 1:
        names = ", ".join(f"{b.name}/{b.lang}" for b in plan)
        raise CommandLineError(
            f"bulletin {command} writes {what} of one bulletin to stdout, but {len(plan)} are "
            f"asked for ({names}); give -o DIR for DIR/<venue_id>/<lang>/ each"
        )


def _bulletin_folder(output: str | Path, plan: list[_Bulletin], bulletin: _Bulletin) -> Path:
    """``output`` itself for one bulletin; ``output/<venue_id>/<lang>/`` (the overview:
    ``output/_overview/<lang>/``) for several, the layout of ``bulletin run`` and ``daily``."""
    from .unit import unit_folder

    if len(plan) == 1:
        return Path(output)
    return unit_folder(output, bulletin.name, bulletin.lang)


def _check_script_inputs(
    plan: list[_Bulletin], kind: str, date: str | None, templates: Path | None
) -> None:
    """The date and the templates of every language, checked before the forecast is read."""
    from .script import check_templates, parse_date

    parse_date(date)
    for lang in dict.fromkeys(b.lang for b in plan):
        check_templates(templates, lang=lang, kind=kind)


def _forecast_table(forecast, plan: list[_Bulletin], elevation_correction, latest_run):
    """The venue table of every bulletin's venues, read once (:func:`read_forecast`)."""
    from .pipeline import forecast_table

    venues = list({v.id: v for b in plan for v in b.venues}.values())
    log.info("reading %s", ", ".join(str(p) for p in forecast))
    return forecast_table(
        forecast, venues, elevation_correction=elevation_correction, latest_run=latest_run
    )


def _bulletin_script(
    table: pd.DataFrame, bulletin: _Bulletin, kind: str, date, templates_dir
) -> Script:
    from .pipeline import make_script

    script = make_script(
        table,
        bulletin.venues,
        lang=bulletin.lang,
        kind=kind,
        date=date,
        templates_dir=templates_dir,
    )
    log.info(
        "%s bulletin %s %s %s: %d sentences, about %.0f s spoken",
        kind,
        script.venue_id or f"of {len(script.venue_ids)} venues",
        script.date.isoformat(),
        bulletin.lang,
        len(script.sentences),
        script.estimated_seconds,
    )
    return script


@cli.command("script")
@_bulletin_options
@click.option(
    "-o",
    "--output",
    default=None,
    metavar="DIR|-",
    help="Folder for script.txt, script.tts.txt and script.json (DIR/<venue_id>/<lang>/ for "
    "several bulletins); '-' or omitted: one bulletin's display text to stdout.",
)
def script_command(
    forecast: tuple[Path, ...],
    venue_ids: tuple[str, ...],
    lang: str,
    kind: str,
    date: str | None,
    templates_dir: Path | None,
    venues_file: Path | None,
    elevation_correction: bool,
    latest_run: bool,
    output: str | None,
) -> None:
    """Write the bulletin script of venues (or the overview of venues) for one local day.

    FORECAST: one or more NetCDF, GRIB2 or Zarr forecast files (merged). Without -o (or with
    -o -) the display text (as captions show it) of the one bulletin goes to stdout.
    """
    from .output import provisional_folder
    from .pipeline import write_script_files

    plan = _bulletin_plan(venues_file, venue_ids, kind, lang)
    if output in (None, STDOUT):
        _one_stream("script", plan, "the text")
        _check_script_inputs(plan, kind, date, templates_dir)
        table = _forecast_table(forecast, plan, elevation_correction, latest_run)
        click.echo(_bulletin_script(table, plan[0], kind, date, templates_dir).display_text)
        return
    with provisional_folder(output):  # a failure leaves no folder it made
        _check_script_inputs(plan, kind, date, templates_dir)
        table = _forecast_table(forecast, plan, elevation_correction, latest_run)
        for bulletin in plan:
            script = _bulletin_script(table, bulletin, kind, date, templates_dir)
            files = write_script_files(script, _bulletin_folder(output, plan, bulletin))
            log.info("wrote %s", ", ".join(str(path) for path in files.values()))


def _log_spoken(spoken: SpokenBulletin, kind: str) -> None:
    from .script import SPOKEN_SECONDS

    log.info(
        "spoke %.1f s with %s (%s), %d subtitle cues",
        spoken.duration_s,
        spoken.engine,
        spoken.voice,
        spoken.subtitle_cues,
    )
    low, high = SPOKEN_SECONDS[kind]
    if not low <= spoken.duration_s <= high:
        log.warning(
            "the speech lasts %.0f s; a %s bulletin should take %.0f-%.0f s",
            spoken.duration_s,
            kind,
            low,
            high,
        )


@cli.command("speak")
@_bulletin_options
@tts_option(
    "engine",
    help="Speech engine.",
)
@voice_option
@click.option("--rate", type=int, default=None, metavar="WPM", help="Words per minute.")
@loudness_option
@click.option(
    "-o",
    "--output",
    required=True,
    metavar="DIR|-",
    help="Folder for script.txt, speech.wav, timings.json, subtitles.srt/.vtt and the rest "
    "(DIR/<venue_id>/<lang>/ for several bulletins); '-': one bulletin's WAV to stdout.",
)
def speak_command(
    forecast: tuple[Path, ...],
    venue_ids: tuple[str, ...],
    lang: str,
    kind: str,
    date: str | None,
    templates_dir: Path | None,
    venues_file: Path | None,
    elevation_correction: bool,
    latest_run: bool,
    engine: str,
    voice: str | None,
    rate: int | None,
    loudness_lufs: float,
    output: str,
) -> None:
    """Write bulletin scripts and speak them: WAV, phoneme/word timings and subtitles.

    FORECAST: one or more NetCDF, GRIB2 or Zarr forecast files (merged).
    """
    from .output import provisional_folder, write_fully
    from .pipeline import speak_script
    from .speech import check_request

    plan = _bulletin_plan(venues_file, venue_ids, kind, lang)
    if output == STDOUT:
        _one_stream("speak", plan, "the WAV")
        if sys.stdout.isatty():
            raise CommandLineError("refusing to write WAV audio to a terminal; use -o DIR")

    def speak(table: pd.DataFrame, bulletin: _Bulletin, folder: Path) -> SpokenBulletin:
        script = _bulletin_script(table, bulletin, kind, date, templates_dir)
        spoken = speak_script(
            script, folder, engine=engine, voice=voice, rate=rate, loudness_lufs=loudness_lufs
        )
        _log_spoken(spoken, kind)
        return spoken

    def check() -> None:
        for language in dict.fromkeys(b.lang for b in plan):
            check_request(
                language, engine=engine, voice=voice, rate=rate, loudness_lufs=loudness_lufs
            )
        _check_script_inputs(plan, kind, date, templates_dir)

    if output == STDOUT:
        check()
        table = _forecast_table(forecast, plan, elevation_correction, latest_run)
        with tempfile.TemporaryDirectory(prefix="bulletin-speak-") as folder:
            spoken = speak(table, plan[0], Path(folder))
            write_fully(sys.stdout.buffer, spoken.files["wav"].read_bytes())
            sys.stdout.buffer.flush()
        log.info("wrote the WAV (%.1f s) to stdout", spoken.duration_s)
        return
    with provisional_folder(output):  # a failure before the first file leaves no folder
        check()
        table = _forecast_table(forecast, plan, elevation_correction, latest_run)
        for bulletin in plan:
            spoken = speak(table, bulletin, _bulletin_folder(output, plan, bulletin))
            log.info("wrote %s", ", ".join(str(path) for path in spoken.files.values()))


# The presenter's commands live with the presenter (avatar/ knows nothing of weather).
def _synthesize_for_avatar(text: str, lang: str, out_dir: Path, *, rate: int | None = None):
    """:func:`bulletin.speech.synthesize` for the presenter's transcript alignment, imported on
    first use (the speech stage is slow to import)."""
    from .speech import synthesize

    return synthesize(text, lang, out_dir, rate=rate)


cli.add_command(make_avatar_cli(_synthesize_for_avatar))
cli.add_command(daily_command)
cli.add_command(schedule_command)
cli.add_command(run_command)
cli.add_command(serve_command)


def _late_verbose(ctx: click.Context, param: click.Parameter, value: int) -> None:
    if value:
        _state["verbose"] += value
        _configure_logging(_state["verbose"], _state["quiet"])


def _late_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        _state["quiet"] = True
        _configure_logging(_state["verbose"], True)


def _add_log_options(group: click.Group) -> None:
    """``-v``/``-q`` after the subcommand too (``bulletin indices F -o - -v``), with the same
    meaning as before it."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            _add_log_options(command)
            continue
        command.params.append(
            click.Option(["-v", "--verbose", "late_verbose"], count=True, expose_value=False,
                         callback=_late_verbose, help="More log lines on stderr (-vv: debug).")
        )  # fmt: skip
        command.params.append(
            click.Option(["-q", "--quiet", "late_quiet"], is_flag=True, expose_value=False,
                         callback=_late_quiet, help="Only warnings and errors on stderr.")
        )  # fmt: skip


_add_log_options(cli)


def _quiet_broken_pipe() -> None:
    """stdout's reader has gone (``bulletin ... | head -1``): point stdout at /dev/null so the
    interpreter's final flush does not fail again with "Exception ignored" (Python docs,
    "Note on SIGPIPE" in the signal module)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point with one-line errors and meaningful exit codes."""
    try:
        code = cli.main(args=argv, prog_name="bulletin", standalone_mode=False)
        sys.stdout.flush()  # a closed pipe is found here, not in the interpreter's exit
    except click.exceptions.Abort:
        click.echo("bulletin: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (BulletinError, AvatarError) as exc:
        click.echo(f"bulletin: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("bulletin: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        _quiet_broken_pipe()
        sys.exit(1)  # as click exits when the pipe breaks inside a command
    except OSError as exc:  # a full disk, a quota, a read-only folder, a link loop ...
        if _state["verbose"]:
            traceback.print_exc()
        click.echo(f"bulletin: error: {storage_error(exc)}", err=True)
        sys.exit(1)
    except Exception as exc:  # an internal error: still one line unless -v
        if _state["verbose"]:
            traceback.print_exc()
        first = str(exc).splitlines()[0] if str(exc) else ""
        click.echo(
            f"bulletin: internal error: {type(exc).__name__}: {first} (run with -v for details)",
            err=True,
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
