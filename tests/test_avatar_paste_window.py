"""The jaw paste computed over the mask's bounding box in float32 matches the whole-box
float64 composite it replaces (per-channel PIL resizes of the Laplacian-style paste of
:func:`avatar.neural.paste_back`) to within a level."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("torch")

from avatar.neural import DETAIL_SCALE, jaw_mask, jaw_polygon, paste_back


def resize_float(image: np.ndarray, side: int) -> np.ndarray:
    channels = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(image[..., c], dtype=np.float32)).resize(
                (side, side), Image.Resampling.BICUBIC
            ),
            dtype=np.float64,
        )
        for c in range(image.shape[-1])
    ]
    return np.stack(channels, axis=-1)


def whole_box_paste(template, face, box, alpha, base, sharpen):
    """The composite over the whole box, in float64, one PIL resize per channel."""
    from scipy.ndimage import gaussian_filter

    side = box[2] - box[0]
    height, width = template.shape[:2]
    x0, y0 = max(0, box[0]), max(0, box[1])
    x1, y1 = min(width, box[2]), min(height, box[3])
    sx, sy = x0 - box[0], y0 - box[1]
    window = (slice(sy, sy + y1 - y0), slice(sx, sx + x1 - x0))
    out = template.copy()
    region = out[y0:y1, x0:x1].astype(np.float64)
    change = face.astype(np.float64) - base
    fade = np.exp(-np.abs(change).max(axis=-1, keepdims=True) / DETAIL_SCALE)
    base_big = resize_float(base.astype(np.float64), side)
    change_big = resize_float(np.concatenate([change, fade], axis=-1), side)
    colour = change_big[..., :3]
    if sharpen:
        sigma = side / face.shape[0]
        colour = colour + sharpen * (colour - gaussian_filter(colour, (sigma, sigma, 0)))
    detail = region - base_big[window]
    g = base_big[window] + colour[window] + np.clip(change_big[window][..., 3:], 0, 1) * detail
    a = alpha[window][..., None]
    blended = np.rint(np.clip(region + a * (g - region), 0, 255)).astype(np.uint8)
    out[y0:y1, x0:x1] = np.where(a > 0, blended, out[y0:y1, x0:x1])
    return out


@pytest.mark.parametrize(
    ("box", "size", "sharpen"),
    [
        ((150, 60, 357, 267), 192, 0.0),  # the 512x504 panel's face box, refined face
        ((-30, 40, 177, 247), 192, 0.0),  # partly outside the frame
        ((100, 20, 300, 220), 96, 1.0),  # the generator's face upsampled with the unsharp gain
        ((60, 80, 140, 160), 96, 0.0),  # a box smaller than the face: downscaled
    ],
)
def test_the_windowed_jaw_paste_matches_the_whole_box_composite(box, size, sharpen):
    rng = np.random.default_rng(7)
    template = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    base = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    face = base.copy()  # a redrawn mouth over the base: large changes in the lower middle
    face[size // 2 : size * 7 // 8, size // 4 : size * 3 // 4] = rng.integers(
        0, 256, (size * 7 // 8 - size // 2, size * 3 // 4 - size // 4, 3), dtype=np.uint8
    )
    alpha = jaw_mask(box[2] - box[0], jaw_polygon())
    fast = paste_back(template, face, box, mask=alpha, base=base, sharpen=sharpen)
    slow = whole_box_paste(template, face, box, alpha, base, sharpen)
    difference = np.abs(fast.astype(int) - slow.astype(int))
    assert difference.max() <= 1
    assert np.count_nonzero(difference) <= 0.001 * difference.size
    assert not np.array_equal(fast, template)  # the paste changed the frame


def test_the_refiner_over_the_paste_window_equals_the_lower_half_there():
    import torch

    from avatar.neural import jaw_paste_window
    from avatar.refine import Refiner, refine_faces

    torch.manual_seed(0)
    refiner = Refiner().eval()
    for parameter in refiner.tail.parameters():  # an untrained refiner's tail is zero
        torch.nn.init.normal_(parameter, std=0.05)
    rng = np.random.default_rng(3)
    faces = rng.integers(0, 256, (2, 96, 96, 3), dtype=np.uint8)
    guides = rng.integers(0, 256, (2, 192, 192, 3), dtype=np.uint8)
    window = jaw_paste_window(192, {207, 180}, jaw_polygon())
    assert window is not None
    rows, cols = window
    assert rows.start > 96 and cols.start > 0 and cols.stop < 192  # narrower than the half
    whole = refine_faces(refiner, faces, guides)
    narrow = refine_faces(refiner, faces, guides, window=window)
    difference = np.abs(whole[:, rows, cols].astype(int) - narrow[:, rows, cols].astype(int))
    assert difference.max() <= 1
    assert not np.array_equal(whole[:, rows, cols], guides[:, rows, cols])  # it refined
    assert np.array_equal(narrow[:, :, : cols.start], guides[:, :, : cols.start])
