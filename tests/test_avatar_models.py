"""Neural parts (torch): shapes, batches, and short trainings on synthetic lip-sync clips whose
audio loudness follows the rendered mouth opening, so that sync is learnable in seconds."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = pytest.importorskip("torch.nn.functional")

from avatar import models  # noqa: E402
from avatar.audio import SAMPLE_RATE, mel_windows  # noqa: E402
from avatar.errors import AvatarError  # noqa: E402
from avatar.mouth import MouthTrack  # noqa: E402
from avatar.procedural import ProceduralPresenter  # noqa: E402

pytestmark = [pytest.mark.media, pytest.mark.slow]

SIZE = 48
SMALL = models.ModelConfig(
    size=SIZE, widths=(16, 32, 64), sync_widths=(16, 32, 64), sync_dim=64, disc_widths=(16, 32)
)


def synthetic_clip(n_frames: int, seed: int) -> models.FaceClip:
    """The presenter opening and closing the mouth at random, 'speaking' a harmonic voice whose
    amplitude follows the jaw opening sample by sample."""
    rng = np.random.default_rng(seed)
    fps = 25
    jaw = np.clip(np.convolve(rng.random(n_frames) ** 3 * 2.5, np.hanning(5) / 2, "same"), 0, 1)
    values = np.stack([jaw, np.full(n_frames, 0.5), np.zeros(n_frames), 0.5 * jaw], axis=1)
    track = MouthTrack(values.astype(np.float32), fps)
    t = np.arange(round(n_frames / fps * SAMPLE_RATE)) / SAMPLE_RATE
    envelope = np.interp(t, (np.arange(n_frames) + 0.5) / fps, jaw)
    voice = sum(np.sin(2 * np.pi * 130 * k * t) / k for k in range(1, 25))
    audio = (0.1 * envelope * voice).astype(np.float32)
    mels = mel_windows(audio, fps=fps, n_frames=n_frames)
    frames = ProceduralPresenter(size=(128, 128), seed=seed).frames(track)
    return models.face_clip(frames, mels, SIZE)


@pytest.fixture(scope="module")
def clips() -> tuple[models.FaceClip, models.FaceClip]:
    torch.set_num_threads(1)  # two threads on a busy 2-core machine ran up to 5x slower
    return synthetic_clip(200, seed=0), synthetic_clip(100, seed=1)


def test_shapes_of_all_three_networks():
    config = models.ModelConfig(size=64, widths=(16, 32, 64, 128))
    generator = models.LipGenerator(config).eval()
    syncnet = models.SyncNet(config).eval()
    disc = models.PatchDiscriminator(config)
    faces = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        out = generator(
            faces, models.mask_lower_half(faces), torch.randn(2, 1, 80, 16), torch.rand(2, 4, 5)
        )
    assert out.shape == (2, 3, 64, 64)
    assert 0 <= float(out.min()) and float(out.max()) <= 1
    with torch.no_grad():
        p = syncnet(torch.rand(2, 15, 32, 64), torch.randn(2, 1, 80, 16))
    assert p.shape == (2,) and bool(((p > 0) & (p < 1)).all())
    logits, features = disc(torch.rand(2, 3, 32, 64))
    assert logits.shape == (2, 1, 4, 8) and len(features) == 3
    assert models.count_parameters(models.LipGenerator(models.ModelConfig())) < 5_000_000


def test_bad_configs_and_clips_raise_project_errors():
    with pytest.raises(AvatarError, match="multiple of"):
        models.ModelConfig(size=100, widths=(16, 32, 64))
    with pytest.raises(AvatarError, match="condition"):
        models.ModelConfig(condition="text")
    generator = models.LipGenerator(models.ModelConfig(size=32, widths=(8, 16), condition="mel"))
    faces = torch.rand(1, 3, 32, 32)
    with pytest.raises(AvatarError, match="pass mel"):
        generator(faces, faces)
    with pytest.raises(AvatarError, match="at least"):
        models.FaceClip(np.zeros((5, 8, 8, 3), np.uint8), np.zeros((5, 80, 16)), np.zeros((5, 4)))


def test_sync_batches_pair_windows_with_the_right_audio(clips):
    clip, _ = clips
    rng = np.random.default_rng(0)
    video, mel, label = models.sync_batch(clip, 8, rng)
    assert video.shape == (8, 15, SIZE // 2, SIZE) and mel.shape == (8, 1, 80, 16)
    assert label.tolist() == [True, False] * 4
    # An in-sync sample's mel is exactly the window of its middle frame.
    rng = np.random.default_rng(0)
    start = int(rng.integers(0, len(clip) - 4, size=8)[0])
    assert torch.equal(mel[0, 0], torch.from_numpy(clip.mels[start + 2]))
    expected = torch.from_numpy(clip.faces[start : start + 5, SIZE // 2 :]).float() / 255
    assert torch.allclose(video[0], expected.permute(0, 3, 1, 2).reshape(15, SIZE // 2, SIZE))
    batch = models.generator_batch(clip, 4, np.random.default_rng(1))
    assert batch["mouth"].shape == (4, 4, 5)
    assert float(batch["masked"][:, :, SIZE // 2 :].abs().sum()) == 0


def test_syncnet_learns_to_judge_sync_on_held_out_clip(clips):
    clip, held_out = clips
    torch.manual_seed(0)
    syncnet = models.SyncNet(SMALL)
    # 100 steps found the true offset for each of 5 initialisations we tried (60 did not).
    losses = models.train_syncnet(syncnet, clip, steps=100, batch=32, lr=1e-3, seed=0)
    assert np.mean(losses[-20:]) < np.mean(losses[:10]) - 0.05
    distances = models.sync_scores(syncnet, held_out, max_offset=6)
    offset = int(np.argmin(distances)) - 6
    assert (
        abs(offset) <= 1
    )  # the audio-visual offset is found (SyncNet's offset search, Chung & Zisserman 2016)
    assert distances[6] < min(distances[0], distances[-1])


def test_generator_learns_to_follow_the_mouth_code(clips):
    clip, _ = clips
    config = models.ModelConfig(size=SIZE, widths=(16, 32, 64), condition="mouth")
    torch.manual_seed(0)
    generator = models.LipGenerator(config)
    history = models.train_generator(generator, clip, steps=300, batch=8, lr=2e-3, seed=0)
    assert np.mean([h["l1"] for h in history[-20:]]) < 0.25 * history[0]["l1"]
    generator.eval()
    batch = models.generator_batch(clip, 16, np.random.default_rng(5))
    with torch.no_grad():
        right = generator(batch["reference"], batch["masked"], None, batch["mouth"])
        wrong = generator(batch["reference"], batch["masked"], None, batch["mouth"].roll(1, 0))
    lower = slice(SIZE // 2, None)
    error_right = (right - batch["real"])[..., lower, :].abs().mean()
    error_wrong = (wrong - batch["real"])[..., lower, :].abs().mean()
    assert error_right < error_wrong  # the mouth it draws depends on the code it is given
    change = (right - wrong).abs()
    assert change[..., lower, :].mean() > 2 * change[..., : SIZE // 2, :].mean()


def test_reconstruction_loss_weights_the_mouth_and_its_edges():
    rng = np.random.default_rng(0)
    real = torch.from_numpy(rng.random((2, 3, 32, 32), dtype=np.float32))
    assert float(models.reconstruction_loss(real, real, mouth_weight=2, gradient_weight=1)) == 0
    top, bottom, left, right = models.mouth_box(32)
    assert (top, bottom, left, right) == (18, 30, 8, 24)
    in_mouth = real.clone()
    in_mouth[..., top:bottom, left:right] += 0.1
    plain = float(models.reconstruction_loss(in_mouth, real))
    weighted = float(models.reconstruction_loss(in_mouth, real, mouth_weight=2))
    assert weighted == pytest.approx(plain + 2 * 0.1, rel=1e-4)
    # A uniform shift of the lower half has no gradient error; a blur of it does.
    shifted = real.clone()
    shifted[..., 16:, :] += 0.05
    blurred = real.clone()
    blurred[..., 16:, :] = F.avg_pool2d(real[..., 16:, :], 3, stride=1, padding=1)
    assert float(models.reconstruction_loss(shifted, real, gradient_weight=1)) == pytest.approx(
        float(models.reconstruction_loss(shifted, real)), rel=1e-5
    )
    assert float(models.reconstruction_loss(blurred, real, gradient_weight=1)) > float(
        models.reconstruction_loss(blurred, real)
    )


def test_full_objective_with_judge_and_discriminator_runs(clips):
    clip, _ = clips
    syncnet = models.SyncNet(SMALL)
    models.train_syncnet(syncnet, clip, steps=2, batch=8)
    generator = models.LipGenerator(SMALL)
    disc = models.PatchDiscriminator(SMALL)
    before = [p.detach().clone() for p in disc.parameters()]
    history = models.train_generator(
        generator, clip, steps=3, batch=4, syncnet=syncnet, discriminator=disc
    )
    assert set(history[-1]) == {"l1", "sync", "adv", "fm", "disc", "total"}
    assert all(np.isfinite(v) for record in history for v in record.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, disc.parameters(), strict=True))
    assert all(p.grad is None or not p.requires_grad for p in syncnet.parameters())
    # The frozen judge still passes the sync gradient back into the generator.
    batch = models.generator_batch(clip, 2, np.random.default_rng(0))
    fake = generator(batch["reference"], batch["masked"], batch["mel"], batch["mouth"])
    generator.zero_grad()
    models.generator_sync_loss(syncnet, fake, batch, clip).backward()
    assert float(generator.out.weight.grad.abs().sum()) > 0


@pytest.mark.parametrize("kind", [models.LipGenerator, models.SyncNet, models.PatchDiscriminator])
def test_checkpoints_round_trip_in_half_precision(tmp_path, kind):
    torch.manual_seed(3)
    model = kind(SMALL).eval()
    path = tmp_path / "ckpt" / f"{kind.__name__}.pt"
    models.save_checkpoint(path, model, {"lse_c": 1.5})
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left behind
    loaded, metrics = models.load_checkpoint(path)
    assert type(loaded) is kind and loaded.config == SMALL and metrics == {"lse_c": 1.5}
    for name, value in model.state_dict().items():
        restored = loaded.state_dict()[name]
        if value.is_floating_point():
            assert torch.allclose(value, restored, rtol=1e-3, atol=1e-4), name
        else:
            assert torch.equal(value, restored), name


def test_bad_checkpoints_raise_project_errors(tmp_path):
    with pytest.raises(AvatarError, match="not found"):
        models.load_checkpoint(tmp_path / "none.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(AvatarError, match="cannot read checkpoint"):
        models.load_checkpoint(junk)
    other = tmp_path / "other.pt"
    torch.save({"version": 99}, other)
    with pytest.raises(AvatarError, match="not a version-1"):
        models.load_checkpoint(other)
    with pytest.raises(AvatarError, match="cannot checkpoint"):
        models.save_checkpoint(tmp_path / "x.pt", torch.nn.Linear(2, 2))


def _denormals_flushed_now() -> bool:
    tiny = torch.tensor([torch.finfo(torch.float32).tiny])
    return bool((tiny / 2).item() == 0.0)


@pytest.mark.parametrize("caller_setting", [False, True])
def test_generating_leaves_the_callers_denormal_setting_as_it_was(caller_setting):
    """The library holds no process-wide state: the shipped twin's inference flushes
    denormals only while it runs."""
    import numpy as np

    from avatar.neural import NeuralPresenter
    from avatar.render import DEFAULT_CHECKPOINT

    presenter = NeuralPresenter.from_checkpoint(DEFAULT_CHECKPOINT, (160, 120))
    size = presenter.generator.config.size
    torch.set_flush_denormal(caller_setting)
    try:
        out = presenter.generate(
            np.zeros((1, size, size, 3), np.uint8),
            np.zeros((1, 80, 16), np.float32),
            np.zeros((1, 4, 5), np.float32),  # avatar.neural.mouth_windows
        )
        assert out.shape == (1, size, size, 3)
        assert _denormals_flushed_now() is caller_setting
    finally:
        torch.set_flush_denormal(False)


def test_a_twin_with_its_refiner_round_trips_in_one_weights_only_file(tmp_path):
    from avatar.refine import RefineConfig, Refiner, load_twin

    torch.manual_seed(4)
    generator = models.LipGenerator(SMALL).eval()
    refiner = Refiner(RefineConfig(width=8, blocks=1))
    torch.nn.init.normal_(refiner.tail.weight, std=0.05)  # not the zero start
    path = tmp_path / "twin.pt"
    models.save_checkpoint(path, generator, {"ssim": 0.95}, {"paste": "jaw"}, refiner=refiner)
    payload = torch.load(path, weights_only=True)  # tensors and plain values only
    assert payload["refiner"]["config"] == {"scale": 2, "width": 8, "blocks": 1, "guide": True}
    twin = load_twin(path)
    assert twin.metrics == {"ssim": 0.95} and twin.manifest == {"paste": "jaw"}
    assert twin.refiner is not None and twin.refiner.config == refiner.config
    for name, value in refiner.state_dict().items():
        assert torch.allclose(value, twin.refiner.state_dict()[name], rtol=1e-3, atol=1e-4), name
    face, guide = torch.rand(1, 3, SIZE, SIZE), torch.rand(1, 3, 2 * SIZE, 2 * SIZE)
    with torch.no_grad():
        assert torch.allclose(refiner(face, guide), twin.refiner(face, guide), atol=2e-3)
    # Without a refiner: none comes back; the old reader still reads the generator alone.
    plain = tmp_path / "plain.pt"
    models.save_checkpoint(plain, generator)
    assert load_twin(plain).refiner is None
    assert isinstance(models.load_checkpoint_bundle(path)[0], models.LipGenerator)
    payload["refiner"]["config"]["width"] = 16
    tampered = tmp_path / "tampered.pt"
    torch.save(payload, tampered)
    with pytest.raises(AvatarError, match="refiner weights do not fit"):
        load_twin(tampered)
    payload["refiner"]["config"] = {"scale": 5}
    torch.save(payload, tampered)
    with pytest.raises(AvatarError, match="bad refiner configuration"):
        load_twin(tampered)
    with pytest.raises(AvatarError, match="only a generator twin"):
        models.save_checkpoint(tmp_path / "s.pt", models.SyncNet(SMALL), refiner=refiner)


def test_refining_the_lower_half_equals_refining_the_whole_crop():
    from avatar.refine import Refiner, bicubic_up, refine_faces

    torch.manual_seed(5)
    refiner = Refiner()  # the default network: its receptive field is within the margin
    for module in refiner.modules():
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.normal_(module.weight, std=0.1)
    rng = np.random.default_rng(5)
    faces = rng.integers(0, 256, (2, 48, 48, 3), dtype=np.uint8)
    guides = rng.integers(0, 256, (2, 96, 96, 3), dtype=np.uint8)
    out = refine_faces(refiner, faces, guides)
    with torch.no_grad():
        whole = refiner(
            torch.from_numpy(faces).float().div(255).permute(0, 3, 1, 2),
            torch.from_numpy(guides).float().div(255).permute(0, 3, 1, 2),
        )
    whole = whole.mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    assert out.shape == (2, 96, 96, 3)
    assert np.abs(out[:, 48:].astype(int) - whole[:, 48:]).max() <= 1  # float rounding only
    assert np.array_equal(out[:, :48], guides[:, :48])  # no paste mask reaches up there
    assert not np.array_equal(out[:, 48:], bicubic_up(faces, 2)[:, 48:])
