"""URLs as inputs and outputs (`rtseg.io.remote`), on fsspec's in-process memory filesystem:
the same code path as s3:// or gs:// without a server (`tests/batch/test_cloud.py` runs the
real S3 API)."""

from __future__ import annotations

import functools
import http.server
import os
import re
import sys
import threading
from pathlib import Path

import fsspec
import pytest

import rtseg
from rtseg.cli import main as rtseg_main
from rtseg.errors import OutputBusy, RtsegError
from rtseg.io import remote
from rtseg.io.location import Location
from rtseg.io.sources import open_source
from rtseg.io.video.reader import VideoReader
from tests.batch.media import make_clip
from tests.batch.test_runner import assert_same_timing_with_audio
from tests.conftest import write_clip
from tests.media import audio_tracks, frame_times


@pytest.fixture
def memory():
    fs = fsspec.filesystem("memory")
    yield fs
    fs.rm("/", recursive=True)


@pytest.mark.parametrize(
    ("spec", "is_url"),
    [
        ("s3://bucket/a.mp4", True),
        ("gs://bucket/dir/", True),
        ("az://container/a.mp4", True),
        ("https://host/a.mp4", True),
        ("take:2.mp4", False),
        ("/dev/video0", False),
        ("rtsp://camera/stream", False),
        ("file:///tmp/a.mp4", False),
        ("talks/a.mp4", False),
    ],
)
def test_which_specs_are_storage_urls(spec: str, is_url: bool):
    assert remote.is_remote(spec) is is_url


def test_a_web_video_file_is_a_file_and_a_live_stream_url_stays_a_stream():
    with pytest.raises(RtsegError, match=re.escape("not found: http://127.0.0.1:9/a.mp4")):
        open_source("http://127.0.0.1:9/a.mp4")  # read as a file, through fsspec's http
    with pytest.raises(RtsegError, match="is the stream up"):
        open_source("http://127.0.0.1:9/live.ts")


def test_readers_of_one_object_share_its_blocks_and_seek_by_range(memory, monkeypatch):
    monkeypatch.setattr(remote, "BLOCK_BYTES", 1000)
    data = os.urandom(4500)
    memory.pipe_file("/media/blob.bin", data)
    before = remote.MOVED.snapshot()
    first, second = (
        remote.open_reader(Location.of("memory://media/blob.bin")),
        remote.open_reader(Location.of("memory://media/blob.bin")),
    )
    assert first.read(1500) == data[:1500]
    assert second.read(1700) == data[:1700]  # the blocks the first fetched
    second.seek(-300, os.SEEK_END)
    assert second.read() == data[-300:]
    assert first.read() == data[1500:]
    assert remote.MOVED.since(before) == (len(data), 0)


def test_run_from_a_url_to_a_url_is_frame_exact_with_audio(tmp_path, bright_model, memory):
    clip = make_clip(tmp_path / "a.mp4", 1.0)
    memory.put_file(str(clip), "/media/a.mp4")

    run = ["run", "--source", "memory://media/a.mp4", "--sink", "memory://results/a.mp4"]
    code = rtseg_main([*run, "--model", str(bright_model), "-q"])

    assert code == 0
    memory.get_file("/results/a.mp4", str(tmp_path / "out.mp4"))
    assert_same_timing_with_audio(tmp_path / "out.mp4", clip)
    # A second run refuses the object now there, as it refuses a file.
    assert rtseg_main([*run, "--model", str(bright_model), "-q"]) == 2


def test_an_aborted_output_uploads_nothing_and_keeps_its_partial_file(
    tmp_path, memory, monkeypatch
):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    clip = make_clip(tmp_path / "a.mp4", 1.0)
    memory.put_file(str(clip), "/media/a.mp4")
    from rtseg.io.video.writer import VideoWriter

    source = VideoReader("memory://media/a.mp4")
    sink = remote.staged_output(
        Location.of("memory://results/a.mp4"),
        overwrite=False,
        open_local=lambda local: VideoWriter(local, fps=source.fps, audio_from=source.path),
    )
    for _ in range(10):
        frame = source.read()
        frame.output = frame.image
        sink.write(frame)
    sink.abort()
    source.close()

    assert not memory.exists("/results/a.mp4")
    assert sink.partial_path is not None and sink.partial_path.exists()
    assert Path(sink.partial_path).is_relative_to(tmp_path)
    assert ".partial" in sink.partial_path.name


def test_an_output_url_that_exists_is_refused_before_any_work(memory):
    memory.pipe_file("/results/a.mp4", b"done before")
    with pytest.raises(RtsegError, match="already exists"):
        remote.check_writable(Location.of("memory://results/a.mp4"), overwrite=False)
    with pytest.raises(RtsegError, match="read-only"):
        remote.check_writable(Location.of("https://host/a.mp4"), overwrite=True)


