"""``thumbnail.jpg``: a bulletin's picture for sharing (the daily page's Open Graph image).

:func:`write_thumbnail` scales a frame of the video (1280x720) to 640x360 and draws the venue's
name, and under it the day, large on a dark band across the frame's foot, where the video's
subtitles are (a last cue cut short would read oddly), so that a small preview in a feed
still names the venue; the frame's title bar and its AI-generated presenter label
(:data:`bulletin.video.compose.AI_LABEL`) stay visible. The size keeps the
video's 16:9 and is our choice: it is over the 600 px width Facebook's sharing guide
(developers.facebook.com/docs/sharing/webmasters/images) asks of link previews, at a few tens
of kB. Written as a JPEG (quality 85, our choice) atomically (:func:`bulletin.output.atomic_path`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..output import atomic_path, storage_error
from .cards import drawable, fit_text
from .fonts import VideoError

THUMBNAIL_NAME = "thumbnail.jpg"
THUMBNAIL_SIZE = (640, 360)
JPEG_QUALITY = 85
#: The band's height, its opacity and the margins (pixels of the thumbnail; our choice).
BAND_HEIGHT = 84
BAND_ALPHA = 235
MARGIN = 20
TITLE_PX = 36
SUBTITLE_PX = 20


def thumbnail_image(frame: np.ndarray | Image.Image, title: str, subtitle: str = "") -> Image.Image:
    """The 640x360 thumbnail of ``frame`` (an RGB picture of any size, 16:9 expected) with
    ``title`` (the venue's name) and ``subtitle`` (the day) on a band across its foot (no band
    without a title).
    Raises :class:`~bulletin.video.fonts.VideoError` for a frame that is not an RGB picture."""
    if isinstance(frame, np.ndarray):
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise VideoError(
                f"a thumbnail needs an RGB uint8 frame, got {frame.dtype} {frame.shape}"
            )
        frame = Image.fromarray(frame)
    picture = frame.convert("RGB").resize(THUMBNAIL_SIZE, Image.Resampling.LANCZOS)
    if not title.strip():  # nothing to name: the frame alone
        return picture
    width, height = THUMBNAIL_SIZE
    band = Image.new("RGBA", THUMBNAIL_SIZE, (0, 0, 0, 0))
    draw = ImageDraw.Draw(band)
    top = height - BAND_HEIGHT
    draw.rectangle((0, top, width, height), fill=(10, 16, 24, BAND_ALPHA))
    title, title_font = _fitted(draw, drawable(title.strip()), TITLE_PX, width - 2 * MARGIN, True)
    title_y = top + (8 if subtitle else (BAND_HEIGHT - title_font.size) // 2 - 4)
    draw.text((MARGIN, title_y), title, font=title_font, fill=(255, 255, 255, 255))
    if subtitle:
        subtitle, sub_font = _fitted(draw, drawable(subtitle.strip()), SUBTITLE_PX,
                                     width - 2 * MARGIN, False)  # fmt: skip
        draw.text(
            (MARGIN, height - SUBTITLE_PX - 12), subtitle, font=sub_font,
            fill=(214, 222, 230, 255),
        )  # fmt: skip
    return Image.alpha_composite(picture.convert("RGBA"), band).convert("RGB")


def _fitted(draw: ImageDraw.ImageDraw, text: str, size: int, width: int, bold: bool):
    """``text`` and the largest font (down to 12 px) it fits ``width`` in; a text too long even
    then is cut and ends in an ellipsis."""
    chosen = fit_text(draw, text, size, width, bold)
    while len(text) > 1 and draw.textlength(text, font=chosen) > width:
        text = text[:-2].rstrip() + "…"
    return text, chosen


def write_thumbnail(
    frame: np.ndarray | Image.Image, out_path: Path, *, title: str, subtitle: str = ""
) -> Path:
    """Write :func:`thumbnail_image` of ``frame`` to ``out_path`` as a JPEG, atomically."""
    out_path = Path(out_path)
    image = thumbnail_image(frame, title, subtitle)
    try:
        with atomic_path(out_path, suffix=".tmp.jpg") as tmp:
            image.save(tmp, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    except OSError as exc:
        raise storage_error(exc, out_path) from None
    return out_path


__all__ = ["THUMBNAIL_NAME", "THUMBNAIL_SIZE", "thumbnail_image", "write_thumbnail"]
