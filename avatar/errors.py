"""Errors raised by the avatar package: one line each, with the exit code a command line uses.

The package stands alone, so the family is its own; it follows the same conventions as the
project's command line (a message of one line, ``exit_code`` 1 for bad input or environment,
2 for bad usage).
"""

from __future__ import annotations


class AvatarError(Exception):
    """Bad input to the avatar stage: an unreadable audio file, bad timings, bad parameters."""

    exit_code = 1


class AvatarUsageError(AvatarError):
    """A command-line value no avatar command accepts (e.g. ``-o -`` where a file with its
    companions is written, an avatar that is neither a presenter's name nor an existing
    checkpoint file): a usage error, exit code 2 like click's."""

    exit_code = 2
