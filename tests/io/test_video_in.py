"""VideoDecoder on real files: timestamps from the file's origin, aspect ratio, rotation,
and frames_lost counting only frames that failed."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from rtseg.errors import RtsegError
from rtseg.io.video_in import VideoDecoder
from tests.conftest import decode_frames, write_clip
from tests.media import ffmpeg, frame_times, marker_clip


def decode_all(decoder: VideoDecoder) -> list[tuple[np.ndarray, int, int | None, Fraction | None]]:
    frames = []
    while (item := decoder.read_frame()) is not None:
        frames.append(item)
    decoder.close()
    return frames


def seconds(decoder: VideoDecoder, frames) -> list[float]:
    return [float(pts * decoder.time_base) for _, pts, _, _ in frames]


def test_variable_rate_timestamps_come_through_as_the_file_has_them(tmp_path):
    clip = marker_clip(tmp_path / "vfr.mp4", vf="select='gte(t,1)+not(mod(n,3))'")
    decoder = VideoDecoder(clip)
    times = seconds(decoder, decode_all(decoder))
    assert times == pytest.approx(frame_times(clip), abs=1e-6)
    gaps = np.diff(times)
    assert gaps.max() == pytest.approx(0.1, abs=1e-3) and gaps.min() == pytest.approx(
        1 / 30, abs=1e-3
    )


def test_video_that_starts_after_its_audio_keeps_the_offset(tmp_path):
    clip = marker_clip(tmp_path / "late.mp4", video_delay_s=0.5)
    decoder = VideoDecoder(clip)
    times = seconds(decoder, decode_all(decoder))
    assert times[0] == pytest.approx(0.5, abs=1e-3)  # counted from the audio's start


def test_a_stream_that_starts_late_on_its_own_starts_at_zero(tmp_path):
    clip = marker_clip(tmp_path / "clip.mp4", audio=None)
    ts = tmp_path / "clip.ts"  # MPEG-TS clocks start at 1.4 s
    ffmpeg("-i", str(clip), "-c", "copy", str(ts))
    assert frame_times(ts)[0] > 1
    decoder = VideoDecoder(ts)
    assert seconds(decoder, decode_all(decoder))[0] == pytest.approx(0, abs=1e-3)


def test_sample_aspect_ratio_and_durations_are_read(tmp_path):
    clip = marker_clip(tmp_path / "dv.mp4", size=(120, 80), vf="setsar=32/27", audio=None)
    decoder = VideoDecoder(clip)
    frames = decode_all(decoder)
    assert {sar for _, _, _, sar in frames} == {Fraction(32, 27)}
    assert all(
        duration and duration * decoder.time_base == Fraction(1, 30) for _, _, duration, _ in frames
    )


@pytest.mark.parametrize("rotation", ["90", "180", "-90"])
def test_rotated_video_comes_out_upright_as_players_show_it(tmp_path, rotation):
    clip = write_clip(tmp_path / "flat.mp4", frames=2, size=(96, 64))
    rotated = tmp_path / "phone.mp4"
    ffmpeg("-display_rotation", rotation, "-i", str(clip), "-c", "copy", str(rotated))
    upright = decode_frames(rotated)[0]  # OpenCV applies the rotation, as players do
    image = decode_all(VideoDecoder(rotated))[0][0]
    assert image.shape == upright.shape == ((64, 96, 3) if rotation == "180" else (96, 64, 3))
    assert np.abs(image.astype(int) - upright.astype(int)).mean() < 2


def test_a_truncated_file_counts_the_frames_its_index_promised(tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", frames=60)
    whole = tmp_path / "whole.mp4"  # index first, as web downloads are, so a cut file plays
    ffmpeg("-i", str(clip), "-c", "copy", "-movflags", "+faststart", str(whole))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    decoder = VideoDecoder(cut)
    assert decoder.frames_lost == 0  # nothing is known to be lost before the end
    frames = decode_all(decoder)
    assert 0 < len(frames) < 60
    assert decoder.frames_lost == 60 - len(frames)


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
    decoder = VideoDecoder(damaged)
    times = seconds(decoder, decode_all(decoder))
    assert times == pytest.approx([0, 0.1, 0.2, 0.4, 0.5, 0.6, 0.8, 0.9])
    assert decoder.frames_lost == 2


@pytest.mark.parametrize("suffix", [".mkv", ".ts", ".flv", ".webm"])
def test_containers_without_a_frame_count_lose_nothing(tmp_path, suffix):
    video = ("-c:v", "libvpx-vp9", "-deadline", "realtime") if suffix == ".webm" else ()
    clip = marker_clip(
        tmp_path / f"clip{suffix}", audio=None, **({"video": video} if video else {})
    )
    decoder = VideoDecoder(clip)
    assert len(decode_all(decoder)) == 60
    assert decoder.frames_lost == 0


def test_a_file_without_video_is_refused(tmp_path):
    audio = tmp_path / "talk.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=d=0.5", "-c:a", "aac", str(audio))
    with pytest.raises(RtsegError, match="has no video stream"):
        VideoDecoder(audio)
