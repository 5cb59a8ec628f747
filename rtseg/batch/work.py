"""The worker that runs batch tasks (a file, or a segment of one).

A worker loads the model once and runs `Job`, the same code path as `rtseg run`, for each
task it is given, so a batch pays for starting Python and loading the model once per worker
instead of once per file. Both executors (local processes and Ray) run this class.

The job locks the output before it clears the partial output an earlier attempt left, so two
batches on one `--out` share the work: an output another rtseg run is writing, or finished
since this batch looked, is skipped (the report's `error` says which) and never removed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

from rtseg.batch.resume import is_complete
from rtseg.batch.split import segment_job
from rtseg.batch.tasks import Result, Task
from rtseg.errors import OutputBusy, OutputExists
from rtseg.io import remote
from rtseg.io.destinations import ImageFolder, VideoFile
from rtseg.job import Job, JobConfig, lost_frames_warning
from rtseg.models.engine import Engine
from rtseg.models.registry import resolve
from rtseg.pipeline.memory import keep_freed_memory
from rtseg.pipeline.progress import ProgressSink
from rtseg.redaction import redact_logs

log = logging.getLogger(__name__)


class _Collector(logging.Handler):
    """Keeps the message of every warning logged while it is attached, in place of printing
    it (the batch prints it with the file's result); other records go on as before."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.lines.append(record.getMessage())
        else:
            logging.getLogger().callHandlers(record)


@contextlib.contextmanager
def collected_warnings() -> Iterator[list[str]]:
    """The warnings rtseg logs inside the block (an input's lost frames, dropped tracks,
    HDR...), in a list, so a batch reports them with the file's result, once: a worker
    process has no terminal of its own to print them on."""
    collector = _Collector()
    logger = logging.getLogger("rtseg")
    logger.addHandler(collector)
    logger.propagate = False
    try:
        yield collector.lines
    finally:
        logger.propagate = True
        logger.removeHandler(collector)


def worker_name() -> str:
    """host:pid, so the report says where each file ran."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    """Holds one loaded model and runs tasks with it, one after another."""

    def __init__(self, config: JobConfig) -> None:
        keep_freed_memory()  # its process is rtseg's own, as the `rtseg` command's is
        redact_logs()  # its warnings reach the terminal too
        self.config = config
        self.engine: Engine | None = None
        self.failure: Exception | None = None  # why the model did not load
        try:
            self.engine = Engine(resolve(config.model), config.device, config.threads)
        except Exception as exc:  # each task is answered with it, rather than the process
            # dying, being retried with a model reload and reported as "worker process died"
            self.failure = exc

    def job_for(self, task: Task) -> Job:
        """The `Job` for `task`: `rtseg run`'s job with this file as source and output."""
        assert self.engine is not None, "run() answers tasks of a worker without a model"
        # a rerun does again what did not finish: the partial output is replaced, once locked
        kind = VideoFile if task.output.suffix else ImageFolder
        output = kind(task.output, replace_partial=True)
        config = replace(self.config, source=task.source, sinks=[output])
        if task.stop is None:
            return Job(config, engine=self.engine)
        return segment_job(config, self.engine, task)

    def run(self, task: Task, on_frames: Callable[[int], None] | None = None) -> Result:
        """Process `task`; a bad input or output becomes a failed Result, never an exception."""
        started = time.monotonic()
        moved = remote.MOVED.snapshot()
        result = Result.of(task, "failed", worker=worker_name())
        if self.failure is not None:
            return result.fail(self.failure, "the worker could not load the model: ")
        try:
            if not task.output.is_remote:  # (one in storage is written here first, staged)
                task.output.path.parent.mkdir(parents=True, exist_ok=True)
            with collected_warnings() as warnings, self.job_for(task) as job:
                if on_frames is not None:
                    job.add_sink(ProgressSink(on_frames, task.warmup))
                job.run()
            summary = job.summary()
            result.frames_in = max(0, summary["frames_in"] - task.warmup)
            result.frames_out = max(0, summary["frames_out"] - task.warmup)
            # (a segment's lost frames are said once for the whole input, when it is joined)
            lost = lost_frames_warning(task.source, summary) if task.stop is None else None
            result.succeed(summary["frames_lost"], ([lost] if lost else []) + warnings)
        except OutputBusy as exc:  # another batch on the same --out has it
            result.status, result.error = "skipped", str(exc)
        except OutputExists as exc:  # finished by another run since this batch looked
            if is_complete(task.source, task.output):
                result.status, result.error = "skipped", "another rtseg run finished it"
            else:
                result.fail(exc)
        except Exception as exc:  # any failure is this input's, reported with its type; the
            # worker goes on with the next task (it used to die of it, be retried and be
            # reported as "worker process died")
            result.fail(exc)
        result.bytes_read, result.bytes_written = remote.MOVED.since(moved)
        result.seconds = round(time.monotonic() - started, 3)
        if result.seconds > 0:
            result.fps = round(result.frames_out / result.seconds, 2)
        return result
