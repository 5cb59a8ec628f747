"""Issue 10, real-world video files: timing and audio sync, odd sizes, several audio tracks,
aspect ratios, interrupted and concurrent runs, and the paths people give.

Every input is built here by FFmpeg around a sync marker (a white frame and a beep at the same
moment); every check measures the files left on disk with PyAV.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import ROOT, decode_frames
from tests.media import (
    MARKER_S,
    audio_seconds,
    audio_tracks,
    beep_time,
    ffmpeg,
    flash_time,
    frame_times,
    marker_clip,
    sample_aspect_ratio,
)
from tests.reliability import assert_clean_failure, run_cli

FPS = 30
FRAME_S = 1 / FPS
# The first second at 10 fps, the next at 30: a screen recording's kind of timing. The white
# frame (at 1.0 s) is then the 11th frame, which a constant-rate writer would put at 0.33 s.
VARIABLE_RATE = "select='gte(t,1)+not(mod(n,3))'"
VP9 = ("-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8")


def run_to(source: Path | str, model: Path, sink: Path | str, *extra: str, **kwargs):
    """Run the CLI with raw masks (no refinement, no smoothing), so each output frame is as
    bright as its input: the white marker frame stays white."""
    return run_cli(
        "run", "--source", str(source), "--model", str(model), "--sink", str(sink),
        "--effect", "mask", "--no-refine", "--no-smooth", "-q", *extra, **kwargs,
    )  # fmt: skip


def assert_in_sync(path: Path, track: int = 0, at: float | None = MARKER_S) -> None:
    """The beep comes with the white frame, within one frame, and both at `at` seconds
    (None: wherever the input's clock put them)."""
    flash = flash_time(path)
    if at is not None:
        assert abs(flash - at) <= FRAME_S / 2 + 1e-3
    assert abs(beep_time(path, track) - flash) <= FRAME_S


def leftovers(folder: Path, *keep: Path) -> list[str]:
    """Files in `folder` other than `keep` and the test's model."""
    names = {p.name for p in keep}
    return sorted(p.name for p in folder.iterdir() if p.name not in names | {"bright.onnx"})


# -- 1, 2: timestamps ------------------------------------------------------------------------
@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("vfr.mp4", {"vf": VARIABLE_RATE}),
        ("vfr.webm", {"vf": VARIABLE_RATE, "video": VP9, "audio": "libopus", "streamed": True}),
        ("late.mp4", {"video_delay_s": 0.5}),
        ("late.mkv", {"video_delay_s": 0.5, "audio": "flac"}),
        ("vfr-late.mov", {"vf": VARIABLE_RATE, "video_delay_s": 0.5, "audio": "pcm_s16le"}),
    ],
    ids=[
        "vfr-mp4",
        "vfr-webm-no-duration",
        "video-after-audio-mp4",
        "video-after-audio-mkv",
        "vfr-and-late-mov",
    ],
)
def test_every_frame_keeps_its_time_and_the_audio_stays_in_sync(
    tmp_path, bright_model, name, options
):
    clip = marker_clip(tmp_path / name, **options)
    assert_in_sync(clip)  # the input is what the test means it to be
    out = tmp_path / f"out{Path(name).suffix}"
    outcome = run_to(clip, bright_model, out)
    assert outcome.returncode == 0, outcome.stderr
    want, got = frame_times(clip), frame_times(out)
    assert len(got) == len(want)
    assert np.abs(np.array(got) - np.array(want)).max() <= 1e-3
    assert_in_sync(out)
    assert abs(audio_seconds(out) - audio_seconds(clip)) <= FRAME_S
    assert leftovers(tmp_path, clip, out) == []


@pytest.mark.timeout(60)
def test_a_losslessly_trimmed_mp4_edit_list_is_neither_lost_nor_shifted(tmp_path, bright_model):
    whole = marker_clip(tmp_path / "whole.mp4", seconds=3.0)
    trimmed = tmp_path / "trimmed.mp4"  # cut between keyframes: an edit list hides the head
    ffmpeg("-ss", "0.5", "-i", str(whole), "-c", "copy", str(trimmed))
    shown = frame_times(trimmed)
    assert len(shown) < 90  # the frames before the cut are in the file but not shown
    out, stats = tmp_path / "out.mp4", tmp_path / "stats.json"
    outcome = run_to(trimmed, bright_model, out, "--stats-json", str(stats))
    assert outcome.returncode == 0, outcome.stderr
    summary = json.loads(stats.read_text())
    assert summary["frames_lost"] == 0 and "could not be decoded" not in outcome.stderr
    assert summary["frames_out"] == len(shown) == len(frame_times(out))
    assert abs(flash_time(out) - beep_time(out)) <= FRAME_S


