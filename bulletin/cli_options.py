"""The click options the ``bulletin`` commands share, and the venue selection behind them.

Each command module (:mod:`bulletin.cli`, :mod:`bulletin.cli_run`, :mod:`bulletin.cli_daily`)
imports its options from here, so a shared option is spelled, checked and explained once and
no command module imports another.

The conventions every command follows: ``-o -`` is stdout where one stream is written (and a
usage error, :class:`CommandLineError`, where a folder is); ``--lang all`` is every language and
``--venue all`` every venue; several bulletins go to ``OUT/<venue_id>/<lang>/``
(:func:`bulletin.unit.unit_folder`); the presenter is :data:`avatar.DEFAULT_AVATAR` unless
``--avatar`` says otherwise. Logs go to stderr.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from avatar import DEFAULT_AVATAR
from avatar.cli import AVATAR_HELP, AVATAR_METAVAR

from .errors import UsageError

if TYPE_CHECKING:
    from .venues import Venue

F = TypeVar("F", bound=Callable)

VENUES_FILE_HELP = "CSV (id,name,lat,lon,elevation_m[,name_zh,timezone]) replacing the catalogue."
#: The speech engines (:data:`bulletin.speech.synthesis.ENGINES`, spelled here so that the
#: command line does not import the speech stage to show its help) and the default one
#: (:data:`bulletin.speech.synthesis.DEFAULT_ENGINE`).
SPEECH_ENGINES = ("auto", "pyttsx3", "espeak", "piper", "fastspeech2")
DEFAULT_SPEECH_ENGINE = "auto"
#: What ``--tts`` says of the engines, after the command's own words.
TTS_HELP = (
    " auto: per language the natural voice that is installed (en: piper, zh: fastspeech2 of "
    "make voices-zh), else espeak-ng; pyttsx3 or espeak: espeak-ng (zh, en); piper: English "
    "only; fastspeech2: Chinese only."
)
#: The languages of the bulletins (:data:`bulletin.wording.LANGUAGES`, spelled here so that
#: the command line does not import the script stage to show its help), and ``all`` of them.
LANGUAGES = ("zh", "en")
ALL = "all"
LANG_CHOICES = (*LANGUAGES, ALL)
#: ``-o -``: the one stream a command writes goes to stdout.
STDOUT = "-"


class CommandLineError(UsageError):
    """A value on the command line that no command accepts: a usage error (exit code 2), in
    one line."""


def languages_of(lang: str) -> tuple[str, ...]:
    """The languages ``--lang`` names: one, or :data:`LANGUAGES` for ``all``."""
    return LANGUAGES if lang == ALL else (lang,)


def check_folder_output(output: str | Path, command: str, layout: str) -> None:
    """``-o -`` where ``command`` writes a folder (``layout``) is a usage error, not a folder
    named ``-``."""
    if str(output) == STDOUT:
        raise CommandLineError(
            f"bulletin {command} -o - : it writes a folder ({layout}), which stdout cannot "
            "hold; give -o DIR"
        )


forecast_argument = click.argument(
    "forecast", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=True)
)

venues_file_option = click.option(
    "--venues-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help=VENUES_FILE_HELP,
)

date_option = click.option(
    "--date",
    metavar="YYYY-MM-DD",
    default=None,
    help="Local day (default: the first full local day in the forecast).",
)

templates_option = click.option(
    "--templates",
    "templates_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder of templates (and wording.toml) overriding the shipped ones by name.",
)

elevation_option = click.option(
    "--elevation-correction/--no-elevation-correction",
    default=True,
    show_default=True,
    help="Move temperature from model height to venue elevation at 6.5 K/km.",
)

voice_option = click.option(
    "--voice", default=None, metavar="NAME", help="Voice (default: the language's)."
)

#: EBU R128 programme loudness, the default of :func:`bulletin.speech.synthesize` (spelled here
#: so that the command line does not import the speech stage to show its help).
DEFAULT_LOUDNESS_LUFS = -23.0

loudness_option = click.option(
    "--loudness",
    "loudness_lufs",
    type=float,
    default=DEFAULT_LOUDNESS_LUFS,
    show_default=True,
    metavar="LUFS",
    help="Programme loudness of the speech (ITU-R BS.1770-4 integrated; EBU R128: -23), "
    "true peak at most -1 dBTP.",
)

avatar_option = click.option(
    "--avatar",
    default=DEFAULT_AVATAR,
    show_default=True,
    metavar=AVATAR_METAVAR,
    help=AVATAR_HELP,
)


verbose_option = click.option(
    "-v", "--verbose", count=True, help="More log lines on stderr (-vv: debug)."
)

quiet_option = click.option(
    "-q", "--quiet", is_flag=True, help="Only warnings and errors on stderr."
)

latest_run_option = click.option(
    "--latest-run",
    is_flag=True,
    default=False,
    help="Forecast files of overlapping runs: take the newest run where they overlap "
    "(default: refuse them).",
)


def venue_option(*, required: bool = False, help: str) -> Callable[[F], F]:
    """``--venue ID`` (repeatable; ``all``: every venue), into the parameter ``venue_ids``."""
    return click.option(
        "--venue", "venue_ids", multiple=True, required=required, metavar="ID", help=help
    )


def lang_option(choices: Sequence[str] = LANG_CHOICES, *, help: str) -> Callable[[F], F]:
    """``--lang`` (required) among ``choices`` (:func:`languages_of` reads ``all``)."""
    return click.option("--lang", required=True, type=click.Choice(list(choices)), help=help)


def tts_option(dest: str, *, help: str) -> Callable[[F], F]:
    """``--tts auto|pyttsx3|espeak|piper|fastspeech2`` (default
    :data:`DEFAULT_SPEECH_ENGINE`), into the parameter ``dest``; ``help`` is followed by
    :data:`TTS_HELP`."""
    return click.option(
        "--tts",
        dest,
        type=click.Choice(list(SPEECH_ENGINES)),
        default=DEFAULT_SPEECH_ENGINE,
        show_default=True,
        help=help + TTS_HELP,
    )


def load_venues(venues_file: Path | None, ids: Sequence[str]) -> list[Venue]:
    """The venues ``ids`` (all when empty or when one is ``all``) of ``venues_file``, or of the
    shipped catalogue."""
    from .venues import load_catalogue, load_venues_file, select_venues

    catalogue = load_venues_file(venues_file) if venues_file else load_catalogue()
    return select_venues(catalogue, [] if ALL in ids else list(ids))


__all__ = [
    "ALL",
    "DEFAULT_LOUDNESS_LUFS",
    "DEFAULT_SPEECH_ENGINE",
    "LANGUAGES",
    "LANG_CHOICES",
    "SPEECH_ENGINES",
    "STDOUT",
    "TTS_HELP",
    "VENUES_FILE_HELP",
    "CommandLineError",
    "avatar_option",
    "check_folder_output",
    "date_option",
    "elevation_option",
    "forecast_argument",
    "lang_option",
    "languages_of",
    "latest_run_option",
    "load_venues",
    "loudness_option",
    "quiet_option",
    "templates_option",
    "tts_option",
    "venue_option",
    "venues_file_option",
    "verbose_option",
    "voice_option",
]
