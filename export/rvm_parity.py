"""Parity of a built RVM model with RVM's TF.js graph run by TF.js itself, over a video.

The reference is the TF.js graph model (`rvm.json` + `rvm.bin`) executed by the npm package
`@tensorflow/tfjs` in node with its CPU backend (export/rvm_tfjs.js); the ONNX file runs in
ONNX Runtime. Both see the same frames of a real clip in order, each carrying its own
recurrent state from frame to frame, so a difference in the state shows up and grows in later
frames rather than hiding in the first one.

    python -m export.rvm_parity --model M.onnx --rvm DIR --video CLIP [--frames 24]
        [--size 320x180] [--ratio 0.5] [--node-modules DIR]

prints, per frame, the max and mean absolute difference of alpha and of the foreground, and
exits 1 when a frame's alpha differs by more than the tolerance below.
node must be on PATH and `@tensorflow/tfjs` installed: `npm install --prefix export`
(export/package.json), or point --node-modules at an existing node_modules folder.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "rvm_tfjs.js"
NODE_MODULES = HERE / "node_modules"
# Per frame, over a sequence: the largest alpha difference anywhere, and the mean one.
# Measured: see docs/matting.md (Parity); the bounds leave room for other CPUs' rounding.
MAX_ALPHA_TOLERANCE = 0.01
MEAN_ALPHA_TOLERANCE = 1e-4
STATES = ("r1i", "r2i", "r3i", "r4i")


class ParityUnavailable(Exception):
    """node, TF.js or the inputs are missing; the message says which."""


def node_modules(explicit: Path | None = None) -> Path:
    """The node_modules folder that holds @tensorflow/tfjs."""
    found = explicit or NODE_MODULES
    if shutil.which("node") is None:
        raise ParityUnavailable("node is not on PATH")
    if not (found / "@tensorflow" / "tfjs" / "package.json").is_file():
        raise ParityUnavailable(
            f"@tensorflow/tfjs is not installed in {found} (npm install --prefix export)"
        )
    return found


def read_frames(video: Path, count: int, width: int, height: int) -> np.ndarray:
    """The first `count` frames, resized to width x height, as float32 RGB 0..1 [N, H, W, 3]."""
    capture = cv2.VideoCapture(str(video))
    frames = []
    while len(frames) < count:
        ok, bgr = capture.read()
        if not ok:
            break
        small = cv2.resize(bgr, (width, height), interpolation=cv2.INTER_AREA)
        frames.append(cv2.cvtColor(small, cv2.COLOR_BGR2RGB).astype(np.float32) / 255)
    capture.release()
    if not frames:
        raise ParityUnavailable(f"no frames could be read from {video}")
    return np.stack(frames)


def run_tfjs(
    rvm_dir: Path, frames: np.ndarray, ratio: float, modules: Path
) -> tuple[np.ndarray, np.ndarray]:
    """TF.js's alpha [N, H, W] and foreground [N, H, W, 3] for the sequence."""
    count, height, width, _ = frames.shape
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "frames.f32", Path(tmp) / "out.f32"
        frames.astype(np.float32).tofile(src)
        env = dict(os.environ, NODE_PATH=str(modules))
        args = [str(a) for a in (rvm_dir, src, count, height, width, ratio, out)]
        done = subprocess.run(
            ["node", str(SCRIPT), *args], env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"TF.js run failed: {done.stderr.strip()[-500:]}")
        raw = np.fromfile(out, np.float32).reshape(count, height * width * 4)
    pha = raw[:, : height * width].reshape(count, height, width)
    fgr = raw[:, height * width :].reshape(count, height, width, 3)
    return pha, fgr


