"""Grow, feather and smoothing changed while a real job runs: by the window's keys, and by the
preview page's sliders in a real headless Chromium."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rtseg.errors import RtsegError
from rtseg.io.sinks import KEYS
from rtseg.io.sources import IterableSource
from rtseg.job import Job, JobConfig
from tests.io.test_preview import CHROMIUM, run_chromium
from tests.test_job import GATE, RecordingSink, Running, start


def square_area(run: Running, frames: range) -> float:
    """The mean number of pixels at or above half opacity over `frames`."""
    alphas = [run.sink.frames[i].alpha for i in frames]
    return float(np.mean([np.count_nonzero(a >= (128 if a.dtype == np.uint8 else 0.5))
                          for a in alphas]))  # fmt: skip


def test_window_keys_step_the_settings_and_the_hud_shows_them(tmp_path: Path, bright_model):
    run = start(tmp_path, bright_model, "blur")
    controls = run.job.controls
    for key in "GGGffFssS":  # what the window's keys send, through its key table
        controls.on_key(KEYS[ord(key)])
    assert controls.tuning.values() == {"grow": 6, "feather": 2, "smooth": 0.4}
    assert "grow +6 px  feather 2 px  smooth 0.4" in controls.hud_lines()[-1]
    run.finish()
    assert run.job.stages.state.smoother.strength == 0.4  # the running job's, from then on
    before, after = square_area(run, range(GATE)), square_area(run, range(GATE + 1, 30))
    assert after > 1.2 * before  # the 60x50 square grown by 6 px all round: 1.5x


def test_a_control_out_of_range_is_refused_and_changes_nothing(tmp_path: Path, bright_model):
    run = start(tmp_path, bright_model, "blur")
    controls = run.job.controls
    with pytest.raises(RtsegError, match=r"grow must be in \[-40, 40\]"):
        controls.control("grow", 90)
    assert controls.control("feather", 8) == "feather 8"
    assert controls.live_stats()["feather"] == 8 and controls.live_stats()["grow"] == 0
    run.finish()


def paced_frames(stop: threading.Event) -> Iterator[np.ndarray]:
    """A bright 60x50 square on a dark textured background, at about 30 fps until `stop`."""
    image = np.random.default_rng(0).integers(0, 60, (120, 160, 3), dtype=np.uint8)
    image[30:90, 50:100] = 255
    while not stop.wait(1 / 30):
        yield image


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")
def test_preview_sliders_change_a_running_job(tmp_path: Path, bright_model):
    """The page of a real job's preview draws its sliders from the job's ranges; moving
    them in Chromium reaches the running job, and the frames after show it."""
    stop, sink = threading.Event(), RecordingSink()
    config = JobConfig(source="<frames>", model=bright_model, sinks=["http:0", sink])
    job = Job(config, source=IterableSource(paced_frames(stop), fps=30))
    run = Running(job, sink)
    try:
        run.wait_for_frames(5)
        url = f"http://127.0.0.1:{job.sinks[0].port}/?autotest=1&slide=grow:-8&slide=smooth:0.9"
        dom = run_chromium(url, tmp_path / "profile")
        body = re.search(r"<body[^>]*>", dom).group(0)
        assert 'data-slid="grow:-8,smooth:0.9"' in body, body
        assert job.controls.tuning.values() == {"grow": -8, "feather": 0, "smooth": 0.9}
        assert re.search(r'<input type="range"[^>]*data-key="feather"', dom)  # all three drawn
        changed = len(sink.frames)
        run.wait_for_frames(changed + 5)
    finally:
        stop.set()
        run.thread.join(60)
    assert run.error is None
    assert job.stages.state.smoother.strength == 0.9  # taken up by the frames after
    before = square_area(run, range(5))
    after = square_area(run, range(changed + 2, changed + 5))
    assert after < 0.8 * before  # shrunk by 8 px all round: 0.53x
