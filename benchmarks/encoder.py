"""x264 settings measured: CPU time per frame, file size and fidelity of each candidate.

The encoder is the largest single cost of file mode (about as much CPU as everything rtseg
does itself), so its preset, tune and CRF are chosen from these figures. Each candidate
encodes the same frames, rtseg's own output (default blur) for the benchmark clip at 720p,
held in memory, through PyAV; fidelity is PSNR of the decoded file against those frames.
"""

from __future__ import annotations

import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from benchmarks.peer import make_clip
from rtseg.bench.jobs import open_job
from rtseg.job import JobConfig

# (preset, tune, CRF, threads); threads 0 is x264's own choice (1.5 per core)
CANDIDATES = (
    ("veryfast", "", 20, 0),
    ("superfast", "", 20, 0),
    ("superfast", "", 23, 0),
    ("ultrafast", "", 20, 0),
    ("ultrafast", "", 26, 0),
    ("veryfast", "zerolatency", 20, 0),
    ("superfast", "zerolatency", 23, 0),
    ("superfast", "zerolatency", 23, 1),
    ("superfast", "", 23, 1),
)


def _frames(clip: Path, model: str) -> tuple[list[np.ndarray], Fraction]:
    """rtseg's output frames for `clip` (default job, one thread), as yuv420p arrays."""
    job = open_job(JobConfig(source=str(clip), model=model, sinks=["null"]), lambda s: s)
    stages = [s.run for s in job.pipeline.stages]
    out = []
    try:
        while (frame := job.pipeline.source.read()) is not None:
            for run in stages:
                run(frame)
            yuv = av.VideoFrame.from_ndarray(frame.output, format="bgr24").reformat(
                format="yuv420p"
            )
            out.append(yuv.to_ndarray())
    finally:
        job.close()
    with av.open(str(clip)) as src:
        return out, src.streams.video[0].average_rate


def _encode(frames: list[np.ndarray], rate, out: Path, preset, tune, crf, threads):
    h, w = frames[0].shape[0] * 2 // 3, frames[0].shape[1]
    options = {"crf": str(crf), "preset": preset} | ({"tune": tune} if tune else {})
    cpu0, wall0 = time.process_time(), time.perf_counter()
    with av.open(str(out), "w") as dst:
        stream = dst.add_stream("libx264", rate=rate, options=options)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.thread_count = threads
        for image in frames:
            dst.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="yuv420p")))
        dst.mux(stream.encode())
    return time.process_time() - cpu0, time.perf_counter() - wall0


def _psnr(frames: list[np.ndarray], path: Path, every: int = 10) -> float:
    errors = []
    with av.open(str(path)) as src:
        for i, frame in enumerate(src.decode(video=0)):
            if i % every == 0:
                got = frame.to_ndarray(format="yuv420p").astype(np.float32)
                errors.append(float(np.mean((got - frames[i]) ** 2)))
    mse = max(float(np.mean(errors)), 1e-6)
    return round(10 * np.log10(255.0**2 / mse), 2)


def bench_encoder(source: str, height: int | None, frames: int, model: str) -> dict:
    """Every candidate on the same frames: CPU ms a frame, wall ms a frame, bytes, PSNR."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="rtseg-encoder-") as tmp:
        clip = Path(tmp) / "clip.mp4"
        info = make_clip(source, height, frames, clip)
        images, rate = _frames(clip, model)
        for preset, tune, crf, threads in CANDIDATES:
            out = Path(tmp) / f"{preset}-{tune}-{crf}-{threads}.mp4"
            cpu, wall = _encode(images, rate, out, preset, tune, crf, threads)
            rows.append(
                {
                    "preset": preset,
                    "tune": tune or "none",
                    "crf": crf,
                    "threads": threads or "auto",
                    "cpu_ms_per_frame": round(1000 * cpu / len(images), 2),
                    "wall_ms_per_frame": round(1000 * wall / len(images), 2),
                    "bytes": out.stat().st_size,
                    "psnr_db": _psnr(images, out),
                }
            )
    return {"input": info, "rows": rows}


def format_encoder(result: dict) -> str:
    """A table of the candidates, printed by `python -m benchmarks encoder`."""
    clip = result["input"]
    lines = [
        f"input: rtseg's blur output for {clip['from']} at {clip['size']}, {clip['frames']} frames",
        f"{'preset':<10}{'tune':<12}{'CRF':>4}{'threads':>8}{'CPU ms':>8}{'wall ms':>9}"
        f"{'bytes':>12}{'PSNR dB':>9}",
    ]
    for r in result["rows"]:
        lines.append(
            f"{r['preset']:<10}{r['tune']:<12}{r['crf']:>4}{r['threads']!s:>8}"
            f"{r['cpu_ms_per_frame']:>8.2f}"
            f"{r['wall_ms_per_frame']:>9.2f}{r['bytes']:>12,}{r['psnr_db']:>9.2f}"
        )
    return "\n".join(lines)
