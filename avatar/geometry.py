"""Face boxes in frame pixels and the square face crops cut from them.

A box is ``(left, top, right, bottom)`` in pixels, right and bottom exclusive. Shared by the
footage ingestion (:mod:`avatar.ingest`) and the neural renderer (:mod:`avatar.neural`), which
crop faces the same way; it needs only numpy and PIL.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image

Box = tuple[int, int, int, int]

FEATHER_FRACTION = 1 / 16
"""Width of the paste mask's soft edge as a fraction of the crop side (8 px at 128^2); our choice, wide enough to hide a seam, narrow enough to keep the
cheeks from the template."""


def square_box(box: Box) -> Box:
    """The square box with the same centre whose side is the longer edge of ``box``."""
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0)
    left = round((x0 + x1) / 2 - side / 2)
    top = round((y0 + y1) / 2 - side / 2)
    return left, top, left + side, top + side


def crop_square(image: np.ndarray, box: Box, size: int) -> np.ndarray:
    """``box`` (square, may extend past the frame: black there) of ``image`` resized to
    ``size`` x ``size``, as HxWx3 uint8."""
    x0, y0, x1, y1 = box
    side = x1 - x0
    height, width = image.shape[:2]
    # The box's pixels alone go through PIL (not the whole frame); black past the frame's edge.
    left, top = min(max(0, x0), width), min(max(0, y0), height)
    inside = image[top : max(top, min(height, y1)), left : max(left, min(width, x1))]
    if inside.shape[:2] != (y1 - y0, side):
        padded = np.zeros((y1 - y0, side, *image.shape[2:]), dtype=image.dtype)
        padded[top - y0 : top - y0 + inside.shape[0], left - x0 : left - x0 + inside.shape[1]] = (
            inside
        )
        inside = padded
    crop = Image.fromarray(np.ascontiguousarray(inside))
    method = Image.Resampling.BOX if side >= size else Image.Resampling.BICUBIC
    return np.asarray(crop.resize((size, size), method))


@functools.lru_cache(maxsize=16)
def paste_mask(size: int) -> np.ndarray:
    """Feathered alpha (size x size, float32 in [0, 1]) covering the lower half of a face crop:
    1 well inside, linear ramps of ``FEATHER_FRACTION * size`` pixels at the top (the mid line),
    left, right and bottom edges, exactly 0 on the upper half and the outer ring."""
    feather = max(1.0, size * FEATHER_FRACTION)
    centres = np.arange(size) + 0.5
    top = np.clip((centres - size / 2) / feather, 0, 1)
    bottom = np.clip((size - centres) / feather - 0.5, 0, 1)
    rows = np.minimum(top, bottom)
    cols = np.clip(np.minimum(centres, size - centres) / feather - 0.5, 0, 1)
    return (rows[:, None] * cols[None, :]).astype(np.float32)
