"""Issue 6, inputs: bad paths, truncated files, mixed sizes, odd pixel formats, stalled streams."""

from __future__ import annotations

import json
import threading
import time

import cv2
import numpy as np
import pytest

from rtseg.errors import RtsegError
from rtseg.io.sources import StreamSource
from tests.conftest import decode_frames, write_clip
from tests.media import ffmpeg
from tests.reliability import (
    StreamServer,
    assert_clean_failure,
    kept_partial,
    mpegts_of,
    run_cli,
)


def run_to(source, model, sink, *extra):
    return run_cli(
        "run", "--source", str(source), "--model", str(model), "--sink", str(sink), *extra
    )


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing", "input not found"),
        ("dir", "no images"),
        ("empty", "empty (0 bytes)"),
        ("text", "cannot decode"),
    ],
)
def test_bad_input_files_fail_in_one_line_at_the_cli(tmp_path, bright_model, kind, message):
    path = tmp_path / ("d" if kind == "dir" else f"{kind}.mp4")
    if kind == "dir":
        path.mkdir()
        (path / "notes.txt").write_text("no images here")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("not a video\n" * 200)
    out = tmp_path / "out.mp4"
    assert_clean_failure(run_to(path, bright_model, out), message)
    assert not out.exists() and not (tmp_path / "out.partial.mp4").exists()


@pytest.mark.timeout(60)
def test_a_truncated_download_is_processed_and_the_lost_frames_reported(tmp_path, bright_model):
    clip = write_clip(tmp_path / "c.mp4", frames=60)
    whole = tmp_path / "whole.mp4"  # index first, as web downloads are, so a cut file still plays
    ffmpeg("-i", str(clip), "-c", "copy", "-movflags", "+faststart", str(whole))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * 0.6)])
    decodable = len(decode_frames(cut))
    assert 0 < decodable < 60
    out, stats = tmp_path / "out.mp4", tmp_path / "s.json"
    outcome = run_to(cut, bright_model, out, "--stats-json", str(stats), "-q")
    assert outcome.returncode == 0, outcome.stderr
    summary = json.loads(stats.read_text())
    assert summary["frames_expected"] == 60
    assert summary["frames_out"] == decodable == len(decode_frames(out))
    assert summary["frames_lost"] == 60 - decodable
    warning = [line for line in outcome.stderr.splitlines() if "could not be decoded" in line]
    assert len(warning) == 1 and f"{60 - decodable} of 60 frames" in warning[0], outcome.stderr
    assert "Traceback" not in outcome.stderr


@pytest.mark.timeout(60)
def test_a_cut_file_without_its_index_is_refused_clearly(tmp_path, bright_model):
    clip = write_clip(tmp_path / "c.mp4", frames=60)  # OpenCV writes the index at the end
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    out = tmp_path / "out.mp4"
    assert_clean_failure(run_to(cut, bright_model, out), "complete video file")
    assert not out.exists()


@pytest.mark.timeout(60)
def test_a_complete_file_reports_no_lost_frames(tmp_path, clip, bright_model):
    stats = tmp_path / "s.json"
    outcome = run_to(clip, bright_model, "null", "--stats-json", str(stats), "-q")
    assert outcome.returncode == 0, outcome.stderr
    summary = json.loads(stats.read_text())
    assert summary["frames_expected"] == summary["frames_out"] == 24
    assert summary["frames_lost"] == 0
    assert "lost" not in outcome.stderr


