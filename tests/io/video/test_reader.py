"""VideoReader on real files: timestamps from the file's origin, aspect ratio, rotation,
and frames_lost counting only frames that failed."""

from __future__ import annotations

import functools
import http.server
import threading
from fractions import Fraction

import numpy as np
import pytest

import rtseg
from rtseg.errors import RtsegError
from rtseg.io.video.reader import VideoReader
from rtseg.pipeline.frame import Frame
from tests.conftest import decode_frames, write_clip
from tests.media import ffmpeg, frame_times, marker_clip

# A variable frame rate: frames 5-9 and 35-39 of 30 fps are dropped (gaps in time).
VFR = "select='not(between(n\\,5\\,9))*not(between(n\\,35\\,39))'"


def decode_all(reader: VideoReader) -> list[Frame]:
    frames = list(iter(reader.read, None))
    reader.close()
    return frames


def seconds(frames: list[Frame]) -> list[float]:
    return [float(frame.time_s()) for frame in frames]


def test_variable_rate_timestamps_come_through_as_the_file_has_them(tmp_path):
    clip = marker_clip(tmp_path / "vfr.mp4", vf="select='gte(t,1)+not(mod(n,3))'")
    reader = VideoReader(clip)
    times = seconds(decode_all(reader))
    assert times == pytest.approx(frame_times(clip), abs=1e-6)
    gaps = np.diff(times)
    assert gaps.max() == pytest.approx(0.1, abs=1e-3) and gaps.min() == pytest.approx(
        1 / 30, abs=1e-3
    )


def test_video_that_starts_after_its_audio_keeps_the_offset(tmp_path):
    clip = marker_clip(tmp_path / "late.mp4", video_delay_s=0.5)
    reader = VideoReader(clip)
    times = seconds(decode_all(reader))
    assert times[0] == pytest.approx(0.5, abs=1e-3)  # counted from the audio's start


def test_a_stream_that_starts_late_on_its_own_starts_at_zero(tmp_path):
    clip = marker_clip(tmp_path / "clip.mp4", audio=None)
    ts = tmp_path / "clip.ts"  # MPEG-TS clocks start at 1.4 s
    ffmpeg("-i", str(clip), "-c", "copy", str(ts))
    assert frame_times(ts)[0] > 1
    reader = VideoReader(ts)
    assert seconds(decode_all(reader))[0] == pytest.approx(0, abs=1e-3)


def test_sample_aspect_ratio_and_durations_are_read(tmp_path):
    clip = marker_clip(tmp_path / "dv.mp4", size=(120, 80), vf="setsar=32/27", audio=None)
    reader = VideoReader(clip)
    frames = decode_all(reader)
    assert {frame.sar for frame in frames} == {Fraction(32, 27)}
    assert all(
        frame.duration and frame.duration * frame.time_base == Fraction(1, 30) for frame in frames
    )


@pytest.mark.parametrize("rotation", ["90", "180", "-90"])
def test_rotated_video_comes_out_upright_as_players_show_it(tmp_path, rotation):
    clip = write_clip(tmp_path / "flat.mp4", frames=2, size=(96, 64))
    rotated = tmp_path / "phone.mp4"
    ffmpeg("-display_rotation", rotation, "-i", str(clip), "-c", "copy", str(rotated))
    upright = decode_frames(rotated)[0]  # OpenCV applies the rotation, as players do
    image = decode_all(VideoReader(rotated))[0].image
    assert image.shape == upright.shape == ((64, 96, 3) if rotation == "180" else (96, 64, 3))
    assert np.abs(image.astype(int) - upright.astype(int)).mean() < 2


def test_a_truncated_file_counts_the_frames_its_index_promised(tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", frames=60)
    whole = tmp_path / "whole.mp4"  # index first, as web downloads are, so a cut file plays
    ffmpeg("-i", str(clip), "-c", "copy", "-movflags", "+faststart", str(whole))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    reader = VideoReader(cut)
    assert reader.frames_lost == 0  # nothing is known to be lost before the end
    frames = decode_all(reader)
    assert 0 < len(frames) < 60
    assert reader.frames_lost == 60 - len(frames)


def test_damaged_frames_are_counted_and_the_good_ones_around_them_kept(tmp_path):
    clip = tmp_path / "frames.mov"  # PNG frames: a damaged one is refused, not concealed
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=96x64:rate=10:duration=1", "-c:v", "png", str(clip))
    data = bytearray(clip.read_bytes())
    starts = [i for i in range(len(data)) if data[i : i + 4] == b"\x89PNG"]
    assert len(starts) == 10
    for frame in (3, 7):
        data[starts[frame] : starts[frame] + 8] = b"garbage!"
    damaged = tmp_path / "damaged.mov"
    damaged.write_bytes(bytes(data))
    reader = VideoReader(damaged)
    times = seconds(decode_all(reader))
    assert times == pytest.approx([0, 0.1, 0.2, 0.4, 0.5, 0.6, 0.8, 0.9])
    assert reader.frames_lost == 2


@pytest.mark.parametrize("suffix", [".mkv", ".ts", ".flv", ".webm"])
def test_containers_without_a_frame_count_lose_nothing(tmp_path, suffix):
    video = ("-c:v", "libvpx-vp9", "-deadline", "realtime") if suffix == ".webm" else ()
    clip = marker_clip(
        tmp_path / f"clip{suffix}", audio=None, **({"video": video} if video else {})
    )
    reader = VideoReader(clip)
    assert len(decode_all(reader)) == 60
    assert reader.frames_lost == 0


def test_a_file_without_video_is_refused(tmp_path):
    audio = tmp_path / "talk.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=d=0.5", "-c:a", "aac", str(audio))
    with pytest.raises(RtsegError, match="has no video stream"):
        VideoReader(audio)


