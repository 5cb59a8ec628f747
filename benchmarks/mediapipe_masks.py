"""MediaPipe's own selfie-segmentation masks and cost, the quality benchmark's reference column.

It runs in a Python that has mediapipe==0.10.14 (a venv made from
export/requirements-mediapipe.txt; mediapipe pins an old protobuf, so not rtseg's venv), and
imports nothing from rtseg:

    python benchmarks/mediapipe_masks.py JOB.json RESULT.json

JOB.json: {"images": [[in.png, out.png], ...], "videos": [[clip.mp4, out_dir, limit], ...],
"cost": [clip.mp4, frames, width, height]}; a clip may be a folder of numbered PNG frames.
Masks are written as 16-bit PNGs (alpha * 65535), video frames as out_dir/000000.png, ...;
RESULT.json gets the mediapipe version and the cost (ms per frame, wall and CPU, of
`SelfieSegmentation.process` on the clip scaled to the size).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import cv2
import mediapipe as mp
import numpy as np


def _segmenter():
    return mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)


def _mask(segmenter, bgr: np.ndarray) -> np.ndarray:
    return segmenter.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)).segmentation_mask


def _write(path: Path, mask: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.clip(mask * 65535.0 + 0.5, 0, 65535).astype(np.uint16))


def _frames(path: str, limit: int | None):
    if Path(path).is_dir():  # a clip as numbered PNG frames
        yield from (cv2.imread(str(p)) for p in sorted(Path(path).glob("*.png"))[:limit])
        return
    capture = cv2.VideoCapture(path)
    count = 0
    while limit is None or count < limit:
        ok, frame = capture.read()
        if not ok:
            break
        count += 1
        yield frame
    capture.release()


def main(job_path: str, result_path: str) -> int:
    job = json.loads(Path(job_path).read_text())
    with _segmenter() as segmenter:
        for source, out in job.get("images", []):
            _write(Path(out), _mask(segmenter, cv2.imread(source)))
    for source, out, limit in job.get("videos", []):
        with _segmenter() as segmenter:
            for index, frame in enumerate(_frames(source, limit)):
                _write(Path(out) / f"{index:06d}.png", _mask(segmenter, frame))
    result: dict = {"mediapipe": mp.__version__}
    if job.get("cost"):
        source, count, width, height = job["cost"]
        frames = [cv2.resize(f, (width, height)) for f in _frames(source, count)]
        wall, cpu = [], []
        with _segmenter() as segmenter:
            _mask(segmenter, frames[0])
            for frame in frames:
                w0, c0 = time.perf_counter(), time.process_time()
                _mask(segmenter, frame)
                cpu.append(time.process_time() - c0)
                wall.append(time.perf_counter() - w0)
        result["cost_ms"] = {
            "wall": [float(np.median(wall) * 1e3), float(np.percentile(wall, 90) * 1e3)],
            "cpu": [float(np.median(cpu) * 1e3), float(np.percentile(cpu, 90) * 1e3)],
        }
    Path(result_path).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:3]))
