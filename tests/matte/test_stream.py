"""`StreamState`: what one stream carries from frame to frame, and when it lets go of it."""

from pathlib import Path

import numpy as np
import pytest

from rtseg.matte.stream import GAP_S, StreamState, Timeline
from rtseg.matte.temporal import TemporalSmoother
from rtseg.models.engine import Engine
from tests.onnx_models import rvm_signature_model


@pytest.fixture(scope="module")
def rvm(tmp_path_factory) -> Engine:
    path = rvm_signature_model(Path(tmp_path_factory.mktemp("rvm")) / "rvm_like.onnx")
    return Engine(path, "cpu", 1)


def grey() -> np.ndarray:
    return np.full((1, 36, 64, 3), 100, np.uint8)


def test_a_pass_s_state_lasts_one_step_and_no_longer(rvm: Engine) -> None:
    state = StreamState()
    state.begin_step()
    state.keep("full", rvm.run(grey()).state)
    state.keep("crop", rvm.run(grey()).state)
    assert state.recurrent_state("full") is not None  # a photo's repeated passes: same step
    state.begin_step()
    state.keep("crop", rvm.run(grey(), state.recurrent_state("crop")).state)
    assert state.recurrent_state("full") is not None  # made by the step just before
    state.begin_step()  # the whole frame skipped a step: its state would be a step old
    assert state.recurrent_state("full") is None and state.recurrent_state("crop") is not None
    assert set(state.recurrent) == {"crop"}  # and is no longer held


def test_restart_forgets_everything_but_the_times(rvm: Engine) -> None:
    smoother = TemporalSmoother()
    state = StreamState(smoother)
    state.begin_step()
    state.keep("full", rvm.run(grey()).state)
    smoother.update(np.zeros((4, 4), np.uint8), np.ones((4, 4), np.float32))
    state.timeline.advance(1.0)
    state.restart()
    assert state.recurrent == {} and state.last is None and state.step == 0
    first = smoother.update(np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.float32))
    assert first.max() == 0.0  # nothing smoothed towards the old stream
    assert state.timeline.advance(1.04) == (False, 1.0)  # the times go on
    state.reset()
    assert state.timeline.advance(1.08)[0]  # reset forgets them too


def test_the_timeline_weighs_periods_and_starts_afresh_after_a_gap() -> None:
    line = Timeline()
    assert line.advance(0.0) == (True, 1.0)
    assert line.advance(0.04) == (False, 1.0)
    assert line.advance(0.12) == (False, pytest.approx(2.0))  # a frame was lost
    assert line.advance(0.12 + GAP_S + 0.01) == (True, 1.0)
