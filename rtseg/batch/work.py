"""One unit of batch work (a file, or a segment of one) and the worker that runs it.

A worker loads the model once and runs `Job`, the same code path as `rtseg run`, for each
task it is given, so a batch pays for starting Python and loading the model once per worker
instead of once per file. Both executors (local processes and Ray) run this class.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from rtseg.batch.progress import ProgressSink
from rtseg.engine import Engine
from rtseg.errors import RtsegError
from rtseg.job import Job, JobConfig
from rtseg.models import resolve
from rtseg.pipeline import StageError


@dataclass(frozen=True)
class Task:
    """Process `source` into `output`; with `stop`, only frames [start, stop) of it, after
    running (and throwing away) `warmup` frames before `start` to settle the smoothing."""

    source: str
    output: str
    start: int = 0
    stop: int | None = None
    warmup: int = 0


@dataclass
class Result:
    """What happened to one input; one JSON line of `--report`."""

    source: str
    output: str
    status: str  # done, skipped or failed
    frames_in: int = 0
    frames_out: int = 0
    seconds: float = 0.0
    fps: float = 0.0
    error: str | None = None
    attempts: int = 1
    worker: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def worker_name() -> str:
    """host:pid, so the report says where each file ran."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    """Holds one loaded model and runs tasks with it, one after another."""

    def __init__(self, config: JobConfig) -> None:
        self.config = config
        self.engine = Engine(resolve(config.model), config.device, config.threads)

    def job_for(self, task: Task) -> Job:
        """The `Job` for `task`: `rtseg run`'s job with this file as source and output."""
        config = replace(self.config, source=task.source, sinks=[task.output])
        if task.stop is None:
            return Job(config, engine=self.engine)
        from rtseg.batch.split import segment_job

        return segment_job(config, self.engine, task)

    def run(self, task: Task, on_frames: Callable[[int], None] | None = None) -> Result:
        """Process `task`; a bad input or output becomes a failed Result, never an exception."""
        started = time.monotonic()
        result = Result(task.source, task.output, "failed", worker=worker_name())
        try:
            Path(task.output).parent.mkdir(parents=True, exist_ok=True)
            job = self.job_for(task)
            if on_frames is not None:
                job.pipeline.sinks.append(ProgressSink(on_frames, task.warmup))
            job.run()
            summary = job.summary()
            result.frames_in = max(0, summary["frames_in"] - task.warmup)
            result.frames_out = max(0, summary["frames_out"] - task.warmup)
            result.status = "done"
        except (RtsegError, StageError, OSError) as exc:
            result.error = str(exc)
        result.seconds = round(time.monotonic() - started, 3)
        if result.seconds > 0:
            result.fps = round(result.frames_out / result.seconds, 2)
        return result
