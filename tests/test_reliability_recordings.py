"""Issue 24, real recordings: joined with `cat`, with no decodable frame, stereo PCM without a
channel layout, audio far longer than the video, HDR, interlaced and RGBA inputs.

Every input is built by FFmpeg around the master clip (burnt-in frame numbers, a flash and a
beep); every check measures the files left on disk with PyAV.
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from tests.media import (
    audio_seconds,
    audio_signal,
    ffmpeg,
    frame_brightness,
    frame_numbers,
    frame_times,
    marker_clip,
)
from tests.reliability import assert_clean_failure, kept_partial, run_cli
from tests.test_reliability_files import FRAME_S, assert_in_sync

RAW = ("--effect", "mask", "--no-refine", "--no-smooth", "--quality", "fast", "-q")


def run_to(source: Path, model: Path, sink: Path, *extra: str):
    """`rtseg run` with each output frame as bright as its input (frame numbers readable)."""
    return run_cli("run", "--source", str(source), "--model", str(model), "--sink", str(sink),
                   *RAW, *extra)  # fmt: skip


def joined(tmp_path: Path, *parts: Path) -> Path:
    """The parts remuxed to MPEG-TS and joined byte for byte, as `cat` joins recordings."""
    data = b""
    for i, part in enumerate(parts):
        ts = tmp_path / f"part{i}.ts"
        ffmpeg("-i", str(part), "-c", "copy", str(ts))
        data += ts.read_bytes()
    out = tmp_path / "joined.ts"
    out.write_bytes(data)
    return out


def beeps_and_flashes(path: Path) -> tuple[list[float], list[float]]:
    """When each beep starts and each white frame shows (s on the file's clock)."""
    samples, start = audio_signal(path)
    loud = np.flatnonzero(np.abs(samples) > 0.3)
    starts = loud[np.insert(np.diff(loud) > 4800, 0, True)]
    flashes = [t for t, luma in frame_brightness(path) if luma > 150]
    return [start + i / 48000 for i in starts], flashes


# -- 3: recordings joined with cat -----------------------------------------------------------
@pytest.mark.timeout(120)
@pytest.mark.parametrize("audio", ["aac", None], ids=["with-audio", "video-only"])
def test_joined_recordings_continue_where_the_last_frame_ended(tmp_path, bright_model, audio):
    part = marker_clip(tmp_path / "part.mp4", seconds=3.0, numbered=True, audio=audio)
    clip = joined(tmp_path, part, part)
    out = tmp_path / "out.mp4"
    outcome = run_to(clip, bright_model, out)
    assert outcome.returncode == 0, outcome.stderr
    assert "restart 1 time(s)" in outcome.stderr
    assert frame_numbers(out) == list(range(90)) * 2
    times = np.array(frame_times(out))
    assert np.abs(np.diff(times) - FRAME_S).max() <= 1e-3  # 6 s plays as 6 s
    assert times[-1] - times[0] == pytest.approx(179 * FRAME_S, abs=1e-3)
    if audio:
        beeps, flashes = beeps_and_flashes(out)
        assert len(beeps) == len(flashes) == 2
        for beep, flash in zip(beeps, flashes, strict=True):
            assert abs(beep - flash) <= FRAME_S / 2  # each part keeps its own sync
        assert audio_seconds(out) == pytest.approx(6.0, abs=2 * FRAME_S)


@pytest.mark.timeout(120)
def test_a_joined_recording_that_fails_keeps_its_partial_file_with_sound(tmp_path, bright_model):
    first = marker_clip(tmp_path / "a.mp4", seconds=2.0, numbered=True)
    second = marker_clip(tmp_path / "b.mp4", seconds=2.0, numbered=True, size=(128, 96))
    clip = joined(tmp_path, first, second)  # the second part has another size: an error
    outcome = run_to(clip, bright_model, tmp_path / "out.mp4")
    line = assert_clean_failure(outcome, "a video holds one frame size")
    partial = kept_partial(line)
    assert frame_numbers(partial) == list(range(60))
    assert_in_sync(partial, at=None)


# -- 4: no decodable frame -------------------------------------------------------------------
def undecodable(tmp_path: Path, kind: str) -> Path:
    """A capture that starts mid-GOP with no keyframe after it, or whose only keyframe is
    damaged."""
    one_gop = ("-c:v", "libx264", "-preset", "ultrafast", "-g", "300", "-pix_fmt", "yuv420p")
    clip = marker_clip(tmp_path / "gop.mp4", seconds=2.0, video=one_gop)
    if kind == "mid-gop":
        ts = tmp_path / "gop.ts"
        ffmpeg("-i", str(clip), "-c", "copy", str(ts))
        data = ts.read_bytes()
        cut = len(data) // 3 // 188 * 188
        (tmp_path / "in").mkdir()
        bad = tmp_path / "in" / "capture.ts"
        bad.write_bytes(data[cut:])
        return bad
    with av.open(str(clip)) as container:
        key = next(p for p in container.demux(video=0) if p.is_keyframe)
        start, size = key.pos, key.size
    data = bytearray(clip.read_bytes())
    data[start + size // 4 : start + size] = b"\x5a" * (size - size // 4)
    (tmp_path / "in").mkdir()
    bad = tmp_path / "in" / "damaged.mp4"
    bad.write_bytes(bytes(data))
    return bad


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["mid-gop", "damaged-keyframe"])
def test_an_input_with_no_decodable_frame_is_an_error_in_run_and_batch(
    tmp_path, bright_model, kind
):
    bad = undecodable(tmp_path, kind)
    outcome = run_to(bad, bright_model, tmp_path / "out.mp4")
    assert_clean_failure(outcome, "could be decoded")
    assert not (tmp_path / "out.mp4").exists()
    report = tmp_path / "report.jsonl"
    batch = run_cli("batch", str(tmp_path / "in"), "--out", str(tmp_path / "batch"),
                    "--model", str(bright_model), "--report", str(report), "-q")  # fmt: skip
    assert batch.returncode == 1, batch.stderr
    (line,) = [json.loads(text) for text in report.read_text().splitlines()]
    assert line["status"] == "failed" and "could be decoded" in line["error"]


# -- 5: stereo PCM without a channel layout --------------------------------------------------
@pytest.mark.timeout(120)
@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".mov"])
def test_stereo_pcm_without_a_layout_is_carried(tmp_path, bright_model, suffix):
    mjpeg = ("-c:v", "mjpeg", "-q:v", "3", "-pix_fmt", "yuvj420p")
    mono = marker_clip(tmp_path / "mono.avi", audio="pcm_s16le", video=mjpeg)
    webcam = tmp_path / "webcam.avi"  # AVI's PCM header names no channel layout
    ffmpeg("-i", str(mono), "-c:v", "copy", "-c:a", "pcm_s16le", "-ac", "2", str(webcam))
    with av.open(str(webcam)) as container:
        layout = container.streams.audio[0].codec_context.layout
        assert (layout.nb_channels, layout.name) == (2, "2 channels")
    out = tmp_path / f"out{suffix}"
    outcome = run_to(webcam, bright_model, out)
    assert outcome.returncode == 0, outcome.stderr
    with av.open(str(out)) as container:
        layout = container.streams.audio[0].codec_context.layout
        assert layout.nb_channels == 2
        if suffix != ".mkv":  # Matroska keeps a channel count, not a layout
            assert layout.name == "stereo"
    assert frame_numbers(out) == frame_numbers(webcam)
    assert_in_sync(out)


