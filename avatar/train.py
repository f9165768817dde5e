"""Training a presenter twin from footage: the staged Wav2Lip-style recipe, resumable.

Stages (Prajwal et al. 2020, "A Lip Sync Expert Is All You Need for Speech to Lip Generation In
the Wild", ACM MM, for the recipe; the staging is our choice):

1. ``judge``: the SyncNet used as a loss, on the training split;
2. ``evaluator``: a second SyncNet with another seed, used only for the metrics;
3. ``pixel``: the generator with the L1 loss alone (pixel-first keeps the GAN stable);
4. ``sync``: + the frozen judge's sync loss (weight 0.03, Wav2Lip's ``syncnet_wt``);
5. ``gan``: + the hinge adversarial loss (0.07, Wav2Lip's ``disc_wt``), discriminator feature
   matching (x10, pix2pixHD) and a temporal loss: L1 between generated and real frame
   differences of consecutive frames (weight 0.5, our choice);
6. ``refine`` (``refine_steps`` > 0, procedural templates): the refinement stage of
   :mod:`avatar.refine`, the generator's face at twice its side, on pairs drawn at
   :data:`DISPLAY_SIZE` (:func:`train_refinement`). It runs after the generator's stages and
   starts afresh on a rerun (it is short); ``train_twin(base=...)`` runs only it and the
   evaluator, over a trained twin's generator.

Stage lengths for ``steps`` generator steps: 60 % pixel, 15 % sync, 25 % gan; each SyncNet gets
``steps // 10`` steps, at least 50 (our choices: on a CPU the pixel stage is what draws the
mouth, and a SyncNet step costs about three generator steps).

Sample efficiency (our choices, measured in the avatar README): the reference frame is a frame
with the mouth at rest from a nearby pause (:func:`rest_references`), as at render time; the
generator is conditioned on the mouth-parameter window; the pixel loss weights the mouth area
and the image gradients (:func:`avatar.models.reconstruction_loss`); Adam runs at lr 1e-3 with
a warm-up and a cosine decay (:meth:`TrainSettings.generator_lr`). Every ``save_every`` steps the whole state (all
networks, optimisers, random generators) goes to ``<output>.resume`` atomically; a rerun with
the same footage and settings continues from there. The footage is split by time: the last 10 %
is held out and only used for ``metrics.json``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from avatar.audio import SAMPLE_RATE, mel_windows, voice_activity
from avatar.errors import AvatarError
from avatar.files import temporary_beside, write_json_atomic
from avatar.ingest import MIN_SECONDS, Footage, file_sha256, ingest_footage
from avatar.metrics import JawRegressor, evaluate_twin
from avatar.models import (
    SYNC_FRAMES,
    FaceClip,
    LipGenerator,
    ModelConfig,
    PatchDiscriminator,
    SyncNet,
    adversarial_loss,
    denormals_flushed,
    discriminator_loss,
    feature_matching_loss,
    load_tensors,
    mask_lower_half,
    reconstruction_loss,
    save_checkpoint,
    sync_batch,
    sync_loss,
)
from avatar.neural import paste_back
from avatar.procedural import PresenterStyle
from avatar.refine import (
    REFINE_ARCHITECTURE,
    RefineConfig,
    Refiner,
    RefineSettings,
    load_twin,
    refine_pairs,
    train_refiner,
)
from avatar.synthesis import Synthesize
from avatar.visemes import mouth_track_from_audio, viseme_track

SYNC_WEIGHT = 0.03
ADV_WEIGHT = 0.07
FM_WEIGHT = 10.0
TEMPORAL_WEIGHT = 0.5
VALIDATION_FRACTION = 0.1
DISPLAY_SIZE = (512, 504)
"""The presenter panel of the 1280x720 bulletin video, where the display measures are taken."""


@dataclass(frozen=True)
class TrainSettings:
    """Everything that defines a training run (part of the resume key)."""

    size: int = 96
    steps: int = 2000
    batch: int = 8
    sync_batch: int = 16
    lr: float = 1e-3  # generator and discriminator peak lr (Wav2Lip: 1e-4)
    seed: int = 0
    widths: tuple[int, ...] = (16, 32, 64, 128, 128)
    sync_widths: tuple[int, ...] = (32, 64, 128, 256)
    sync_dim: int = 256
    sync_steps: int | None = None  # default: max(50, steps // 10)
    sync_lr: float | None = 1e-4  # None: lr
    condition: str = "mouth"  # the generator's speech code: mel, mouth or both
    warmup: int = 100  # generator steps of linear lr warm-up
    final_lr_fraction: float = 0.05  # cosine decay of the generator lr to this fraction
    mouth_weight: float = 2.0  # extra L1 weight of the mouth area
    gradient_weight: float = 1.0  # L1 weight of the lower half's image gradients
    reference: str = "rest"  # reference frames: "rest" (mouth at rest) or "random"
    # The generator draws a change over the reference frame (jaw paste). Off by default: at
    # the 512x504 panel it kept 0.39 of the edges' gradient against 0.53 for the whole-face
    # generator (avatar/README.md, "Sharpness at the size shown").
    residual: bool = False
    # Steps of the refinement stage (avatar.refine): the generator's face at twice its side,
    # learnt from the procedural presenter drawn at the size shown; 0: none.
    refine_steps: int = 0
    refine_frames: int = 800  # training frames drawn at the size shown for its pairs

    def __post_init__(self) -> None:
        if self.size not in (64, 96, 128):
            raise AvatarError(f"face size must be 96 or 128 (64 for tests), got {self.size}")
        if self.steps < 10:
            raise AvatarError(f"steps must be at least 10, got {self.steps}")
        if self.batch < 2:
            raise AvatarError(f"batch must be at least 2, got {self.batch}")
        if self.refine_steps and self.refine_steps < 10:
            raise AvatarError(f"refine steps must be 0 or at least 10, got {self.refine_steps}")
        if self.reference not in ("rest", "random"):
            raise AvatarError(f"reference must be rest or random, got {self.reference!r}")

    def config(self) -> ModelConfig:
        widths = self.widths[: 4 if self.size == 64 else len(self.widths)]
        return ModelConfig(
            size=self.size,
            widths=widths,
            sync_widths=self.sync_widths,
            sync_dim=self.sync_dim,
            condition=self.condition,
            residual=self.residual,
        )

    def generator_lr(self, step: int) -> float:
        """The generator's learning rate at generator step ``step`` (0-based): a linear warm-up
        over ``warmup`` steps, then a cosine decay to ``final_lr_fraction * lr`` at the last
        step (Loshchilov & Hutter 2017, "SGDR", ICLR; warm-up as Goyal et al. 2017)."""
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        span = max(1, self.steps - self.warmup)
        progress = min(1.0, (step - self.warmup) / span)
        floor = self.final_lr_fraction
        return self.lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))

    def phases(self) -> list[tuple[str, int]]:
        sync_steps = self.sync_steps if self.sync_steps is not None else max(50, self.steps // 10)
        pixel = round(0.6 * self.steps)
        sync = round(0.15 * self.steps)
        return [
            ("judge", sync_steps),
            ("evaluator", sync_steps),
            ("pixel", pixel),
            ("sync", sync),
            ("gan", self.steps - pixel - sync),
        ]


def split_by_time(
    clip: FaceClip, fraction: float = VALIDATION_FRACTION
) -> tuple[FaceClip, FaceClip]:
    """(train, validation): the last ``fraction`` of the frames is the validation split."""
    n_val = max(round(len(clip) * fraction), 2 * 5 + SYNC_FRAMES + 12)
    if len(clip) - n_val < 2 * n_val:
        raise AvatarError(
            f"{len(clip)} frames are too few to hold out {n_val} for validation; "
            f"use at least {MIN_SECONDS:.0f} s of footage"
        )
    cut = len(clip) - n_val
    train = FaceClip(clip.faces[:cut], clip.mels[:cut], clip.mouth[:cut])
    val = FaceClip(clip.faces[cut:], clip.mels[cut:], clip.mouth[cut:])
    return train, val


REST_TOLERANCE = 0.02
"""A frame is "at rest" when every mouth parameter is within this of the resting shape (our
choice: the coarticulated track settles to within 0.02 in pauses of 0.3 s and more)."""
REFERENCE_WINDOW = 50
"""Rest references are drawn from rest frames within this many frames (2 s) of the target, so
that the head pose is close (our choice)."""
REFERENCE_GAP = 3
"""...and at least this many frames from it: never the target itself (our choice)."""
MIN_REST_FRAMES = 10


def rest_frames(mouth: np.ndarray) -> np.ndarray:
    """Indices of the frames whose mouth parameters (N, 4) are at rest (closed, relaxed)."""
    from avatar.mouth import MouthShape

    distance = np.abs(np.asarray(mouth) - MouthShape.rest().as_array()).max(axis=1)
    return np.flatnonzero(distance <= REST_TOLERANCE)


def rest_references(
    rest: np.ndarray, targets: np.ndarray, rng: np.random.Generator | None = None
) -> np.ndarray:
    """A rest frame for every target: drawn at random (``rng``) among the rest frames
    ``REFERENCE_GAP`` to ``REFERENCE_WINDOW`` frames away, or the nearest one at least
    ``REFERENCE_GAP`` away (no ``rng``, or none in the window).

    This is the reference of the render path, where the template frame with its mouth at
    rest is the reference: the generator learns to open a closed mouth of nearly the same
    pose, a local edit, instead of redrawing the mouth of a random frame (our choice; the
    reference still comes from another time, so the target's mouth cannot be copied)."""
    out = np.empty(len(targets), np.int64)
    for k, target in enumerate(targets):
        gap = np.abs(rest - target)
        allowed = gap >= REFERENCE_GAP
        window = np.flatnonzero(allowed & (gap <= REFERENCE_WINDOW))
        if rng is not None and window.size:
            out[k] = rest[window[rng.integers(window.size)]]
        else:
            candidates = np.flatnonzero(allowed)
            if candidates.size == 0:  # every rest frame is next to the target
                candidates = np.arange(len(rest))
            out[k] = rest[candidates[np.argmin(gap[candidates])]]
    return out


def footage_clip(footage: Footage, timings: str | Path | dict | None) -> tuple[FaceClip, str]:
    """Training material from ingested footage: mel windows, and the mouth track from the
    timings (exact, "timings"), from the face's pixels when the footage has no usable sound
    ("face", :mod:`avatar.face_track`) or from the audio alone ("audio")."""
    n = len(footage.faces)
    speech16 = footage.speech.to_16k()
    mels = mel_windows(speech16.samples, fps=footage.fps, n_frames=n)
    if timings is not None:
        track = viseme_track(timings, footage.fps, n)
        source = "timings"
    elif not footage.sound and footage.face is not None:
        track = footage.face.mouth_track()
        source = "face"
    else:
        track = mouth_track_from_audio(speech16, footage.fps, n)
        source = "audio"
    return FaceClip(footage.faces, mels, track.values), source


def _images(faces: np.ndarray, device: torch.device) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(faces)).to(device).float() / 255.0
    return t.movedim(-1, -3)


