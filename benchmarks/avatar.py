"""Speed of the presenter on CPU: generator fps, procedural renderer fps, render real-time factor.

    python benchmarks/avatar.py [--threads 2] [--seconds 10] [--size 640x360] [--twin PATH]

* **generator**: frames per second of the LipGenerator alone at 128^2 (the tiny U-Net +
  FiLM, 16-128 channels, the shipped twin's architecture), batch 8, fp32 and under bf16
  autocast when the CPU has native bf16. Target (our choice): >= 40 fps on 2 cores.
* **generator + refiner**: frames per second of the shipped twin's path at the size shown:
  the 96^2 generator, then the refinement stage to 192^2 (:mod:`avatar.refine`), batch 8,
  uint8 in and out, fp32 and bf16; also each alone. Target (our choice): >= 25 fps on 2
  cores.
* **procedural**: frames per second of the procedural presenter at ``--size``.
* **render RTF**: wall seconds of :func:`avatar.render.render_presenter` over audio seconds,
  frames consumed but not encoded, for the procedural presenter and for a twin (``--twin``, or
  an untrained generator of the shipped architecture over the procedural template, which costs
  the same). Target: <= 0.5.
* **jaw paste**: the twin's render RTF again with the jaw-following, detail-preserving paste
  (``"paste": "jaw"`` in the manifest, :func:`avatar.neural.jaw_mask`).
* **encode**: the same frames through libx264 (veryfast) into an MP4, for reference.

Medians of ``--repeat`` runs after a warm-up, with ``torch.set_flush_denormal(True)``. The
machines are shared: expect noise, and compare numbers from the same run only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# avatar package: drop that folder before importing it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import soundfile  # noqa: E402

from avatar.audio import SAMPLE_RATE  # noqa: E402
from avatar.procedural import ProceduralPresenter  # noqa: E402
from avatar.render import render_presenter  # noqa: E402
from avatar.video import parse_size, write_video  # noqa: E402


def speech_like(seconds: float) -> np.ndarray:
    """A harmonic voice with a 4 Hz syllable envelope and a pause every 3 s."""
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    voice = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 20))
    envelope = (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)) * ((t % 3.0) < 2.4)
    return (0.08 * envelope * voice).astype(np.float32)


def timed(function, repeat: int) -> float:
    function()  # warm-up
    return statistics.median(_once(function) for _ in range(repeat))


def _once(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def generator_fps(repeat: int, batch: int = 8, size: int = 128) -> dict:
    import torch

    from avatar.models import LipGenerator, ModelConfig, mask_lower_half
    from avatar.neural import bf16_supported

    torch.set_flush_denormal(True)
    generator = LipGenerator(ModelConfig(size=size)).eval()
    faces = torch.rand(batch, 3, size, size)
    mel = torch.randn(batch, 1, 80, 16)
    mouth = torch.rand(batch, 4, 5)
    masked = mask_lower_half(faces)
    result = {}
    for name, enabled in (("fp32", False), ("bf16", True)):
        if enabled and not bf16_supported():
            continue

        def run(enabled=enabled) -> None:
            with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=enabled):
                generator(faces, masked, mel, mouth)

        result[name] = batch / timed(run, repeat)
    return result


def refined_generator_fps(repeat: int, batch: int = 8, size: int = 96) -> dict:
    """Frames per second of the shipped twin's path at the size shown: the generator at
    ``size``^2 (mouth-conditioned, as the default twin) then the refinement stage to twice the
    side (:func:`avatar.refine.refine_faces` over the jaw paste's window, uint8 in and out),
    and the refiner alone; fp32 and bf16 autocast where the CPU has native bf16."""
    import torch

    from avatar.models import LipGenerator, ModelConfig, mask_lower_half
    from avatar.neural import bf16_supported, jaw_paste_window, jaw_polygon
    from avatar.refine import Refiner, refine_faces

    torch.set_flush_denormal(True)
    torch.manual_seed(0)
    generator = LipGenerator(ModelConfig(size=size, condition="mouth")).eval()
    refiner = Refiner().eval()
    for parameter in refiner.tail.parameters():  # an untrained refiner's tail is zero
        torch.nn.init.normal_(parameter, std=0.01)
    faces = torch.rand(batch, 3, size, size)
    mouth = torch.rand(batch, 4, 5)
    masked = mask_lower_half(faces)
    rng = np.random.default_rng(0)
    guides = rng.integers(0, 256, (batch, 2 * size, 2 * size, 3), dtype=np.uint8)
    # The part the jaw paste reads at the 512x504 panel (a 207 px face box), as rendered.
    window = jaw_paste_window(2 * size, {207}, jaw_polygon())
    result = {}

    def generate(enabled: bool) -> np.ndarray:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=enabled):
            out = generator(faces, masked, None, mouth)
        return out.float().mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()

    generated = generate(False)
    for name, enabled in (("fp32", False), ("bf16", True)):
        if enabled and not bf16_supported():
            continue

        def both(enabled=enabled) -> None:
            refine_faces(refiner, generate(enabled), guides, enabled, window)

        def alone(enabled=enabled) -> None:
            refine_faces(refiner, generated, guides, enabled, window)

        result[name] = batch / timed(both, repeat)
        result[f"{name}_generator_alone"] = batch / timed(lambda e=enabled: generate(e), repeat)
        result[f"{name}_refiner_alone"] = batch / timed(alone, repeat)
    return result


def procedural_fps(size: tuple[int, int], repeat: int, n: int = 50) -> float:
    presenter = ProceduralPresenter(size=size)

    def run() -> None:
        for i in range(n):
            presenter.render(i / 25)

    return n / timed(run, repeat)


def render_rtf(wav: Path, avatar: str | Path, size: tuple[int, int], seconds: float, repeat: int):
    def run() -> None:
        for _ in render_presenter(wav, avatar=avatar, size=size):
            pass

    return timed(run, repeat) / seconds


def untrained_twin(folder: Path) -> Path:
    """A generator of the shipped architecture (128^2) over the procedural template."""
    import torch

    from avatar.models import LipGenerator, ModelConfig, save_checkpoint
    from avatar.procedural import PresenterStyle

    torch.manual_seed(0)
    path = folder / "untrained_twin.pt"
    manifest = {
        "template": {
            "kind": "procedural",
            "style": dataclasses.asdict(PresenterStyle()),
            "seed": 0,
        },
        "mouth_source": "audio",
    }
    save_checkpoint(path, LipGenerator(ModelConfig(size=128)), {}, manifest)
    return path


def with_jaw_paste(twin: Path, folder: Path) -> Path:
    """A copy of ``twin`` whose manifest asks for the jaw-following, detail-preserving paste."""
    from avatar.models import save_checkpoint
    from avatar.refine import load_twin

    twin_checkpoint = load_twin(twin)
    path = folder / "twin_jaw_paste.pt"
    save_checkpoint(
        path,
        twin_checkpoint.generator,
        twin_checkpoint.metrics,
        twin_checkpoint.manifest | {"paste": "jaw"},
        refiner=twin_checkpoint.refiner,
    )
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--twin", type=Path, default=None)
    args = parser.parse_args(argv)
    size = parse_size(args.size)
    import torch

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        return _run(args, size)
    finally:
        torch.set_num_threads(previous_threads)


def _run(args: argparse.Namespace, size: tuple[int, int]) -> int:
    report: dict = {"threads": args.threads, "size": list(size), "audio_seconds": args.seconds}
    report["generator_fps_128"] = generator_fps(args.repeat)
    report["generator_96_plus_refiner_to_192_fps"] = refined_generator_fps(args.repeat)
    report["procedural_fps"] = procedural_fps(size, args.repeat)
    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "speech.wav"
        soundfile.write(wav, speech_like(args.seconds), SAMPLE_RATE)
        report["render_rtf_procedural"] = render_rtf(
            wav, "procedural", size, args.seconds, args.repeat
        )
        twin = args.twin or untrained_twin(Path(folder))
        report["render_rtf_twin"] = render_rtf(wav, twin, size, args.seconds, args.repeat)
        report["render_rtf_twin_jaw_paste"] = render_rtf(
            wav, with_jaw_paste(twin, Path(folder)), size, args.seconds, args.repeat
        )
        report["twin"] = str(args.twin) if args.twin else "untrained 128^2 generator (same cost)"
        out = Path(folder) / "presenter.mp4"

        def encode() -> None:
            write_video(
                render_presenter(wav, avatar="procedural", size=size), out, size, audio_path=wav
            )

        report["render_and_encode_rtf_procedural"] = timed(encode, 1) / args.seconds
    json.dump(report, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