@pytest.mark.timeout(120)
@pytest.mark.parametrize("suffix", [".mkv", ".ts", ".flv"])
def test_remuxed_containers_report_no_lost_frames(tmp_path, bright_model, suffix):
    clip = marker_clip(tmp_path / "clip.mp4", seconds=3.0)
    remuxed = tmp_path / f"remux{suffix}"
    ffmpeg("-i", str(clip), "-c", "copy", str(remuxed))
    out, stats = tmp_path / "out.mp4", tmp_path / "stats.json"
    outcome = run_to(remuxed, bright_model, out, "--stats-json", str(stats))
    assert outcome.returncode == 0, outcome.stderr
    summary = json.loads(stats.read_text())
    assert summary["frames_lost"] == 0 and "could not be decoded" not in outcome.stderr
    assert summary["frames_out"] == len(frame_times(remuxed)) == len(frame_times(out)) == 90
    # MPEG-TS and FLV show the AAC encoder's priming samples, which MP4's edit list hid:
    # both streams then start 21 ms earlier on the file's clock, together.
    assert_in_sync(out, at=None)


# -- 3, 6: sizes and shapes ------------------------------------------------------------------
@pytest.mark.timeout(60)
def test_an_odd_sized_input_is_written_padded_and_said_once(tmp_path, bright_model):
    clip = marker_clip(
        tmp_path / "odd.mkv", size=(641, 361), video=("-c:v", "ffv1", "-pix_fmt", "yuv444p")
    )
    out = tmp_path / "out.mp4"
    outcome = run_to(clip, bright_model, out)
    assert outcome.returncode == 0, outcome.stderr
    said = [line for line in outcome.stderr.splitlines() if "padded" in line]
    assert len(said) == 1 and "641x361" in said[0] and "642x362" in said[0], outcome.stderr
    assert decode_frames(out)[0].shape == (362, 642, 3)
    assert len(frame_times(out)) == len(frame_times(clip))
    assert_in_sync(out)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".mov", ".webm"])
def test_non_square_pixels_keep_their_sample_aspect_ratio(tmp_path, bright_model, suffix):
    clip = marker_clip(tmp_path / "dv.mp4", size=(120, 80), vf="setsar=32/27")
    assert sample_aspect_ratio(clip) == Fraction(32, 27)
    out = tmp_path / f"out{suffix}"
    outcome = run_to(clip, bright_model, out)
    assert outcome.returncode == 0, outcome.stderr
    height, width = decode_frames(out)[0].shape[:2]
    if suffix == ".webm":  # WebM cannot say it: the pixels were made square, said once
        assert (width, height, sample_aspect_ratio(out)) == (142, 80, 1)
        assert outcome.stderr.count("square pixels") == 1, outcome.stderr
    else:
        assert (width, height, sample_aspect_ratio(out)) == (120, 80, Fraction(32, 27))


# -- 10: audio tracks ------------------------------------------------------------------------
@pytest.mark.timeout(90)
@pytest.mark.parametrize(("suffix", "codecs"), [(".mp4", ["aac", "mp3"]), (".webm", ["opus"] * 2)])
def test_every_audio_track_is_kept_in_sync(tmp_path, bright_model, suffix, codecs):
    clip = marker_clip(tmp_path / "one.mp4")
    two = tmp_path / "two.mkv"  # a second language track, in another codec
    ffmpeg(
        "-i", str(clip), "-map", "0:v", "-map", "0:a", "-map", "0:a",
        "-c:v", "copy", "-c:a:0", "aac", "-c:a:1", "libmp3lame", str(two),
    )  # fmt: skip
    assert audio_tracks(two) == ["aac", "mp3"]
    out = tmp_path / f"out{suffix}"
    outcome = run_to(two, bright_model, out)
    assert outcome.returncode == 0, outcome.stderr
    assert audio_tracks(out) == codecs
    for track in range(2):
        assert_in_sync(out, track)
    if suffix == ".webm":  # WebM holds neither: both were re-encoded, and the log says so
        assert outcome.stderr.count("re-encoded as libopus") == 2, outcome.stderr


