"""`rtseg.read_video` and `rtseg.VideoWriter`, through the public names: a read-then-write
loop keeps every frame's time and the audio in sync, as `rtseg run` does."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

import rtseg
from tests.media import (
    MARKER_S,
    audio_tracks,
    beep_time,
    ffmpeg,
    flash_time,
    frame_times,
    marker_clip,
)

# A variable frame rate: frames 5-9 and 35-39 of 30 fps are dropped (gaps in time).
VFR = "select='not(between(n\\,5\\,9))*not(between(n\\,35\\,39))'"


def test_read_then_write_keeps_the_times_and_the_audio(tmp_path: Path) -> None:
    clip = marker_clip(tmp_path / "in.mp4", vf=VFR, video_delay_s=0.2)
    out = tmp_path / "out.mp4"
    with rtseg.read_video(clip) as reader, rtseg.VideoWriter(out, like=reader) as writer:
        info = reader.info
        frames = list(reader)
        for frame in frames:
            writer.write(frame.image, time_s=frame.time_s)
    assert (info.width, info.height, info.rotation) == (96, 64, 0) and info.size == (96, 64)
    assert all(frame.info is info for frame in frames)
    assert info.fps > 0 and info.duration_s == pytest.approx(2.0, abs=0.1)
    assert [t.codec for t in info.audio_tracks] == ["aac"]
    assert [f.index for f in frames] == list(range(len(frames)))
    assert [f.time_s for f in frames] == pytest.approx(frame_times(clip), abs=1e-6)
    assert max(np.diff([f.time_s for f in frames])) > 0.15  # the gaps are there
    assert frames[0].time_s == pytest.approx(0.2, abs=1e-3)  # the video starts after the audio
    assert frame_times(out) == pytest.approx(frame_times(clip), abs=1e-3)
    assert audio_tracks(out) == ["aac"]
    assert beep_time(out) == pytest.approx(MARKER_S, abs=0.03)
    assert flash_time(out) == pytest.approx(flash_time(clip), abs=1e-3)


def test_rotation_is_applied_and_reported(tmp_path: Path) -> None:
    clip = marker_clip(tmp_path / "flat.mp4", audio=None)
    turned = tmp_path / "turned.mp4"
    ffmpeg("-display_rotation", "90", "-i", str(clip), "-c", "copy", str(turned))
    with rtseg.read_video(turned) as reader:
        first = next(iter(reader))
    assert reader.info.rotation in (90, 270)
    assert (reader.info.width, reader.info.height) == (64, 96) == first.image.shape[1::-1]


def test_frames_without_times_are_one_period_apart(tmp_path: Path) -> None:
    out = tmp_path / "made.mp4"
    with rtseg.VideoWriter(out, fps=25) as writer:
        for i in range(10):
            writer.write(np.full((48, 64, 3), i * 20, np.uint8))
    assert frame_times(out) == pytest.approx([i / 25 for i in range(10)], abs=1e-3)
    assert audio_tracks(out) == []


def test_frames_at_their_own_times_without_an_input(tmp_path: Path) -> None:
    times = [0.0, 0.1, 0.15, 0.5, 0.52]
    out = tmp_path / "times.mkv"
    with rtseg.VideoWriter(out) as writer:
        for t in times:
            writer.write(np.zeros((48, 64, 3), np.uint8), time_s=t)
    assert frame_times(out) == pytest.approx(times, abs=1e-3)


def test_an_exception_keeps_a_partial_file(tmp_path: Path) -> None:
    out = tmp_path / "cut.mp4"
    with pytest.raises(KeyboardInterrupt), rtseg.VideoWriter(out, fps=10) as writer:
        for _ in range(5):
            writer.write(np.zeros((48, 64, 3), np.uint8))
        raise KeyboardInterrupt
    assert not out.exists()
    assert writer.partial_path is not None and len(frame_times(writer.partial_path)) == 5


def test_bad_input_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(rtseg.RtsegError, match="not found"):
        rtseg.read_video(tmp_path / "missing.mp4")
    (tmp_path / "text.mp4").write_text("not a video")
    with pytest.raises(rtseg.RtsegError, match="cannot decode"):
        rtseg.read_video(tmp_path / "text.mp4")
    with rtseg.VideoWriter(tmp_path / "o.mp4", fps=10) as writer:
        with pytest.raises(rtseg.RtsegError, match="uint8"):
            writer.write(np.zeros((48, 64, 3), np.float32))
        writer.write(np.zeros((48, 64, 3), np.uint8))
    with pytest.raises(rtseg.RtsegError, match="exists"):
        rtseg.VideoWriter(tmp_path / "o.mp4")


def test_a_reader_read_twice_gives_the_frames_twice(tmp_path: Path) -> None:
    clip = marker_clip(tmp_path / "clip.mp4")
    with rtseg.read_video(clip) as reader:
        first = [(f.index, f.time_s) for f in reader]
        again = [(f.index, f.time_s) for f in reader]
    assert len(first) > 10 and again == first


def test_a_video_url_is_read_as_process_video_reads_it(tmp_path: Path) -> None:
    clip = marker_clip(tmp_path / "clip.mp4")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            url = f"http://127.0.0.1:{server.server_port}/clip.mp4"
            with rtseg.read_video(url) as reader:
                times = [f.time_s for f in reader]
                assert reader.info.path == url
        finally:
            server.shutdown()
    assert times == pytest.approx(frame_times(clip), abs=1e-3)


def test_a_folder_is_no_video_file(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.jpg").write_bytes(b"")
    with pytest.raises(rtseg.RtsegError, match="is a folder: read_video reads one video file"):
        rtseg.read_video(photos)


@pytest.mark.parametrize("fps", [0, -1, float("nan"), float("inf")])
def test_a_writer_refuses_a_frame_rate_not_above_zero(tmp_path: Path, fps: float) -> None:
    with pytest.raises(rtseg.RtsegError, match=r"^fps= must be a finite number above 0"):
        rtseg.VideoWriter(tmp_path / "o.mp4", fps=fps)
    assert list(tmp_path.iterdir()) == []


def test_numpy_times_and_frames_without_one_after_timed_ones(tmp_path: Path) -> None:
    out = tmp_path / "mixed.mkv"
    with rtseg.VideoWriter(out, fps=10) as writer:
        writer.write(np.zeros((48, 64, 3), np.uint8), np.float32(0.5))
        writer.write(np.zeros((48, 64, 3), np.uint8), np.float64(0.75))
        writer.write(np.zeros((48, 64, 3), np.uint8))  # 1/fps after the one before
        with pytest.raises(rtseg.RtsegError, match="time_s in seconds"):
            writer.write(np.zeros((48, 64, 3), np.uint8), "1.0")  # type: ignore[arg-type]
    assert frame_times(out) == pytest.approx([0.5, 0.75, 0.85], abs=1e-3)


def test_a_writer_given_no_frame_says_so(tmp_path: Path) -> None:
    out = tmp_path / "empty.mp4"
    with pytest.raises(rtseg.RtsegError, match="no frame was written"), rtseg.VideoWriter(out):
        pass
    assert list(tmp_path.iterdir()) == []


def test_a_writer_refuses_a_quality_that_is_no_whole_number(tmp_path: Path) -> None:
    with pytest.raises(rtseg.RtsegError, match=r"^crf= must be a whole number >= 0, got -5"):
        rtseg.VideoWriter(tmp_path / "o.mp4", crf=-5)
    assert list(tmp_path.iterdir()) == []
