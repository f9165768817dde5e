"""Errors raised by the avatar package, all one-line and part of the project's error family."""

from __future__ import annotations

from bulletin.errors import BulletinError


class AvatarError(BulletinError):
    """Bad input to the avatar stage: an unreadable audio file, bad timings, bad parameters."""
