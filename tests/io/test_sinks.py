"""File outputs through the public API: what overwriting removes, and what it never does."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import rtseg
from rtseg.errors import RtsegError
from rtseg.pipeline.frame import Frame


def run(target: Path, model: Path, frames: int, **options) -> None:
    rtseg.process_video(
        "sample", target, model=model, max_frames=frames, width=64, height=48, **options
    )


def stopped_run(target: Path, model: Path, after: int) -> None:
    """A run into `target` stopped as Ctrl-C stops it, after `after` frames."""
    stop = rtseg.Callback(lambda frame: frame.seq == after and job.pipeline.interrupt())
    job = rtseg.Job(
        rtseg.JobConfig(
            source="sample", model=str(model), width=64, height=48, max_frames=1000,
            sinks=[stop, str(target)],
        )
    )  # fmt: skip
    with pytest.raises(rtseg.Stopped):
        job.run()


def test_overwriting_an_image_folder_removes_only_what_rtseg_wrote(tmp_path, bright_model):
    out = tmp_path / "frames"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    cv2.imwrite(str(out / "mine.png"), np.zeros((4, 4, 3), np.uint8))
    run(out, bright_model, 6, overwrite=True)
    pngs = sorted(p.name for p in out.glob("0*.png"))
    assert pngs == [f"{i:06d}.png" for i in range(6)]
    run(out, bright_model, 3, overwrite=True)  # fewer frames: the other three go
    assert sorted(p.name for p in out.glob("0*.png")) == pngs[:3]
    assert (out / "notes.txt").read_text() == "mine" and (out / "mine.png").is_file()


def test_a_folder_only_rtseg_wrote_is_replaced_by_the_new_frames(tmp_path, bright_model):
    out = tmp_path / "frames"
    run(out, bright_model, 6)
    run(out, bright_model, 3, overwrite=True)
    assert sorted(p.name for p in out.glob("*.png")) == [f"{i:06d}.png" for i in range(3)]
    assert not (tmp_path / "frames.partial").exists()


@pytest.mark.parametrize("name", ["out.mp4", "frames"])
def test_a_run_without_overwrite_keeps_the_partial_an_earlier_stopped_run_left(
    tmp_path, bright_model, name
):
    out = tmp_path / name
    stopped_run(out, bright_model, after=4)
    partial = tmp_path / ("out.partial.mp4" if name == "out.mp4" else "frames.partial")
    assert partial.exists() and not out.exists()
    kept = {p: p.read_bytes() for p in ([partial] if partial.is_file() else partial.iterdir())}
    with pytest.raises(RtsegError, match=r"out\.partial\.mp4|frames\.partial"):
        run(out, bright_model, 3)
    assert {p: p.read_bytes() for p in kept} == kept  # untouched
    assert not out.exists()
    run(out, bright_model, 3, overwrite=True)  # asked to: the partial is replaced
    assert out.exists() and not partial.exists()


class TwoFramesOneName:
    """A source whose two frames carry the same name."""

    live, fps = False, 30.0

    def __init__(self) -> None:
        self.seq = 0

    def read(self) -> Frame | None:
        if self.seq == 2:
            return None
        self.seq += 1
        return Frame(self.seq - 1, np.full((16, 16, 3), 90 * self.seq, np.uint8), name="x")

    def close(self) -> None:
        pass


def test_a_frame_is_never_written_over_another_of_the_same_name(tmp_path, bright_model):
    out = tmp_path / "frames"
    config = rtseg.JobConfig(model=str(bright_model), sinks=[rtseg.ImageFolder(out)])
    job = rtseg.Job(config, source=TwoFramesOneName())
    with pytest.raises(RtsegError, match="two frames are both named x"):
        job.run()
    assert not out.exists()
