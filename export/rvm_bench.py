"""`python -m export.rvm_bench`: RVM's inference alone, as converted against as built.

Times ONNX Runtime sessions (CPU provider, default graph optimisations, fixed thread count)
of the files `make rvm` writes into the user model directory: tf2onnx's conversion as it
comes (`rvm-baseline/`, NHWC, ratio a scalar input, `If` inside), `rvm_mobilenetv3` (the
ratio an input) and the fixed-ratio variants present (`rvm_mobilenetv3_r025`, ...). The
input is a frame of a shared clip scaled to the size timed, the same frame every time, the
recurrent state carried from run to run (as in a video); the first runs are warm-up.
Run it alone on the machine (`flock -x /tmp/rtseg-cpu.lock`); it prints a Markdown table
of median and p90 wall ms per frame and the median CPU time a frame (all threads), and with
--sweep the sizes a ratio-1.0 network input takes.

    python -m export.rvm_bench [--models DIR] [--video CLIP] [--runs 15] [--threads 1 2]
        [--sweep 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from export.rvm import NAME, variant_name
from rtseg.models.registry import user_dir

BASELINE = Path("rvm-baseline") / f"{NAME}_as_converted.onnx"
ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT.parent / "shared" / "data" / "videos" / "doctor_960x540.mp4"
# (height, width, ratio): the settings of the README's figures (720p at RVM's ratios; the
# network's own 320x180 input at ratio 1.0, what a frame shrunk by 0.25 gives it).
SETTINGS = ((720, 1280, 0.25), (720, 1280, 0.375), (720, 1280, 0.5), (180, 320, 1.0))
SWEEP = ((144, 256), (180, 320), (216, 384), (252, 448), (270, 480), (288, 512), (360, 640))
WARMUP = 3
STATES = ("r1i", "r2i", "r3i", "r4i")


@dataclass(frozen=True)
class Timing:
    model: str
    height: int
    width: int
    ratio: float
    threads: int
    median_ms: float
    p90_ms: float
    cpu_ms: float  # median CPU time of the process a frame (all threads)


def frame(video: Path, height: int, width: int) -> np.ndarray:
    """The clip's 30th frame (a grey one without the clip), float32 RGB 0..1, [1,3,H,W]."""
    capture = cv2.VideoCapture(str(video))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 30)
    ok, bgr = capture.read()
    capture.release()
    if not ok:
        bgr = np.full((height, width, 3), 128, np.uint8)
    small = cv2.resize(bgr, (width, height), interpolation=cv2.INTER_AREA)
    rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
    return (rgb.astype(np.float32) / 255).transpose(2, 0, 1)[None].copy()


def session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def time_model(
    sess: ort.InferenceSession, src: np.ndarray, ratio: float, runs: int
) -> tuple[float, float, float]:
    """Median and p90 wall ms of the timed runs (after the warm-up), and median CPU ms, the
    state carried along."""
    nhwc = sess.get_inputs()[0].shape[-1] == 3
    feed_src = src.transpose(0, 2, 3, 1).copy() if nhwc else src
    ratio_value = np.array(ratio if nhwc else [ratio], np.float32)
    state = [np.zeros((1, 1, 1, 1), np.float32)] * 4
    wall, cpu = [], []
    for k in range(WARMUP + runs):
        feed = dict(zip(STATES, state, strict=True))
        feed |= {"src": feed_src, "downsample_ratio": ratio_value}
        started, started_cpu = time.perf_counter(), time.process_time()
        state = sess.run(["r1o", "r2o", "r3o", "r4o"], feed)
        if k >= WARMUP:
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
    return float(np.median(wall)), float(np.percentile(wall, 90)), float(np.median(cpu))


def candidates(models: Path, ratio: float) -> list[tuple[str, Path]]:
    """The files timed at `ratio`: the baseline, the general model, the variant for it."""
    found = [
        ("as converted", models / BASELINE),
        (NAME, models / f"{NAME}.onnx"),
        (variant_name(ratio), models / f"{variant_name(ratio)}.onnx"),
    ]
    return [(label, path) for label, path in found if path.is_file()]


def bench(models: Path, video: Path, runs: int, threads: list[int]) -> list[Timing]:
    rows = []
    for height, width, ratio in SETTINGS:
        src = frame(video, height, width)
        for count in threads:
            for label, path in candidates(models, ratio):
                times = time_model(session(path, count), src, ratio, runs)
                rows.append(Timing(label, height, width, ratio, count, *times))
                print(f"  {rows[-1]}", file=sys.stderr)
    return rows


def sweep(models: Path, video: Path, runs: int, threads: int) -> list[Timing]:
    """The ratio-1.0 network (`rvm_mobilenetv3_r1`) at growing input sizes."""
    path = models / f"{variant_name(1.0)}.onnx"
    sess = session(path, threads)
    rows = []
    for height, width in SWEEP:
        times = time_model(sess, frame(video, height, width), 1.0, runs)
        row = Timing(path.stem, height, width, 1.0, threads, *times)
        rows.append(row)
        print(f"  {row}", file=sys.stderr)
    return rows


def table(rows: list[Timing]) -> str:
    lines = [
        "| model | frame | ratio | threads | median ms | p90 ms | CPU ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.model} | {r.width}x{r.height} | {r.ratio:g} | {r.threads} "
            f"| {r.median_ms:.1f} | {r.p90_ms:.1f} | {r.cpu_ms:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.rvm_bench", description=__doc__)
    parser.add_argument("--models", type=Path, default=None, help="default: user model dir")
    parser.add_argument("--video", type=Path, default=CLIP)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--sweep", type=int, metavar="THREADS", help="also the size sweep")
    args = parser.parse_args(argv)
    models = args.models or user_dir()
    if not (models / BASELINE).is_file() or not (models / f"{NAME}.onnx").is_file():
        print(f"export.rvm_bench: no RVM build in {models} (make rvm)", file=sys.stderr)
        return 1
    print(table(bench(models, args.video, args.runs, args.threads)))
    if args.sweep and (models / f"{variant_name(1.0)}.onnx").is_file():
        print()
        print(table(sweep(models, args.video, args.runs, args.sweep)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
