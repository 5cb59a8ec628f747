"""File-mode benchmark: the threaded pipeline against a one-thread baseline doing the same work.

Both decode the same clip, run the same `Job` stages (bundled model, blur) and encode the same
mp4, so their ratio is what the pipeline's threads buy on this machine.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path

import cv2

from rtseg.bench.jobs import bottleneck, open_job, run_sequential, stage_summary
from rtseg.bench.sources import TimedSource, scaled_size
from rtseg.bench.timing import process_cpu_s
from rtseg.errors import RtsegError
from rtseg.job import JobConfig
from rtseg.pipeline.channels import Policy
from rtseg.pipeline.ports import Source


def native_size(spec: str) -> tuple[int, int]:
    """(width, height) of a clip, or of the `sample` source."""
    if spec == "sample":
        return 1280, 720
    cap = cv2.VideoCapture(spec)
    try:
        if not cap.isOpened():
            raise RtsegError(f"cannot decode {spec} as video")
        return int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    finally:
        cap.release()


def target_size(spec: str, height: str) -> tuple[int, int]:
    """`native`, or a height such as `720`, as a (width, height) for `spec`."""
    w, h = native_size(spec)
    return (w, h) if height == "native" else scaled_size(w, h, int(height))


def file_config(
    source: str,
    model: str,
    frames: int,
    device: str = "cpu",
    threads: int | None = None,
    downsample_ratio: float | None = None,
) -> JobConfig:
    """`rtseg run`'s file job at its defaults (blur, an mp4 written to a temporary folder by
    the run), `frames` frames of `source`; `downsample_ratio`: a matting model's."""
    return JobConfig(
        downsample_ratio=downsample_ratio,
        source=source,
        model=model,
        effect="blur",
        sinks=[],
        device=device,
        threads=threads,
        overwrite=True,
        max_frames=frames,
        policy=Policy.BLOCK,
    )


def pipeline_run(config: JobConfig, size: tuple[int, int]) -> dict:
    """One threaded file-mode run of `config` (see `file_config`) with frames brought to `size`
    (width, height), as `rtseg run` would do it: per-frame latency and per-step samples, fps,
    and the process's CPU seconds over the run."""
    timed: list[TimedSource] = []

    def wrap(inner: Source) -> Source:
        timed.append(TimedSource(inner, size))
        return timed[-1]

    with tempfile.TemporaryDirectory(prefix="rtseg-bench-") as tmp:
        job = open_job(replace(config, sinks=[str(Path(tmp) / "out.mp4")]), wrap)
        cpu0, wall0 = process_cpu_s(), time.perf_counter()
        stats = job.run()
        cpu, wall = process_cpu_s() - cpu0, time.perf_counter() - wall0
    stages = {"capture": list(timed[-1].read_ms)}
    stages |= {name: list(ms) for name, ms in stats.stage_ms.items()}
    return {
        "model": job.engine.info.name,
        "provider": job.engine.provider,
        "fell_back": job.engine.fell_back,
        "frames": stats.frames_out,
        "fps": stats.frames_out / stats.elapsed_s() if stats.elapsed_s() else 0.0,
        "cpu_s": cpu,
        "wall_s": wall,
        "latency": list(stats.latency_ms),
        "stages": stages,
    }


def bench_file(
    source: str,
    height: str,
    model: str,
    frames: int,
    device: str = "cpu",
    threads: int | None = None,
    downsample_ratio: float | None = None,
) -> dict:
    """Pipeline and sequential runs of one clip at one size; fps, ratio and the bounding step
    (`downsample_ratio`: a matting model's, see `JobConfig`)."""
    size = target_size(source, height)
    upscaled = height != "native" and size[1] > native_size(source)[1]
    config = file_config(source, model, frames, device, threads, downsample_ratio)
    run = pipeline_run(config, size)
    with tempfile.TemporaryDirectory(prefix="rtseg-bench-") as tmp:
        config = replace(config, sinks=[str(Path(tmp) / "out.mp4")])
        seq = run_sequential(open_job(config, lambda inner: TimedSource(inner, size)))
    pipe_summary = stage_summary(run["stages"])
    return {
        "source": Path(source).name,
        "height": height,
        "size": f"{size[0]}x{size[1]}",
        "upscaled": upscaled,
        "model": run["model"],
        "provider": run["provider"],
        "threads": threads,
        "frames": run["frames"],
        "sequential_frames": seq.frames,
        "pipeline_fps": round(run["fps"], 2),
        "sequential_fps": round(seq.fps, 2),
        "ratio": round(run["fps"] / seq.fps, 3) if seq.fps else 0.0,
        "bottleneck": bottleneck(pipe_summary),
        "stages_ms": pipe_summary,
        "sequential_stages_ms": stage_summary(seq.times),
    }
