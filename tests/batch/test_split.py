"""`--split`: one video in frame-exact segments on several workers, joined without a seam."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rtseg.batch.split import plan, segments_dir, warmup_s
from tests.batch.media import FPS, make_clip, make_fading_clip, video_frames
from tests.media import audio_seconds, ffmpeg, frame_numbers, frame_times, marker_clip
from tests.onnx_models import rvm_signature_model
from tests.test_cli import rtseg
from tests.test_reliability_files import assert_in_sync

# The mask effect writes alpha as grey and CRF 0 encodes it losslessly, so decoded outputs
# compare alpha itself.
MASK_ARGS = ("--effect", "mask", "--crf", "0")


def test_segments_cover_every_frame_once_and_warm_up_on_the_frames_before(tmp_path: Path):
    clip = make_clip(tmp_path / "clip.mp4", 12.0, audio=False)
    tasks = plan(clip, tmp_path / "out.mp4", 300, 3, every=4)
    assert [(t.start, t.stop) for t in tasks] == [(0, 100), (100, 200), (200, 300)]
    assert [t.warmup for t in tasks] == [0, 52, 52]  # 2 s at 25 fps, rounded up to a multiple of 4
    assert {Path(t.output).parent for t in tasks} == {Path(segments_dir(tmp_path / "out.mp4"))}
    # the strongest smoothing keeps 0.9775 of the past, not 0.85: a 7.1x longer warmup
    strong = plan(clip, tmp_path / "out.mp4", 1000, 2, every=4, smooth=1.0)
    assert [t.warmup for t in strong] == [0, 360]  # 14.3 s at 25 fps, rounded up to 4
    assert warmup_s(0.0) == warmup_s(0.3) == warmup_s(None) == 2.0


@pytest.mark.parametrize("recurrent", [False, True], ids=["model", "recurrent-model"])
def test_split_output_has_every_frame_its_audio_and_no_seam(
    tmp_path: Path, bright_model: Path, recurrent: bool
):
    """With a recurrent model (RVM's signature) too: each segment starts its state from zeros
    at its warm-up, which rebuilds it, so the seam matches the single run."""
    clip = make_fading_clip(tmp_path / "in" / "long.mp4", 300)
    out, single = tmp_path / "out", tmp_path / "single.mp4"
    path = rvm_signature_model(tmp_path / "rvm_like.onnx") if recurrent else bright_model
    model = ("--model", str(path))
    split = rtseg("batch", str(clip), "--out", str(out), "--split", "2", *model, *MASK_ARGS)
    assert split.returncode == 0, split.stderr
    whole = rtseg("run", "--source", str(clip), "--sink", str(single), *model, *MASK_ARGS)
    assert whole.returncode == 0, whole.stderr

    joined = out / "long.mp4"
    times = frame_times(clip)
    assert frame_times(joined) == frame_times(single)
    assert len(times) == 300 and frame_times(joined)[-1] == times[-1]
    assert abs(audio_seconds(joined) - len(times) / FPS) <= 1 / FPS
    a, b = video_frames(joined), video_frames(single)
    seam = 150
    for i in range(seam - 2, seam + 10):
        difference = np.abs(a[i].astype(np.float32) - b[i].astype(np.float32)).mean() / 255
        assert difference < 1 / 255, f"frame {i}: mean |alpha difference| {difference:.4f}"
    assert not Path(segments_dir(joined)).exists()


# -- issue 24: every container `run` accepts, cut where seeking is imprecise -----------------
H264 = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
# Camcorder-style files: seeking a transport stream to a time lands on the keyframe after it,
# an open GOP's leading frames need the GOP before, and x264's default GOP is 250 frames.
OPEN_GOP = ("-g", "30", "-bf", "2", "-x264-params", "open-gop=1")
CAMCORDER = [
    pytest.param("cam.mts", (*H264, "-g", "15", "-bf", "2"), "ac3", ("-mpegts_m2ts_mode", "1"),
                 id="mts-gop15-bframes-ac3"),
    pytest.param("cam.m2ts", (*H264, *OPEN_GOP), "ac3", ("-f", "mpegts"), id="m2ts-open-gop"),
    pytest.param("cam.ts", ("-c:v", "libx264", "-pix_fmt", "yuv420p"), "aac", (),
                 id="ts-x264-default-gop"),
]  # fmt: skip
RAW_MASK = ("--effect", "mask", "--no-refine", "--no-smooth", "--quality", "fast", "-q")


def split_batch(clip: Path, out: Path, model: Path, parts: int, *extra: str):
    """`rtseg batch --split` on one clip, each output frame as bright as its input frame (so
    the burnt-in frame numbers can be read back)."""
    return rtseg(
        "batch", str(clip), "--out", str(out), "--split", str(parts), "--model", str(model),
        *RAW_MASK, *extra,
    )  # fmt: skip


def assert_every_frame_once_in_time(out: Path, clip: Path) -> None:
    """The output holds each input frame once, in order, at its time (both counted from the
    first frame), and the beep still comes with the flash."""
    numbers = frame_numbers(clip)
    assert frame_numbers(out) == numbers
    want, got = np.array(frame_times(clip)), np.array(frame_times(out))
    assert np.abs((got - got[0]) - (want - want[0])).max() <= 1e-3
    assert_in_sync(out, at=None)


@pytest.mark.timeout(240)
@pytest.mark.parametrize(("name", "video", "audio", "mux"), CAMCORDER)
def test_split_camcorder_files_keep_every_frame_at_its_time(
    tmp_path, bright_model, name, video, audio, mux
):
    master = marker_clip(tmp_path / "master.mp4", seconds=6.0, numbered=True)
    clip = tmp_path / "in" / name
    clip.parent.mkdir()
    ffmpeg("-i", str(master), *video, "-c:a", audio, *mux, str(clip))
    assert frame_numbers(clip) == list(range(180))
    done = split_batch(clip, tmp_path / "out", bright_model, 3)
    assert done.returncode == 0, done.stderr
    assert_every_frame_once_in_time(tmp_path / "out" / "cam.mp4", clip)


@pytest.mark.timeout(240)
def test_split_across_a_pause_keeps_the_frames_after_it_in_time(tmp_path, bright_model):
    # 30 fps with a 1 s pause after frame 89, and the seam right after the pause.
    pause = "setpts='if(gt(N,89),PTS+1/TB,PTS)'"
    (tmp_path / "in").mkdir()
    clip = marker_clip(tmp_path / "in" / "paused.mp4", seconds=6.0, numbered=True, vf=pause)
    times = frame_times(clip)
    assert times[90] - times[89] == pytest.approx(1 + 1 / 30, abs=1e-3)
    done = split_batch(clip, tmp_path / "out", bright_model, 2)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out" / "paused.mp4"
    assert_every_frame_once_in_time(out, clip)
    assert frame_times(out) == pytest.approx(times, abs=1e-3)
    assert audio_seconds(out) == pytest.approx(6.0, abs=1 / 30)


@pytest.mark.timeout(240)
def test_a_video_whose_timestamps_restart_is_not_split_and_the_log_says_so(tmp_path, bright_model):
    clip = marker_clip(tmp_path / "part.mp4", seconds=3.0, numbered=True)
    part = tmp_path / "part.ts"
    ffmpeg("-i", str(clip), "-c", "copy", str(part))
    joined = tmp_path / "in" / "joined.ts"  # two recordings joined with `cat`
    joined.parent.mkdir()
    joined.write_bytes(part.read_bytes() * 2)
    done = split_batch(joined, tmp_path / "out", bright_model, 2)
    assert done.returncode == 0, done.stderr
    assert "processed as one segment, not 2: its timestamps restart" in done.stderr
    assert frame_numbers(tmp_path / "out" / "joined.mp4") == list(range(90)) * 2
