"""Building the jobs the benchmarks run: the CLI's own `Job`, with the benchmark's source.

The benchmarks wrap the source `config.source` names (to upscale, time or pace it) and hand
the wrapper to `Job`, so the stages, engine, effect and sinks are exactly the ones
`rtseg run` uses.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from rtseg.bench.timing import summarize
from rtseg.job import Job, JobConfig, open_config_source
from rtseg.pipeline.ports import Source


def open_job(config: JobConfig, wrap: Callable[[Source], Source]) -> Job:
    """`Job(config)` whose source is `wrap(the source config names)`."""
    inner = open_config_source(config)
    try:
        source = wrap(inner)
    except BaseException:
        inner.close()
        raise
    return Job(config, source=source)


@dataclass
class SequentialRun:
    """Each step's times in ms, and the wall time up to the last frame written."""

    times: dict[str, list[float]]
    elapsed_s: float

    @property
    def frames(self) -> int:
        return len(self.times["sink"])

    @property
    def fps(self) -> float:
        return self.frames / self.elapsed_s if self.elapsed_s else 0.0


def run_sequential(job: Job) -> SequentialRun:
    """The same job in one thread: read, every stage in turn, every sink, per frame.

    This is the baseline the threaded pipeline is compared with.
    """
    pipe = job.pipeline
    started = time.perf_counter_ns()
    times: dict[str, list[float]] = {"capture": []}
    times |= {s.name: [] for s in pipe.stages}
    times["sink"] = []
    ok = False
    try:
        while pipe.max_frames is None or len(times["sink"]) < pipe.max_frames:
            t0 = time.perf_counter_ns()
            frame = pipe.source.read()
            if frame is None:
                break
            t1 = time.perf_counter_ns()
            times["capture"].append((t1 - t0) / 1e6)
            for stage in pipe.stages:
                stage.run(frame)
                t2 = time.perf_counter_ns()
                times[stage.name].append((t2 - t1) / 1e6)
                t1 = t2
            for sink in pipe.sinks:
                sink.write(frame)
            times["sink"].append((time.perf_counter_ns() - t1) / 1e6)
        ok = True
        elapsed_s = (time.perf_counter_ns() - started) / 1e9
    finally:
        job.close(complete=ok)
    return SequentialRun(times, elapsed_s)


def stage_summary(times: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    return {name: summarize(ms) for name, ms in times.items()}


def bottleneck(stages: dict[str, dict[str, float]]) -> str:
    """The step with the highest mean time: with one thread per step, it bounds throughput."""
    return max(stages, key=lambda name: stages[name]["mean"])
