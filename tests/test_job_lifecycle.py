"""`Job`'s lifecycle through the public API: an early end is never a complete output, and a
set-up that fails half-way leaves nothing open (no partial file, no lock, no thread)."""

from __future__ import annotations

import logging
import re
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import rtseg
from rtseg.errors import RtsegError, Stopped
from tests.conftest import decode_frames, write_clip


def rtseg_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("rtseg-") and t.is_alive()]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != "in.mp4")


def test_an_aborted_run_keeps_a_partial_file_and_says_it_stopped(tmp_path):
    out = tmp_path / "out.mp4"
    job = rtseg.Job(rtseg.JobConfig(source="sample", max_frames=200, sinks=[str(out)]))

    def abort_at_20(frame: rtseg.Frame) -> None:
        if frame.seq == 20:
            job.pipeline.abort()

    job.add_sink(rtseg.Callback(abort_at_20))
    with pytest.raises(Stopped, match=r"stopped early by an abort.*out\.partial\.mp4"):
        job.run()
    assert not out.exists()  # never under the final name
    assert 0 < len(decode_frames(tmp_path / "out.partial.mp4")) < 200


def test_process_video_raises_when_a_callback_fails_and_keeps_the_partial(tmp_path):
    out = tmp_path / "out.mp4"

    def fail_at_10(frame: rtseg.Frame) -> None:
        if frame.seq == 10:
            raise RuntimeError("callback gave up")

    with pytest.raises(rtseg.StageError, match="callback gave up"):
        rtseg.process_video("sample", out, on_frame=fail_at_10, max_frames=100)
    assert not out.exists()
    assert 0 < len(decode_frames(tmp_path / "out.partial.mp4")) < 100


@pytest.mark.parametrize(
    "bad", [{"quality": "superb"}, {"mask_every": 0}, {"capacity": 0}, {"max_frames": -1}]
)
def test_bad_settings_are_rtseg_errors_and_open_nothing(tmp_path, bad):
    clip = write_clip(tmp_path / "in.mp4", frames=6)
    out = tmp_path / "out.mp4"
    with pytest.raises(RtsegError) as raised:
        rtseg.process_video(clip, out, **bad)
    assert next(iter(bad)) in str(raised.value) or "quality" in str(raised.value)
    assert leftovers(tmp_path) == []
    assert rtseg.process_video(clip, out).frames_out == 6  # the same output, at once


def test_a_failure_after_the_outputs_opened_releases_them(tmp_path, caplog):
    """A video file, a PNG folder and the browser preview (its server thread really
    started, on a port of its own) are open when the fourth output is refused."""
    clip = write_clip(tmp_path / "in.mp4", frames=6)
    out, frames = tmp_path / "out.mp4", tmp_path / "frames"
    before = {t.ident for t in threading.enumerate()}
    caplog.set_level(logging.INFO, logger="rtseg")
    with pytest.raises(RtsegError, match="is not a sink"):
        rtseg.Job(rtseg.JobConfig(source=str(clip), sinks=[str(out), str(frames), "http:0", 42]))
    (url,) = re.findall(r"preview at (http://\S+)", caplog.text)  # it was listening...
    assert ":0/" not in url  # on the port it was given
    with pytest.raises(urllib.error.URLError):  # ...and is no longer
        urllib.request.urlopen(url, timeout=5)
    assert leftovers(tmp_path) == []
    assert [t.name for t in threading.enumerate() if t.ident not in before] == []
    # the locks were released: the same outputs are written in this process at once
    stats = rtseg.process_video(clip, [out, frames])
    assert stats.frames_out == 6 and len(list(frames.glob("*.png"))) == 6


def test_a_job_closed_without_running_releases_everything(tmp_path):
    clip = write_clip(tmp_path / "in.mp4", frames=6)
    out = tmp_path / "out.mp4"
    with rtseg.Job(rtseg.JobConfig(source=str(clip), sinks=[str(out)])) as job:
        engine = job.engine
    assert engine.session is None
    assert leftovers(tmp_path) == []
    with pytest.raises(RtsegError, match="runs once"):
        job.run()
    assert not rtseg_threads()
    assert rtseg.process_video(clip, out).frames_out == 6


def test_outputs_cannot_be_added_once_the_job_ran(tmp_path):
    job = rtseg.Job(rtseg.JobConfig(source="sample", max_frames=3, sinks=["null"]))
    job.run()
    with pytest.raises(RtsegError, match="before the job runs"):
        job.add_sink("null")