# -- 9: audio far longer than the video ------------------------------------------------------
@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("video_s", "cut_s", "suffix"),
    [(1 / 30, "3.0", ".mp4"), (1.0, "2.0", ".mp4"), (1.0, "2.0", ".ts")],
    ids=["one-frame", "2s-longer", "2s-longer-ts"],
)
def test_audio_cut_far_past_the_video_is_said_with_its_seconds(
    tmp_path, bright_model, video_s, cut_s, suffix
):
    clip = marker_clip(tmp_path / "long.mp4", seconds=3.0)
    short = tmp_path / f"short{suffix}"  # the video stops early, its audio goes on
    ffmpeg("-t", f"{video_s - 0.01}", "-i", str(clip), "-i", str(clip),
           "-map", "0:v", "-map", "1:a", "-c", "copy", str(short))  # fmt: skip
    out = tmp_path / "out.mp4"
    outcome = run_to(short, bright_model, out)
    assert outcome.returncode == 0, outcome.stderr
    (said,) = [line for line in outcome.stderr.splitlines() if "were cut" in line]
    assert f"went on {cut_s} s" in said
    assert audio_seconds(out) <= len(frame_times(out)) * FRAME_S + FRAME_S
    whole = run_to(clip, bright_model, tmp_path / "whole.mp4")
    assert "were cut" not in whole.stderr  # the few ms of an encoder's last packet: no word