def run_onnx(
    model: Path, frames: np.ndarray, ratio: float, threads: int = 2, carry_state: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The ONNX model's alpha [N, H, W] and foreground [N, H, W, 3], the state carried along
    (or, with `carry_state` off, every frame started from zeros: what parity must tell apart)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    kind = np.float16 if "float16" in session.get_inputs()[0].type else np.float32
    state = [np.zeros((1, 1, 1, 1), kind)] * 4
    phas, fgrs = [], []
    for frame in frames:
        feed = dict(zip(STATES, state, strict=True))
        feed["src"] = frame.transpose(2, 0, 1)[None].astype(kind)
        feed["downsample_ratio"] = np.array([ratio], np.float32)
        fgr, pha, *following = session.run(["fgr", "pha", "r1o", "r2o", "r3o", "r4o"], feed)
        state = following if carry_state else state
        phas.append(pha[0, 0].astype(np.float32))
        fgrs.append(fgr[0].transpose(1, 2, 0).astype(np.float32))
    return np.stack(phas), np.stack(fgrs)


@dataclass(frozen=True)
class FrameDiff:
    """How far one frame's outputs are apart."""

    alpha_max: float
    alpha_mean: float
    fgr_max: float
    fgr_mean: float


def compare(
    pha: np.ndarray, fgr: np.ndarray, ref_pha: np.ndarray, ref_fgr: np.ndarray
) -> list[FrameDiff]:
    diffs = []
    for a, f, ra, rf in zip(pha, fgr, ref_pha, ref_fgr, strict=True):
        da, df = np.abs(a - ra), np.abs(f - rf)
        diffs.append(
            FrameDiff(float(da.max()), float(da.mean()), float(df.max()), float(df.mean()))
        )
    return diffs


def within_tolerance(diffs: list[FrameDiff]) -> bool:
    return all(
        d.alpha_max <= MAX_ALPHA_TOLERANCE and d.alpha_mean <= MEAN_ALPHA_TOLERANCE for d in diffs
    )


def parity(
    model: Path,
    rvm_dir: Path,
    video: Path,
    count: int,
    size: tuple[int, int],
    ratio: float,
    modules: Path | None = None,
) -> list[FrameDiff]:
    """Per-frame differences of `model` from TF.js over the first `count` frames of `video`."""
    found = node_modules(modules)
    width, height = size
    frames = read_frames(video, count, width, height)
    ref_pha, ref_fgr = run_tfjs(rvm_dir, frames, ratio, found)
    pha, fgr = run_onnx(model, frames, ratio)
    return compare(pha, fgr, ref_pha, ref_fgr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.rvm_parity", description=__doc__)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--rvm", type=Path, required=True, help="folder with rvm.json, rvm.bin")
    parser.add_argument("--video", type=Path, required=True)
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--size", default="320x180", help="WxH the frames are resized to")
    parser.add_argument("--ratio", type=float, default=0.5)
    parser.add_argument("--node-modules", type=Path)
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    try:
        diffs = parity(
            args.model,
            args.rvm,
            args.video,
            args.frames,
            (width, height),
            args.ratio,
            args.node_modules,
        )
    except ParityUnavailable as exc:
        print(f"export.rvm_parity: {exc}", file=sys.stderr)
        return 2
    where = f"{args.video.name} at {width}x{height}, ratio {args.ratio:g}"
    print(f"{args.model.name} against TF.js, {where}")
    print("frame  alpha max  alpha mean  fgr max  fgr mean")
    for k, d in enumerate(diffs):
        print(
            f"{k:5d}  {d.alpha_max:9.2e}  {d.alpha_mean:10.2e}  {d.fgr_max:7.2e}  {d.fgr_mean:8.2e}"
        )
    worst = max(d.alpha_max for d in diffs)
    mean = max(d.alpha_mean for d in diffs)
    ok = within_tolerance(diffs)
    print(
        f"worst frame: alpha max {worst:.2e}, mean {mean:.2e} "
        f"(tolerance {MAX_ALPHA_TOLERANCE:g}, {MEAN_ALPHA_TOLERANCE:g}): {'ok' if ok else 'FAILED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
