"""`python -m export.rvm_int8`: int8 forms of the RVM network, measured against the float one.

The network quantised is `rvm_mobilenetv3_r1` (the ratio fixed at 1.0, no refiner): what rtseg
runs on a frame brought to 320x180, a 720p frame at ratio 0.25. Two forms:

- static: ONNX Runtime's `quantize_static`, QDQ, per-channel int8 weights, uint8 activations,
  only the convolutions, ranges calibrated on real frames with the recurrent state carried (the
  reader runs the float model over each sequence so the state inputs see the values a video
  gives them); the blocks named in `keep_float` stay in float;
- dynamic: `quantize_dynamic`, int8 weights, activations quantised at run time (ConvInteger).

Weight-only `MatMulNBits` does not apply: the graph has no MatMul or Gemm, only convolutions.

A form is kept only where, measured after it is built (criterion fixed beforehand):
- on the held-out clip, state carried, against float: mean IoU at 0.5 >= 0.99, the worst
  frame's IoU >= 0.97 and mean abs alpha error <= 0.005;
- on the P3M portraits not used for calibration, against their mattes: IoU and boundary F
  each at most 0.002 below float's;
- and it costs less CPU time a frame than float, at 1 and at 2 threads.

    python -m export.rvm_int8 build [--models DIR] [--clip CLIP]   # make rvm RVM_INT8=1
    python -m export.rvm_int8 evaluate --out /tmp/int8    # variants, quality, the table
    python -m export.rvm_int8 sensitivity --out /tmp/int8 # one block quantised at a time
    python -m export.rvm_int8 bench --out /tmp/int8 --runs 30    # times evaluate's files

The weights are GPL-3.0 (export/rvm.py): `build` writes into the user model directory, with
the NOTICE; the other commands write only under --out, never into the repository.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_dynamic,
    quantize_static,
)

from export import rvm
from export.rvm_bench import session
from export.rvm_parity import ParityUnavailable, read_frames

FLOAT_NAME = rvm.variant_name(1.0)
INT8_NAME = f"{FLOAT_NAME}_int8"
SIZE = (320, 180)  # width, height: the network's input for a 720p frame at ratio 0.25
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CALIBRATION_CLIP = DATA / "videos" / "thoughtful_640x360.mp4"
HELD_OUT_CLIP = DATA / "videos" / "doctor_960x540.mp4"
PORTRAITS = DATA / "portraits" / "p3m"
CALIBRATION_PORTRAITS = 5  # the first five P3M portraits calibrate; the rest are scored
PHOTO_PASSES = 3  # a still photo gets three passes with the state carried, as rtseg does
# Blocks left in float, patterns searched in a convolution's block (`block_of`): the recurrent
# GRU cells; the output block and the projection to alpha and foreground; and the blocks the
# one-block-at-a-time sensitivity (the `sensitivity` command) found to cost the most alpha
# error: the encoder's first three at full and half resolution and the decoder's last
# upsampling convolution.
SENSITIVE = {
    "gru": r"conv_gru",
    "output": r"output_block|conv2d_62$",
    "early": r"encoder/(truediv|conv_bn_activation|inverted_residual_1)$|block_2/sequential_18$",
}
# The criterion of the module docstring.
MIN_MEAN_IOU, MIN_FRAME_IOU, MAX_MEAN_ERROR, MAX_P3M_DROP = 0.99, 0.97, 0.005, 0.002


# --- the graph ---------------------------------------------------------------------------------


def block_of(node: onnx.NodeProto) -> str:
    """The network block a convolution belongs to, from the TF path in its name (or, for the
    nodes tf2onnx renamed, in its input's): `mobile_net_v3_encoder/inverted_residual_3`,
    `recurrent_decoder/upsampling_block/conv_gru_1`, `lraspp`, `conv2d_62`."""
    text = node.name if "/" in node.name else node.input[0]
    parts = text.rsplit("StatefulPartitionedCall/", 1)[-1].split("/")
    depth = {"mobile_net_v3_encoder": 2, "recurrent_decoder": 3}.get(parts[0], 1)
    return "/".join(parts[:depth])


def conv_blocks(model: onnx.ModelProto) -> dict[str, list[str]]:
    """Block name -> the names of its Conv nodes, in graph order."""
    blocks: dict[str, list[str]] = {}
    for node in model.graph.node:
        if node.op_type == "Conv":
            blocks.setdefault(block_of(node), []).append(node.name)
    return blocks


def float_nodes(model: onnx.ModelProto, keep_float: Sequence[str]) -> list[str]:
    """The Conv nodes of the sensitive groups named (keys of SENSITIVE) that stay in float."""
    patterns = [SENSITIVE[group] for group in keep_float]
    return [
        name
        for block, names in conv_blocks(model).items()
        if any(re.search(pattern, block) for pattern in patterns)
        for name in names
    ]


# --- calibration -------------------------------------------------------------------------------


def nchw(frames: np.ndarray) -> Iterator[np.ndarray]:
    """[N,H,W,3] float RGB frames as the network's [1,3,H,W] inputs, one at a time."""
    for rgb in frames:
        yield np.ascontiguousarray(rgb.transpose(2, 0, 1)[None])


def portrait_input(bgr: np.ndarray, long_side: int = max(SIZE)) -> np.ndarray:
    """A photo shrunk to `long_side` (as rtseg does for photos), [1,3,h,w] float RGB 0..1."""
    scale = long_side / max(bgr.shape[:2])
    size = (round(bgr.shape[1] * scale), round(bgr.shape[0] * scale))
    rgb = cv2.cvtColor(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray((rgb.astype(np.float32) / 255).transpose(2, 0, 1)[None])


def zero_state() -> list[np.ndarray]:
    return [np.zeros((1, 1, 1, 1), np.float32)] * 4


class StateCarryingReader(CalibrationDataReader):
    """Calibration feeds from sequences of frames, each feed holding the recurrent state the
    float model reached on the frames before it in its sequence (zeros at a sequence's start)."""

    def __init__(self, float_model: Path, sequences: Sequence[Sequence[np.ndarray]]):
        self._sess = session(float_model, 1)
        self._feeds = self._walk(sequences)

    def _walk(self, sequences: Sequence[Sequence[np.ndarray]]) -> Iterator[dict]:
        for frames in sequences:
            state = zero_state()
            for src in frames:
                feed = dict(zip(rvm.STATES, state, strict=True))
                feed |= {"src": src, "downsample_ratio": np.array([1.0], np.float32)}
                yield feed
                state = self._sess.run(["r1o", "r2o", "r3o", "r4o"], feed)

    def get_next(self) -> dict | None:
        return next(self._feeds, None)


def calibration_sequences(clip: Path, frames: int, portraits: list[Path]) -> list[list]:
    """The clip's first `frames` frames at SIZE (one sequence), and each portrait passed
    PHOTO_PASSES times (one sequence each)."""
    video = list(nchw(read_frames(clip, frames, *SIZE)))
    photos = [[portrait_input(cv2.imread(str(p)))] * PHOTO_PASSES for p in portraits]
    return [video, *photos]


def portrait_paths() -> list[Path]:
    return sorted((PORTRAITS / "original").glob("*.jpg"))


# --- the variants ------------------------------------------------------------------------------


def quantise_static(
    float_model: Path,
    out: Path,
    reader: CalibrationDataReader | None,
    keep_float: Sequence[str] = (),
    only: Sequence[str] | None = None,
    cache: Path | None = None,
) -> Path:
    """Static QDQ int8 of the convolutions (per-channel weights), all but `keep_float`'s, or
    only the nodes in `only`. With `cache`, the calibrated ranges are reused across calls."""
    model = onnx.load(float_model)
    quantize_static(
        float_model,
        out,
        reader,
        quant_format=QuantFormat.QDQ,
        op_types_to_quantize=["Conv"],
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        nodes_to_quantize=list(only) if only is not None else None,
        nodes_to_exclude=float_nodes(model, keep_float),
        calibrate_method=CalibrationMethod.MinMax,
        calibration_cache_path=cache,
    )
    return out


def quantise_dynamic(float_model: Path, out: Path) -> Path:
    """Weights int8 per channel, activations quantised at run time (ConvInteger)."""
    quantize_dynamic(
        float_model,
        out,
        op_types_to_quantize=["Conv"],
        per_channel=True,
        weight_type=QuantType.QInt8,
    )
    return out


def quantised_ops(path: Path) -> dict[str, int]:
    """How many nodes of each quantisation op type the graph holds (none in a float graph)."""
    counts: dict[str, int] = {}
    for node in onnx.load(path).graph.node:
        if node.op_type in ("QuantizeLinear", "DequantizeLinear", "ConvInteger", "QLinearConv"):
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


# --- quality -----------------------------------------------------------------------------------


def alphas(sess: ort.InferenceSession, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Alpha of each frame in order, the state carried from one to the next."""
    state, out = zero_state(), []
    for src in frames:
        feed = dict(zip(rvm.STATES, state, strict=True))
        feed |= {"src": src, "downsample_ratio": np.array([1.0], np.float32)}
        pha, *state = sess.run(["pha", "r1o", "r2o", "r3o", "r4o"], feed)
        out.append(pha[0, 0])
    return out


def against_float(reference: list[np.ndarray], test: list[np.ndarray]) -> dict[str, float]:
    """Alpha of a variant against float's, frame by frame."""
    from benchmarks.quality import boundary_fscore, iou

    errors = [np.abs(r - t) for r, t in zip(reference, test, strict=True)]
    ious = [iou(t, r) for r, t in zip(reference, test, strict=True)]
    return {
        "mean_abs": float(np.mean([e.mean() for e in errors])),
        "max_abs": float(max(e.max() for e in errors)),
        "iou": float(np.mean(ious)),
        "iou_min": float(min(ious)),
        "boundary_f": float(
            np.mean([boundary_fscore(t, r) for r, t in zip(reference, test, strict=True)])
        ),
    }


def p3m_scores(sess: ort.InferenceSession, portraits: list[Path]) -> dict[str, float]:
    """IoU, boundary F and mean abs error against the P3M mattes, at the portrait's size (long
    side 1280), alpha of the last of PHOTO_PASSES passes upscaled bilinearly."""
    from benchmarks.quality import boundary_fscore, fit_long_side, iou

    rows = []
    for path in portraits:
        image = fit_long_side(cv2.imread(str(path)), 1280)
        matte = cv2.imread(str(PORTRAITS / "alpha_pred" / f"{path.stem}.png"), 0)
        matte = cv2.resize(matte, image.shape[1::-1], interpolation=cv2.INTER_AREA) / 255.0
        small = alphas(sess, [portrait_input(image)] * PHOTO_PASSES)[-1]
        alpha = cv2.resize(small, image.shape[1::-1], interpolation=cv2.INTER_LINEAR)
        rows.append(
            (iou(alpha, matte), boundary_fscore(alpha, matte), float(np.abs(alpha - matte).mean()))
        )
    iou_, bf, mae = np.mean(rows, axis=0)
    return {"iou": float(iou_), "boundary_f": float(bf), "mean_abs": float(mae)}


@dataclass(frozen=True)
class Verdict:
    kept: bool
    why: str


def verdict(clip: dict[str, float], p3m: dict[str, float], p3m_float: dict[str, float]) -> Verdict:
    """The module docstring's quality criterion (speed is judged from the bench table)."""
    misses = []
    if clip["iou"] < MIN_MEAN_IOU:
        misses.append(f"clip IoU {clip['iou']:.4f} < {MIN_MEAN_IOU}")
    if clip["iou_min"] < MIN_FRAME_IOU:
        misses.append(f"worst frame IoU {clip['iou_min']:.4f} < {MIN_FRAME_IOU}")
    if clip["mean_abs"] > MAX_MEAN_ERROR:
        misses.append(f"mean abs error {clip['mean_abs']:.4f} > {MAX_MEAN_ERROR}")
    for key in ("iou", "boundary_f"):
        if p3m[key] < p3m_float[key] - MAX_P3M_DROP:
            misses.append(f"P3M {key} {p3m[key]:.4f} < float {p3m_float[key]:.4f} - {MAX_P3M_DROP}")
    return Verdict(not misses, "; ".join(misses) or "within the criterion")


# --- timing ------------------------------------------------------------------------------------


def bench(paths: dict[str, Path], threads: int, runs: int) -> list[dict]:
    """CPU and wall ms a frame of each model, the models run in turn frame after frame (so a
    change in the machine's load falls on all alike), each carrying its own state."""
    frames = list(nchw(read_frames(HELD_OUT_CLIP, runs + 3, *SIZE)))
    sessions = {label: session(path, threads) for label, path in paths.items()}
    states = {label: zero_state() for label in paths}
    cpu: dict[str, list[float]] = {label: [] for label in paths}
    wall: dict[str, list[float]] = {label: [] for label in paths}
    for k, src in enumerate(frames):
        for label, sess in sessions.items():
            feed = dict(zip(rvm.STATES, states[label], strict=True))
            feed |= {"src": src, "downsample_ratio": np.array([1.0], np.float32)}
            started, started_cpu = time.perf_counter(), time.process_time()
            states[label] = sess.run(["r1o", "r2o", "r3o", "r4o"], feed)
            if k >= 3:  # warm-up
                wall[label].append((time.perf_counter() - started) * 1000)
                cpu[label].append((time.process_time() - started_cpu) * 1000)
    return [
        {
            "variant": label,
            "threads": threads,
            "median_ms": float(np.median(wall[label])),
            "p90_ms": float(np.percentile(wall[label], 90)),
            "cpu_ms": float(np.median(cpu[label])),
        }
        for label in paths
    ]


def profile(path: Path, out: Path, runs: int = 10) -> dict[str, float]:
    """ONNX Runtime's own profile of `runs` frames (1 thread): ms a frame by kernel op type, so
    it shows whether the int8 kernels (QLinearConv, ConvInteger) really run and what they cost."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.enable_profiling = True
    options.profile_file_prefix = str(out / f"profile_{path.stem}")
    options.log_severity_level = 3
    sess = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    alphas(sess, list(nchw(read_frames(HELD_OUT_CLIP, runs, *SIZE))))
    events = json.loads(Path(sess.end_profiling()).read_text())
    by_op: dict[str, float] = {}
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            op = event["args"]["op_name"]
            by_op[op] = by_op.get(op, 0.0) + event["dur"] / 1000 / runs
    return dict(sorted(by_op.items(), key=lambda kv: -kv[1]))


# --- the commands ------------------------------------------------------------------------------

VARIANTS = {  # label -> float groups kept (static), or None for dynamic
    "static, all convolutions": (),
    "static, GRU and output in float": ("gru", "output"),
    "static, sensitive blocks in float": ("early",),
    "static, sensitive, GRU and output in float": ("early", "gru", "output"),
    "dynamic (weights int8)": None,
}


def file_name(label: str) -> str:
    return label.replace(",", "").replace("(", "").replace(")", "").replace(" ", "_") + ".onnx"


def calibrated(models: Path, out: Path, frames: int, clip: Path = CALIBRATION_CLIP) -> Path:
    """The calibration cache under `out` (made on first use: the float model run over the
    calibration clip and, where present, the P3M portraits)."""
    cache = out / "calibration.json"
    if not cache.is_file():
        if not clip.is_file():
            raise ParityUnavailable(f"no calibration clip {clip} (--clip: a video with people)")
        sequences = calibration_sequences(clip, frames, portrait_paths()[:CALIBRATION_PORTRAITS])
        reader = StateCarryingReader(models / f"{FLOAT_NAME}.onnx", sequences)
        quantise_static(
            models / f"{FLOAT_NAME}.onnx", out / "calibrating.onnx", reader, cache=cache
        )
    return cache


def make_variants(models: Path, out: Path, frames: int) -> dict[str, Path]:
    """Float and each of VARIANTS, written under `out` (the calibration cached there)."""
    float_model = models / f"{FLOAT_NAME}.onnx"
    cache = calibrated(models, out, frames)
    for label, keep in VARIANTS.items():
        if keep is None:
            quantise_dynamic(float_model, out / file_name(label))
        else:
            quantise_static(float_model, out / file_name(label), None, keep, cache=cache)
    return made_variants(models, out)


def made_variants(models: Path, out: Path) -> dict[str, Path]:
    """Float and the variants `evaluate` wrote under `out` (timed without quantising them again
    inside the benchmark lock)."""
    paths = {"float": models / f"{FLOAT_NAME}.onnx"}
    paths |= {label: out / file_name(label) for label in VARIANTS}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"{', '.join(missing)} not found (run evaluate first)")
    return paths


def evaluate(paths: dict[str, Path], clip_frames: int) -> list[dict]:
    """Each variant against float on the held-out clip, and against the P3M mattes."""
    frames = list(nchw(read_frames(HELD_OUT_CLIP, clip_frames, *SIZE)))
    scored = portrait_paths()[CALIBRATION_PORTRAITS:]
    reference = alphas(session(paths["float"], 2), frames)
    p3m_float = p3m_scores(session(paths["float"], 2), scored)
    rows = [{"variant": "float", "p3m": p3m_float}]
    for label, path in paths.items():
        if label == "float":
            continue
        sess = session(path, 2)
        clip, p3m = against_float(reference, alphas(sess, frames)), p3m_scores(sess, scored)
        rows.append(
            {"variant": label, "clip": clip, "p3m": p3m} | vars(verdict(clip, p3m, p3m_float))
        )
        print(f"  {rows[-1]}", file=sys.stderr)
    return rows


def sensitivity(models: Path, out: Path, frames: int, clip_frames: int) -> list[dict]:
    """Alpha against float with one block's convolutions quantised and the rest in float."""
    float_model = models / f"{FLOAT_NAME}.onnx"
    cache = calibrated(models, out, frames)
    clip = list(nchw(read_frames(HELD_OUT_CLIP, clip_frames, *SIZE)))
    reference = alphas(session(float_model, 2), clip)
    rows = []
    for block, names in conv_blocks(onnx.load(float_model)).items():
        path = quantise_static(float_model, out / "one_block.onnx", None, only=names, cache=cache)
        rows.append(
            {"block": block, "convs": len(names)}
            | against_float(reference, alphas(session(path, 2), clip))
        )
        print(f"  {rows[-1]}", file=sys.stderr)
    return sorted(rows, key=lambda r: -r["mean_abs"])


KEPT = ("early",)  # the form `build` writes: the fastest that passed (docs/matting.md, int8)
NOTICE_HEAD = """\
{name}.onnx: an int8 form of {source}.onnx (static QDQ, per-channel int8
weights, calibrated on real frames; the sensitive blocks in float), made by rtseg's
`make rvm RVM_INT8=1` (export/rvm_int8.py). It is made from the same weights, under the
same licence:

"""


def build(models: Path, frames: int, clip: Path = CALIBRATION_CLIP) -> Path:
    """Quantise the float network in `models` into `INT8_NAME` beside it, with its NOTICE;
    whole or not at all."""
    float_model = models / f"{FLOAT_NAME}.onnx"
    notice = models / f"{FLOAT_NAME}.NOTICE"
    if not notice.is_file():
        raise ParityUnavailable(f"no {notice} beside the float network (make rvm writes it)")
    with tempfile.TemporaryDirectory() as tmp:
        cache = calibrated(models, Path(tmp), frames, clip)
        path = quantise_static(float_model, Path(tmp) / "int8.onnx", None, KEPT, cache=cache)
        model = onnx.load(path)
    meta = {p.key: p.value for p in model.metadata_props}
    meta |= {"rtseg.name": INT8_NAME, "rtseg.rvm.variant": f"int8, float kept: {', '.join(KEPT)}"}
    del model.metadata_props[:]
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    rvm.save(model, models / f"{INT8_NAME}.onnx")
    head = NOTICE_HEAD.format(name=INT8_NAME, source=FLOAT_NAME)
    (models / f"{INT8_NAME}.NOTICE").write_text(head + notice.read_text())
    return models / f"{INT8_NAME}.onnx"


SENSITIVITY_COLUMNS = {
    "block": "block",
    "convs": "convs",
    "mean_abs": "mean abs",
    "max_abs": "max abs",
    "iou": "IoU",
    "iou_min": "worst IoU",
}
QUALITY_COLUMNS = {
    "variant": "variant",
    "clip.mean_abs": "mean abs",
    "clip.max_abs": "max abs",
    "clip.iou": "IoU",
    "clip.iou_min": "worst IoU",
    "clip.boundary_f": "boundary F",
    "p3m.iou": "P3M IoU",
    "p3m.boundary_f": "P3M boundary F",
    "p3m.mean_abs": "P3M MAE",
    "why": "verdict",
}
BENCH_COLUMNS = {
    "variant": "variant",
    "threads": "threads",
    "median_ms": "median ms",
    "p90_ms": "p90 ms",
    "cpu_ms": "CPU ms",
}


def table(rows: list[dict], columns: dict[str, str]) -> str:
    """A Markdown table of `rows` (dicts, nested keys joined by '.') in `columns` order."""

    def cell(row: dict, key: str) -> str:
        value = row
        for part in key.split("."):
            value = value.get(part, "") if isinstance(value, dict) else ""
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(columns.values()) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r, k) for k in columns) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m export.rvm_int8", description=__doc__.split("\n")[0]
    )
    parser.add_argument("command", choices=["build", "evaluate", "sensitivity", "bench"])
    parser.add_argument("--models", type=Path, default=None, help="default: the user model dir")
    parser.add_argument("--out", type=Path, help="folder for the variants (not the repository)")
    parser.add_argument("--calibration-frames", type=int, default=60)
    parser.add_argument(
        "--clip", type=Path, default=CALIBRATION_CLIP, help="build: the video to calibrate on"
    )
    parser.add_argument("--clip-frames", type=int, default=60)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args(argv)
    from rtseg.models.registry import user_dir

    models = args.models or user_dir()
    if not (models / f"{FLOAT_NAME}.onnx").is_file():
        print(f"export.rvm_int8: no {FLOAT_NAME}.onnx in {models} (make rvm)", file=sys.stderr)
        return 1
    if args.command == "build":
        try:
            print(f"wrote {build(models, args.calibration_frames, args.clip)} and its NOTICE")
        except ParityUnavailable as exc:
            print(f"export.rvm_int8: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.out is None:
        parser.error(f"{args.command} needs --out")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.command == "sensitivity":
        rows = sensitivity(models, args.out, args.calibration_frames, args.clip_frames)
        print(table(rows, SENSITIVITY_COLUMNS))
        return 0
    if args.command == "evaluate":
        paths = make_variants(models, args.out, args.calibration_frames)
        rows = evaluate(paths, args.clip_frames)
        print(table(rows, QUALITY_COLUMNS))
        return 0
    try:
        paths = made_variants(models, args.out)
    except FileNotFoundError as exc:
        print(f"export.rvm_int8: {exc}", file=sys.stderr)
        return 1
    rows = [row for threads in (1, 2) for row in bench(paths, threads, args.runs)]
    print(table(rows, BENCH_COLUMNS))
    for label, path in paths.items():
        ops = profile(path, args.out)
        print(f"\n{label}: " + ", ".join(f"{op} {ms:.1f}" for op, ms in list(ops.items())[:6]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
