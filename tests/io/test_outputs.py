"""The rules every file output follows: checks before any work, the lock, temporary names."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from rtseg.errors import OutputBusy, RtsegError
from rtseg.io.destinations import VideoFile
from rtseg.io.outputs import (
    OutputLock,
    check_not_input,
    check_stats_path,
    claim_output,
    partial_name,
)
from tests.conftest import ROOT
from tests.reliability import Outcome, assert_clean_failure, run_cli


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
    check_stats_path(Path(os.devnull), source, [])  # stats not kept, as asked
    with pytest.raises(RtsegError, match="special file"):
        os.mkfifo(tmp_path / "stats.fifo")
        check_stats_path(tmp_path / "stats.fifo", source, [])


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


def test_a_kept_partial_is_cleared_only_by_the_run_that_holds_the_lock(tmp_path):
    """Another run's file in progress sits under the partial name: a run that cannot take
    the lock must leave it alone, even when told to replace partial outputs (a batch)."""
    out = tmp_path / "out.mp4"
    holder = claim_output(out, overwrite=False)
    partial_name(out).write_bytes(b"another run's frames, being written")
    with pytest.raises(OutputBusy):
        claim_output(out, overwrite=True, replace_partial=True)
    assert partial_name(out).read_bytes() == b"another run's frames, being written"
    holder.release()
    claim_output(out, overwrite=False, replace_partial=True).release()  # now it may
    assert not partial_name(out).exists()


def test_an_input_named_like_a_partial_file_is_a_video_and_never_deleted(
    tmp_path, clip, bright_model
):
    """`--source d/clip.partial.mp4 --sink d/clip.mp4` once wrote over (and, with
    --overwrite, deleted) the input: the output's temporary name was the input's name."""
    folder = tmp_path / "d"
    folder.mkdir()
    source = folder / "clip.partial.mp4"
    source.write_bytes(clip.read_bytes())
    model = ("--model", str(bright_model), "-q")
    for extra in ((), ("--overwrite",)):
        run = ("run", "--source", str(source), "--sink", str(folder / "clip.mp4"), *model)
        line = assert_clean_failure(run_cli(*run, *extra), "the input")
        assert "clip.partial.mp4" in line
        assert source.read_bytes() == clip.read_bytes()
    # As an input it is a video like any other.
    done = run_cli("run", "--source", str(source), "--sink", str(folder / "o.mp4"), *model)
    assert done.returncode == 0, done.stderr
    assert (folder / "o.mp4").exists() and source.read_bytes() == clip.read_bytes()


def test_a_file_size_limit_keeps_what_was_written_under_the_partial_name(tmp_path, bright_model):
    """EFBIG (`ulimit -f`, a FAT32 volume's 4 GiB, a quota) once removed the partial file; a
    full disk already kept it."""
    out = tmp_path / "out.mp4"
    command = [sys.executable, "-m", "rtseg", "run", "--source", "sample", "--max-frames",
               "300", "--sink", str(out), "--model", str(bright_model), "-q"]  # fmt: skip
    limited = subprocess.run(
        ["bash", "-c", 'ulimit -f 256 && exec "$@"', "bash", *command],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    outcome = Outcome(limited.returncode, limited.stderr, limited.stdout, 0.0)
    line = assert_clean_failure(outcome, "File too large")
    assert not out.exists()
    kept = partial_name(out)
    assert kept.exists() and kept.stat().st_size > 200 * 1024, line
    assert str(kept) in line


def test_the_null_device_is_a_null_sink_and_other_special_files_are_refused(
    tmp_path, clip, bright_model
):
    """`--sink /dev/null --overwrite` was taken for a PNG folder: `/dev/null.partial/` was
    made and filled, then the run failed. A node of the null device is checked here (the
    test makes its own, so nothing is written into /dev if it fails)."""
    null = tmp_path / "null"
    try:
        os.mknod(null, 0o666 | stat.S_IFCHR, os.stat(os.devnull).st_rdev)
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot make a device node here: {exc}")
    model = ("--source", str(clip), "--model", str(bright_model), "-q")
    for extra in ((), ("--overwrite",)):
        done = run_cli("run", *model, "--sink", str(null), *extra)
        assert done.returncode == 0, done.stderr
    assert stat.S_ISCHR(null.stat().st_mode)
    assert not any("partial" in p.name for p in tmp_path.iterdir())
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for sink in (fifo, tmp_path / "pipe.mp4"):
        if not sink.exists():
            os.mkfifo(sink)
        outcome = run_cli("run", *model, "--sink", str(sink), "--overwrite")
        assert_clean_failure(outcome, "special file")
    assert not any("partial" in p.name for p in tmp_path.iterdir())