def _mouth_windows(clip: FaceClip, targets: np.ndarray) -> np.ndarray:
    offsets = np.arange(SYNC_FRAMES) - SYNC_FRAMES // 2
    index = np.clip(targets[:, None] + offsets, 0, len(clip) - 1)
    return clip.mouth[index].transpose(0, 2, 1).copy()


def generator_inputs(
    clip: FaceClip, targets: np.ndarray, references: np.ndarray, device: torch.device
) -> dict[str, torch.Tensor]:
    """Generator inputs and targets for the given frame indices."""
    real = _images(clip.faces[targets], device)
    return {
        "real": real,
        "reference": _images(clip.faces[references], device),
        "masked": mask_lower_half(real),
        "mel": torch.from_numpy(clip.mels[targets][:, None]).to(device),
        "mouth": torch.from_numpy(_mouth_windows(clip, targets)).to(device),
    }


def _sync_video(clip: FaceClip, targets: np.ndarray, fake: torch.Tensor) -> torch.Tensor:
    """The real 5-frame windows around ``targets`` with the middle frame replaced by ``fake``,
    lower halves stacked as the judge expects."""
    middle = SYNC_FRAMES // 2
    offsets = np.arange(SYNC_FRAMES) - middle
    window = _images(clip.faces[targets[:, None] + offsets], fake.device)
    window = torch.cat([window[:, :middle], fake[:, None], window[:, middle + 1 :]], dim=1)
    return window[..., clip.size // 2 :, :].flatten(1, 2)


TEMPLATE_SECONDS = (6.0, 10.0)
"""The render template of a footage twin without a chosen stretch: the first 6-10 s of the
footage, cut where the frame is most like the first one, so the loop jumps least (our choice:
long enough for head motion and blinks not to look repeated at once; 250 JPEG frames of the
procedural presenter at 320x240 are 2.3 MB)."""
TEMPLATE_MAX_SIDE = 640
"""Template frames are stored at most this wide or high (our choice: the presenter panel of the
1280x720 bulletin is 512x504, and a larger frame only makes the checkpoint bigger)."""
TEMPLATE_JPEG_QUALITY = 90
"""JPEG quality of the stored template frames (our choice; libjpeg's scale, 4:2:0 chroma)."""


def footage_template(path: str | Path, boxes: np.ndarray, fps: int, loop=None) -> dict:
    """The render template of a footage twin, self-contained for its checkpoint.

    The frames are source frames ``loop.start`` to ``loop.stop`` played as ``loop.order``
    (a :class:`avatar.face_track.TemplateLoop` chosen at ingestion), or without ``loop`` the
    first frames of the footage (:data:`TEMPLATE_SECONDS`) played in order. Stored: each frame
    as the bytes of a JPEG file in a uint8 tensor, scaled to at most :data:`TEMPLATE_MAX_SIDE`;
    their square face boxes in the stored frames' pixels, an (N, 4) int64 tensor; the play
    order, an int64 tensor of frame indices; the footage's index of the first stored frame; and
    the stored frame size. Only tensors and plain
    values: ``torch.load(..., weights_only=True)`` loads it."""
    import io

    from PIL import Image

    from avatar.geometry import square_box
    from avatar.video import read_video

    boxes = np.asarray(boxes, np.int64)
    if loop is not None:
        first, last = int(loop.start), min(int(loop.stop), len(boxes))
    else:
        first, last = 0, min(round(TEMPLATE_SECONDS[1] * fps), len(boxes))
    encoded: list[torch.Tensor] = []
    thumbnails: list[np.ndarray] = []
    scale = 1.0
    stored = (0, 0)
    for index, image in enumerate(read_video(path, fps)):
        if index >= last:
            break
        if index < first:
            continue
        picture = Image.fromarray(image)
        if not encoded:
            scale = min(1.0, TEMPLATE_MAX_SIDE / max(picture.size))
            stored = (round(picture.width * scale), round(picture.height * scale))
        if picture.size != stored:
            picture = picture.resize(stored, Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        picture.save(buffer, format="JPEG", quality=TEMPLATE_JPEG_QUALITY)
        encoded.append(torch.frombuffer(bytearray(buffer.getvalue()), dtype=torch.uint8))
        thumbnail = picture.resize((32, 32), Image.Resampling.BOX)
        thumbnails.append(np.asarray(thumbnail, np.float32))
    if not encoded:
        raise AvatarError(f"no frames {first}-{last} could be read from the footage {path}")
    count = len(encoded)
    if loop is not None:
        order = np.asarray(loop.order, np.int64) - first
        order = order[order < count]
    else:
        shortest = round(TEMPLATE_SECONDS[0] * fps)
        if count > shortest:  # the loop restarts after the frame most like the first one
            jumps = [np.abs(thumbnails[k] - thumbnails[0]).mean() for k in range(shortest, count)]
            count = shortest + int(np.argmin(jumps))
        order = np.arange(count)
    scaled = [
        square_box(tuple(round(float(v) * scale) for v in box))  # type: ignore[arg-type]
        for box in boxes[first : first + count]
    ]
    return {
        "kind": "footage",
        "encoding": "jpeg",
        "frames": encoded[:count],
        "boxes": torch.tensor(scaled, dtype=torch.int64),
        "order": torch.from_numpy(order),
        "first_frame": first,  # of the footage, for the record
        "frame_size": [int(stored[0]), int(stored[1])],
    }


class Trainer:
    """The staged training of one twin; ``run`` resumes from ``resume_path`` when it matches."""

    def __init__(
        self,
        train: FaceClip,
        settings: TrainSettings,
        device: str = "cpu",
        data_key: str = "",
        resume_path: Path | None = None,
        save_every: int = 200,
        stages: tuple[str, ...] | None = None,
    ) -> None:
        if device == "cuda" and not torch.cuda.is_available():
            raise AvatarError("--device cuda was asked for but torch sees no CUDA GPU")
        if device not in ("cpu", "cuda"):
            raise AvatarError(f"device must be cpu or cuda, got {device!r}")
        self.device = torch.device(device)
        self.train = train
        self.settings = settings
        self.key = json.dumps({"data": data_key, "settings": dataclasses.asdict(settings)})
        self.resume_path = resume_path
        self.save_every = save_every
        torch.manual_seed(settings.seed)
        config = settings.config()
        self.generator = LipGenerator(config).to(self.device)
        self.judge = SyncNet(config).to(self.device)
        torch.manual_seed(settings.seed + 1000)  # the evaluator starts from other weights
        self.evaluator = SyncNet(config).to(self.device)
        self.discriminator = PatchDiscriminator(config).to(self.device)
        adam = torch.optim.Adam
        lr = settings.lr
        sync_lr = settings.sync_lr if settings.sync_lr is not None else lr
        self.optimisers = {
            "judge": adam(self.judge.parameters(), lr=sync_lr),
            "evaluator": adam(self.evaluator.parameters(), lr=sync_lr),
            "generator": adam(self.generator.parameters(), lr=lr, betas=(0.5, 0.999)),
            "discriminator": adam(self.discriminator.parameters(), lr=lr, betas=(0.5, 0.999)),
        }
        self.rng = np.random.default_rng(settings.seed)
        self.rest = rest_frames(train.mouth)
        # Too few pauses to draw rest references from: random references, as Wav2Lip.
        self.rest_reference = settings.reference == "rest" and len(self.rest) >= MIN_REST_FRAMES
        self.done = 0
        self.history: list[dict] = []
        # The stages :meth:`run` trains (None: all); the others count as done, e.g. only the
        # evaluator when the generator comes from a trained twin (``train_twin(base=...)``).
        self.stages = stages

    # ---------------------------------------------------------------- state

    def _modules(self) -> dict[str, torch.nn.Module]:
        return {
            "generator": self.generator,
            "judge": self.judge,
            "evaluator": self.evaluator,
            "discriminator": self.discriminator,
        }

    def save_state(self) -> None:
        if self.resume_path is None:
            return
        state = {
            "key": self.key,
            "done": self.done,
            "history": json.dumps(self.history),
            "rng": json.dumps(self.rng.bit_generator.state),
            "torch_rng": torch.get_rng_state(),
            "modules": {k: m.state_dict() for k, m in self._modules().items()},
            "optimisers": {k: o.state_dict() for k, o in self.optimisers.items()},
        }
        temporary = temporary_beside(self.resume_path)
        try:
            torch.save(state, temporary)
            os.replace(temporary, self.resume_path)
        finally:
            temporary.unlink(missing_ok=True)

    def load_state(self) -> bool:
        """Continue from ``resume_path`` if it exists and was made by the same run settings on
        the same data; returns whether it did."""
        path = self.resume_path
        if path is None or not path.is_file():
            return False
        state = load_tensors(path, map_location=self.device, what="resume state")
        if not isinstance(state, dict):
            raise AvatarError(f"cannot resume from {path}: not a training state")
        if state.get("key") != self.key:
            raise AvatarError(
                f"{path} belongs to another footage or other settings; delete it to start afresh"
            )
        for name, module in self._modules().items():
            module.load_state_dict(state["modules"][name])
        for name, optimiser in self.optimisers.items():
            optimiser.load_state_dict(state["optimisers"][name])
        self.rng.bit_generator.state = json.loads(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        self.done = int(state["done"])
        self.history = json.loads(state["history"])
        return True

    # ---------------------------------------------------------------- steps

    def _sync_step(self, net: SyncNet, optimiser: torch.optim.Optimizer) -> dict:
        net.train()
        video, mel, label = sync_batch(self.train, self.settings.sync_batch, self.rng)
        loss = sync_loss(net(video.to(self.device), mel.to(self.device)), label.to(self.device))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        return {"sync_bce": loss.item()}

    def _generator_step(self, phase: str, step: int) -> dict:
        clip, s = self.train, self.settings
        lr = s.generator_lr(step)
        for name in ("generator", "discriminator"):
            for group in self.optimisers[name].param_groups:
                group["lr"] = lr
        n = len(clip)
        half = clip.size // 2
        gan = phase == "gan"
        lo, hi = SYNC_FRAMES // 2, n - SYNC_FRAMES // 2 - (1 if gan else 0)
        targets = self.rng.integers(lo, hi, size=s.batch)
        if gan:  # consecutive pairs for the temporal loss
            targets = np.concatenate([targets[: s.batch // 2], targets[: s.batch // 2] + 1])
        if self.rest_reference:
            references = rest_references(self.rest, targets, self.rng)
        else:
            references = (targets + self.rng.integers(5, n - 5, size=len(targets))) % n
        b = generator_inputs(clip, targets, references, self.device)
        self.generator.train()
        fake = self.generator(b["reference"], b["masked"], b["mel"], b["mouth"])
        l1 = reconstruction_loss(
            fake, b["real"], mouth_weight=s.mouth_weight, gradient_weight=s.gradient_weight
        )
        record = {"l1": l1.item()}
        w_sync = SYNC_WEIGHT if phase in ("sync", "gan") else 0.0
        w_adv = ADV_WEIGHT if gan else 0.0
        loss = (1 - w_sync - w_adv) * l1
        if w_sync:
            self.judge.eval()
            p = self.judge(_sync_video(clip, targets, fake), b["mel"])
            s_loss = sync_loss(p, torch.ones_like(p))
            loss = loss + w_sync * s_loss
            record["sync"] = s_loss.item()
        if gan:
            k = s.batch // 2
            temporal = (
                ((fake[k:] - fake[:k]) - (b["real"][k:] - b["real"][:k]))[..., half:, :]
                .abs()
                .mean()
            )
            fake_logits, fake_feats = self.discriminator(fake[..., half:, :])
            with torch.no_grad():
                _, real_feats = self.discriminator(b["real"][..., half:, :])
            adv = adversarial_loss(fake_logits)
            fm = feature_matching_loss(fake_feats, real_feats)
            loss = loss + w_adv * (adv + FM_WEIGHT * fm) + TEMPORAL_WEIGHT * temporal
            record.update(adv=adv.item(), fm=fm.item(), temporal=temporal.item())
        g_opt = self.optimisers["generator"]
        g_opt.zero_grad(set_to_none=True)
        loss.backward()
        g_opt.step()
        if gan:
            real_logits, _ = self.discriminator(b["real"][..., half:, :])
            fake_logits, _ = self.discriminator(fake.detach()[..., half:, :])
            d_loss = discriminator_loss(real_logits, fake_logits)
            d_opt = self.optimisers["discriminator"]
            d_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            d_opt.step()
            record["disc"] = d_loss.item()
        record["total"] = loss.item()
        return record

    @denormals_flushed()
    def run(self, on_step: Callable[[int, int, str], None] | None = None) -> list[dict]:
        """Run (or finish) every stage; ``on_step(done, total, phase)`` reports progress."""
        phases = self.settings.phases()
        total = sum(n for _, n in phases)
        self.judge.requires_grad_(True)
        start = 0
        generator_start = sum(n for p, n in phases if p in ("judge", "evaluator"))
        for phase, length in phases:
            if phase in ("pixel", "sync", "gan"):
                self.judge.requires_grad_(False)
            if self.stages is not None and phase not in self.stages:
                self.done = max(self.done, start + length)
                start += length
                continue
            for local in range(length):
                if start + local < self.done:
                    continue
                if phase == "judge":
                    record = self._sync_step(self.judge, self.optimisers["judge"])
                elif phase == "evaluator":
                    record = self._sync_step(self.evaluator, self.optimisers["evaluator"])
                else:
                    record = self._generator_step(phase, self.done - generator_start)
                record["phase"] = phase
                self.history.append(record)
                self.done += 1
                if on_step is not None:
                    on_step(self.done, total, phase)
                if self.done % self.save_every == 0:
                    self.save_state()
            start += length
        return self.history

    # ---------------------------------------------------------------- inference on a split

    @torch.no_grad()
    def generate(self, clip: FaceClip, batch: int = 32) -> np.ndarray:
        """Generated faces for every frame of ``clip`` pasted back onto the real crops, with a
        reference frame that is never the frame itself, so the mouth cannot be copied from
        it: the nearest rest frame of ``clip`` at least ``REFERENCE_GAP`` frames away when
        the twin learned from rest references, else the frame half the clip away."""
        self.generator.eval()
        n = len(clip)
        out = np.empty_like(clip.faces)
        rest = rest_frames(clip.mouth)
        use_rest = self.rest_reference and len(rest) >= 2
        for start in range(0, n, batch):
            targets = np.arange(start, min(n, start + batch))
            if use_rest:
                references = rest_references(rest, targets)
            else:
                references = (targets + n // 2) % n
            b = generator_inputs(clip, targets, references, self.device)
            fake = self.generator(b["reference"], b["masked"], b["mel"], b["mouth"])
            faces = (fake.clamp(0, 1) * 255).round().to(torch.uint8).movedim(-3, -1).cpu().numpy()
            for k, index in enumerate(targets):
                out[index] = paste_back(clip.faces[index], faces[k], (0, 0, clip.size, clip.size))
        return out


def loss_summary(history: list[dict]) -> dict:
    """Mean losses over the first and the last 10 % of each stage."""
    summary: dict[str, dict] = {}
    for phase in ("judge", "evaluator", "pixel", "sync", "gan"):
        records = [r for r in history if r["phase"] == phase]
        if not records:
            continue
        k = max(1, len(records) // 10)
        keys = [key for key in records[0] if key != "phase"]
        summary[phase] = {
            key: {
                "first": float(np.mean([r[key] for r in records[:k]])),
                "last": float(np.mean([r[key] for r in records[-k:]])),
            }
            for key in keys
        }
    return summary


@dataclass(frozen=True)
class TwinResult:
    checkpoint: Path
    metrics_path: Path
    metrics: dict


def train_twin(
    footage: str | Path,
    out: str | Path,
    timings: str | Path | None = None,
    transcript: str | Path | None = None,
    settings: TrainSettings = TrainSettings(),
    device: str = "cpu",
    template: str = "footage",
    metrics_path: str | Path | None = None,
    min_seconds: float = MIN_SECONDS,
    progress: bool | None = None,
    synthesize: Synthesize | None = None,
    base: str | Path | None = None,
) -> TwinResult:
    """Train a twin on ``footage`` and write the checkpoint ``out`` plus ``metrics.json``.

    ``template`` is what the twin renders over: ``"footage"`` (the footage itself, looped) or
    ``"procedural"`` / ``"procedural-alternate"`` (the procedural presenter, for twins of
    procedural footage such as the default twin). ``timings`` (phoneme timings aligned to the
    footage) give an exact mouth track; a ``transcript`` gives one through an espeak-ng
    resynthesis by ``synthesize`` aligned to the footage (:mod:`avatar.align`; a transcript
    without a synthesizer is an error); with neither, the mouth track comes from the audio.
    ``progress`` shows a bar on stderr (default: only when stderr is a terminal).

    ``settings.refine_steps`` adds the refinement stage (:mod:`avatar.refine`, procedural
    templates only). ``base``, a trained generator twin, keeps that twin's generator, render
    template and training settings (``settings`` gives only ``refine_steps``): of the staged
    recipe only the evaluator SyncNet is trained again, for the held-out metrics, then the
    refinement stage."""
    out = Path(out)
    if template not in ("footage", "procedural", "procedural-alternate"):
        raise AvatarError(
            f"template must be footage, procedural or procedural-alternate, got {template!r}"
        )
    base_twin = None
    if base is not None:
        base_twin = load_twin(base)
        settings = settings_of_twin(
            base_twin.manifest, base, settings.refine_steps, settings.refine_frames
        )
        kind = (base_twin.manifest.get("template") or {}).get("kind")
        template = "procedural" if kind == "procedural" else "footage"
    if settings.refine_steps and template == "footage":
        raise AvatarError(
            "--refine-steps needs a procedural template: the refinement stage learns from the "
            "procedural presenter drawn at the size shown, which footage does not hold"
        )
    if timings is None and transcript is not None and synthesize is None:
        raise AvatarError("aligning a transcript needs a speech synthesizer; none was given")
    data = ingest_footage(footage, size=settings.size, min_seconds=min_seconds)
    key = data.sha256 + (file_sha256(timings) if timings is not None else "")
    if timings is None and transcript is not None:
        from avatar.align import transcript_timings

        if not data.sound:
            raise AvatarError(
                f"--transcript is aligned to the footage's sound, and {footage} has none; "
                f"give --timings, or neither (the mouth track then comes from the face)"
            )

        timings = transcript_timings(transcript, data.speech, synthesize, data.fps)
        key += file_sha256(transcript)
    if base is not None:
        key += "base" + file_sha256(base)
    clip, mouth_source = footage_clip(data, timings)
    train, val = split_by_time(clip)
    out.parent.mkdir(parents=True, exist_ok=True)
    resume = out.with_name(out.name + ".resume")
    trainer = Trainer(
        train,
        settings,
        device,
        key,
        resume,
        save_every=max(50, settings.steps // 10),
        stages=("evaluator",) if base_twin is not None else None,
    )
    if base_twin is not None:
        trainer.generator.load_state_dict(base_twin.generator.state_dict())
    resumed = trainer.load_state()
    if progress is None:
        progress = sys.stderr.isatty()
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), disable=not progress) as bar:
        total = sum(n for _, n in settings.phases())
        task = bar.add_task("training", total=total, completed=trainer.done)

        def report(done: int, total: int, phase: str) -> None:
            bar.update(task, completed=done, description=f"training: {phase}")

        history = trainer.run(report)
    generated = trainer.generate(val)
    regressor = JawRegressor.fit(train.faces, train.mouth[:, 0])
    n_val = len(val)
    cut = len(clip) - n_val
    speech16 = data.speech.to_16k()
    if data.sound or data.face is None:
        voiced = voice_activity(speech16.samples, SAMPLE_RATE, data.fps, len(clip)).voiced[cut:]
    else:  # no sound: where the face shows the mouth open
        voiced = data.face.speaking()[cut:]
    metrics = evaluate_twin(generated, val, trainer.evaluator.cpu(), regressor, voiced)
    trainer.evaluator.to(trainer.device)
    metrics.update(
        footage=str(Path(footage)),
        footage_sha256=data.sha256,
        mouth_source=mouth_source,
        train_frames=len(train),
        validation_frames=n_val,
        steps=settings.steps,
        resumed=resumed,
        device=device,
        losses=loss_summary(history),
    )
    if base_twin is not None:
        render_template = base_twin.manifest["template"]
    elif template == "footage":
        # The stretch chosen at ingestion (mouth closed, face still), if ingestion chose one.
        loop = getattr(data, "template", None)
        render_template = footage_template(footage, data.boxes, data.fps, loop)
    else:
        style = PresenterStyle.alternate() if template.endswith("alternate") else PresenterStyle()
        render_template = {
            "kind": "procedural",
            "style": dataclasses.asdict(style),
            "seed": 0,
            "box": "lbp",
        }
    manifest = {
        "architecture": "LipGenerator (U-Net + FiLM), Wav2Lip-style staged training",
        "template": render_template,
        "mouth_source": mouth_source,
        "data_sha256": key,
        "training_steps": settings.steps,
        "settings": dataclasses.asdict(settings),
        # A residual generator keeps the template where nothing moves, and a refined face is
        # sharp at the size shown: the jaw-following, detail-preserving paste
        # (avatar.neural.jaw_mask); else the mouth ellipse.
        "paste": "jaw" if settings.residual or settings.refine_steps else "mouth",
    }
    if base is not None:
        manifest["base_twin"] = {"path": str(base), "sha256": file_sha256(base)}
    refiner = None
    if render_template["kind"] == "procedural":
        from avatar.audio import Speech
        from avatar.metrics import gates
        from avatar.mouth import MouthTrack
        from avatar.neural import NeuralPresenter, display_measures

        presenter = NeuralPresenter(trainer.generator.cpu().eval(), manifest, DISPLAY_SIZE)
        if settings.refine_steps:
            refiner, record = train_refinement(
                presenter, train, settings, on_step=_refine_bar(progress, settings.refine_steps)
            )
            manifest["refine"] = record
            metrics["losses"]["refine"] = record.pop("losses")
        # The held-out part rendered at the panel's size against the procedural presenter.
        held_out = Speech(
            data.speech.samples[round(cut / data.fps * data.speech.sample_rate) :],
            data.speech.sample_rate,
        )
        val_track = MouthTrack(val.mouth, float(data.fps))
        metrics["display"] = display_measures(presenter, held_out, val_track)
        if refiner is not None:
            presenter.refiner = None
            metrics["display_without_refiner"] = display_measures(presenter, held_out, val_track)
        metrics["gates"] = gates(metrics)
    save_checkpoint(
        out,
        trainer.generator.cpu(),
        {k: v for k, v in metrics.items() if k != "losses"},
        manifest,
        refiner=refiner,
    )
    metrics_file = Path(metrics_path) if metrics_path is not None else out.parent / "metrics.json"
    write_json_atomic(metrics_file, metrics)
    resume.unlink(missing_ok=True)
    return TwinResult(out, metrics_file, metrics)


def settings_of_twin(
    manifest: dict, source: str | Path, refine_steps: int, refine_frames: int = 800
) -> TrainSettings:
    """The :class:`TrainSettings` a twin was trained with (its manifest's ``settings``), with
    ``refine_steps`` and ``refine_frames`` for the refinement stage; entries that this version
    does not know are left out."""
    recorded = manifest.get("settings")
    if not isinstance(recorded, dict):
        raise AvatarError(f"{source}: the twin's manifest records no training settings")
    known = {f.name for f in dataclasses.fields(TrainSettings)}
    fields = {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in recorded.items()
        if key in known
    }
    try:
        refine = {"refine_steps": refine_steps, "refine_frames": refine_frames}
        return TrainSettings(**(fields | refine))  # type: ignore[arg-type]
    except TypeError as exc:
        raise AvatarError(f"{source}: bad training settings in the manifest: {exc}") from None


def _refine_bar(progress: bool, total: int) -> Callable[[int], None] | None:
    """A progress callback drawing a "refining" bar on stderr while the stage runs."""
    if not progress:
        return None
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn

    bar = Progress(
        TextColumn("refining"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        console=Console(stderr=True),
    )
    task = bar.add_task("refining", total=total)

    def step(done: int) -> None:
        if done == 1:
            bar.start()
        bar.update(task, completed=done)
        if done >= total:
            bar.stop()

    return step


def train_refinement(
    presenter,
    train: FaceClip,
    settings: TrainSettings,
    refine: RefineSettings | None = None,
    on_step: Callable[[int], None] | None = None,
) -> tuple[Refiner, dict]:
    """The refinement stage of a procedural-template twin: pairs from ``refine.frames`` frames
    spread evenly over the training split, drawn at :data:`DISPLAY_SIZE` (``presenter``, a
    :class:`avatar.neural.NeuralPresenter` at that size), then ``settings.refine_steps`` steps
    (:func:`avatar.refine.train_refiner`). Returns the refiner and its manifest record."""
    from avatar.mouth import MouthTrack
    from avatar.neural import mouth_windows
    from avatar.procedural import ProceduralPresenter

    refine = refine or RefineSettings(
        steps=settings.refine_steps, frames=settings.refine_frames, seed=settings.seed
    )
    template = presenter.template
    size = presenter.generator.config.size
    windows = mouth_windows(MouthTrack(train.mouth, 25.0))

    def generate(faces: np.ndarray, index: np.ndarray) -> np.ndarray:
        return presenter.generate(faces, train.mels[index], windows[index])

    reference = ProceduralPresenter(
        template.presenter.style, presenter.size, template.presenter.seed
    )
    count = min(refine.frames, len(train))
    frames = np.linspace(0, len(train) - 1, count).round().astype(int)
    pairs = refine_pairs(generate, template, reference, train.mouth, frames, size)
    torch.manual_seed(refine.seed)
    refiner = Refiner(RefineConfig())
    history = train_refiner(refiner, pairs, refine, on_step)
    k = max(1, len(history) // 10)
    record = {
        "architecture": REFINE_ARCHITECTURE,
        "config": dataclasses.asdict(refiner.config),
        "settings": dataclasses.asdict(refine),
        "input_size": size,
        "output_size": size * refiner.config.scale,
        "pairs": len(pairs),
        "losses": {
            key: {
                "first": float(np.mean([r[key] for r in history[:k]])),
                "last": float(np.mean([r[key] for r in history[-k:]])),
            }
            for key in ("l1", "gradient", "total")
        },
    }
    presenter.refiner = refiner
    return refiner, record
