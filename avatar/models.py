"""Neural presenter parts in one readable file (torch): a SyncNet-style lip-sync judge, a U-Net
generator with FiLM speech conditioning, a patch discriminator, their losses, batch sampling
from face clips, and small training loops.

The recipe is Wav2Lip's (Prajwal et al. 2020, "A Lip Sync Expert Is All You Need for Speech to
Lip Generation In the Wild", ACM MM; repository Rudrabha/Wav2Lip) at the small size of
per-presenter products:

* **SyncNet** (Chung & Zisserman 2016, "Out of time: automated lip sync in the wild", ACCV
  workshops; Wav2Lip's ``color_syncnet_train.py``): the lower halves of 5 consecutive face crops
  and the 0.2 s log-mel window around them are embedded separately (non-negative, after a
  ReLU) and L2-normalised; their cosine similarity, in [0, 1], is the probability that they are
  in sync. It is trained with
  binary cross-entropy on 50 % in-sync pairs and 50 % pairs whose audio is at least 5 frames
  off, drawn from the same clip.
* **Generator**: the input is the target frame with its lower half blanked, stacked with a
  reference frame of the same presenter (identity and pose), 6 channels; a U-Net encodes it,
  and the decoder is modulated at every scale by FiLM (Perez et al. 2018, "FiLM: Visual
  Reasoning with a General Conditioning Layer", AAAI) from a speech code: the mel window, the
  mouth parameters around the frame, or both.
* **Patch discriminator** (Isola et al. 2017, "Image-to-Image Translation with Conditional
  Adversarial Networks", CVPR) on the lower half, with spectral normalisation (Miyato et al.
  2018, ICLR) and the hinge loss (Lim & Ye 2017; Miyato et al. 2018), plus pix2pixHD feature
  matching (Wang et al. 2018, CVPR), which stands in for the perceptual losses whose pretrained
  weights we cannot download.

Everything else in :mod:`avatar` works without torch; this module imports it at the top.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import os
import pickle
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from avatar.audio import Speech, as_speech, mel_windows
from avatar.errors import AvatarError
from avatar.files import temporary_beside
from avatar.ground_truth import mouth_track
from avatar.mouth import MOUTH_PARAMETERS
from avatar.procedural import PresenterFrame, PresenterStyle, ProceduralPresenter
from avatar.visemes import Timings

SYNC_FRAMES = 5  # video frames per SyncNet window: 0.2 s at 25 fps, as Wav2Lip
MEL_STEPS = 16  # mel frames per window: 0.2 s at 80 frames/s (Wav2Lip syncnet_mel_step_size)
N_MELS = 80
OFF_SYNC_MIN = 5  # negatives are at least this many frames away from the true window


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of all three networks.

    ``widths`` are the U-Net channels per level (the crop shrinks by 2 per level, so ``size``
    must be divisible by ``2 ** len(widths)``); ``condition`` picks the speech code: "mel",
    "mouth" (the 4 mouth parameters over the 5-frame window) or "both". ``residual``: the
    generator draws a change over the reference frame instead of the whole face.
    """

    size: int = 96
    widths: tuple[int, ...] = (16, 32, 64, 128, 128)
    speech_dim: int = 256
    condition: str = "both"
    sync_widths: tuple[int, ...] = (32, 64, 128, 256)
    sync_dim: int = 256
    disc_widths: tuple[int, ...] = (32, 64, 128)
    residual: bool = False

    def __post_init__(self) -> None:
        if self.size % (2 ** len(self.widths)) or self.size < 2 ** len(self.widths):
            raise AvatarError(
                f"face size {self.size} must be a multiple of 2**{len(self.widths)} "
                f"(one halving per U-Net level)"
            )
        if self.condition not in ("mel", "mouth", "both"):
            raise AvatarError(f"condition must be mel, mouth or both, got {self.condition!r}")


# ---------------------------------------------------------------------------- building blocks


def _groups(channels: int) -> int:
    """GroupNorm groups: 8 where possible (batch-size independent, works at batch 1)."""
    return math.gcd(8, channels)