def test_without_the_cloud_extra_a_url_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "fsspec", None)  # `import fsspec` fails, as uninstalled
    monkeypatch.setitem(sys.modules, "fsspec.core", None)
    monkeypatch.setitem(sys.modules, "fsspec.registry", None)
    assert remote.is_remote("s3://bucket/a.mp4") and not remote.is_remote("take:2.mp4")
    # http(s) goes to FFmpeg's own reader, as it did before storage URLs: no extra needed
    assert not remote.is_remote("https://host/talk.mp4")
    with pytest.raises(RtsegError, match=re.escape("s3://bucket/a.mp4: s3:// needs fsspec: pip")):
        open_source("s3://bucket/a.mp4")


def test_without_the_cloud_extra_an_http_video_opens_as_before(monkeypatch, tmp_path):
    """A web video needs no extra: FFmpeg's own reader takes it, as before storage URLs."""
    monkeypatch.setitem(sys.modules, "fsspec", None)
    monkeypatch.setitem(sys.modules, "fsspec.core", None)
    monkeypatch.setitem(sys.modules, "fsspec.registry", None)
    write_clip(tmp_path / "talk.mp4", frames=5)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        source = open_source(f"http://127.0.0.1:{server.server_port}/talk.mp4")
        try:
            frame = source.read()
            assert frame is not None and frame.image.shape == (120, 160, 3)
        finally:
            source.close()
            server.shutdown()


def test_a_sink_key_that_climbs_is_refused_and_no_local_file_is_touched(
    tmp_path, bright_model, memory, monkeypatch
):
    """`--sink memory://results/x/../../../LOCAL/file.mp4` once staged the output onto that
    local file: overwritten, uploaded, then deleted, and the run exited 0."""
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setattr("tempfile.tempdir", None)
    (tmp_path / "tmp").mkdir()
    victim = tmp_path / "victim.mp4"
    victim.write_bytes(b"a user's file")
    clip = make_clip(tmp_path / "a.mp4", 0.4)
    memory.put_file(str(clip), "/media/climb.mp4")
    for climb in ("../" * 12, "%2e%2e/" * 12):
        sink = f"memory://results/x/{climb}{str(victim).lstrip('/')}"
        for extra in ((), ("--overwrite",)):
            code = rtseg_main(["run", "--source", "memory://media/climb.mp4", "--sink", sink,
                               "--model", str(bright_model), "-q", *extra])  # fmt: skip
            assert code == 2
            assert victim.read_bytes() == b"a user's file"
    assert not memory.find("/results")


def test_a_key_with_hash_or_question_mark_is_an_object_name(tmp_path, bright_model, memory):
    """Storage keys keep `#` and `?` (once refused as 'PNG frames go to a local folder')."""
    clip = make_clip(tmp_path / "a.mp4", 0.4)
    memory.put_file(str(clip), "/media/take #1?.mp4")
    run = ["run", "--source", "memory://media/take #1?.mp4", "--sink",
           "memory://results/take #1?v=2.mp4", "--model", str(bright_model), "-q"]  # fmt: skip
    assert rtseg_main(run) == 0
    assert memory.find("/results") == ["/results/take #1?v=2.mp4"]


def test_a_video_read_from_storage_is_written_like_itself_with_its_audio(tmp_path, memory):
    clip = make_clip(tmp_path / "a.mp4", 0.5)
    memory.put_file(str(clip), "/media/a.mp4")
    out = tmp_path / "out.mp4"
    with rtseg.read_video("memory://media/a.mp4") as reader:
        assert reader.info.path == Location.of("memory://media/a.mp4")
        with rtseg.VideoWriter(out, like=reader) as writer:
            for frame in reader:
                writer.write(frame.image, time_s=frame.time_s)
    assert frame_times(out) == pytest.approx(frame_times(clip), abs=1e-3)
    assert audio_tracks(out) == ["aac"]


def test_the_stated_stall_is_read_from_the_environment_and_checked(monkeypatch):
    monkeypatch.delenv("RTSEG_STORE_STALL_S", raising=False)
    assert remote.stall_s() == remote.STALL_S
    monkeypatch.setenv("RTSEG_STORE_STALL_S", "2.5")
    assert remote.stall_s() == 2.5
    for bad in ("abc", "0", "-1", "inf", "nan"):
        monkeypatch.setenv("RTSEG_STORE_STALL_S", bad)
        with pytest.raises(RtsegError, match="RTSEG_STORE_STALL_S must be a number of seconds"):
            remote.stall_s()


def test_a_url_another_run_on_this_node_is_writing_is_refused_and_its_file_kept(
    tmp_path, memory, monkeypatch
):
    """Two runs writing one URL on one node share its staging file: the second is refused
    in one line, before it removes anything there."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    from rtseg.io.outputs import claim_output, partial_name

    target = Location.of("memory://results/a.mp4")
    local = remote.staging_path(target)
    local.parent.mkdir(parents=True)
    first = claim_output(local, overwrite=True)
    partial_name(local).write_bytes(b"the first run's frames")
    local.write_bytes(b"a complete file the first run is uploading")
    with pytest.raises(OutputBusy, match=re.escape("memory://results/a.mp4 is being written")):
        remote.staged_output(target, True, lambda path: claim_output(path, True, True))
    assert partial_name(local).read_bytes() == b"the first run's frames"
    assert local.read_bytes() == b"a complete file the first run is uploading"
    first.release()
