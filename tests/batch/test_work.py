"""Batch workers: every failure is reported with its real type and message."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from rtseg.batch.local import LocalExecutor
from rtseg.batch.tasks import Result, Task
from rtseg.batch.work import Worker
from rtseg.job import JobConfig
from tests.batch.media import make_clip
from tests.batch.test_runner import assert_same_timing_with_audio, read_report
from tests.conftest import ROOT


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


def test_two_batches_on_one_out_finish_every_output_between_them(
    tmp_path: Path, bright_model: Path
):
    """Started half a second apart, two batches on one --out once both exited 1 with OUT
    empty: each cleared the other's file in progress before taking its lock. Now each
    output is written by one of them, and the other skips it, saying why."""
    src, out = tmp_path / "in", tmp_path / "out"
    clips = [make_clip(src / f"{name}.mp4", 3.0, size="320x240") for name in "abcd"]
    batches = []
    for name in ("first", "second"):
        batches.append(subprocess.Popen(
            [sys.executable, "-m", "rtseg", "batch", str(src), "--out", str(out), "--model",
             str(bright_model), "--workers", "1", "--report", str(tmp_path / f"{name}.jsonl")],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))  # fmt: skip
        time.sleep(0.5)
    outcomes = [batch.communicate(timeout=240) for batch in batches]

    for batch, (_, stderr) in zip(batches, outcomes, strict=True):
        assert batch.returncode == 0, stderr
        assert "Traceback" not in stderr
    done = {}
    for name in ("first", "second"):
        for line in read_report(tmp_path / f"{name}.jsonl").values():
            if line["status"] == "done":
                done[line["source"]] = name
            else:
                assert line["status"] == "skipped", line  # complete, or the other's
                assert line["error"] is None or "another rtseg run" in line["error"], line
    assert sorted(Path(source).name for source in done) == [c.name for c in clips]
    for clip in clips:
        assert_same_timing_with_audio(out / clip.name, clip)
    assert sorted(p.name for p in out.iterdir()) == [c.name for c in clips]  # no partial left