def mixed_size_dir(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i, (w, h) in enumerate([(64, 48), (100, 30), (48, 64)]):
        cv2.imwrite(str(src / f"{i}.png"), np.full((h, w, 3), 40 * (i + 1), np.uint8))
    return src


@pytest.mark.timeout(60)
def test_mixed_size_images_become_pngs_each_at_its_own_size(tmp_path, bright_model):
    out = tmp_path / "out"
    outcome = run_to(mixed_size_dir(tmp_path), bright_model, out, "--effect", "mask", "-q")
    assert outcome.returncode == 0, outcome.stderr
    shapes = [cv2.imread(str(out / f"{i}.png")).shape[:2] for i in range(3)]
    assert shapes == [(48, 64), (30, 100), (64, 48)]


@pytest.mark.timeout(60)
def test_mixed_size_images_into_one_video_are_refused_and_the_partial_kept(tmp_path, bright_model):
    out = tmp_path / "out.mp4"
    line = assert_clean_failure(run_to(mixed_size_dir(tmp_path), bright_model, out), "frame 1 is")
    assert not out.exists()
    assert len(decode_frames(kept_partial(line))) == 1


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "image",
    [
        np.tile(np.arange(0, 256, 4, dtype=np.uint8), (48, 1)),
        np.dstack([np.full((48, 64, 3), 90, np.uint8), np.full((48, 64), 255, np.uint8)]),
        np.repeat(np.tile(np.arange(0, 65536, 1024, dtype=np.uint16), (48, 1))[..., None], 3, 2),
    ],
    ids=["gray", "bgra", "16-bit"],
)
def test_gray_bgra_and_16bit_images_run_end_to_end(tmp_path, bright_model, image):
    src = tmp_path / "x.png"
    assert cv2.imwrite(str(src), image)
    out = tmp_path / "out"
    # raw whole-frame masks (no zoom, refinement or smoothing): alpha is then exactly the
    # brightness model's
    outcome = run_to(
        src, bright_model, out, "--effect", "alpha", "--quality", "fast", "--no-refine",
        "--no-smooth", "-q",
    )  # fmt: skip
    assert outcome.returncode == 0, outcome.stderr
    rgba = cv2.imread(str(out / "x.png"), cv2.IMREAD_UNCHANGED)
    assert rgba.shape == (48, 64, 4)
    gray8 = image if image.ndim == 2 else image[..., 0]
    expected = (gray8 >> 8).astype(np.uint8) if image.dtype == np.uint16 else gray8
    assert np.abs(rgba[..., 3].astype(int) - expected.astype(int)).max() <= 3


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("w", "h"), [(32, 32), (3840, 2160)], ids=["tiny", "4k"])
def test_tiny_and_4k_frames_run_end_to_end(tmp_path, bright_model, w, h):
    clip = write_clip(tmp_path / "c.mp4", frames=3, size=(w, h))
    out = tmp_path / "out.mp4"
    outcome = run_to(clip, bright_model, out, "-q")
    assert outcome.returncode == 0, outcome.stderr
    cap = cv2.VideoCapture(str(out))
    assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (w, h)
    cap.release()
    assert len(decode_frames(out)) == 3


@pytest.mark.timeout(60)
def test_a_camera_index_that_does_not_exist(tmp_path, bright_model):
    outcome = run_to(7, bright_model, "null")
    assert_clean_failure(outcome, "cannot open camera 7")


@pytest.mark.timeout(60)
def test_a_stalled_stream_times_out_and_reconnects(tmp_path):
    payload = mpegts_of(write_clip(tmp_path / "c.mp4", frames=48), tmp_path / "c.ts")
    with StreamServer(payload, send=len(payload) // 2).running() as server:
        source = StreamSource(server.url, stall_timeout_s=0.5, backoff_s=(0.1, 0.2))
        seqs, started = [], time.monotonic()
        while len(seqs) < 40:  # more frames than one connection delivers
            seqs.append(source.read().seq)
        source.close()
    assert seqs == list(range(40))
    assert server.connections >= 2
    assert time.monotonic() - started < 20


@pytest.mark.timeout(60)
def test_a_stream_that_never_comes_back_is_given_up_after_bounded_attempts(tmp_path):
    payload = mpegts_of(write_clip(tmp_path / "c.mp4", frames=48), tmp_path / "c.ts")
    with StreamServer(payload, send=len(payload) // 2).running() as server:
        source = StreamSource(server.url, stall_timeout_s=0.5, backoff_s=(0.1, 0.2, 0.4))
        server.accept = False
        frames, started = 0, time.monotonic()
        with pytest.raises(RtsegError, match="did not come back after 3 reconnect attempts"):
            while source.read() is not None:
                frames += 1
        source.close()
    assert frames > 0
    assert time.monotonic() - started < 15
    assert server.connections == 4  # the first, then one per attempt


@pytest.mark.timeout(90)
def test_a_stream_that_dies_mid_run_ends_the_cli_with_one_line_and_the_output_kept(
    tmp_path, bright_model
):
    payload = mpegts_of(write_clip(tmp_path / "c.mp4", frames=48), tmp_path / "c.ts")
    out = tmp_path / "out.mp4"
    with StreamServer(payload, send=len(payload) // 2, stall_s=60).running() as server:

        def refuse_after_first() -> None:
            deadline = time.monotonic() + 30
            while server.connections < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            server.accept = False

        watcher = threading.Thread(target=refuse_after_first)
        watcher.start()
        outcome = run_to(server.url, bright_model, out)
        watcher.join()
    line = assert_clean_failure(outcome, "stopped delivering frames")
    assert "reconnect attempts" in line
    assert not out.exists()
    assert len(decode_frames(kept_partial(line))) > 0
