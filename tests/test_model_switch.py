"""Building a model off the caller's thread: one at a time, answered or reported, released."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

import rtseg
from rtseg.errors import RtsegError
from rtseg.model_switch import ModelSwitch
from rtseg.models.engine import Engine
from tests.onnx_models import brightness_model, failing_model


class Builds:
    """Builds real engines by name, on whichever thread calls, once the test lets it."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.go = threading.Event()
        self.threads: list[str] = []
        self.built: list[Engine] = []

    def __call__(self, name: str) -> Engine:
        self.threads.append(threading.current_thread().name)
        assert self.go.wait(30)
        if name == "missing":
            raise RtsegError("unknown model 'missing'")
        if name == "ort-fails":  # ONNX Runtime's own exception, as a GPU out of memory raises
            engine = Engine(brightness_model(self.tmp_path / "ort.onnx"), "cpu")
            assert engine.session is not None
            engine.session.run(None, {"image": np.zeros((1, 2, 2, 3), np.uint8)})
        labels = name == "labelled"
        engine = Engine(brightness_model(self.tmp_path / f"{name}.onnx", labels=labels), "cpu")
        self.built.append(engine)
        return engine


def people_only(engine: Engine) -> str | None:
    return "needs labels" if not engine.info.has_labels else None


def test_a_model_is_built_off_the_calling_thread_and_taken_once(tmp_path: Path) -> None:
    builds = Builds(tmp_path)
    builds.go.set()
    switch = ModelSwitch(builds, lambda engine: None)
    assert switch.request("plain") == "switching to plain"
    assert builds.threads == ["rtseg-model-load"]
    engine = switch.take()
    assert engine is builds.built[0] and switch.take() is None
    switch.close()
    assert engine.session is not None  # taken: the taker owns it now
    engine.close()


def test_a_second_request_while_loading_is_refused_and_the_late_one_lands(tmp_path: Path):
    builds = Builds(tmp_path)
    switch = ModelSwitch(builds, lambda engine: None, wait_s=0.05)
    assert switch.request("slow") == "loading slow; it takes over when ready"
    with pytest.raises(RtsegError, match="slow is still loading"):
        switch.request("other")
    assert switch.take() is None  # nothing to swap in while it builds
    builds.go.set()
    switch.close()  # waits for the build; releases what nobody took
    assert len(builds.built) == 1 and builds.built[0].session is None


def test_a_refusal_is_the_answer_and_the_built_engine_is_released(tmp_path: Path) -> None:
    builds = Builds(tmp_path)
    builds.go.set()
    switch = ModelSwitch(builds, people_only)
    with pytest.raises(RtsegError, match="needs labels"):
        switch.request("plain")
    assert builds.built[0].session is None and switch.take() is None
    with pytest.raises(RtsegError, match="cannot switch to missing: unknown model"):
        switch.request("missing")
    assert switch.request("labelled") == "switching to labelled"
    engine = switch.take()
    assert engine is not None and engine.info.has_labels
    engine.close()
    switch.close()


def test_a_refusal_after_the_answer_goes_to_the_status(tmp_path: Path) -> None:
    builds = Builds(tmp_path)
    switch = ModelSwitch(builds, people_only, wait_s=0.0)
    assert switch.request("plain").startswith("loading plain")
    assert switch.status == "loading plain"
    builds.go.set()
    switch.close()
    assert switch.status == "needs labels" and switch.take() is None


def test_a_build_failing_inside_onnxruntime_is_answered_as_a_failure(tmp_path: Path) -> None:
    builds = Builds(tmp_path)
    builds.go.set()
    switch = ModelSwitch(builds, lambda engine: None)
    with pytest.raises(RtsegError, match=r"cannot switch to ort-fails: InvalidArgument: .+"):
        switch.request("ort-fails")
    assert switch.status.startswith("cannot switch to ort-fails: InvalidArgument")
    assert switch.take() is None
    switch.close()


def test_a_build_failing_inside_onnxruntime_after_the_answer_goes_to_the_status(
    tmp_path: Path,
) -> None:
    builds = Builds(tmp_path)
    switch = ModelSwitch(builds, lambda engine: None, wait_s=0.0)
    failures: list[BaseException] = []
    previous, threading.excepthook = threading.excepthook, lambda a: failures.append(a.exc_value)
    try:
        assert switch.request("ort-fails").startswith("loading")
        builds.go.set()
        switch.close()  # waits for the loader
    finally:
        threading.excepthook = previous
    assert failures == []  # the loader thread did not die of it
    assert switch.status.startswith("cannot switch to ort-fails: InvalidArgument")


def test_a_model_that_fails_on_its_warm_up_is_refused_and_the_run_goes_on(
    tmp_path: Path, bright_model: Path
) -> None:
    broken = failing_model(tmp_path / "broken.onnx", always=True)
    job = rtseg.Job(
        rtseg.JobConfig(
            source="sample", model=str(bright_model), sinks=["null"], max_frames=2, width=64,
            height=48,
        )
    )  # fmt: skip
    with pytest.raises(RtsegError, match=r"cannot switch to .*broken\.onnx: .*blank frame"):
        job.controls.control("model", str(broken))
    assert job.controls.live_stats()["switch"].startswith(f"cannot switch to {broken}")
    job.run()
    assert job.summary()["model"] == "brightness"  # the run went on with its model
