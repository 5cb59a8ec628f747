"""Batch workers: every failure is reported with its real type and message."""

from __future__ import annotations

from pathlib import Path

from rtseg.batch.local import LocalExecutor
from rtseg.batch.tasks import Result, Task
from rtseg.batch.work import Worker
from rtseg.job import JobConfig
from tests.batch.media import make_clip


def test_a_failure_is_reported_with_its_type_and_the_worker_goes_on(
    tmp_path: Path, bright_model: Path
):
    clip = make_clip(tmp_path / "a.mp4", 0.2)
    (tmp_path / "taken").write_text("a file where the output's folder should be")
    worker = Worker(JobConfig(model=str(bright_model), device="cpu", sinks=[]))
    failed = worker.run(Task(str(clip), str(tmp_path / "taken" / "a.mp4")))
    assert failed.status == "failed"
    assert failed.error.startswith("FileExistsError: ") and "taken" in failed.error
    assert failed.error_type == "FileExistsError"
    done = worker.run(Task(str(clip), str(tmp_path / "out" / "a.mp4")))
    assert done.status == "done" and done.frames_out == 5


def test_a_worker_that_cannot_load_its_model_says_why_and_is_not_retried(tmp_path: Path):
    """A model missing where a worker runs (a node without the file) fails each task with
    that reason once, instead of the worker process dying, being restarted and reported as
    "worker process died" after every attempt."""
    clip = make_clip(tmp_path / "a.mp4", 0.2)
    missing = tmp_path / "gone.onnx"
    executor = LocalExecutor(JobConfig(model=str(missing), sinks=[]), workers=1, max_attempts=3)
    results: dict[int, Result] = {}
    task = Task(str(clip), str(tmp_path / "out" / "a.mp4"))
    executor.run([task], results.__setitem__, lambda frames: None)
    (result,) = results.values()
    assert (result.status, result.attempts) == ("failed", 1), result.error
    assert result.error == f"the worker could not load the model: model file not found: {missing}"
    assert result.error_type == "RtsegError"
