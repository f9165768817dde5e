"""Errors raised by the avatar package: one line each, with the exit code a command line uses.

The package stands alone, so the family is its own; it follows the same conventions as the
project's command line (a message of one line, ``exit_code`` 1 for bad input or environment).
"""

from __future__ import annotations


class AvatarError(Exception):
    """Bad input to the avatar stage: an unreadable audio file, bad timings, bad parameters."""

    exit_code = 1