class ConvBlock(nn.Module):
    """3x3 convolution, normalisation, activation; optional stride and residual connection.

    ``norm="batch"`` gives BatchNorm + ReLU, Wav2Lip's block, which the judge needs: with
    GroupNorm + LeakyReLU our SyncNet stayed at chance (BCE 0.693) for 100+ steps on synthetic
    clips while BatchNorm + ReLU learned. ``norm="group"`` gives GroupNorm + LeakyReLU(0.2),
    independent of the batch size, for the generator, which renders one frame at a time.
    """

    def __init__(
        self,
        cin: int,
        cout: int,
        stride: int | tuple[int, int] = 1,
        residual: bool = False,
        norm: str = "group",
    ):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.batch = norm == "batch"
        self.norm = nn.BatchNorm2d(cout) if self.batch else nn.GroupNorm(_groups(cout), cout)
        self.residual = residual and cin == cout and stride == 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(self.conv(x))
        y = F.relu(y) if self.batch else F.leaky_relu(y, 0.2)
        return x + y if self.residual else y


class MelEncoder(nn.Module):
    """(B, 1, 80, 16) log-mel window -> (B, dim). Strides shrink frequency faster than time,
    as Wav2Lip's audio encoder does."""

    def __init__(self, dim: int, widths: Sequence[int] = (32, 64, 128, 256), norm: str = "group"):
        super().__init__()
        strides = [(1, 1), (3, 1), (3, 2), (3, 2)]
        layers: list[nn.Module] = []
        cin = 1
        for width, stride in zip(widths, strides, strict=False):
            layers += [
                ConvBlock(cin, width, stride, norm=norm),
                ConvBlock(width, width, residual=True, norm=norm),
            ]
            cin = width
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(cin, dim)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(mel).mean(dim=(2, 3)))


class MouthEncoder(nn.Module):
    """(B, 4, 5) mouth parameters over the window -> (B, dim): the viseme-driven speech code,
    free of the voice gap between the presenter's and the TTS voice."""

    def __init__(self, dim: int):
        super().__init__()
        n_in = len(MOUTH_PARAMETERS) * SYNC_FRAMES
        self.net = nn.Sequential(
            nn.Linear(n_in, 128), nn.LeakyReLU(0.2), nn.Linear(128, dim), nn.LeakyReLU(0.2)
        )

    def forward(self, mouth: torch.Tensor) -> torch.Tensor:
        return self.net(mouth.flatten(1))


class FrameEncoder(nn.Module):
    """(B, C, H, W) image stack -> (B, dim), halving the resolution at every width."""

    def __init__(self, cin: int, dim: int, widths: Sequence[int], norm: str = "group"):
        super().__init__()
        layers: list[nn.Module] = [ConvBlock(cin, widths[0], norm=norm)]
        for a, b in itertools.pairwise(widths):
            layers += [
                ConvBlock(a, b, stride=2, norm=norm),
                ConvBlock(b, b, residual=True, norm=norm),
            ]
        layers += [ConvBlock(widths[-1], widths[-1], stride=2, norm=norm)]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(widths[-1], dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x).mean(dim=(2, 3)))


# ---------------------------------------------------------------------------- SyncNet


class SyncNet(nn.Module):
    """Lip-sync judge: P(in sync) for 5 lower-half face crops and a mel window."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.video = FrameEncoder(3 * SYNC_FRAMES, config.sync_dim, config.sync_widths, "batch")
        self.audio = MelEncoder(config.sync_dim, config.sync_widths, "batch")

    # Embeddings pass a ReLU before normalisation, as in Wav2Lip's SyncNet_color, so both are
    # non-negative and their cosine lies in [0, 1]: a probability with a gradient everywhere.
    def embed_video(self, video: torch.Tensor) -> torch.Tensor:
        """L2-normalised, non-negative embedding of (B, 15, S/2, S) stacked lower halves."""
        return F.normalize(F.relu(self.video(video)), dim=1, eps=1e-6)

    def embed_audio(self, mel: torch.Tensor) -> torch.Tensor:
        """L2-normalised, non-negative embedding of (B, 1, 80, 16) mel windows."""
        return F.normalize(F.relu(self.audio(mel)), dim=1, eps=1e-6)

    def forward(self, video: torch.Tensor, mel: torch.Tensor) -> torch.Tensor:
        v, a = self.embed_video(video), self.embed_audio(mel)
        # Clamp away from 0 and 1 only so that the BCE stays finite.
        return (v * a).sum(dim=1).clamp(min=1e-6, max=1 - 1e-6)


def sync_loss(probability: torch.Tensor, in_sync: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of the sync probability against the 0/1 labels."""
    return F.binary_cross_entropy(probability, in_sync.float())


