"""The refinement stage: the generator's face crop up to twice its side, guided by the template.

The generator draws a 96^2 face; the presenter panel of the 1280x720 bulletin (512x504) shows
it in a face box of about 207 px, so a bicubic upscale spreads every line over two pixels and
more. The :class:`Refiner` is a small super-resolution network in the spirit of ESRGAN (Wang et
al. 2018, "ESRGAN: Enhanced Super-Resolution Generative Adversarial Networks", ECCV workshops:
residual blocks without normalisation, sub-pixel output) and of GPEN's face restoration (Yang et
al. 2021, CVPR): it works at the generator's resolution and ends in a pixel shuffle (Shi et al.
2016, "Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel
Convolutional Neural Network", CVPR) to ``scale`` times the side. Its output is a residual over
the bicubic upscale (the last convolution starts at zero: an untrained refiner *is* bicubic).

It also sees the template's face crop at the output size (the procedural presenter at rest,
folded to the generator's resolution by a pixel unshuffle): where the generator keeps the
template (chin, jaw line, nose, the resting lip line) the template's own sharp lines are at
hand; where it redraws (the lips, the teeth) the refiner has learnt sharp edges.

Training pairs (:func:`refine_pairs`) come from the procedural presenter rendered at the size
shown: the input is the generator's face on the template frame at rest, exactly as rendered,
or (``degrade_fraction`` of the samples) the procedural target itself downscaled to the
generator's side; the target is the procedural presenter speaking the same mouth track, cut
from the same box at the output size. The loss is L1 plus the L1 of the image gradients
(Mathieu et al. 2016, as the generator's pixel loss), on patches of the lower face.

Only the lower half of the crop is refined (every paste mask is zero above the mid line,
:func:`avatar.geometry.paste_mask`): rows from :data:`MARGIN` input pixels above it, more than
the network's receptive field, so the result equals the whole-crop output there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from avatar.errors import AvatarError
from avatar.models import LipGenerator, denormals_flushed, read_checkpoint

REFINE_ARCHITECTURE = (
    "Refiner (x2 sub-pixel super-resolution over the bicubic upscale: 3x3 conv, residual "
    "blocks without normalisation, pixel shuffle; guided by the template crop at the output size)"
)
MARGIN = 8
"""Input rows above the crop's mid line that the lower-half refinement reads (more than the
receptive field of the default network, 1 + 2 * blocks + 1 = 8 convolutions of 3x3)."""


@dataclass(frozen=True)
class RefineConfig:
    """``scale``: output side over input side (2: 96^2 -> 192^2); ``width`` channels and
    ``blocks`` residual blocks at the input resolution; ``guide``: the template crop at the
    output size is an input."""

    scale: int = 2
    width: int = 32
    blocks: int = 3
    guide: bool = True

    def __post_init__(self) -> None:
        if self.scale not in (2, 3, 4):
            raise AvatarError(f"refinement scale must be 2, 3 or 4, got {self.scale}")
        if self.width < 4 or self.blocks < 0:
            raise AvatarError(
                f"refinement needs width >= 4 and blocks >= 0, got {self.width}, {self.blocks}"
            )


class ResidualBlock(nn.Module):
    """conv 3x3, LeakyReLU, conv 3x3, plus the input (EDSR/ESRGAN: no normalisation, which
    shifts colours in super-resolution)."""

    def __init__(self, width: int):
        super().__init__()
        self.a = nn.Conv2d(width, width, 3, padding=1)
        self.b = nn.Conv2d(width, width, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.b(F.leaky_relu(self.a(x), 0.2))


class Refiner(nn.Module):
    """``forward(face, guide)``: (B, 3, S, S) face in [0, 1] and, with ``config.guide``, the
    (B, 3, scale*S, scale*S) template crop -> (B, 3, scale*S, scale*S) in [0, 1]. Any height
    and width divisible as such (it is fully convolutional)."""

    def __init__(self, config: RefineConfig = RefineConfig()):
        super().__init__()
        self.config = config
        s = config.scale
        cin = 3 + (3 * s * s if config.guide else 0)
        self.head = nn.Conv2d(cin, config.width, 3, padding=1)
        self.body = nn.Sequential(*(ResidualBlock(config.width) for _ in range(config.blocks)))
        self.tail = nn.Conv2d(config.width, 3 * s * s, 3, padding=1)
        nn.init.zeros_(self.tail.weight)  # start as the bicubic upscale
        nn.init.zeros_(self.tail.bias)

    def forward(self, face: torch.Tensor, guide: torch.Tensor | None = None) -> torch.Tensor:
        s = self.config.scale
        x = face
        if self.config.guide:
            if guide is None:
                raise AvatarError("this refiner is guided by the template crop: pass guide")
            x = torch.cat([face, F.pixel_unshuffle(guide, s)], dim=1)
        h = F.leaky_relu(self.head(x), 0.2)
        h = self.body(h)
        residual = F.pixel_shuffle(self.tail(h), s)
        up = F.interpolate(face, scale_factor=s, mode="bicubic", align_corners=False)
        return (up + residual).clamp(0, 1)


def bicubic_up(faces: np.ndarray, scale: int) -> np.ndarray:
    """(B, S, S, 3) uint8 -> (B, scale*S, scale*S, 3) uint8 by the refiner's own bicubic base
    (torch, a = -0.75): the baseline an untrained refiner reproduces."""
    x = torch.from_numpy(np.ascontiguousarray(faces)).float().div_(255).permute(0, 3, 1, 2)
    up = F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)
    return up.clamp_(0, 1).mul_(255).round_().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def _to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0).permute(0, 3, 1, 2)


@torch.no_grad()
def refine_faces(
    refiner: Refiner,
    faces: np.ndarray,
    guides: np.ndarray | None,
    bf16: bool = False,
    window: tuple[slice, slice] | None = None,
) -> np.ndarray:
    """(B, S, S, 3) generated faces and (B, sS, sS, 3) template crops (uint8) -> (B, sS, sS, 3)
    uint8: the lower half refined (from :data:`MARGIN` rows above the mid line), the upper half,
    which no paste mask uses, the guide's (or the bicubic upscale without a guide).

    ``window`` (rows, columns of the output) narrows the refined part to what a paste reads
    (:mod:`avatar.neural` passes the jaw mask's): the network sees it with :data:`MARGIN`
    input pixels of context on every side, so the result equals the lower-half output there."""
    s = refiner.config.scale
    size = faces.shape[1]
    rows, cols = window or (slice(size // 2 * s, size * s), slice(0, size * s))
    top = max(0, rows.start // s - MARGIN)
    bottom = min(size, -(-rows.stop // s) + MARGIN)
    left = max(0, cols.start // s - MARGIN)
    right = min(size, -(-cols.stop // s) + MARGIN)
    face = _to_tensor(faces[:, top:bottom, left:right])
    guide = (
        _to_tensor(guides[:, top * s : bottom * s, left * s : right * s])
        if refiner.config.guide and guides is not None
        else None
    )
    refiner.eval()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        refined = refiner(face, guide)
    refined = refined.float().clamp_(0, 1).mul_(255).round_().to(torch.uint8).permute(0, 2, 3, 1)
    if refiner.config.guide and guides is not None:
        out = np.array(guides, dtype=np.uint8, copy=True)
    else:
        out = bicubic_up(faces, s)
    # Only the window's rows and columns, recomputed there with the margin's context.
    out[:, rows, cols] = refined.numpy()[
        :, rows.start - top * s : rows.stop - top * s, cols.start - left * s : cols.stop - left * s
    ]
    return out


# ---------------------------------------------------------------------------- checkpoints


@dataclass(frozen=True)
class TwinCheckpoint:
    """A generator twin as :func:`load_twin` reads it."""

    generator: LipGenerator
    refiner: Refiner | None
    metrics: dict
    manifest: dict


def load_twin(path: str | Path) -> TwinCheckpoint:
    """A generator twin with its refinement stage (None when the checkpoint has none); an
    :class:`AvatarError` when ``path`` holds another kind of network or a damaged refiner."""
    model, metrics, manifest, payload = read_checkpoint(path)
    if not isinstance(model, LipGenerator):
        raise AvatarError(f"{path} holds a {type(model).__name__}, not a generator twin")
    entry = payload.get("refiner")
    refiner = None
    if entry is not None:
        if not isinstance(entry, dict) or not isinstance(entry.get("state_dict"), dict):
            raise AvatarError(f"{path}: the refiner entry lacks its configuration or weights")
        try:
            refiner = Refiner(RefineConfig(**dict(entry.get("config") or {})))
            refiner.load_state_dict(
                {
                    name: value.float() if value.is_floating_point() else value
                    for name, value in entry["state_dict"].items()
                }
            )
        except (TypeError, AvatarError) as exc:
            raise AvatarError(f"{path}: bad refiner configuration: {exc}") from None
        except RuntimeError as exc:
            raise AvatarError(
                f"{path}: refiner weights do not fit its configuration: {str(exc).splitlines()[0]}"
            ) from None
        refiner.eval()
    return TwinCheckpoint(model, refiner, metrics, manifest)


# ---------------------------------------------------------------------------- training pairs


@dataclass
class RefinePairs:
    """Lower-face training material, from ``top`` rows of the crop down: ``faces`` (N, h, S, 3)
    generator outputs, ``small`` (N, h, S, 3) the targets downscaled to S, ``guides`` and
    ``targets`` (N, s*h, s*S, 3) the template crops at rest and the procedural presenter
    speaking, at the output size; all uint8."""

    faces: np.ndarray
    small: np.ndarray
    guides: np.ndarray
    targets: np.ndarray
    top: int
    scale: int

    def __len__(self) -> int:
        return len(self.faces)


def refine_pairs(
    generate: Callable[[np.ndarray, np.ndarray], np.ndarray],
    template,
    reference,
    mouth: np.ndarray,
    frames: Sequence[int],
    size: int,
    scale: int = 2,
    fps: float = 25.0,
) -> RefinePairs:
    """Training pairs for the frames ``frames`` of the mouth track ``mouth`` (N, 4).

    ``template`` is the twin's :class:`avatar.neural.ProceduralTemplate` and ``reference`` a
    :class:`avatar.procedural.ProceduralPresenter` of the same style, seed and frame size (the
    size shown); ``generate(faces, index)`` returns the generator's (B, S, S, 3) faces for the
    (B, S, S, 3) template crops ``faces`` of the track's frames ``index``. Each frame is
    rendered at rest (the template) and speaking (the target) at the same time and speaking
    level, so the head is where it is in the other, and both are cut from the template's box,
    where a rendered frame pastes the face."""
    from avatar.geometry import crop_square
    from avatar.mouth import MouthShape, MouthTrack
    from avatar.procedural import speaking_envelope

    track = MouthTrack(np.asarray(mouth, np.float32), fps)
    speaking = speaking_envelope(track)
    rest = MouthShape.rest()
    top = max(0, size // 2 - MARGIN)
    out_size = size * scale
    faces, guides, targets, small = [], [], [], []
    batch_faces: list[np.ndarray] = []
    batch_index: list[int] = []

    def flush() -> None:
        if batch_faces:
            generated = generate(np.stack(batch_faces), np.asarray(batch_index))
            faces.extend(g[top:] for g in generated)
            batch_faces.clear()
            batch_index.clear()

    for i in frames:
        t = i / fps
        at_rest = template.presenter.render(t, rest, float(speaking[i]))
        truth = reference.render(t, track[i], float(speaking[i]))
        box = template.box(at_rest.face_box)
        batch_faces.append(crop_square(at_rest.image, box, size))
        batch_index.append(int(i))
        guides.append(crop_square(at_rest.image, box, out_size)[top * scale :])
        target = crop_square(truth.image, box, out_size)
        targets.append(target[top * scale :])
        small.append(crop_square(truth.image, box, size)[top:])
        if len(batch_faces) == 16:
            flush()
    flush()
    if not faces:
        raise AvatarError("no frames to make refinement pairs from")
    return RefinePairs(
        np.stack(faces), np.stack(small), np.stack(guides), np.stack(targets), top, scale
    )


def gradient_l1(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """L1 of the horizontal and vertical finite differences (the gradient term of
    :func:`avatar.models.reconstruction_loss`)."""
    dx = (fake.diff(dim=-1) - real.diff(dim=-1)).abs().mean()
    dy = (fake.diff(dim=-2) - real.diff(dim=-2)).abs().mean()
    return dx + dy


@dataclass(frozen=True)
class RefineSettings:
    """The refinement stage of ``avatar train`` (our choices): ``steps`` Adam steps of
    ``batch`` patches of ``patch`` input pixels square, lr ``lr`` with a 50-step warm-up and a
    cosine decay to 5 %, ``gradient_weight`` times the gradient L1, and ``degrade_fraction`` of
    the inputs the target downscaled instead of the generator's face."""

    steps: int = 1500
    batch: int = 8
    patch: int = 40
    lr: float = 1e-3
    gradient_weight: float = 1.0
    degrade_fraction: float = 0.25
    frames: int = 800
    seed: int = 0

    def lr_at(self, step: int) -> float:
        warmup = min(50, self.steps)
        if step < warmup:
            return self.lr * (step + 1) / warmup
        progress = (step - warmup) / max(1, self.steps - warmup)
        return self.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def patch_batch(
    pairs: RefinePairs, settings: RefineSettings, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(faces, guides, targets) tensors of random patches of the lower face."""
    n, h, w = pairs.faces.shape[:3]
    p, s = min(settings.patch, h, w), pairs.scale
    index = rng.integers(0, n, size=settings.batch)
    ys = rng.integers(0, h - p + 1, size=settings.batch)
    xs = rng.integers(0, w - p + 1, size=settings.batch)
    degrade = rng.random(settings.batch) < settings.degrade_fraction
    faces, guides, targets = [], [], []
    for k, y, x, d in zip(index, ys, xs, degrade, strict=True):
        source = pairs.small if d else pairs.faces
        faces.append(source[k, y : y + p, x : x + p])
        guides.append(pairs.guides[k, y * s : (y + p) * s, x * s : (x + p) * s])
        targets.append(pairs.targets[k, y * s : (y + p) * s, x * s : (x + p) * s])
    return _to_tensor(np.stack(faces)), _to_tensor(np.stack(guides)), _to_tensor(np.stack(targets))


def train_refiner(
    refiner: Refiner,
    pairs: RefinePairs,
    settings: RefineSettings = RefineSettings(),
    on_step: Callable[[int], None] | None = None,
) -> list[dict]:
    """Train ``refiner`` on ``pairs``; returns the per-step losses (``l1``, ``gradient``)."""
    rng = np.random.default_rng(settings.seed)
    torch.manual_seed(settings.seed)
    optimiser = torch.optim.Adam(refiner.parameters(), lr=settings.lr, betas=(0.9, 0.99))
    history = []
    refiner.train()
    with denormals_flushed():
        for step in range(settings.steps):
            for group in optimiser.param_groups:
                group["lr"] = settings.lr_at(step)
            face, guide, target = patch_batch(pairs, settings, rng)
            fake = refiner(face, guide)
            l1 = (fake - target).abs().mean()
            grad = gradient_l1(fake, target)
            loss = l1 + settings.gradient_weight * grad
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            history.append({"l1": l1.item(), "gradient": grad.item(), "total": loss.item()})
            if on_step is not None:
                on_step(step + 1)
    refiner.eval()
    return history
