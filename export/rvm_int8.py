"""RVM's network with int8 convolutions where it takes them: a variant to measure, not a model
rtseg installs (see docs/matting.md, "Speed of the graph").

ONNX Runtime's static quantisation (QDQ, weights per output channel, activations uint8),
calibrated on real frames: the network is run over a clip with its recurrent state carried,
and each frame's inputs, state included, are a calibration sample. `--part` picks what is
quantised: the MobileNetV3 encoder's convolutions only (the recurrent decoder, the LR-ASPP
head and the output convolutions, whose errors the state carries on, stay in float), or every
convolution. It prints the variant's alpha against the float network's on another clip (max
and mean abs difference a frame, IoU at 0.5, the state carried) and both networks' ms a frame.

    python -m export.rvm_int8 --model ~/.cache/rtseg/models/rvm_mobilenetv3_r1.onnx \\
        --calibrate ../shared/data/videos/thoughtful_640x360.mp4 \\
        --check ../shared/data/videos/doctor_960x540.mp4 --out /tmp/rvm_int8.onnx

Needs onnx (the `dev` or `export` extra) beside ONNX Runtime, whose quantisation tools it uses.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quantize_static,
)

STATES = ("r1i", "r2i", "r3i", "r4i")
ENCODER = "mobile_net_v3_encoder"


def frames(path: Path, count: int, size: tuple[int, int]) -> list[np.ndarray]:
    """The first `count` frames of `path` as RVM's `src`: float32 [1, 3, h, w] RGB in 0..1."""
    capture = cv2.VideoCapture(str(path))
    out = []
    while len(out) < count:
        ok, bgr = capture.read()
        if not ok:
            break
        rgb = cv2.cvtColor(cv2.resize(bgr, size, interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB)
        out.append((rgb.transpose(2, 0, 1)[None] / np.float32(255)).astype(np.float32))
    capture.release()
    return out


def session(path: Path, threads: int = 2) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_clip(model: ort.InferenceSession, clip: list[np.ndarray]) -> Iterator[tuple[dict, dict]]:
    """(inputs, outputs) of each frame, the state carried from frame to frame."""
    names = [o.name for o in model.get_outputs()]
    state = {name: np.zeros((1, 1, 1, 1), np.float32) for name in STATES}
    for src in clip:
        feeds = {"src": src, "downsample_ratio": np.array([1.0], np.float32), **state}
        outputs = dict(zip(names, model.run(names, feeds), strict=True))
        yield feeds, outputs
        state = {name: outputs[name[:-1] + "o"] for name in STATES}


class ClipReader(CalibrationDataReader):
    """Calibration samples: every frame's inputs, state included, from the float network."""

    def __init__(self, model: Path, clip: list[np.ndarray]) -> None:
        self._samples = iter([feeds for feeds, _ in run_clip(session(model), clip)])

    def get_next(self) -> dict | None:
        return next(self._samples, None)


def quantise(model: Path, out: Path, clip: list[np.ndarray], part: str) -> None:
    import onnx

    graph = onnx.load(str(model)).graph
    convs = [n.name for n in graph.node if n.op_type == "Conv"]
    keep = [] if part == "all" else [name for name in convs if ENCODER not in name]
    quantize_static(
        str(model),
        str(out),
        ClipReader(model, clip),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["Conv"],
        nodes_to_exclude=keep,
    )


def compare(reference: Path, variant: Path, clip: list[np.ndarray], runs: int) -> dict:
    """The variant's alpha against the reference's frame by frame, and ms a frame of each."""
    ref, var = session(reference), session(variant)
    worst_max, worst_mean, ious = 0.0, 0.0, []
    for (_, a), (_, b) in zip(run_clip(ref, clip), run_clip(var, clip), strict=True):
        diff = np.abs(a["pha"] - b["pha"])
        worst_max, worst_mean = max(worst_max, float(diff.max())), max(worst_mean, diff.mean())
        x, y = a["pha"] >= 0.5, b["pha"] >= 0.5
        ious.append(float((x & y).sum() / max((x | y).sum(), 1)))
    # the two alternated run by run, so that a change on the machine hits both alike
    models = {"float": ref, "int8": var}
    feeds = {name: next(run_clip(m, clip[:1]))[0] for name, m in models.items()}
    names = {name: [o.name for o in m.get_outputs()] for name, m in models.items()}
    samples: dict[str, list[float]] = {name: [] for name in models}
    for i in range(runs + 3):
        for name, model in models.items():
            start = time.perf_counter()
            model.run(names[name], feeds[name])
            if i >= 3:
                samples[name].append((time.perf_counter() - start) * 1e3)
    ms = {name: float(np.median(v)) for name, v in samples.items()}
    return {"alpha_max": worst_max, "alpha_mean": float(worst_mean), "iou_min": min(ious)} | {
        f"{k}_ms": round(v, 1) for k, v in ms.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="an RVM network at ratio 1")
    parser.add_argument("--calibrate", type=Path, required=True, help="the calibration clip")
    parser.add_argument("--check", type=Path, required=True, help="the clip compared on")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--part", choices=("encoder", "all"), default="encoder")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--size", default="320x180", help="W x H the network sees")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    quantise(args.model, args.out, frames(args.calibrate, args.frames, (w, h)), args.part)
    result = compare(args.model, args.out, frames(args.check, args.frames, (w, h)), args.runs)
    print(f"{args.part} int8 against float, {args.size}: {result}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
