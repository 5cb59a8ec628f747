#!/usr/bin/env bash
# The whole GPU benchmark in one command, on a machine with an NVIDIA GPU:
#   bash benchmarks/gpu.sh [OUT_DIR]        (default bench-results/gpu)
# Sets up .venv-gpu with rtseg, the export extra and TensorRT's Python wheels, exports
# DeepLabV3-ResNet50 and LR-ASPP at fp32 and fp16, then times every model on CUDA and TensorRT
# (fp32 and fp16), and runs the file, live and overload benchmarks on the GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-bench-results/gpu}
VENV=${VENV:-.venv-gpu}
MODELS="$OUT/models"

if ! command -v nvidia-smi >/dev/null; then
    echo "gpu.sh: no nvidia-smi here; this benchmark needs an NVIDIA GPU" >&2
    exit 2
fi
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q -e '.[dev,export]'
# TensorRT libraries for ONNX Runtime's TensorRT provider; CUDA still runs without them.
"$VENV/bin/pip" install -q tensorrt-cu12 || echo "gpu.sh: tensorrt wheels unavailable; TensorRT rows will say so"
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
export LD_LIBRARY_PATH="$SITE/tensorrt_libs:${LD_LIBRARY_PATH:-}"
export RTSEG_TRT_CACHE="${RTSEG_TRT_CACHE:-$HOME/.cache/rtseg/trt}"

mkdir -p "$MODELS"
for spec in deeplabv3_resnet50:512x512 lraspp_mobilenet_v3_large:256x256; do
    name=${spec%%:*}
    size=${spec##*:}
    for precision in fp32 fp16; do
        target="$MODELS/${name}_${precision}.onnx"
        [ -f "$target" ] || "$VENV/bin/python" -m export "$name" --weights none \
            --precision "$precision" --size "$size" -o "$target"
    done
done

"$VENV/bin/python" -m benchmarks all --out "$OUT" --devices cpu,cuda,tensorrt --threads 2 \
    --runs 100 --frames 200 --live-frames 200 \
    --models "$MODELS"/*.onnx --overload-model "$MODELS/deeplabv3_resnet50_fp32.onnx" \
    --torch "${@:2}"
"$VENV/bin/python" -m benchmarks.report "$OUT/results.json" > "$OUT/README-performance.md"
echo "gpu.sh: results in $OUT"
