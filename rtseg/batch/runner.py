"""A whole batch: find the inputs, skip finished ones, run the rest on an executor (splitting
long videos when asked), join split outputs, and report.

Returns the exit status: 0 when every input is done or skipped, 1 when any failed, 130 when
interrupted. Problems that stop the whole batch before it starts raise RtsegError.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from rtseg.batch import split, storage
from rtseg.batch.discover import Item, discover
from rtseg.batch.local import LocalExecutor, default_workers
from rtseg.batch.report import ReportFile, failure_lines, file_line, summary_table
from rtseg.batch.resume import is_complete
from rtseg.batch.tasks import Result, Task
from rtseg.batch.work import collected_warnings
from rtseg.errors import OutputBusy, RtsegError
from rtseg.io import remote
from rtseg.io.location import Location
from rtseg.io.outputs import OutputLock, check_output, partial_name
from rtseg.io.video.frame_stamps import frame_count, frames_missing
from rtseg.job import Job, JobConfig, lost_frames_warning
from rtseg.pipeline.progress import Progress

log = logging.getLogger(__name__)


@dataclass
class BatchOptions:
    """How to run a batch (the per-file options live in the JobConfig)."""

    sources: list[str]
    out: Location  # a folder, or a URL prefix (see `rtseg.io.remote`)
    fmt: str = "mp4"
    workers: int | None = None
    ray: str | None = None  # None: local processes; "": a local Ray instance; else its address
    split: int | str | None = None  # segments per long video, or "auto"
    report: Location | None = None
    max_attempts: int = 3
    quiet: bool = False

    def __post_init__(self) -> None:
        self.out = Location.of(self.out)  # paths and URLs given as strings are checked here
        self.report = Location.of(self.report) if self.report is not None else None


@dataclass
class _Unit:
    """One input of the batch and the tasks it became (one, or its segments)."""

    item: Item
    tasks: list[int] = field(default_factory=list)
    results: dict[int, Result] = field(default_factory=dict)
    read_here: int = 0  # bytes the batch's own process read from storage for it (planning)
    missing: int = 0  # frames its header promised that a split input does not hold
    # A split output's lock, held by the batch from planning to the join: its segments
    # are made and joined by this batch alone.
    lock: OutputLock | None = None
    finished: bool = False


def make_out_folder(out: Path) -> None:
    """Create the batch's --out folder, or fail in one line: a file of that name, or a place
    that cannot be written (read-only, not permitted), stops the batch before any work."""
    if out.exists() and not out.is_dir():
        raise RtsegError(f"--out {out} is a file; name a folder for the outputs")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RtsegError(f"cannot create the --out folder {out}: {exc.strerror}") from exc
    check_output(out / ".rtseg-check", overwrite=True)  # writable, also for root on read-only


def check_config(config: JobConfig, out: Location, fmt: str) -> None:
    """Set up (without running) the job every file will run, so a bad model, effect,
    effect/format pair or unwritable output folder fails once, before any worker starts.
    For a URL the job is set up here, and the storage is asked once: a missing bucket, or
    credentials that cannot write there, stop the batch before any work."""
    if out.is_remote:
        remote.check_writable(out.join(f".rtseg-check.{fmt}"), overwrite=True)
        out = Location.of(remote.temporary_dir())
    # named for this process: two batches on one --out each probe their own file
    probe = "null" if fmt == "png" else str(out.path / f".rtseg-check-{os.getpid()}.{fmt}")
    Job(replace(config, source="sample", max_frames=1, sinks=[probe], overwrite=True)).close()


def _executor(config: JobConfig, options: BatchOptions, workers: int):
    if options.ray is None:
        return LocalExecutor(config, workers, options.max_attempts)
    from rtseg.batch.ray_executor import RayExecutor

    # On Ray only an explicit --workers caps the tasks in flight; else the cluster's CPUs do.
    return RayExecutor(config, options.ray, options.workers, options.max_attempts)


def _plan(
    todo: list[Item], config: JobConfig, options: BatchOptions, workers: int, results: list
) -> tuple[list[_Unit], list[Task], int]:
    """Units and tasks for the inputs left to do, and how many frames they hold; a split
    output another rtseg run is writing is skipped (added to `results`)."""
    units: list[_Unit] = []
    tasks: list[Task] = []
    frames = 0
    sized = True  # every input counted: the bar has a total
    for item in todo:
        unit = _Unit(item)
        moved = remote.MOVED.snapshot()
        video = item.output.suffix != ""
        # Frames are counted (by demuxing) for splitting, and for the bar unless the input
        # is in storage, where counting would read it through once more.
        bar = not options.quiet and not item.source.is_remote
        wanted = bar or (options.split and video)
        count = (frame_count(item.source) or 0) if wanted else 0
        frames += count
        sized = sized and bool(wanted or options.quiet)
        parts = split.parts_for(options.split, count, workers) if video else 1
        if parts > 1:
            planned = split.plan(
                item.source, item.output, count, parts, config.mask_every, config.smooth
            )
            unit.missing = frames_missing(item.source)
        else:
            planned = [Task(item.source, item.output)]
        if len(planned) > 1:
            try:
                unit.lock = _lock_output(item.output)
            except OutputBusy as exc:
                results.append(Result.of(item, "skipped", attempts=0, error=str(exc)))
                continue
        unit.read_here = remote.MOVED.since(moved)[0]
        unit.tasks = list(range(len(tasks), len(tasks) + len(planned)))
        tasks += planned
        units.append(unit)
    return units, tasks, frames if sized else 0


def _lock_output(output: Location) -> OutputLock:
    """The lock on `output` (for a URL, on its staging path on this node)."""
    local = remote.staging_path(output) if output.is_remote else output.path
    local.parent.mkdir(parents=True, exist_ok=True)
    return OutputLock(local)


def _finish(unit: _Unit, tasks: list[Task]) -> Result:
    """The input's result once all its tasks ended: joins a split video's segments (and
    gives the output's lock up)."""
    unit.finished = True
    try:
        return _joined(unit, tasks)
    finally:
        if unit.lock is not None:
            unit.lock.release()


def _joined(unit: _Unit, tasks: list[Task]) -> Result:
    parts = [unit.results[i] for i in unit.tasks]
    if len(parts) == 1:
        parts[0].bytes_read += unit.read_here
        return parts[0]
    result = Result.of(
        unit.item,
        "failed",
        frames_in=sum(r.frames_in for r in parts),
        frames_out=sum(r.frames_out for r in parts),
        seconds=round(sum(r.seconds for r in parts), 3),
        attempts=max(r.attempts for r in parts),
        worker=", ".join(sorted({r.worker for r in parts if r.worker})),
        bytes_read=unit.read_here + sum(r.bytes_read for r in parts),
        bytes_written=sum(r.bytes_written for r in parts),
    )
    failed = [r for r in parts if r.status == "failed"]
    if failed:
        result.error = f"segment {failed[0].output.rpartition('/')[2]}: {failed[0].error}"
        storage.discard(unit.item.output)
        return result
    started = time.monotonic()
    moved = remote.MOVED.snapshot()
    try:
        segments = [tasks[i].output for i in unit.tasks]
        with collected_warnings() as joined:  # the input's tracks the output cannot hold
            storage.join(unit.item.source, segments, unit.item.output)
        lost = unit.missing + sum(r.frames_lost for r in parts)
        counts = {"frames_lost": lost, "frames_in": result.frames_in}
        line = lost_frames_warning(
            result.source, {**counts, "frames_expected": result.frames_in + lost}
        )
        warnings = [w for r in parts for w in r.warnings] + joined
        result.succeed(lost, ([line] if line else []) + warnings)
    except RtsegError as exc:
        result.fail(exc)
    read, written = remote.MOVED.since(moved)
    result.bytes_read += read
    result.bytes_written += written
    result.seconds = round(result.seconds + time.monotonic() - started, 3)
    result.fps = round(result.frames_out / result.seconds, 2) if result.seconds else 0.0
    return result


def _triage(items: list[Item], overwrite: bool, results: list[Result]) -> list[Item]:
    """The inputs still to do; complete outputs are skipped (and incomplete ones refused
    without `overwrite`), with their results added to `results`."""
    todo = []
    for item in items:
        moved = remote.MOVED.snapshot()
        if overwrite or not remote.exists(item.output):
            todo.append(item)
        elif is_complete(item.source, item.output):
            read = remote.MOVED.since(moved)[0]
            results.append(Result.of(item, "skipped", attempts=0, bytes_read=read))
        else:
            error = f"{item.output} exists but is not complete; pass --overwrite to replace it"
            results.append(Result.of(item, "failed", error=error))
    return todo


def run_batch(config: JobConfig, options: BatchOptions) -> int:
    """Run the batch `options` describe with the per-file settings of `config`."""
    started = time.monotonic()
    items, missing, passed_over = discover(options.sources, options.out, options.fmt)
    if not items and not missing:
        found = f"no videos or images found in {' '.join(options.sources)}"
        if passed_over:
            first = passed_over[0]
            found += f" ({len(passed_over)} files passed over, e.g. {first.path}: {first.reason})"
        raise RtsegError(found)
    cores = os.cpu_count() or 1
    workers = options.workers or default_workers(config.threads, cores)
    config = replace(config, threads=config.threads or max(1, cores // workers))
    executor = _executor(config, options, workers)  # Ray missing: one line, before any work
    if not options.out.is_remote:
        make_out_folder(options.out.path)
    check_config(config, options.out, options.fmt)
    executor.start(len(items))  # workers load their model while the batch plans
    report = ReportFile(options.report)
    results = [Result(m.source, "", "failed", error=m.reason) for m in missing]
    todo = _triage(items, config.overwrite, results)
    units, tasks, frames = _plan(todo, config, options, workers, results)
    for result in results:
        report.add(result)
    owner = {index: unit for unit in units for index in unit.tasks}
    progress = Progress(frames, files=len(units)) if not options.quiet else None

    def say(line: str) -> None:
        if progress is not None:
            progress.note(line)
        else:
            print(line, file=sys.stderr, flush=True)

    def on_result(index: int, result: Result) -> None:
        unit = owner[index]
        unit.results[index] = result
        if len(unit.results) == len(unit.tasks):
            final = _finish(unit, tasks)
            results.append(final)
            report.add(final)
            if progress is not None:
                moved = final.bytes_read or final.bytes_written
                progress.file_done(file_line(final) if moved else None)
            for warning in final.warnings:  # as each file ends, on the bar or the terminal
                say(f"rtseg: warning: {warning}")

    interrupted = False
    try:
        executor.run(tasks, on_result, progress.frames if progress else lambda n: None)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if progress is not None:
            progress.close()
        for unit in units:
            if not unit.finished:
                if len(unit.tasks) > 1:  # its uploaded segments are of no use to a rerun
                    storage.discard(unit.item.output)
                if unit.lock is not None:
                    unit.lock.release()
                stopped = Result.of(unit.item, "failed")
                stopped.error = "the batch was interrupted before this input finished"
                if unit.item.output.is_remote:
                    kept = partial_name(remote.staging_path(unit.item.output)).name
                    stopped.error += (
                        "; nothing was uploaded, and a partial output stays on the node that "
                        f"ran it, as {kept} under rtseg-staging/ in its temporary directory"
                    )
                results.append(stopped)
                report.add(stopped)
        report.close()
    if not options.quiet:
        took = time.monotonic() - started
        print(summary_table(results, took, executor.name, workers, passed_over))
    for line in failure_lines(results):
        print(line, file=sys.stderr)
    if interrupted:
        return 130
    return 1 if any(r.status == "failed" for r in results) else 0