def test_a_video_says_how_many_frames_it_holds_without_being_read_through(tmp_path, clip):
    """The progress bar's total: the container's frame count, or (MKV has none) its
    duration times its frame rate."""
    mkv = tmp_path / "clip.mkv"
    ffmpeg("-i", str(clip), "-c", "copy", str(mkv))
    for path in (clip, mkv):
        reader = VideoReader(path)
        assert reader.frames_estimate == 24
        assert reader.read().seq == 0  # nothing was read ahead
        reader.close()


def test_read_video_describes_the_file_and_numbers_its_frames(tmp_path):
    clip = marker_clip(tmp_path / "in.mp4", vf=VFR, video_delay_s=0.2)
    with rtseg.read_video(clip) as reader:
        info = reader.info
        frames = list(reader)
    assert (info.width, info.height, info.rotation) == (96, 64, 0) and info.size == (96, 64)
    assert all(frame.info is info for frame in frames)
    assert info.fps > 0 and info.duration_s == pytest.approx(2.0, abs=0.1)
    assert [t.codec for t in info.audio_tracks] == ["aac"]
    assert [f.index for f in frames] == list(range(len(frames)))
    assert [f.time_s for f in frames] == pytest.approx(frame_times(clip), abs=1e-6)
    assert max(np.diff([f.time_s for f in frames])) > 0.15  # the gaps are there
    assert frames[0].time_s == pytest.approx(0.2, abs=1e-3)  # the video starts after the audio


def test_info_read_first_keeps_the_first_frame_for_the_loop(tmp_path):
    """`info` decodes the first frame to learn its size; the loop still starts with it."""
    clip = write_clip(tmp_path / "c.mp4", frames=6)
    with VideoReader(clip) as reader:
        assert reader.info.size == (160, 120)
        assert [frame.seq for frame in iter(reader.read, None)] == list(range(6))


def test_rotation_is_applied_and_reported(tmp_path):
    clip = marker_clip(tmp_path / "flat.mp4", audio=None)
    turned = tmp_path / "turned.mp4"
    ffmpeg("-display_rotation", "90", "-i", str(clip), "-c", "copy", str(turned))
    with rtseg.read_video(turned) as reader:
        first = next(iter(reader))
    assert reader.info.rotation in (90, 270) and not reader.info.mirrored
    assert (reader.info.width, reader.info.height) == (64, 96) == first.image.shape[1::-1]


def test_a_front_camera_flip_and_audio_titles_are_reported(tmp_path):
    clip = marker_clip(tmp_path / "flat.mp4", seconds=0.5)
    front = tmp_path / "front.mp4"
    ffmpeg("-display_rotation", "90", "-display_hflip", "-i", str(clip), "-c", "copy",
           "-metadata:s:a:0", "language=deu", "-metadata:s:a:0", "title=Deutsch",
           str(front))  # fmt: skip
    with rtseg.read_video(front) as reader:
        info = reader.info
    assert (info.rotation, info.mirrored, info.size) == (270, True, (64, 96))
    assert [(t.language, t.title) for t in info.audio_tracks] == [("deu", "Deutsch")]


def test_bad_input_is_one_clear_error(tmp_path):
    with pytest.raises(rtseg.RtsegError, match="not found"):
        rtseg.read_video(tmp_path / "missing.mp4")
    (tmp_path / "text.mp4").write_text("not a video")
    with pytest.raises(rtseg.RtsegError, match="cannot decode"):
        rtseg.read_video(tmp_path / "text.mp4")


def test_a_reader_is_read_once_and_says_so_when_read_again(tmp_path) -> None:
    clip = marker_clip(tmp_path / "clip.mp4")
    with rtseg.read_video(clip) as reader:
        first = [frame.index for frame in reader]
        with pytest.raises(RtsegError, match="read once already; read_video\\(\\) again"):
            list(reader)  # it gave nothing, silently
    assert len(first) > 10
    assert [frame.index for frame in rtseg.read_video(clip)] == first


def test_a_video_url_is_read_as_process_video_reads_it(tmp_path) -> None:
    clip = marker_clip(tmp_path / "clip.mp4")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            url = f"http://127.0.0.1:{server.server_port}/clip.mp4"
            with rtseg.read_video(url) as reader:
                times = [frame.time_s for frame in reader]
                assert str(reader.info.path) == url
        finally:
            server.shutdown()
    assert times == pytest.approx(frame_times(clip), abs=1e-3)


def test_a_folder_is_no_video_file(tmp_path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.jpg").write_bytes(b"")
    with pytest.raises(RtsegError, match="is a folder: read_video reads one video file"):
        rtseg.read_video(photos)