# -- 10: inputs rtseg would change silently --------------------------------------------------
@pytest.mark.timeout(120)
@pytest.mark.parametrize("transfer", ["smpte2084", "arib-std-b67"], ids=["pq", "hlg"])
def test_hdr_input_is_said(tmp_path, bright_model, transfer):
    hdr = ("-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le",
           "-x265-params", "log-level=error")  # fmt: skip
    tags = f"setparams=color_primaries=bt2020:color_trc={transfer}:colorspace=bt2020nc"
    clip = marker_clip(tmp_path / "hdr.mp4", seconds=0.5, audio=None, video=hdr, vf=tags)
    with av.open(str(clip)) as container:
        assert container.streams.video[0].codec_context.color_trc in (16, 18)
    outcome = run_to(clip, bright_model, tmp_path / "out.mp4")
    assert outcome.returncode == 0, outcome.stderr
    (said,) = [line for line in outcome.stderr.splitlines() if "HDR" in line]
    assert "without tone mapping" in said and ("PQ" if transfer == "smpte2084" else "HLG") in said


def combing(path: Path) -> float:
    """Mean difference of each row from its neighbours' mean: large where fields differ."""
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="gray").astype(float) for f in container.decode(video=0)]
    return float(np.mean([np.abs(f[1:-1] - (f[:-2] + f[2:]) / 2).mean() for f in frames]))


@pytest.mark.timeout(120)
def test_interlaced_input_is_said_and_deinterlaced_on_request(tmp_path, bright_model):
    clip = tmp_path / "tv.mp4"  # 25 fps interlaced, top field first, from 50 fps motion
    interlace = "tinterlace=interleave_top,fieldorder=tff"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=50:duration=1", "-vf", interlace,
           "-c:v", "libx264", "-flags", "+ildct+ilme", "-x264opts", "tff=1",
           "-pix_fmt", "yuv420p", str(clip))  # fmt: skip
    plain, smooth = tmp_path / "plain.mp4", tmp_path / "smooth.mp4"
    args = ("--effect", "blur:1", "--crf", "0", "-q", "--model", str(bright_model))
    first = run_cli("run", "--source", str(clip), "--sink", str(plain), *args)
    assert first.returncode == 0, first.stderr
    assert "is interlaced" in first.stderr and "--deinterlace" in first.stderr
    second = run_cli("run", "--source", str(clip), "--sink", str(smooth), "--deinterlace", *args)
    assert second.returncode == 0, second.stderr
    assert frame_times(smooth) == frame_times(plain) == frame_times(clip)
    assert combing(smooth) < 0.8 * combing(plain)  # 0.70 measured through the blur


@pytest.mark.timeout(60)
def test_an_rgba_image_keeps_its_transparency_with_the_alpha_effect(tmp_path, bright_model):
    image = np.zeros((64, 96, 4), np.uint8)
    image[..., :3] = 230  # bright: all "person" to the test model
    image[:, :48, 3] = 255
    image[:, 48:, 3] = 0  # the right half is transparent in the input
    cv2.imwrite(str(tmp_path / "cutout.png"), image)
    out = tmp_path / "out"
    outcome = run_cli("run", "--source", str(tmp_path / "cutout.png"), "--sink", str(out),
                      "--model", str(bright_model), "--effect", "alpha", "-q")  # fmt: skip
    assert outcome.returncode == 0, outcome.stderr
    alpha = cv2.imread(str(out / "cutout.png"), cv2.IMREAD_UNCHANGED)[..., 3]
    assert alpha[:, :40].min() >= 220 and alpha[:, 56:].max() <= 5  # 230: the model's alpha
