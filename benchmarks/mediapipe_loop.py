"""The peer: MediaPipe's selfie segmentation in the one loop its users write.

decode (OpenCV) -> `mp.solutions.selfie_segmentation` -> quarter-size Gaussian blur -> soft
blend with the mask -> OpenCV `mp4v` writer (file mode), or the same steps on frames released
at a camera's rate into nowhere (live mode). `benchmarks.peer` runs this file with the Python
of MediaPipe's own venv (`make peer-venv`), so it imports nothing from rtseg, and reads the one
JSON line it prints.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import cv2
import mediapipe as mp
import numpy as np

BLUR = 21  # the kernel rtseg's default blur uses, at the same quarter size


def blur_background(frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The frame over its own quarter-size blur, blended softly by the mask."""
    h, w = frame.shape[:2]
    small = cv2.resize(frame, (w // 4, h // 4), interpolation=cv2.INTER_AREA)
    blurred = cv2.resize(cv2.GaussianBlur(small, (BLUR, BLUR), 0), (w, h))
    alpha = mask[..., None]
    return (frame * alpha + blurred * (1.0 - alpha)).astype(np.uint8)


def _cpu_s() -> float:
    t = os.times()
    return t.user + t.system


def run_file(segmenter, source: str, output: str, frames: int) -> dict:
    cap = cv2.VideoCapture(source)
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    writer = None
    count = 0
    wall0, cpu0 = time.perf_counter(), _cpu_s()
    while count < frames:
        ok, frame = cap.read()
        if not ok:
            break
        mask = segmenter.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)).segmentation_mask
        out = blur_background(frame, mask)
        if writer is None:
            h, w = out.shape[:2]
            writer = cv2.VideoWriter(output, cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
        writer.write(out)
        count += 1
    if writer is not None:
        writer.release()
    cap.release()
    wall, cpu = time.perf_counter() - wall0, _cpu_s() - cpu0
    return {
        "frames": count,
        "seconds": round(wall, 3),
        "fps": round(count / wall, 2) if wall else 0.0,
        "cpu_ms_per_frame": round(1000 * cpu / max(count, 1), 2),
        "bytes": os.path.getsize(output) if count else 0,
    }


def run_live(segmenter, source: str, frames: int, fps: float, bank: int) -> dict:
    """Frames released on a `fps` clock from `bank` decoded frames; a frame whose tick passed
    while an older one was processed is dropped, as a camera with a one-frame buffer does."""
    cap = cv2.VideoCapture(source)
    images = []
    while len(images) < bank:
        ok, frame = cap.read()
        if not ok:
            break
        images.append(frame)
    cap.release()
    period = 1e9 / fps
    latency_ms, drops, tick = [], 0, 0
    start = time.monotonic_ns()
    wall0, cpu0 = time.perf_counter(), _cpu_s()
    while tick < frames:
        release = start + tick * period
        now = time.monotonic_ns()
        if now < release:
            time.sleep((release - now) / 1e9)
        frame = images[tick % len(images)]
        mask = segmenter.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)).segmentation_mask
        blur_background(frame, mask)  # the null sink
        done = time.monotonic_ns()
        latency_ms.append((done - release) / 1e6)
        # The newest tick that has passed is the next frame; those before it are lost.
        newest = int((done - start) // period)
        drops += max(0, newest - tick - 1)
        tick = max(tick + 1, newest)
    wall, cpu = time.perf_counter() - wall0, _cpu_s() - cpu0
    p50, p95, p99 = np.percentile(latency_ms, (50, 95, 99))
    return {
        "frames_in": tick,
        "frames_out": len(latency_ms),
        "drops": drops,
        "seconds": round(wall, 3),
        "cpu_share": round(cpu / wall, 3),
        "latency_ms": {"p50": round(p50, 2), "p95": round(p95, 2), "p99": round(p99, 2)},
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("source", help="a video file (decoded at its own size)")
    p.add_argument("--output", help="file mode: the mp4v file to write")
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--live-fps", type=float, help="live mode at this rate (no output file)")
    p.add_argument("--bank", type=int, default=30, help="live: decoded frames to cycle")
    p.add_argument("--model", type=int, default=0, help="0: general (256x256), 1: landscape")
    args = p.parse_args()
    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=args.model) as seg:
        seg.process(np.zeros((64, 64, 3), np.uint8))  # the graph starts outside the timing
        if args.live_fps:
            result = run_live(seg, args.source, args.frames, args.live_fps, args.bank)
        else:
            result = run_file(seg, args.source, args.output, args.frames)
    result |= {"mediapipe": mp.__version__, "opencv": cv2.__version__}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
