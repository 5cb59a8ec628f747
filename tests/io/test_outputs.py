"""The rules every file output follows: checks before any work, the lock, temporary names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rtseg.errors import RtsegError
from rtseg.io.destinations import VideoFile
from rtseg.io.outputs import (
    OutputLock,
    check_not_input,
    check_stats_path,
    claim_output,
    partial_name,
)


def test_a_second_claim_on_the_same_output_is_refused_until_the_first_lets_go(tmp_path):
    out = tmp_path / "out.mp4"
    first = claim_output(out, overwrite=False)
    with pytest.raises(RtsegError, match="being written by another rtseg run"):
        claim_output(out, overwrite=False)
    first.release()
    first.release()  # idempotent
    assert list(tmp_path.iterdir()) == []  # the lock file goes with the lock
    claim_output(out, overwrite=False).release()


def test_the_lock_holds_across_processes_and_dies_with_its_holder(tmp_path):
    out = tmp_path / "out.mp4"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from rtseg.io.outputs import OutputLock; lock = OutputLock(Path(sys.argv[1])); "
         "print('held', flush=True); time.sleep(60)", str(out)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()},
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RtsegError, match="another rtseg run"):
            OutputLock(out)
    finally:
        holder.kill()
        holder.wait()
    OutputLock(out).release()  # a killed holder leaves a lock file, but no lock


def test_the_input_itself_is_refused_as_an_output(tmp_path):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"video")
    (tmp_path / "link.mp4").symlink_to(clip)
    for same in (clip, tmp_path / "link.mp4", tmp_path / "." / "clip.mp4"):
        with pytest.raises(RtsegError, match="is the input"):
            check_not_input(same, clip)
    check_not_input(tmp_path / "other.mp4", clip)
    check_not_input(clip, None)


def test_the_stats_path_is_checked_like_an_output(tmp_path):
    source = tmp_path / "in.mp4"
    source.write_bytes(b"video")
    check_stats_path(tmp_path / "s.json", source, ["out.mp4"])
    with pytest.raises(RtsegError, match="does not exist"):
        check_stats_path(tmp_path / "no" / "s.json", source, [])
    with pytest.raises(RtsegError, match="is the input"):
        check_stats_path(source, source, [])
    with pytest.raises(RtsegError, match="both --stats-json and a --sink"):
        check_stats_path(tmp_path / "out.mp4", source, [str(tmp_path / "out.mp4")])
    with pytest.raises(RtsegError, match="both --stats-json and a --sink"):
        check_stats_path(tmp_path / "o.mp4", source, ["null", VideoFile(tmp_path / "o.mp4")])


@pytest.mark.parametrize(
    ("name", "partial"),
    [
        ("out.mp4", "out.partial.mp4"),
        ("frames", "frames.partial"),
        ("take:2.mov", "take:2.partial.mov"),
    ],
)
def test_partial_names_say_partial_and_keep_the_suffix(name, partial):
    assert partial_name(Path(name)) == Path(partial)
