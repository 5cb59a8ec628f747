"""Live-mode benchmark: a paced camera stand-in through the live (frame-dropping) pipeline.

Reports capture-to-sink and per-stage latency percentiles, drops, and each channel's high
water mark, and keeps the samples for the CDF plots. The overload benchmark is this run with
a model slower than the frame rate.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from rtseg.bench.file import target_size
from rtseg.bench.jobs import open_job
from rtseg.bench.sources import PacedSource, frame_bank, scaled_size
from rtseg.bench.timing import process_cpu_s, rounded, summarize
from rtseg.io.sources import open_source
from rtseg.job import JobConfig
from rtseg.pipeline.channels import Policy
from rtseg.pipeline.ports import Source

BANK = 30  # frames held in memory and cycled, so capture costs what a camera's would


def bench_live(
    source: str,
    height: str,
    model: str,
    fps: float,
    frames: int,
    device: str = "cpu",
    threads: int | None = None,
    sink: str = "mp4",
    sync: bool = False,
    options: dict | None = None,
) -> dict:
    """One paced live run (or a camera's, at its own pace); `sink` is `mp4` (an encoded file,
    the target setup) or `null`; `options`: more `JobConfig` fields (a feature turned on,
    e.g. `{"grow": 12}`).

    `sync=False` is how `rtseg run` treats a live source (the video keeps its rate, the mask
    may lag, and the lag is reported); `sync=True` makes each frame wait for its own mask,
    which is what an overload run needs to show that latency stays bounded anyway.
    """
    camera = is_camera(source)
    size = camera_size(height) if camera else target_size(source, height)
    paced = None
    if not camera:
        images = frame_bank(open_source(source, max_frames=BANK), BANK, size)
        paced = PacedSource(images, fps, frames)
    with tempfile.TemporaryDirectory(prefix="rtseg-live-") as tmp:
        config = JobConfig(
            source=source if camera else "sample",
            model=model,
            effect="blur",
            sinks=[str(Path(tmp) / "live.mp4") if sink == "mp4" else "null"],
            device=device,
            threads=threads,
            overwrite=True,
            fps=fps,
            width=size[0] if camera and size else None,
            height=size[1] if camera and size else None,
            max_frames=frames if camera else 1,
            policy=Policy.LATEST,
            sync=sync,
            **(options or {}),
        )

        def wrap(inner: Source) -> Source:
            if paced is None:  # the camera itself, at its own pace
                return inner
            inner.close()
            return paced

        job = open_job(config, wrap)
        job.pipeline.max_frames = frames
        cpu0, wall0 = process_cpu_s(), time.perf_counter()
        stats = job.run()
        cpu, wall = process_cpu_s() - cpu0, time.perf_counter() - wall0
    drops = job.pipeline.drops
    return {
        "source": Path(source).name,
        "size": f"{size[0]}x{size[1]}" if size else "camera",
        "fps_target": fps,
        "model": job.engine.info.name,
        "provider": job.engine.provider,
        "fell_back": job.engine.fell_back,
        "threads": threads,
        "sink": sink,
        "sync": sync,
        "mask_lag_max": stats.mask_lag_max,
        "frames_in": stats.frames_in,
        "frames_out": stats.frames_out,
        "drops": sum(drops.values()),
        "drops_by_channel": drops,
        "source_late": paced.late if paced else 0,
        "fps_out": round(stats.frames_out / stats.elapsed_s(), 2),
        # user + system CPU time of the whole process (every thread) over wall time: the
        # share of one core the run cost; 1.0 is a core kept busy
        "cpu_share": round(cpu / wall, 3),
        "cpu_s": cpu,
        "wall_s": wall,
        "thread_cpu_ms": {name: summarize(ms) for name, ms in stats.cpu_ms.items()},
        "high_water": {c.name: c.high_water for c in job.pipeline.channels},
        "latency_ms": summarize(stats.latency_ms),
        "stages_ms": {name: summarize(ms) for name, ms in stats.stage_ms.items()},
        "samples_ms": {
            "capture->sink": rounded(stats.latency_ms),
            **{name: rounded(ms) for name, ms in stats.stage_ms.items()},
        },
    }


def is_camera(source: str) -> bool:
    """Whether `source` names a camera (an index or a /dev/video path), as `rtseg run` reads it."""
    return source.isdecimal() or source.startswith("/dev/video")


def camera_size(height: str) -> tuple[int, int] | None:
    """The 16:9 (width, height) to ask a camera for; None (`native`) takes its own."""
    return None if height == "native" else scaled_size(16, 9, int(height))


def overload_check(run: dict) -> dict:
    """Whether latency stayed bounded while the model was slower than the frame period.

    Bound: p99 capture-to-sink <= 2 model latencies (the in-run infer median) + one period; a
    frame waits for at most the inference in progress, then its own. No queue may grow: a
    live channel holds one frame (plus the end marker at most).
    """
    period_ms = 1000.0 / run["fps_target"]
    model_ms = run["stages_ms"]["infer"]["p50"]
    bound = 2 * model_ms + period_ms
    p99 = run["latency_ms"]["p99"]
    max_queue = max(run["high_water"].values())
    return {
        "period_ms": round(period_ms, 2),
        "model_ms": model_ms,
        "overloaded": model_ms > period_ms,
        "bound_ms": round(bound, 2),
        "p99_ms": p99,
        "drops": run["drops"],
        "max_high_water": max_queue,
        "bounded": p99 <= bound,
        "queues_bounded": max_queue <= 2,
    }
