"""Errors the CLI turns into one clear line and a non-zero exit code.

The exit codes are the table in the README ("Errors, exit codes and faults"): 1 for bad input
or a failing environment (:class:`BulletinError`), 2 for bad usage or configuration
(:class:`UsageError` and the classes built on it). ``tests/test_exit_codes.py`` runs one real
command per row of that table.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

#: The exit code of a usage or configuration error, as click gives for its own usage errors.
EXIT_USAGE = 2


class BulletinError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code = 1


class UsageError(BulletinError):
    """A request that is wrong whatever the data: a bad option value, an unknown name (venue,
    language, kind, configuration key) or options that contradict each other (a speech engine
    that cannot speak the language). Combined with the stage's own class below, so that
    ``except VenueError`` still catches an unknown venue id."""

    exit_code = EXIT_USAGE


class ForecastError(BulletinError):
    """A forecast file cannot be read, lacks a required field or holds impossible values."""


class VenueError(BulletinError):
    """An unknown venue, a bad venue file, or a venue outside the forecast grid."""


class SpeechError(BulletinError):
    """Speech synthesis cannot run: missing TTS engine, unknown voice, empty text, bad output."""


class ScriptError(BulletinError):
    """A bulletin script cannot be written: bad template, wording table, date or venue data."""


class VenueUsageError(UsageError, VenueError):
    """A venue id asked for (option or configuration) that is unknown or not a valid id."""


class SpeechUsageError(UsageError, SpeechError):
    """A speech request no engine can serve as asked: unknown engine, language or voice, a rate
    or loudness out of range, an engine that does not speak the language."""


class ScriptUsageError(UsageError, ScriptError):
    """A script request that cannot be right: a date that is not a date, an unknown language
    or kind, a venue bulletin without exactly one venue."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the choice closest to ``word`` (difflib's ratio, at least
    0.6), or ``""`` when none is close: the hint an "unknown ..." message puts after the name."""
    matches = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f"; did you mean {matches[0]!r}?" if matches else ""


def unknown_name(
    what: str, word: str, choices: Iterable[str], known: str = "known", *, where: str = ""
) -> str:
    """The one-line message for a name not among ``choices``: ``what`` and the name, `` in
    WHERE`` if given, the closest choice and the choices, e.g. ``unknown venue id
    'genting-snowpark'; did you mean 'genting-snow-park'? (known ids: ...)``."""
    names = sorted(dict.fromkeys(str(c) for c in choices))
    place = f" in {where}" if where else ""
    hint = did_you_mean(word, names)
    return f"{what} {word!r}{place}{hint} ({known}: {', '.join(names)})"
