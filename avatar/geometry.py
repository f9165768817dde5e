"""Face boxes in frame pixels and the square face crops cut from them.

A box is ``(left, top, right, bottom)`` in pixels, right and bottom exclusive. Shared by the
footage ingestion (:mod:`avatar.ingest`) and the neural renderer (:mod:`avatar.neural`), which
crop faces the same way; it needs only numpy and PIL.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

Box = tuple[int, int, int, int]


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
    side = box[2] - box[0]
    crop = Image.fromarray(image).crop(box)
    method = Image.Resampling.BOX if side >= size else Image.Resampling.BICUBIC
    return np.asarray(crop.resize((size, size), method))
