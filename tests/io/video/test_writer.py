"""VideoWriter on real encoded files: codecs, timestamps, audio tracks, alpha, odd sizes,
temporary names and the output lock."""

from __future__ import annotations

import os
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

import rtseg
from rtseg.errors import RtsegError
from rtseg.io.video.writer import VideoWriter, holds_alpha
from rtseg.pipeline.frame import Frame, rate_time_base
from tests.conftest import decode_frames
from tests.media import (
    FFMPEG,
    MARKER_S,
    audio_tracks,
    beep_time,
    flash_time,
    frame_times,
    marker_clip,
    tagged_bgr,
)

FPS = 30
FRAMES = 45  # 1.5 s of video
SIZE = (96, 64)  # width, height


def ffmpeg_run(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", *args],
        capture_output=True,
        check=True,
    )


def make_clip(path: Path, audio_seconds: float | None) -> Path:
    """An H.264 clip of FRAMES frames, with a sine audio track when `audio_seconds` is set."""
    w, h = SIZE
    args = ["-f", "lavfi", "-i", f"testsrc=size={w}x{h}:rate={FPS}:duration={FRAMES / FPS}"]
    if audio_seconds is not None:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={audio_seconds}"]
        args += ["-c:a", "aac"]
    args += ["-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)]
    ffmpeg_run(*args)
    if audio_seconds is not None:
        assert abs(measure_audio_seconds(path) - audio_seconds) < 0.05
    return path


def stream_info(path: Path) -> str:
    """FFmpeg's stream listing for `path` (it exits non-zero without an output; expected)."""
    done = subprocess.run(
        [FFMPEG, "-hide_banner", "-nostdin", "-i", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stderr


def measure_audio_seconds(path: Path, rate: int = 48000) -> float:
    """Duration of the audio stream, measured by decoding every sample."""
    pcm = ffmpeg_run("-i", str(path), "-map", "0:a:0", "-f", "s16le", "-ac", "1", "-ar", str(rate),
                     "-")  # fmt: skip
    return len(pcm.stdout) / 2 / rate


def write_all(sink: VideoWriter, images: list[np.ndarray]) -> None:
    for seq, image in enumerate(images):
        sink.write(Frame(seq=seq, image=image[..., :3], output=image))


def leftovers(directory: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


def test_mp4_is_h264_decodable_by_opencv_with_the_same_frame_count(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "in.mp4", audio_seconds=None)
    frames = decode_frames(clip)
    out = tmp_path / "out.mp4"
    sink = VideoWriter(out, fps=FPS)
    write_all(sink, frames)
    sink.close()
    assert "Video: h264" in stream_info(out)
    decoded = decode_frames(out)
    assert len(decoded) == len(frames) == FRAMES
    # CRF 20 keeps the picture: the mean error against the input stays small.
    assert np.abs(decoded[10].astype(int) - frames[10].astype(int)).mean() < 4
    assert leftovers(tmp_path, {"in.mp4", "out.mp4"}) == []


@pytest.mark.parametrize(("suffix", "audio_codec"), [(".mp4", "aac"), (".webm", "opus")])
def test_audio_is_kept_with_the_video_duration(tmp_path: Path, suffix: str, audio_codec: str):
    # The source audio runs 0.5 s past the video: the output's must stop with the video.
    clip = make_clip(tmp_path / "in.mp4", audio_seconds=2.0)
    assert audio_tracks(clip) == ["aac"]
    out = tmp_path / f"out{suffix}"
    sink = VideoWriter(out, fps=FPS, audio_from=clip)
    write_all(sink, decode_frames(clip))
    sink.close()
    assert f"Audio: {audio_codec}" in stream_info(out)
    count = sum(1 for _ in decode_frames(out))
    assert count == FRAMES
    assert abs(measure_audio_seconds(out) - FRAMES / FPS) <= 1 / FPS
    assert leftovers(tmp_path, {"in.mp4", out.name}) == []


def test_source_without_audio_gives_video_only(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "in.mp4", audio_seconds=None)
    assert audio_tracks(clip) == []
    out = tmp_path / "out.mp4"
    sink = VideoWriter(out, fps=FPS, audio_from=clip)
    write_all(sink, decode_frames(clip))
    sink.close()
    info = stream_info(out)
    assert "Video: h264" in info
    assert "Audio:" not in info


def alpha_mask(height: int, width: int, seq: int) -> np.ndarray:
    """A moving soft-edged disc: flat regions and gradients, different in every frame."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    cx = width * (0.3 + 0.02 * seq)
    dist = np.hypot(xx - cx, yy - height / 2)
    return np.clip((height * 0.35 - dist) * 12 + 128, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("suffix", [".webm", ".mov"])
def test_alpha_round_trip(tmp_path: Path, suffix: str) -> None:
    w, h = SIZE
    frames, masks = [], []
    for seq in range(10):
        bgr = np.full((h, w, 3), (40, 160, 220), np.uint8)
        masks.append(alpha_mask(h, w, seq))
        frames.append(np.dstack([bgr, masks[-1]]))
    out = tmp_path / f"alpha{suffix}"
    assert holds_alpha(out)
    sink = VideoWriter(out, fps=FPS)
    write_all(sink, frames)
    sink.close()
    # FFmpeg's built-in VP9 decoder drops alpha; libvpx's keeps it.
    decoder = ["-c:v", "libvpx-vp9"] if suffix == ".webm" else []
    raw = ffmpeg_run(*decoder, "-i", str(out), "-f", "rawvideo", "-pix_fmt", "rgba", "-").stdout
    decoded = np.frombuffer(raw, np.uint8).reshape(-1, h, w, 4)
    assert len(decoded) == len(masks)
    for got, want in zip(decoded[..., 3], masks, strict=True):
        err = np.abs(got.astype(int) - want.astype(int))
        assert err.mean() < 3
        assert (err > 32).mean() < 0.01


def test_mp4_refuses_alpha(tmp_path: Path) -> None:
    sink = VideoWriter(tmp_path / "out.mp4", fps=FPS)
    bgra = np.zeros((SIZE[1], SIZE[0], 4), np.uint8)
    with pytest.raises(RtsegError, match=r"\.webm or \.mov"):
        sink.write(Frame(seq=0, image=bgra[..., :3], output=bgra))
    sink.abort()
    assert leftovers(tmp_path, set()) == []


def test_existing_output_is_refused_unless_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    out.write_bytes(b"keep me")
    with pytest.raises(RtsegError, match="overwrite=True"):
        VideoWriter(out, fps=FPS)
    assert out.read_bytes() == b"keep me"
    sink = VideoWriter(out, fps=FPS, overwrite=True)
    write_all(sink, [np.zeros((SIZE[1], SIZE[0], 3), np.uint8)] * 3)
    sink.close()
    assert len(decode_frames(out)) == 3


def test_unwritable_directory_is_refused_up_front(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_bytes(b"")
    with pytest.raises(RtsegError, match="not a directory"):
        VideoWriter(a_file / "out.mp4", fps=FPS)
    with pytest.raises(RtsegError, match="does not exist"):
        VideoWriter(tmp_path / "missing" / "out.mp4", fps=FPS)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into a read-only directory")
def test_read_only_directory_is_refused_up_front(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    with pytest.raises(RtsegError, match="cannot write into"):
        VideoWriter(locked / "out.mp4", fps=FPS)


@pytest.mark.parametrize("with_audio", [False, True])
def test_abort_leaves_a_playable_partial_file(tmp_path: Path, with_audio: bool) -> None:
    clip = make_clip(tmp_path / "in.mp4", audio_seconds=2.0 if with_audio else None)
    out = tmp_path / "out.mp4"
    sink = VideoWriter(out, fps=FPS, audio_from=clip)
    write_all(sink, decode_frames(clip)[:20])  # the run fails after 20 frames
    sink.abort()
    sink.close()  # the pipeline's `finally`: a no-op after abort
    assert not out.exists()
    partial = sink.partial_path
    assert partial is not None and partial.parent == tmp_path
    assert partial.name == "out.partial.mp4"
    assert len(decode_frames(partial)) == 20
    assert ("Audio: aac" in stream_info(partial)) == with_audio
    assert leftovers(tmp_path, {"in.mp4", partial.name}) == []


@pytest.mark.parametrize(
    ("suffix", "size"), [(".mp4", (95, 63)), (".webm", (641, 361)), (".mov", (95, 64))]
)
def test_odd_sizes_are_padded_by_one_pixel_and_said_once(tmp_path, caplog, suffix, size):
    # H.264 and VP9 in 4:2:0 hold only even sizes, ProRes only even widths: the edge is
    # repeated into one more column/row, and the log says so once.
    w, h = size
    images = [np.full((h, w, 3), 30 * i, np.uint8) for i in range(5)]
    out = tmp_path / f"odd{suffix}"
    sink = VideoWriter(out, fps=FPS)
    with caplog.at_level("INFO", logger="rtseg"):
        write_all(sink, images)
        sink.close()
    ew, eh = w + w % 2, h + h % 2
    padded = [r.getMessage() for r in caplog.records if "padded" in r.getMessage()]
    assert len(padded) == 1 and f"{w}x{h}" in padded[0] and f"{ew}x{eh}" in padded[0]
    decoded = decode_frames(out)
    assert len(decoded) == 5 and decoded[0].shape == (eh, ew, 3)
    assert abs(float(decoded[4][-1, -1].mean()) - 120) < 6  # the added corner repeats the edge


def test_no_frames_leaves_no_file(tmp_path: Path) -> None:
    sink = VideoWriter(tmp_path / "out.webm", fps=FPS)
    sink.close()
    assert leftovers(tmp_path, set()) == []


def test_size_change_and_write_after_close_are_refused(tmp_path: Path) -> None:
    sink = VideoWriter(tmp_path / "out.mp4", fps=FPS)
    image = np.zeros((64, 96, 3), np.uint8)
    sink.write(Frame(seq=0, image=image, output=image))
    bigger = np.zeros((128, 96, 3), np.uint8)
    with pytest.raises(RtsegError, match="one frame size"):
        sink.write(Frame(seq=1, image=bigger, output=bigger))
    sink.close()
    with pytest.raises(RtsegError, match="already closed"):
        sink.write(Frame(seq=2, image=image, output=image))


def test_non_contiguous_frames_are_written(tmp_path: Path) -> None:
    # A view (e.g. a crop) is not C-contiguous; it must still be sent as whole rows.
    big = np.zeros((64, 192, 3), np.uint8)
    big[:, ::2] = 255
    view = big[:, ::2]
    out = tmp_path / "out.mp4"
    sink = VideoWriter(out, fps=FPS)
    sink.write(Frame(seq=0, image=view, output=view))
    sink.close()
    assert decode_frames(out)[0].mean() > 240


@pytest.mark.parametrize(
    ("fps", "period"), [(30.0, Fraction(1, 30)), (30000 / 1001, Fraction(1001, 30000))]
)
def test_rate_time_base_is_exact(fps: float, period: Fraction) -> None:
    assert rate_time_base(fps) == period


@pytest.mark.parametrize("bad", [("out.avi", 30), ("out.mp4", 0), ("out.mov", 30, 18)])
def test_bad_settings_are_refused(tmp_path: Path, bad: tuple) -> None:
    name, fps, *crf = bad
    with pytest.raises(RtsegError):
        VideoWriter(tmp_path / name, fps=fps, crf=crf[0] if crf else None)


def test_missing_audio_source_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RtsegError, match="does not exist"):
        VideoWriter(tmp_path / "out.mp4", fps=FPS, audio_from=tmp_path / "nope.mp4")


@pytest.mark.parametrize(
    ("name", "preset", "message"),
    [("out.webm", "medium", "H.264"), ("out.mp4", "quick", "unknown x264 preset")],
)
def test_bad_presets_are_refused(tmp_path: Path, name: str, preset: str, message: str) -> None:
    with pytest.raises(RtsegError, match=message):
        VideoWriter(tmp_path / name, fps=FPS, preset=preset)


def test_a_slower_preset_makes_a_smaller_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.integers(0, 256, (180, 320, 3), dtype=np.uint8), (5, 5), 0)
    sizes = {}
    for preset in (None, "medium"):
        out = tmp_path / f"{preset}.mp4"
        sink = VideoWriter(out, fps=FPS, preset=preset)
        for i in range(30):
            image = np.roll(texture, 3 * i, axis=1)
            sink.write(Frame(seq=i, image=image, output=image))
        sink.close()
        assert len(decode_frames(out)) == 30
        sizes[preset] = out.stat().st_size
    assert sizes["medium"] < 0.9 * sizes[None]


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".webm"])
def test_frames_are_written_at_their_own_timestamps(tmp_path, caplog, suffix):
    # Variable gaps, a repeated time and two frames within one millisecond (Matroska's
    # clock): each frame keeps its time where the file can hold it, the rest move one tick.
    micro = Fraction(1, 1_000_000)
    times_us = [0, 33_000, 100_000, 100_000, 250_000, 250_400, 400_000]
    image = np.zeros((64, 96, 3), np.uint8)
    out = tmp_path / f"vfr{suffix}"
    sink = VideoWriter(out, fps=FPS)
    with caplog.at_level("WARNING", logger="rtseg"):
        for seq, us in enumerate(times_us):
            sink.write(Frame(seq=seq, image=image, output=image, pts=us, time_base=micro))
        sink.close()
    got = frame_times(out)
    assert len(got) == len(times_us)
    assert (np.diff(got) > 0).all()
    for want_us, time_s in zip(times_us, got, strict=True):
        assert abs(time_s - want_us / 1e6) <= 0.0015
    shifted = 2 if suffix in (".mkv", ".webm") else 1
    assert any(f"{shifted} frames had a timestamp" in r.getMessage() for r in caplog.records)


def x264_settings(path: Path) -> str:
    """The settings x264 writes into the stream it encodes (its SEI message)."""
    data = path.read_bytes()
    start = data.index(b"x264 - core")
    return data[start : data.index(b"\0", start)].decode()


@pytest.mark.parametrize(
    ("cores", "preset", "one_thread"),
    [(2, None, True), (1, None, True), (8, None, False), (2, "medium", False)],
)
def test_x264_runs_on_one_thread_on_small_machines(
    tmp_path, monkeypatch, cores, preset, one_thread
):
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(cores)))
    out = tmp_path / "out.mp4"
    sink = VideoWriter(out, fps=FPS, preset=preset)
    write_all(sink, [np.full((240, 320, 3), 40 * i, np.uint8) for i in range(3)])
    sink.close()
    settings = x264_settings(out)
    assert (" threads=1 " in settings) == one_thread, settings


@pytest.mark.parametrize(
    ("suffix", "channels"),
    [(".mp4", 3), (".mkv", 3), (".webm", 3), (".webm", 4), (".mov", 3), (".mov", 4)],
    ids=["mp4", "mkv", "webm", "webm-alpha", "mov", "mov-alpha"],
)
def test_colours_come_back_as_written_in_an_hd_file(tmp_path, suffix, channels) -> None:
    # HD: a player reads an untagged file as BT.709, so every file rtseg writes, whatever
    # its codec, must say which matrix it holds; the pixels are read back with the matrix
    # and range the file names (swscale's default conversion is itself off by up to 3 levels).
    colours = [(30, 120, 200), (200, 40, 90), (128, 128, 128), (16, 235, 60)]
    out = tmp_path / f"out{suffix}"
    crf = {".mp4": 0, ".mkv": 0, ".webm": 4}.get(suffix)
    sink = VideoWriter(out, fps=FPS, crf=crf)
    alpha = (255,) * (channels - 3)
    write_all(sink, [np.full((720, 1280, channels), (*c, *alpha), np.uint8) for c in colours])
    sink.close()
    with av.open(str(out)) as container:
        frames = list(container.decode(video=0))
    assert [f.colorspace for f in frames] == [6] * len(colours)  # SMPTE 170M (BT.601)
    for colour, decoded in zip(colours, frames, strict=True):
        got = tagged_bgr(decoded)[360, 640]
        assert np.abs(got - colour).max() <= 3, (colour, got)


# A variable frame rate: frames 5-9 and 35-39 of 30 fps are dropped (gaps in time).
VFR = "select='not(between(n\\,5\\,9))*not(between(n\\,35\\,39))'"


@pytest.mark.parametrize("like", ["reader", "info", "path"])
def test_read_then_write_keeps_the_times_and_the_audio(tmp_path: Path, like: str) -> None:
    clip = marker_clip(tmp_path / "in.mp4", vf=VFR, video_delay_s=0.2)
    out = tmp_path / "out.mp4"
    with rtseg.read_video(clip) as reader:
        model = {"reader": reader, "info": reader.info, "path": clip}[like]
        with rtseg.VideoWriter(out, like=model) as writer:
            for frame in reader:
                writer.write(frame.image, time_s=frame.time_s)
    assert frame_times(out) == pytest.approx(frame_times(clip), abs=1e-3)
    assert audio_tracks(out) == ["aac"]
    assert beep_time(out) == pytest.approx(MARKER_S, abs=0.03)
    assert flash_time(out) == pytest.approx(flash_time(clip), abs=1e-3)


def test_images_without_times_are_one_period_apart(tmp_path: Path) -> None:
    out = tmp_path / "made.mp4"
    with rtseg.VideoWriter(out, fps=25) as writer:
        for i in range(10):
            writer.write(np.full((48, 64, 3), i * 20, np.uint8))
    assert frame_times(out) == pytest.approx([i / 25 for i in range(10)], abs=1e-3)
    assert audio_tracks(out) == []


def test_images_at_their_own_times_without_an_input(tmp_path: Path) -> None:
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


def test_a_bad_image_is_one_clear_error(tmp_path: Path) -> None:
    with rtseg.VideoWriter(tmp_path / "o.mp4", fps=10) as writer:
        with pytest.raises(rtseg.RtsegError, match="uint8"):
            writer.write(np.zeros((48, 64, 3), np.float32))
        writer.write(np.zeros((48, 64, 3), np.uint8))
    with pytest.raises(rtseg.RtsegError, match="exists"):
        rtseg.VideoWriter(tmp_path / "o.mp4")


@pytest.mark.parametrize("fps", [0, -1, float("nan"), float("inf")])
def test_a_writer_refuses_a_frame_rate_not_above_zero(tmp_path: Path, fps: float) -> None:
    with pytest.raises(RtsegError, match=r"^fps= must be a finite number above 0"):
        rtseg.VideoWriter(tmp_path / "o.mp4", fps=fps)
    assert list(tmp_path.iterdir()) == []


def test_a_writer_refuses_a_quality_that_is_no_whole_number(tmp_path: Path) -> None:
    with pytest.raises(RtsegError, match=r"^crf= must be a whole number >= 0, got -5"):
        rtseg.VideoWriter(tmp_path / "o.mp4", crf=-5)
    assert list(tmp_path.iterdir()) == []


def test_numpy_times_and_images_without_one_after_timed_ones(tmp_path: Path) -> None:
    out = tmp_path / "mixed.mkv"
    with rtseg.VideoWriter(out, fps=10) as writer:
        writer.write(np.zeros((48, 64, 3), np.uint8), np.float32(0.5))
        writer.write(np.zeros((48, 64, 3), np.uint8), np.float64(0.75))
        writer.write(np.zeros((48, 64, 3), np.uint8))  # 1/fps after the one before
        with pytest.raises(RtsegError, match="time_s in seconds"):
            writer.write(np.zeros((48, 64, 3), np.uint8), "1.0")  # type: ignore[arg-type]
    assert frame_times(out) == pytest.approx([0.5, 0.75, 0.85], abs=1e-3)


def test_a_writer_given_no_frame_says_so(tmp_path: Path) -> None:
    out = tmp_path / "empty.mp4"
    with pytest.raises(RtsegError, match="no frame was written"), rtseg.VideoWriter(out):
        pass
    assert list(tmp_path.iterdir()) == []
