"""Errors the CLI turns into one clear line and a non-zero exit code."""


class BulletinError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code = 1


class ForecastError(BulletinError):
    """A forecast file cannot be read, lacks a required field or holds impossible values."""


class VenueError(BulletinError):
    """An unknown venue, a bad venue file, or a venue outside the forecast grid."""


class SpeechError(BulletinError):
    """Speech synthesis cannot run: missing TTS engine, unknown voice, empty text, bad output."""


class ScriptError(BulletinError):
    """A bulletin script cannot be written: bad template, wording table, date or venue data."""
