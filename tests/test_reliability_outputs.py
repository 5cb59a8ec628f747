"""Issue 6, outputs: unwritable places, existing outputs, and a disk that fills up mid-run."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import pytest

from rtseg.errors import RtsegError
from rtseg.io.sources import SampleSource
from rtseg.io.video.writer import VideoWriter
from rtseg.pipeline.channels import Policy
from rtseg.pipeline.frame import Frame
from rtseg.pipeline.pipeline import Pipeline, Stage
from tests.conftest import decode_frames
from tests.reliability import assert_clean_failure, run_cli


def run_sample_to(sink: Path | str, model: Path, *extra: str, frames: int = 10):
    return run_cli(
        "run", "--source", "sample", "--width", "320", "--height", "240",
        "--max-frames", str(frames), "--model", str(model), "--sink", str(sink), *extra,
    )  # fmt: skip


def copy_image(frame: Frame) -> None:
    frame.output = frame.image


@contextmanager
def tmpfs(where: Path, size: str, *options: str) -> Iterator[Path]:
    """A tiny filesystem of its own at `where`, or a skip where mounting is not allowed."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    where.mkdir()
    opts = ",".join([f"size={size}", *options])
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False)


@pytest.mark.timeout(60)
def test_a_file_where_the_output_directory_should_be(tmp_path, bright_model):
    (tmp_path / "some_file").write_text("x")
    line = assert_clean_failure(
        run_sample_to(tmp_path / "some_file" / "out.mp4", bright_model), "cannot write"
    )
    assert "not a directory" in line


@pytest.mark.timeout(60)
def test_a_read_only_filesystem(tmp_path, bright_model):
    with tmpfs(tmp_path / "ro", "1m", "ro") as ro:
        out = ro / "out.mp4"
        line = assert_clean_failure(run_sample_to(out, bright_model), "cannot write")
        assert "Read-only file system" in line
        assert not out.exists()


@pytest.mark.timeout(60)
def test_a_directory_without_write_permission(tmp_path, bright_model):
    if os.geteuid() == 0:
        pytest.skip("root may write anywhere, so permission bits cannot be tested as root")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    assert_clean_failure(run_sample_to(locked / "out.mp4", bright_model), "not writable")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["video", "pngs"])
def test_an_existing_output_is_never_clobbered(tmp_path, bright_model, kind):
    out = tmp_path / ("out.mp4" if kind == "video" else "frames")
    if kind == "video":
        out.write_bytes(b"precious")
    else:
        out.mkdir()
        (out / "keep.png").write_bytes(b"precious")
    assert_clean_failure(run_sample_to(out, bright_model), "--overwrite")
    kept = out if kind == "video" else out / "keep.png"
    assert kept.read_bytes() == b"precious"


@pytest.mark.timeout(90)
def test_a_disk_filling_up_mid_run_stops_and_keeps_a_playable_partial(tmp_path):
    """Encoders fail on a full disk only once the index no longer fits; the sink stops first."""
    with tmpfs(tmp_path / "small", "600k") as small:
        out = small / "out.mp4"
        source = SampleSource(frames=5000, width=320, height=240)
        sink = VideoWriter(out, fps=source.fps)
        pipeline = Pipeline(source, [Stage("copy", copy_image)], [sink], Policy.BLOCK)
        with pytest.raises(RtsegError) as info:
            pipeline.run()
        line = str(info.value)
        assert "disk full" in line and "free some space" in line
        assert str(sink.partial_path) in line
        assert not out.exists()
        assert len(decode_frames(sink.partial_path)) == sink.frames > 10


@pytest.mark.timeout(90)
def test_a_disk_filling_up_while_writing_pngs_keeps_whole_frames(tmp_path, bright_model):
    with tmpfs(tmp_path / "small", "300k") as small:
        out = small / "frames"
        outcome = run_sample_to(out, bright_model, frames=5000)
        line = assert_clean_failure(outcome, "No space left on device")
        partial = small / "frames.partial"
        assert str(partial) in line
        assert not out.exists()
        pngs = sorted(partial.iterdir())
        assert pngs and all(cv2.imread(str(p)) is not None for p in pngs)
