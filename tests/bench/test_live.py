"""Live mode's latency bound: a frame waits for at most one item in progress per step."""

import pytest

from benchmarks.slow_model import slow_model
from rtseg.bench.live import bench_live, overload_check


@pytest.fixture
def slow(tmp_path):
    return slow_model(tmp_path / "slow.onnx", size=96, channels=16, depth=3)


def test_latency_stays_bounded_and_queues_do_not_grow_when_overloaded(clip, slow):
    run = bench_live(
        str(clip), "native", str(slow), fps=200.0, frames=30, device="cpu", threads=1, sink="null"
    )
    assert run["frames_out"] + run["drops"] == run["frames_in"] == 30
    assert max(run["high_water"].values()) <= 2
    # Structural bound: one period at the source plus, per step, the item in progress and the
    # frame's own turn. A queue (BLOCK) would instead add a whole queue of model runs.
    period = 1000.0 / run["fps_target"]
    worst = sum(max(s) for name, s in run["samples_ms"].items() if name != "capture->sink")
    assert max(run["samples_ms"]["capture->sink"]) <= period + 2 * worst + 20.0
    check = overload_check(run)
    assert check["drops"] == run["drops"] and check["queues_bounded"]


def test_overload_check_arithmetic():
    run = {
        "fps_target": 20.0,
        "stages_ms": {"infer": {"p50": 80.0}},
        "latency_ms": {"p99": 200.0},
        "high_water": {"a": 1, "b": 2},
        "drops": 7,
    }
    check = overload_check(run)
    assert check["bound_ms"] == 210.0 and check["bounded"] and check["overloaded"]
    assert not overload_check(run | {"latency_ms": {"p99": 211.0}})["bounded"]
    assert not overload_check(run | {"high_water": {"a": 5}})["queues_bounded"]
