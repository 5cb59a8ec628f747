"""The worker that runs batch tasks (a file, or a segment of one).

A worker loads the model once and runs `Job`, the same code path as `rtseg run`, for each
task it is given, so a batch pays for starting Python and loading the model once per worker
instead of once per file. Both executors (local processes and Ray) run this class.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from rtseg.batch.progress import ProgressSink
from rtseg.batch.split import segment_job
from rtseg.batch.tasks import Result, Task
from rtseg.errors import RtsegError
from rtseg.io.outputs import discard_partial
from rtseg.job import Job, JobConfig
from rtseg.models.engine import Engine
from rtseg.models.registry import resolve
from rtseg.pipeline.memory import keep_freed_memory
from rtseg.pipeline.pipeline import StageError

log = logging.getLogger(__name__)


def worker_name() -> str:
    """host:pid, so the report says where each file ran."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    """Holds one loaded model and runs tasks with it, one after another."""

    def __init__(self, config: JobConfig) -> None:
        keep_freed_memory()  # its process is rtseg's own, as the `rtseg` command's is
        self.config = config
        self.engine = Engine(resolve(config.model), config.device, config.threads)

    def job_for(self, task: Task) -> Job:
        """The `Job` for `task`: `rtseg run`'s job with this file as source and output."""
        config = replace(self.config, source=task.source, sinks=[task.output])
        if task.stop is None:
            return Job(config, engine=self.engine)
        return segment_job(config, self.engine, task)

    def run(self, task: Task, on_frames: Callable[[int], None] | None = None) -> Result:
        """Process `task`; a bad input or output becomes a failed Result, never an exception."""
        started = time.monotonic()
        result = Result(task.source, task.output, "failed", worker=worker_name())
        try:
            Path(task.output).parent.mkdir(parents=True, exist_ok=True)
            if discard_partial(Path(task.output)):  # a rerun does again what did not finish
                log.info("%s: replacing the partial output of an earlier attempt", task.output)
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
