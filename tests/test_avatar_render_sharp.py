"""The paste at the size shown: the jaw-following mask, the detail-preserving paste, and the
edge-strength and seam measures of :mod:`avatar.metrics` (a blurred or seamed paste must fail
them, the template itself must pass)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image, ImageFilter

torch = pytest.importorskip("torch")

from avatar import models  # noqa: E402
from avatar.audio import SAMPLE_RATE, Speech  # noqa: E402
from avatar.metrics import edge_strength_ratio, seam_measures  # noqa: E402
from avatar.mouth import MouthShape, MouthTrack  # noqa: E402
from avatar.neural import (  # noqa: E402
    NeuralPresenter,
    display_measures,
    jaw_mask,
    jaw_polygon,
    paste_back,
    paste_mask,
)
from avatar.procedural import PresenterStyle  # noqa: E402


def drawing(side: int) -> np.ndarray:
    """A template with sharp lines: a dark chin arc and lip line on skin, 1 px wide."""
    image = Image.new("RGB", (side, side), (224, 184, 160))
    from PIL import ImageDraw

    draw = ImageDraw.Draw(image)
    draw.arc((side * 0.2, side * 0.3, side * 0.8, side * 0.85), 20, 160, fill=(90, 60, 50))
    draw.line((side * 0.35, side * 0.68, side * 0.62, side * 0.68), fill=(120, 40, 50), width=2)
    return np.asarray(image)


def test_the_jaw_mask_follows_the_jaw_and_is_feathered():
    mask = jaw_mask(200)
    assert np.all(mask <= paste_mask(200))  # never above the crop's mid line or on the rim
    rows = [np.flatnonzero(mask[y] > 0.5) for y in (125, 145, 165)]
    widths = [r[-1] - r[0] for r in rows]
    assert widths[0] > widths[1] > widths[2] > 0  # narrows towards the chin, as a jaw does
    polygon = np.array(jaw_polygon())
    assert polygon[:, 1].max() > 0.8  # reaches past the chin line
    assert ((mask > 0.05) & (mask < 0.95)).sum() > 0.02 * mask.size  # a soft edge, not a cut
    assert mask[:100].max() == 0 and mask[:, :3].max() == 0


def test_the_detail_preserving_paste_keeps_the_template_where_nothing_is_redrawn():
    side, size = 200, 64
    template = np.zeros((220, 240, 3), np.uint8)
    template[10:210, 20:220] = drawing(side)
    box = (20, 10, 220, 210)
    crop = template[10:210, 20:220]
    base = np.asarray(Image.fromarray(crop).resize((size, size), Image.Resampling.BOX))
    alpha = jaw_mask(side)
    kept = paste_back(template, base, box, mask=alpha, base=base)
    assert np.array_equal(kept, template)  # an unchanged generator output changes nothing
    plain = paste_back(template, base, box, mask=alpha)  # the low-res face, upscaled
    region = alpha[None]
    sharp = edge_strength_ratio(kept[None, 10:210, 20:220], crop[None], region)
    soft = edge_strength_ratio(plain[None, 10:210, 20:220], crop[None], region)
    assert sharp == pytest.approx(1.0) and soft < 0.8
    # A redrawn patch still comes through, and the template stays exact outside the mask.
    changed = base.copy()
    changed[40:50, 25:40] = (30, 10, 10)
    out = paste_back(template, changed, box, mask=alpha, base=base)
    moved = np.any(out != template, axis=2)
    assert moved[10 + 140, 20 + 100]
    outside = np.ones_like(moved)
    outside[10:210, 20:220] = alpha == 0
    assert not moved[outside].any()
    with pytest.raises(ValueError, match="mask array"):
        paste_back(template, base, box, mask=alpha[:10], base=base)


def test_seam_measures_see_a_pasted_edge_and_a_colour_shift():
    side = 200
    reference = drawing(side)[None]
    alpha = jaw_mask(side)[None]
    same = seam_measures(reference, reference, alpha)
    assert same["seam_ratio"] == pytest.approx(1.0) and same["band_colour_diff"] == 0
    shifted = reference.astype(np.int16)
    shifted[0][alpha[0] > 0.5] += 25  # a hard-edged, brighter paste
    shifted = np.clip(shifted, 0, 255).astype(np.uint8)
    seam = seam_measures(shifted, reference, alpha)
    assert seam["seam_ratio"] > 1.25 and seam["band_colour_diff"] > 2
    blurred = np.asarray(Image.fromarray(reference[0]).filter(ImageFilter.GaussianBlur(3)))
    assert edge_strength_ratio(blurred[None], reference, alpha) < 0.8


def test_display_measures_compare_a_twin_with_the_procedural_presenter(tmp_path):
    torch.manual_seed(0)
    config = models.ModelConfig(size=64, widths=(8, 16, 32, 64), sync_widths=(8, 16), sync_dim=8)
    manifest = {
        "template": {
            "kind": "procedural",
            "style": dataclasses.asdict(PresenterStyle()),
            "seed": 1,
        },
        "mouth_source": "audio",
        "paste": "jaw",
    }
    presenter = NeuralPresenter(models.LipGenerator(config), manifest, (256, 252), "untrained")
    values = np.tile(MouthShape.rest().as_array(), (12, 1))
    values[4:9, 0] = 0.8  # the mouth opens: the procedural presenter draws it, the twin does not
    track = MouthTrack(values)
    t = np.arange(round(12 / 25 * SAMPLE_RATE)) / SAMPLE_RATE
    speech = Speech((0.1 * np.sin(2 * np.pi * 150 * t)).astype(np.float32), SAMPLE_RATE)
    measures = display_measures(presenter, speech, track)
    assert measures["frames"] == 12 and measures["size"] == [256, 252]
    assert 0 < measures["edge_strength_ratio"] < 1  # an untrained twin draws no lips
    assert np.isfinite(measures["seam_ratio"]) and measures["band_colour_diff"] >= 0
    with pytest.raises(Exception, match="paste"):
        NeuralPresenter(models.LipGenerator(config), manifest | {"paste": "oval"}, (64, 64))


def test_a_residual_generator_starts_as_the_reference_and_learns_a_change():
    from avatar.models import mask_lower_half, reconstruction_loss

    torch.manual_seed(0)
    config = models.ModelConfig(
        size=32, widths=(8, 16), sync_widths=(8, 16), sync_dim=8, residual=True
    )
    generator = models.LipGenerator(config)
    reference = torch.rand(4, 3, 32, 32)
    target = reference.clone()
    target[:, :, 20:26, 10:22] = 0.1  # an opened mouth
    mouth = torch.rand(4, 4, 5)
    mel = torch.zeros(4, 1, 80, 16)
    assert torch.equal(generator(reference, mask_lower_half(target), mel, mouth), reference)
    optimiser = torch.optim.Adam(generator.parameters(), lr=3e-3)
    first = None
    for _ in range(40):
        loss = reconstruction_loss(
            generator(reference, mask_lower_half(target), mel, mouth), target
        )
        first = first if first is not None else loss.item()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    assert loss.item() < 0.7 * first