# ---------------------------------------------------------------------------- generator


class FiLM(nn.Module):
    """Feature-wise affine modulation h * (1 + gamma) + beta from the speech code."""

    def __init__(self, code_dim: int, channels: int):
        super().__init__()
        self.proj = nn.Linear(code_dim, 2 * channels)
        nn.init.zeros_(self.proj.weight)  # start as the identity: the U-Net first learns to copy
        nn.init.zeros_(self.proj.bias)

    def forward(self, h: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.proj(code)[:, :, None, None].chunk(2, dim=1)
        return h * (1 + gamma) + beta


class LipGenerator(nn.Module):
    """U-Net over (reference, lower-half-masked target) with FiLM speech conditioning.

    ``forward(reference, masked, mel, mouth)`` takes (B, 3, S, S) images in [0, 1], the
    (B, 1, 80, 16) mel window and/or the (B, 4, 5) mouth window and returns (B, 3, S, S).
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        w = config.widths
        self.mel = MelEncoder(config.speech_dim) if config.condition != "mouth" else None
        self.mouth = MouthEncoder(config.speech_dim) if config.condition != "mel" else None
        self.stem = ConvBlock(6, w[0])
        self.down = nn.ModuleList(
            nn.Sequential(ConvBlock(a, b, stride=2), ConvBlock(b, b, residual=True))
            for a, b in zip((w[0], *w[:-1]), w, strict=True)
        )
        self.bottleneck = ConvBlock(w[-1], w[-1], residual=True)
        self.bottleneck_film = FiLM(config.speech_dim, w[-1])
        ups, films = [], []
        skips = (w[0], *w[:-1])  # channels of the skip at each output scale, deepest last
        cin = w[-1]
        for skip in reversed(skips):
            ups.append(
                nn.Sequential(ConvBlock(cin + skip, skip), ConvBlock(skip, skip, residual=True))
            )
            films.append(FiLM(config.speech_dim, skip))
            cin = skip
        self.up = nn.ModuleList(ups)
        self.films = nn.ModuleList(films)
        self.out = nn.Conv2d(w[0], 3, 1)
        if config.residual:  # start as a copy of the reference: the edit is learnt from zero
            nn.init.zeros_(self.out.weight)
            nn.init.zeros_(self.out.bias)

    def speech_code(self, mel: torch.Tensor | None, mouth: torch.Tensor | None) -> torch.Tensor:
        parts = []
        if self.mel is not None:
            if mel is None:
                raise AvatarError("this generator is conditioned on mel windows: pass mel")
            parts.append(self.mel(mel))
        if self.mouth is not None:
            if mouth is None:
                raise AvatarError("this generator is conditioned on mouth parameters: pass mouth")
            parts.append(self.mouth(mouth))
        return torch.stack(parts).sum(0)

    def forward(
        self,
        reference: torch.Tensor,
        masked: torch.Tensor,
        mel: torch.Tensor | None = None,
        mouth: torch.Tensor | None = None,
    ) -> torch.Tensor:
        code = self.speech_code(mel, mouth)
        h = self.stem(torch.cat([reference, masked], dim=1))
        skips = [h]
        for down in self.down:
            h = down(h)
            skips.append(h)
        skips.pop()  # the deepest feature map is h itself
        h = self.bottleneck_film(self.bottleneck(h), code)
        for up, film in zip(self.up, self.films, strict=True):
            skip = skips.pop()
            h = F.interpolate(h, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            h = film(up(torch.cat([h, skip], dim=1)), code)
        if self.config.residual:
            # A change over the reference (our choice): where the mouth does not move the output
            # is the reference itself, so the detail-preserving paste keeps the template's lines.
            return (reference + self.out(h)).clamp(0, 1)
        return torch.sigmoid(self.out(h))


def mask_lower_half(faces: torch.Tensor) -> torch.Tensor:
    """Blank the lower half of (B, 3, S, S) faces, the part the generator must draw."""
    masked = faces.clone()
    masked[:, :, faces.shape[-2] // 2 :] = 0
    return masked


def mouth_box(size: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the mouth area of a ``size`` square face crop: rows
    55-95 %, columns 25-75 %, the region the jaw metric reads (:func:`avatar.metrics.mouth_region`;
    our choice, it covers the lips at any viseme)."""
    return round(0.55 * size), round(0.95 * size), round(0.25 * size), round(0.75 * size)


def reconstruction_loss(
    fake: torch.Tensor,
    real: torch.Tensor,
    lower_weight: float = 3.0,
    mouth_weight: float = 0.0,
    gradient_weight: float = 0.0,
) -> torch.Tensor:
    """L1 with the lower half weighted ``lower_weight`` times (our choice: the upper half
    is copied from the input anyway), plus ``mouth_weight`` times the L1
    of the mouth area (:func:`mouth_box`) and ``gradient_weight`` times the L1 of the horizontal
    and vertical image gradients of the lower half.

    The mouth term and the gradient term are our choices against the blurred-blob mouth of
    short trainings: the lips are a small part of the lower half, and an L1 on finite
    differences (the "gradient difference loss" of Mathieu et al. 2016, "Deep multi-scale
    video prediction beyond mean square error", ICLR) rewards sharp lip edges where plain L1
    settles for their average."""
    size = real.shape[-2]
    half = size // 2
    upper = (fake[..., :half, :] - real[..., :half, :]).abs().mean()
    lower = (fake[..., half:, :] - real[..., half:, :]).abs().mean()
    loss = (upper + lower_weight * lower) / (1 + lower_weight)
    if mouth_weight:
        top, bottom, left, right = mouth_box(size)
        region = (slice(None), slice(None), slice(top, bottom), slice(left, right))
        loss = loss + mouth_weight * (fake[region] - real[region]).abs().mean()
    if gradient_weight:
        f, r = fake[..., half:, :], real[..., half:, :]
        dx = (f.diff(dim=-1) - r.diff(dim=-1)).abs().mean()
        dy = (f.diff(dim=-2) - r.diff(dim=-2)).abs().mean()
        loss = loss + gradient_weight * (dx + dy)
    return loss


# ---------------------------------------------------------------------------- discriminator


class PatchDiscriminator(nn.Module):
    """Lower halves (B, 3, S/2, S) -> patch logits, plus the intermediate features used for
    feature matching. Spectral norm on every convolution."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        sn = nn.utils.parametrizations.spectral_norm
        layers = []
        cin = 3
        for width in config.disc_widths:
            layers.append(sn(nn.Conv2d(cin, width, 4, stride=2, padding=1)))
            cin = width
        self.layers = nn.ModuleList(layers)
        self.head = sn(nn.Conv2d(cin, 1, 3, padding=1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        features = []
        for layer in self.layers:
            x = F.leaky_relu(layer(x), 0.2)
            features.append(x)
        return self.head(x), features


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge loss for the discriminator."""
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def adversarial_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge loss for the generator."""
    return -fake_logits.mean()


def feature_matching_loss(
    fake: Sequence[torch.Tensor], real: Sequence[torch.Tensor]
) -> torch.Tensor:
    """Mean L1 between discriminator features of fake and (detached) real lower halves."""
    return torch.stack(
        [(f - r.detach()).abs().mean() for f, r in zip(fake, real, strict=True)]
    ).mean()


# ---------------------------------------------------------------------------- data


@dataclass
class FaceClip:
    """One clip's training material: square face crops (N, S, S, 3) uint8, their mel windows
    (N, 80, 16) and mouth parameters (N, 4), frame-aligned."""

    faces: np.ndarray
    mels: np.ndarray
    mouth: np.ndarray
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.faces)
        if (
            self.faces.ndim != 4
            or self.faces.shape[1] != self.faces.shape[2]
            or self.faces.shape[3] != 3
        ):
            raise AvatarError(f"faces must be (N, S, S, 3), got {self.faces.shape}")
        if self.mels.shape != (n, N_MELS, MEL_STEPS):
            raise AvatarError(f"mels must be ({n}, {N_MELS}, {MEL_STEPS}), got {self.mels.shape}")
        if self.mouth.shape != (n, len(MOUTH_PARAMETERS)):
            raise AvatarError(f"mouth must be ({n}, 4), got {self.mouth.shape}")
        if n < 2 * OFF_SYNC_MIN + SYNC_FRAMES:
            raise AvatarError(
                f"a clip needs at least {2 * OFF_SYNC_MIN + SYNC_FRAMES} frames, got {n}"
            )

    @property
    def size(self) -> int:
        return int(self.faces.shape[1])

    def __len__(self) -> int:
        return len(self.faces)


def square_face_crop(frame: PresenterFrame, size: int) -> np.ndarray:
    """The frame's face box made square (side = the longer edge, same centre), resized to
    ``size`` x ``size``; parts outside the frame are black."""
    x0, y0, x1, y1 = frame.face_box
    side = max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    box = (
        round(cx - side / 2),
        round(cy - side / 2),
        round(cx - side / 2) + side,
        round(cy - side / 2) + side,
    )
    crop = Image.fromarray(frame.image).crop(box)  # PIL pads outside with black
    return np.asarray(
        crop.resize(
            (size, size), Image.Resampling.BOX if side >= size else Image.Resampling.BICUBIC
        )
    )


def face_clip(frames: Iterable[PresenterFrame], mels: np.ndarray, size: int) -> FaceClip:
    """Build a :class:`FaceClip` from procedural frames and their per-frame mel windows (from
    :func:`avatar.audio.mel_windows` over the same audio)."""
    faces, mouth = [], []
    for frame in frames:
        faces.append(square_face_crop(frame, size))
        mouth.append(frame.mouth.as_array())
    return FaceClip(np.stack(faces), np.asarray(mels, np.float32), np.stack(mouth))


def procedural_clip(
    audio: Speech | str | Path,
    timings: Timings | Mapping | str | Path | None = None,
    size: int = 96,
    style: PresenterStyle | None = None,
    frame_size: tuple[int, int] = (256, 256),
    seed: int = 0,
) -> FaceClip:
    """Training material with exact ground truth: the procedural presenter speaking ``audio``
    (driven by ``timings`` when given), cropped to ``size`` faces, with the audio's mel windows."""
    speech = as_speech(audio)
    track = mouth_track(speech, timings)
    frames = ProceduralPresenter(style, frame_size, seed).frames(track)
    mels = mel_windows(speech.to_16k().samples, fps=track.fps, n_frames=len(track))
    return face_clip(frames, mels, size)


def _images(faces: np.ndarray) -> torch.Tensor:
    """(..., S, S, 3) uint8 -> (..., 3, S, S) float in [0, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(faces)).float() / 255.0
    return t.movedim(-1, -3)


def sync_batch(
    clip: FaceClip, batch: int, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Half in-sync, half off-sync (video, mel, label) samples.

    A window is frames i..i+4; its audio is the mel window centred on frame i+2, which spans
    exactly those 5 frames. Negatives take the mel of a frame at least 5 frames away."""
    n = len(clip)
    starts = rng.integers(0, n - SYNC_FRAMES + 1, size=batch)
    labels = np.arange(batch) % 2 == 0
    centres = starts + SYNC_FRAMES // 2
    mel_index = centres.copy()
    for k in np.flatnonzero(~labels):
        while True:
            j = int(rng.integers(0, n))
            if abs(j - centres[k]) >= OFF_SYNC_MIN:
                mel_index[k] = j
                break
    half = clip.size // 2
    windows = np.stack([clip.faces[s : s + SYNC_FRAMES, half:] for s in starts])  # B,5,S/2,S,3
    video = _images(windows).flatten(1, 2)  # B, 15, S/2, S
    mel = torch.from_numpy(clip.mels[mel_index][:, None])
    return video, mel, torch.from_numpy(labels)


def generator_batch(
    clip: FaceClip, batch: int, rng: np.random.Generator
) -> dict[str, torch.Tensor]:
    """Targets, references (another random frame), masked targets, mel and mouth windows, and
    the 5-frame window around each target (for the sync loss)."""
    n = len(clip)
    targets = rng.integers(SYNC_FRAMES // 2, n - SYNC_FRAMES // 2, size=batch)
    references = (targets + rng.integers(OFF_SYNC_MIN, n - OFF_SYNC_MIN, size=batch)) % n
    real = _images(clip.faces[targets])
    offsets = np.arange(SYNC_FRAMES) - SYNC_FRAMES // 2
    mouth = torch.from_numpy(clip.mouth[targets[:, None] + offsets].transpose(0, 2, 1).copy())
    return {
        "index": torch.from_numpy(targets),
        "real": real,
        "reference": _images(clip.faces[references]),
        "masked": mask_lower_half(real),
        "mel": torch.from_numpy(clip.mels[targets][:, None]),
        "mouth": mouth,
    }


# ---------------------------------------------------------------------------- training


@contextlib.contextmanager
def denormals_flushed():
    """Flush denormal floats to zero inside the block (denormals made CPU training 5-15x
    slower in our tests, ``benchmarks/README.md``), then put back the caller's setting: the
    library holds no process-wide state. Usable as a decorator. The setting is read back from
    the arithmetic itself (the smallest normal float32 halved is a denormal, which is zero
    when flushing is on), since torch offers no getter for ``torch.set_flush_denormal``."""
    tiny = torch.tensor([torch.finfo(torch.float32).tiny])
    before = bool((tiny / 2).item() == 0.0)
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(before)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@denormals_flushed()
def train_syncnet(
    model: SyncNet,
    clip: FaceClip,
    steps: int,
    batch: int = 16,
    lr: float = 1e-4,
    seed: int = 0,
) -> list[float]:
    """Train the judge for ``steps`` Adam steps (Wav2Lip's lr 1e-4); returns the losses."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        video, mel, label = sync_batch(clip, batch, rng)
        loss = sync_loss(model(video, mel), label)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    return losses


@dataclass(frozen=True)
class LossWeights:
    """L = (1 - sync - adv) * L1 + sync * L_sync + adv * L_adv + feature_matching * L_fm.
    Defaults from Wav2Lip's hparams (syncnet_wt 0.03, disc_wt 0.07) and pix2pixHD (fm 10)."""

    sync: float = 0.03
    adversarial: float = 0.07
    feature_matching: float = 10.0


def generator_sync_loss(
    syncnet: SyncNet, fake: torch.Tensor, batch: dict[str, torch.Tensor], clip: FaceClip
) -> torch.Tensor:
    """Sync loss of generated frames: the judge sees the real 5-frame window around each target
    with the middle frame replaced by the generated one ``fake``, and the matching mel window,
    and should say 'in sync'. (Wav2Lip generates all 5 frames; one keeps this cheap on CPU.)"""
    index = batch["index"].numpy()
    middle = SYNC_FRAMES // 2
    offsets = np.arange(SYNC_FRAMES) - middle
    window = _images(clip.faces[index[:, None] + offsets])  # B, 5, 3, S, S
    window = torch.cat([window[:, :middle], fake[:, None], window[:, middle + 1 :]], dim=1)
    video = window[..., clip.size // 2 :, :].flatten(1, 2)
    return sync_loss(syncnet(video, batch["mel"]), torch.ones(len(index)))


@denormals_flushed()
def train_generator(
    generator: LipGenerator,
    clip: FaceClip,
    steps: int,
    batch: int = 8,
    lr: float = 1e-4,
    seed: int = 0,
    syncnet: SyncNet | None = None,
    discriminator: PatchDiscriminator | None = None,
    weights: LossWeights = LossWeights(),
) -> list[dict[str, float]]:
    """Train the generator (and the discriminator when given) for ``steps`` steps.

    Adam with lr 1e-4 and betas (0.5, 0.999) as Wav2Lip. The sync term needs a trained, frozen
    ``syncnet``; the adversarial and feature-matching terms need ``discriminator``. Returns the
    per-step losses."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    g_opt = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
    d_opt = (
        torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
        if discriminator is not None
        else None
    )
    if syncnet is not None:
        syncnet.eval()
        syncnet.requires_grad_(False)
    half = clip.size // 2
    history = []
    for _ in range(steps):
        b = generator_batch(clip, batch, rng)
        fake = generator(b["reference"], b["masked"], b["mel"], b["mouth"])
        l1 = reconstruction_loss(fake, b["real"])
        record = {"l1": l1.item()}
        w_sync = weights.sync if syncnet is not None else 0.0
        w_adv = weights.adversarial if discriminator is not None else 0.0
        loss = (1 - w_sync - w_adv) * l1
        if syncnet is not None:
            s = generator_sync_loss(syncnet, fake, b, clip)
            loss = loss + w_sync * s
            record["sync"] = s.item()
        if discriminator is not None and d_opt is not None:
            fake_logits, fake_feats = discriminator(fake[..., half:, :])
            with torch.no_grad():
                _, real_feats = discriminator(b["real"][..., half:, :])
            adv = adversarial_loss(fake_logits)
            fm = feature_matching_loss(fake_feats, real_feats)
            loss = loss + w_adv * adv + weights.feature_matching * w_adv * fm
            record.update(adv=adv.item(), fm=fm.item())
        g_opt.zero_grad(set_to_none=True)
        loss.backward()
        g_opt.step()
        if discriminator is not None and d_opt is not None:
            real_logits, _ = discriminator(b["real"][..., half:, :])
            fake_logits, _ = discriminator(fake.detach()[..., half:, :])
            d_loss = discriminator_loss(real_logits, fake_logits)
            d_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            d_opt.step()
            record["disc"] = d_loss.item()
        record["total"] = loss.item()
        history.append(record)
    return history


@torch.no_grad()
def sync_scores(model: SyncNet, clip: FaceClip, max_offset: int = 6) -> np.ndarray:
    """Mean embedding distance between every 5-frame window and the mel window shifted by
    ``k`` frames, for k in [-max_offset, max_offset] (the LSE-D curve of Wav2Lip's
    ``evaluation/scores_LSE``; its argmin is the audio-visual offset)."""
    model.eval()
    n = len(clip)
    starts = np.arange(max_offset, n - SYNC_FRAMES - max_offset + 1)
    if starts.size == 0:
        raise AvatarError(f"clip of {n} frames is too short for offsets of +-{max_offset}")
    half = clip.size // 2
    video = _images(np.stack([clip.faces[s : s + SYNC_FRAMES, half:] for s in starts])).flatten(
        1, 2
    )
    v = model.embed_video(video)
    distances = []
    for k in range(-max_offset, max_offset + 1):
        a = model.embed_audio(torch.from_numpy(clip.mels[starts + SYNC_FRAMES // 2 + k][:, None]))
        distances.append(float((v - a).norm(dim=1).mean()))
    return np.array(distances)


# ---------------------------------------------------------------------------- checkpoints

CHECKPOINT_VERSION = 1
_KINDS: dict[str, type[nn.Module]] = {
    "generator": LipGenerator,
    "syncnet": SyncNet,
    "discriminator": PatchDiscriminator,
}


def _half_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {
        name: value.detach().half() if value.is_floating_point() else value.detach()
        for name, value in model.state_dict().items()
    }


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    metrics: Mapping | None = None,
    manifest: Mapping | None = None,
    refiner: nn.Module | None = None,
) -> None:
    """Write ``model`` as an fp16 state dict with a manifest (kind, config, parameter count,
    metrics, and any JSON-like ``manifest`` entries such as the render template, data hash and
    training steps), atomically: a temporary file in the same folder, then ``os.replace``.

    A generator twin's ``refiner`` (:class:`avatar.refine.Refiner`) travels in the same file, under
    ``"refiner"``: its config, parameter count and fp16 state dict (tensors and plain values
    only, so the file still loads with ``weights_only=True``)."""
    kind = next((k for k, cls in _KINDS.items() if type(model) is cls), None)
    if kind is None:
        raise AvatarError(f"cannot checkpoint a {type(model).__name__}; use one of {list(_KINDS)}")
    if refiner is not None and kind != "generator":
        raise AvatarError(f"only a generator twin carries a refiner, not a {kind}")
    state = _half_state(model)
    payload = {
        "version": CHECKPOINT_VERSION,
        "kind": kind,
        "config": dataclasses.asdict(model.config),
        "parameters": count_parameters(model),
        "metrics": dict(metrics or {}),
        "manifest": dict(manifest or {}),
        "state_dict": state,
    }
    if refiner is not None:
        payload["refiner"] = {
            "config": dataclasses.asdict(refiner.config),
            "parameters": count_parameters(refiner),
            "state_dict": _half_state(refiner),
        }
    path = Path(path)
    temporary = temporary_beside(path)
    try:
        torch.save(payload, temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def load_tensors(
    path: str | Path, *, map_location: str | torch.device = "cpu", what: str
) -> object:
    """``torch.load(path, weights_only=True)``: tensors and plain containers only, never pickled
    code. A refusal is one line naming the object the file asked for (torch's own text
    suggests retrying with ``weights_only=False``, which would run that object: not passed on);
    torch's warnings while loading are kept out of the user's terminal. ``what`` names the file
    in the message ("checkpoint", "resume state")."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)|[Uu]nsupported global: (?:GLOBAL )?([\w.]+)", str(exc))
        if found:
            name = next(g for g in found.groups() if g)
            raise AvatarError(
                f"refusing to load {what} {path}: it holds a pickled Python object ({name}), "
                "not only tensors"
            ) from None
        raise AvatarError(f"cannot read {what} {path}: {_unpickler_detail(exc)}") from None
    except (RuntimeError, EOFError, ValueError, OSError) as exc:
        raise AvatarError(f"cannot read {what} {path}: {_first_line(exc)}") from None


def _unpickler_detail(exc: BaseException) -> str:
    """What torch's weights-only unpickler found, without its advice to load unsafely."""
    for line in str(exc).splitlines():
        line = line.strip().removeprefix("WeightsUnpickler error:").strip()
        if line and not line.startswith(("Weights only load failed", "Please file", "Check the")):
            return f"damaged or not a torch file ({line})"
    return "damaged or not a torch file"


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def load_checkpoint(path: str | Path) -> tuple[nn.Module, dict]:
    """Rebuild a model saved by :func:`save_checkpoint`, in eval mode, with its metrics."""
    model, metrics, _ = load_checkpoint_bundle(path)
    return model, metrics


def load_checkpoint_bundle(path: str | Path) -> tuple[nn.Module, dict, dict]:
    """Like :func:`load_checkpoint`, also returning the manifest entries (``weights_only``
    loading: only tensors and plain containers are accepted, never pickled code)."""
    model, metrics, manifest, _ = read_checkpoint(path)
    return model, metrics, manifest


def read_checkpoint(path: str | Path) -> tuple[nn.Module, dict, dict, dict]:
    """(model, metrics, manifest, the whole payload) of a checkpoint, for the entries that
    travel beside the model (:func:`avatar.refine.load_twin`)."""
    path = Path(path)
    if not path.is_file():
        raise AvatarError(f"checkpoint not found: {path}")
    payload = load_tensors(path, what="checkpoint")
    if not isinstance(payload, dict) or payload.get("version") != CHECKPOINT_VERSION:
        raise AvatarError(f"{path} is not a version-{CHECKPOINT_VERSION} avatar checkpoint")
    kind = payload.get("kind")
    if kind not in _KINDS:
        raise AvatarError(f"{path}: unknown model kind {kind!r}")
    config = payload.get("config")
    if not isinstance(config, dict) or not isinstance(payload.get("state_dict"), dict):
        raise AvatarError(f"{path}: the checkpoint lacks its configuration or weights")
    fields = {
        key: tuple(value) if isinstance(value, list) else value for key, value in config.items()
    }
    try:
        model = _KINDS[kind](ModelConfig(**fields))
    except (TypeError, AvatarError) as exc:
        raise AvatarError(f"{path}: bad model configuration in the manifest: {exc}") from None
    state = {
        name: value.float() if value.is_floating_point() else value
        for name, value in payload["state_dict"].items()
    }
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise AvatarError(
            f"{path}: weights do not fit a {kind}: {str(exc).splitlines()[0]}"
        ) from None
    metrics, manifest = dict(payload.get("metrics", {})), dict(payload.get("manifest", {}))
    return model.eval(), metrics, manifest, payload