# -- 4, 5: stopped and concurrent runs -------------------------------------------------------
def start_long_run(out: Path, model: Path, *extra: str) -> subprocess.Popen[str]:
    """A run on the built-in sample long enough to be stopped mid-way."""
    return subprocess.Popen(
        [
            sys.executable, "-m", "rtseg", "run", "--source", "sample", "--width", "320",
            "--height", "240", "--max-frames", "100000", "--model", str(model),
            "--sink", str(out), "-q", *extra,
        ],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def wait_for_frames(partial: Path, proc: subprocess.Popen[str], size: int = 30_000) -> None:
    deadline = time.monotonic() + 60
    while not (partial.exists() and partial.stat().st_size > size):
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()[1]
        time.sleep(0.05)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("signals", "status"),
    [((signal.SIGINT,), 130), ((signal.SIGTERM,), 143), ((signal.SIGINT, signal.SIGINT), 130)],
    ids=["ctrl-c", "sigterm", "double-ctrl-c"],
)
def test_a_stopped_run_says_so_and_never_replaces_a_complete_output(
    tmp_path, bright_model, signals, status
):
    out, partial = tmp_path / "out.mp4", tmp_path / "out.partial.mp4"
    marker_clip(out)  # an earlier, complete output
    before = out.read_bytes()
    stats = tmp_path / "stats.json"
    proc = start_long_run(out, bright_model, "--overwrite", "--stats-json", str(stats))
    try:
        wait_for_frames(partial, proc)
        for sig in signals:
            proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == status, stderr
    assert "Traceback" not in stderr
    (line,) = [line for line in stderr.splitlines() if "stopped early" in line]
    assert f"by {signals[0].name}" in line and str(partial) in line
    written = json.loads(stats.read_text())["frames_out"]
    assert f"after writing {written} frames" in line
    assert out.read_bytes() == before  # the complete output is untouched
    assert len(frame_times(partial)) == written > 0  # the partial plays, every frame in it
    assert leftovers(tmp_path, out, partial, stats) == []


@pytest.mark.timeout(120)
def test_a_stopped_run_into_a_png_directory_keeps_the_old_one_and_the_new_frames(
    tmp_path, bright_model
):
    out, partial = tmp_path / "frames", tmp_path / "frames.partial"
    out.mkdir()
    (out / "000000.png").write_bytes(b"an earlier run's frame")
    stats = tmp_path / "stats.json"
    proc = start_long_run(out, bright_model, "--overwrite", "--stats-json", str(stats))
    try:
        deadline = time.monotonic() + 60
        while not (partial.exists() and len(list(partial.iterdir())) >= 5):
            assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()[1]
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143, stderr
    written = json.loads(stats.read_text())["frames_out"]
    assert f"after writing {written} frames" in stderr and str(partial) in stderr
    assert [p.read_bytes() for p in out.iterdir()] == [b"an earlier run's frame"]
    pngs = sorted(partial.iterdir())
    assert len(pngs) == written and all(cv2.imread(str(p)) is not None for p in pngs)


@pytest.mark.timeout(120)
def test_a_second_run_on_the_same_output_refuses_at_once(tmp_path, bright_model):
    out, partial = tmp_path / "out.mp4", tmp_path / "out.partial.mp4"
    first = start_long_run(out, bright_model)
    try:
        wait_for_frames(partial, first)
        second = run_cli("run", "--source", "sample", "--model", str(bright_model),
                         "--sink", str(out), "--max-frames", "5")  # fmt: skip
        assert_clean_failure(second, "being written by another rtseg run")
        assert second.seconds < 15
        assert first.poll() is None  # the first run goes on
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
    finally:
        first.kill()
    assert first.returncode == 130
    assert len(frame_times(partial)) > 0
    assert leftovers(tmp_path, partial) == []  # no lock file left behind


# -- 8, 9, 11, 12, 13: paths and modes -------------------------------------------------------
def numbered_images(folder: Path, names: list[str]) -> None:
    """Images whose brightness is their number times 20, so the frame order can be read back."""
    folder.mkdir(exist_ok=True)
    for name in names:
        number = int("".join(c for c in name if c.isdigit()))
        cv2.imwrite(str(folder / name), np.full((48, 64, 3), 20 * number, np.uint8))


