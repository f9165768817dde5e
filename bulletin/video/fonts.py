"""The CJK-capable font of the video, cards, poster and chart.

Chinese captions need a font with Han glyphs. We look for the two Debian packages the project
installs (``scripts/debian-packages.txt``): ``fonts-wqy-microhei`` (face 0 is Chinese) and
``fonts-noto-cjk`` (``NotoSansCJK-*.ttc``, where face 2 is Simplified Chinese: face 0 is the
Japanese one, whose glyph forms differ; the face order is the one the README of
github.com/notofonts/noto-cjk gives). Both fonts also cover Latin, so one font serves both
languages.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from PIL import ImageFont

from ..errors import BulletinError

FONT_ROOTS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))


class VideoError(BulletinError):
    """The bulletin video or its pictures cannot be made (a missing font, a failed encoder)."""


@dataclass(frozen=True)
class FontFile:
    """A font file and the face in it to use (collections hold several)."""

    path: Path
    index: int


# (file name, face index of Simplified Chinese) in order of preference: regular weights.
_REGULAR = (("wqy-microhei.ttc", 0), ("NotoSansCJK-Regular.ttc", 2))
_BOLD = (("NotoSansCJK-Bold.ttc", 2), ("wqy-microhei.ttc", 0), ("NotoSansCJK-Regular.ttc", 2))


def _find(candidates: tuple[tuple[str, int], ...], roots: tuple[Path, ...]) -> FontFile:
    for name, index in candidates:
        for root in roots:
            if not root.is_dir():
                continue
            for path in sorted(root.rglob(name)):
                if path.is_file():
                    return FontFile(path, index)
    raise VideoError(
        f"no CJK font found under {', '.join(str(r) for r in roots)} (looked for "
        f"{', '.join(dict.fromkeys(n for n, _ in candidates))}); install the Debian package "
        "fonts-wqy-microhei or fonts-noto-cjk"
    )


@functools.cache
def cjk_font(bold: bool = False, roots: tuple[Path, ...] = FONT_ROOTS) -> FontFile:
    """The CJK font file (bold when available); :class:`VideoError` when none is installed."""
    return _find(_BOLD if bold else _REGULAR, roots)


@functools.cache
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """A Pillow font of ``size`` pixels of the CJK font (cached: cards and captions reuse it)."""
    found = cjk_font(bold)
    return ImageFont.truetype(str(found.path), int(size), index=found.index)
