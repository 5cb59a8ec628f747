"""File-mode benchmark: the threaded pipeline against a one-thread baseline doing the same work.

Both decode the same clip, run the same `Job` stages (bundled model, blur) and encode the same
mp4, so their ratio is what the pipeline's threads buy on this machine.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2

from rtseg.bench.jobs import bottleneck, open_job, run_sequential, stage_summary
from rtseg.bench.sources import TimedSource, scaled_size
from rtseg.errors import RtsegError
from rtseg.job import JobConfig
from rtseg.pipeline.channels import Policy


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


def _config(
    source: str,
    model: str,
    output: Path,
    frames: int,
    device: str,
    threads,
    downsample_ratio: float | None = None,
) -> JobConfig:
    return JobConfig(
        downsample_ratio=downsample_ratio,
        source=source,
        model=model,
        effect="blur",
        sinks=[str(output)],
        device=device,
        threads=threads,
        overwrite=True,
        max_frames=frames,
        policy=Policy.BLOCK,
    )


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
    with tempfile.TemporaryDirectory(prefix="rtseg-bench-") as tmp:
        out = Path(tmp) / "out.mp4"
        timed: list[TimedSource] = []

        def wrap(inner):
            timed.append(TimedSource(inner, size))
            return timed[-1]

        def config() -> JobConfig:
            return _config(source, model, out, frames, device, threads, downsample_ratio)

        job = open_job(config(), wrap)
        stats = job.run()
        pipe_stages = {"capture": list(timed[-1].read_ms)}
        pipe_stages |= {name: list(ms) for name, ms in stats.stage_ms.items()}
        pipeline_fps = stats.frames_out / stats.elapsed_s()
        frames_out = stats.frames_out
        provider = job.engine.provider

        seq_job = open_job(config(), wrap)
        seq = run_sequential(seq_job)

    pipe_summary = stage_summary(pipe_stages)
    return {
        "source": Path(source).name,
        "height": height,
        "size": f"{size[0]}x{size[1]}",
        "upscaled": upscaled,
        "model": job.engine.info.name,
        "provider": provider,
        "threads": threads,
        "frames": frames_out,
        "sequential_frames": seq.frames,
        "pipeline_fps": round(pipeline_fps, 2),
        "sequential_fps": round(seq.fps, 2),
        "ratio": round(pipeline_fps / seq.fps, 3) if seq.fps else 0.0,
        "bottleneck": bottleneck(pipe_summary),
        "stages_ms": pipe_summary,
        "sequential_stages_ms": stage_summary(seq.times),
    }