def brightness_order(video: Path) -> list[int]:
    return [round(frame.mean() / 20) for frame in decode_frames(video)]


@pytest.mark.timeout(60)
def test_numbered_images_are_read_in_natural_order(tmp_path, bright_model):
    numbered_images(tmp_path / "in", [f"img_{i}.png" for i in range(1, 13)])
    out = tmp_path / "out.mp4"
    outcome = run_to(tmp_path / "in", bright_model, out, "--crf", "0")
    assert outcome.returncode == 0, outcome.stderr
    assert brightness_order(out) == list(range(1, 13))


@pytest.mark.timeout(60)
def test_a_printf_pattern_reads_the_numbered_files_it_names(tmp_path, bright_model):
    numbered_images(tmp_path / "in", [f"img_{i:04d}.png" for i in (1, 2, 9, 10, 11)])
    numbered_images(tmp_path / "in", ["img_3.png", "other_0004.png"])  # not matched by %04d
    out = tmp_path / "out.mp4"
    outcome = run_to(tmp_path / "in" / "img_%04d.png", bright_model, out, "--crf", "0")
    assert outcome.returncode == 0, outcome.stderr
    assert brightness_order(out) == [1, 2, 9, 10, 11]
    missing = run_to(tmp_path / "in" / "none_%04d.png", bright_model, tmp_path / "o2.mp4")
    assert_clean_failure(missing, "no files match the pattern")


@pytest.mark.timeout(60)
def test_a_path_with_a_word_and_colon_is_a_path(tmp_path, bright_model):
    clip = marker_clip(tmp_path / "take:2.mp4")
    out = tmp_path / "cut:1.mp4"
    outcome = run_to(clip, bright_model, out)
    assert outcome.returncode == 0, outcome.stderr
    assert len(frame_times(out)) == len(frame_times(clip))
    assert_in_sync(out)


@pytest.mark.timeout(60)
def test_writing_over_the_input_is_refused_even_with_overwrite(tmp_path, bright_model):
    clip = marker_clip(tmp_path / "clip.mp4")
    before = clip.read_bytes()
    for sink, extra in ((clip, ()), (tmp_path / "s.mp4", ("--stats-json", str(clip)))):
        outcome = run_to(clip, bright_model, sink, "--overwrite", *extra)
        assert_clean_failure(outcome, "is the input")
    assert clip.read_bytes() == before
    assert leftovers(tmp_path, clip) == []


@pytest.mark.timeout(120)
def test_realtime_into_a_file_keeps_the_input_timing_with_the_frames_kept(tmp_path, bright_model):
    clip = marker_clip(tmp_path / "clip.mp4", seconds=3.0)
    out = tmp_path / "out.mp4"
    started = time.monotonic()
    outcome = run_to(clip, bright_model, out, "--realtime")
    assert outcome.returncode == 0, outcome.stderr
    assert time.monotonic() - started >= 3.0 * 0.9  # paced at the input's own rate
    assert "--realtime into" in outcome.stderr
    want, got = frame_times(clip), frame_times(out)
    assert 0 < len(got) <= len(want)
    assert set(np.round(got, 3)) <= set(np.round(want, 3))  # kept frames, at their own times
    assert abs(audio_seconds(out) - audio_seconds(clip)) <= 2 * FRAME_S
    assert abs(beep_time(out) - MARKER_S) <= FRAME_S


@pytest.mark.timeout(60)
def test_every_output_path_is_checked_before_the_first_frame(tmp_path, bright_model):
    clip = marker_clip(tmp_path / "clip.mp4")
    out = tmp_path / "out.mp4"
    stats = tmp_path / "missing" / "stats.json"
    outcome = run_to(clip, bright_model, out, "--stats-json", str(stats))
    line = assert_clean_failure(outcome, "cannot write")
    assert "missing" in line and "does not exist" in line
    assert leftovers(tmp_path, clip) == []  # no output, no partial, no lock
    same = run_to(clip, bright_model, out, "--stats-json", str(out))
    assert_clean_failure(same, "both --stats-json and a --sink")
    assert leftovers(tmp_path, clip) == []
