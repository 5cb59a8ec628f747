"""Where the CPU goes per frame: file mode run step by step in one thread, each step's CPU time.

The steps are the pipeline's (decode, preprocess, infer with smoothing, refine, effect,
encode), run in turn on the job `rtseg run` builds, so nothing overlaps: a step's *process*
CPU time (every thread of the process, ONNX Runtime's and OpenCV's pools included) is that
step's cost, and its *thread* CPU time is the part done on the calling thread. Work in child
processes (an FFmpeg decoder or encoder) is only known as a total once they exit.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import cv2

from benchmarks.peer import make_clip
from rtseg.bench.jobs import open_job
from rtseg.bench.timing import summarize
from rtseg.job import Job, JobConfig
from rtseg.matte.effects import draw
from rtseg.pipeline.channels import Policy
from rtseg.pipeline.frame import Frame

STEPS = ("decode", "preprocess", "infer", "refine", "effect", "encode")


def _children_s() -> float:
    t = os.times()
    return t.children_user + t.children_system


def _profile(job: Job, frames: int) -> tuple[dict[str, list[float]], dict[str, list[float]], int]:
    """Per step, per frame: process CPU ms and thread CPU ms; and the frames done."""
    process: dict[str, list[float]] = {s: [] for s in STEPS}
    thread: dict[str, list[float]] = {s: [] for s in STEPS}
    effect = job.controls.chosen
    stages = {s.name: s.run for s in job.pipeline.stages}
    frame: Frame | None = None

    def step(name, fn, *args):
        p, t = time.process_time_ns(), time.thread_time_ns()
        out = fn(*args)
        process[name].append((time.process_time_ns() - p) / 1e6)
        thread[name].append((time.thread_time_ns() - t) / 1e6)
        return out

    source, sinks = job.pipeline.source, job.pipeline.sinks
    done = 0
    try:
        while done < frames and (frame := step("decode", source.read)) is not None:
            step("preprocess", stages["preprocess"], frame)
            step("infer", stages["infer"], frame)
            frame.matte = step("refine", job.path.matte, frame.image, frame.mask)
            frame.output = step("effect", draw, effect, frame)  # as postprocess draws it
            step("encode", lambda f: [s.write(f) for s in sinks], frame)
            done += 1
    finally:
        job.close(complete=True)
    return process, thread, done


def bench_profile(
    source: str, height: int | None, model: str, frames: int, threads: int | None = None
) -> dict:
    """The per-step CPU profile of the default job (blur, refine, smoothing, .mp4) on `source`
    brought to `height`."""
    with tempfile.TemporaryDirectory(prefix="rtseg-profile-") as tmp:
        clip = Path(tmp) / "clip.mp4"
        clip_info = make_clip(source, height, frames, clip)
        config = JobConfig(
            source=str(clip),
            model=model,
            effect="blur",
            sinks=[str(Path(tmp) / "out.mp4")],
            device="cpu",
            threads=threads,
            overwrite=True,
            policy=Policy.BLOCK,
        )
        job = open_job(config, lambda inner: inner)
        session = job.engine.session.get_session_options()
        children0, wall0 = _children_s(), time.perf_counter()
        process, thread, done = _profile(job, frames)
        wall = time.perf_counter() - wall0
        children = _children_s() - children0
    return {
        "input": clip_info,
        "frames": done,
        "fps_one_thread": round(done / wall, 2),
        "process_cpu_ms": {s: summarize(v) for s, v in process.items()},
        "thread_cpu_ms": {s: summarize(v) for s, v in thread.items()},
        # FFmpeg child processes (decoder, encoder), known only as a total
        "child_processes_cpu_ms": round(1000 * children / max(done, 1), 2),
        "threads": {
            "opencv": cv2.getNumThreads(),
            "onnxruntime_intra_op": session.intra_op_num_threads or "default (one per core)",
        },
    }


def format_profile(result: dict) -> str:
    """A table of the profile, printed by `python -m benchmarks profile`."""
    clip = result["input"]
    lines = [
        f"input: {clip['from']} ({clip['from_size']}) to {clip['size']}, {result['frames']} "
        f"frames, one thread: {result['fps_one_thread']:.1f} fps",
        f"{'step':<11}{'process CPU ms':>16}{'thread CPU ms':>15}  (mean / p50 per frame)",
    ]
    total = 0.0
    for step in STEPS:
        p, t = result["process_cpu_ms"][step], result["thread_cpu_ms"][step]
        total += p["mean"]
        lines.append(
            f"{step:<11}{p['mean']:>8.2f} /{p['p50']:>6.2f}{t['mean']:>8.2f} /{t['p50']:>5.2f}"
        )
    lines.append(f"{'in process':<11}{total:>8.2f}")
    lines.append(f"{'children':<11}{result['child_processes_cpu_ms']:>8.2f}  (FFmpeg processes)")
    lines.append(f"threads: {result['threads']}")
    return "\n".join(lines)
