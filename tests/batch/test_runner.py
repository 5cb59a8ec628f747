"""`rtseg batch` end to end in a subprocess, on clips with audio that the tests encode."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.batch.media import FPS, make_clip
from tests.batch.processes import kill_a_worker_mid_file
from tests.conftest import ROOT
from tests.media import audio_seconds, frame_times
from tests.test_cli import rtseg


def read_report(path: Path) -> dict[str, dict]:
    """The report's lines by input file name."""
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return {Path(line["source"]).name: line for line in lines}


def assert_same_timing_with_audio(output: Path, source: Path) -> None:
    """Every input frame is in the output at its time, and the audio lasts as long."""
    times = frame_times(source)
    assert frame_times(output) == pytest.approx(times, abs=1e-3)
    assert abs(audio_seconds(output) - len(times) / FPS) <= 1 / FPS


def test_every_output_is_frame_exact_with_audio_and_a_corrupt_file_is_reported(
    tmp_path: Path, bright_model: Path
):
    src, out, report = tmp_path / "in", tmp_path / "out", tmp_path / "report.jsonl"
    clips = [
        make_clip(src / "a.mp4", 1.0),
        make_clip(src / "talks" / "b.mp4", 1.6),
        make_clip(src / "talks" / "c.mp4", 0.6),
    ]
    broken = src / "talks" / "broken.mp4"
    broken.write_bytes(clips[1].read_bytes()[:4000])  # cut before the index: unreadable

    result = rtseg(
        "batch", str(src), "--out", str(out), "--model", str(bright_model),
        "--workers", "2", "--report", str(report),
    )  # fmt: skip

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"rtseg: error: {broken}: cannot")
    lines = read_report(report)
    assert lines["broken.mp4"]["status"] == "failed"
    for clip in clips:
        line = lines[clip.name]
        frames = len(frame_times(clip))
        assert (line["status"], line["frames_in"], line["frames_out"]) == ("done", frames, frames)
        assert line["fps"] > 0 and line["seconds"] > 0 and line["error"] is None
        assert_same_timing_with_audio(out / clip.relative_to(src), clip)
    assert "4: 3 done, 1 failed" in result.stdout
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["a.mp4", "b.mp4", "c.mp4"]


def test_a_rerun_skips_complete_outputs_and_only_those(tmp_path: Path, bright_model: Path):
    src, out, report = tmp_path / "in", tmp_path / "out", tmp_path / "report.jsonl"
    for name in ("a", "b", "c"):
        make_clip(src / f"{name}.mp4", 0.8)
    args = ("batch", str(src), "--out", str(out), "--model", str(bright_model), "-q")
    assert rtseg(*args).returncode == 0
    kept = (out / "a.mp4").stat().st_mtime_ns
    (out / "b.mp4").unlink()
    make_clip(out / "c.mp4", 0.4)  # an output cut short since it was written

    result = rtseg(*args, "--report", str(report))

    lines = read_report(report)
    assert lines["a.mp4"]["status"] == "skipped"
    assert (out / "a.mp4").stat().st_mtime_ns == kept
    assert lines["b.mp4"]["status"] == "done"
    assert lines["c.mp4"]["status"] == "failed"
    assert "not complete; pass --overwrite" in lines["c.mp4"]["error"]
    assert result.returncode == 1

    assert rtseg(*args, "--overwrite").returncode == 0
    assert_same_timing_with_audio(out / "c.mp4", src / "c.mp4")


def test_a_worker_killed_mid_file_is_retried_and_its_output_is_complete(
    tmp_path: Path, bright_model: Path
):
    src, out, report = tmp_path / "in", tmp_path / "out", tmp_path / "report.jsonl"
    clips = [make_clip(src / f"{name}.mp4", 8.0, size="320x240") for name in ("a", "b")]
    batch = subprocess.Popen(
        [sys.executable, "-m", "rtseg", "batch", str(src), "--out", str(out),
         "--model", str(bright_model), "--workers", "2", "--report", str(report)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    killed = kill_a_worker_mid_file(batch.pid, out.absolute())
    _, stderr = batch.communicate(timeout=120)

    assert batch.returncode == 0, stderr
    lines = read_report(report)
    retried = [line for line in lines.values() if line["attempts"] == 2]
    assert len(retried) == 1
    assert not retried[0]["worker"].endswith(f":{killed}")
    for clip in clips:
        assert lines[clip.name]["status"] == "done"
        assert_same_timing_with_audio(out / clip.name, clip)
    assert sorted(p.name for p in out.iterdir()) == ["a.mp4", "b.mp4"]


def test_ray_without_its_extra_is_one_line_naming_the_extra(tmp_path: Path):
    make_clip(tmp_path / "a.mp4", 0.2)
    no_ray = (
        "import sys; sys.modules['ray'] = None; from rtseg.cli import main; "
        f"sys.exit(main(['batch', {str(tmp_path / 'a.mp4')!r}, '--out', "
        f"{str(tmp_path / 'out')!r}, '--ray']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", no_ray], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "rtseg: error: --ray needs Ray: pip install 'rtseg[cluster]'"
    assert not (tmp_path / "out").exists()


@pytest.mark.timeout(180)
def test_a_phone_folder_of_photos_and_a_video_as_png_gives_outputs_that_never_nest(
    tmp_path: Path, bright_model: Path
):
    dcim, out, report = tmp_path / "phone" / "DCIM", tmp_path / "out", tmp_path / "r.jsonl"
    dcim.mkdir(parents=True)
    for name, level in (("IMG_0001.jpg", 60), ("IMG_0002.jpg", 200)):
        cv2.imwrite(str(dcim / name), np.full((48, 64, 3), level, np.uint8))
    video = make_clip(dcim / "VID_0003.mp4", 0.4)
    args = ["batch", str(tmp_path / "phone"), "--out", str(out), "--format", "png"]
    args += ["--model", str(bright_model), "--report", str(report), "-q"]
    for extra in ((), ("--overwrite",)):  # a first run, and a rerun over its outputs
        result = rtseg(*args, *extra)
        assert result.returncode == 0, result.stderr
        lines = read_report(report)
        assert {line["status"] for line in lines.values()} == {"done"}, lines
        photos = sorted(p.name for p in (out / "DCIM" / "images").glob("*.png"))
        assert photos == ["IMG_0001.png", "IMG_0002.png"]
        frames = list((out / "DCIM" / "VID_0003").glob("*.png"))
        assert len(frames) == len(frame_times(video)) == 10


@pytest.mark.parametrize("where", ["a-file", "under-a-file", "read-only"])
def test_an_out_folder_that_cannot_be_written_is_one_line(tmp_path: Path, where: str):
    clip = make_clip(tmp_path / "a.mp4", 0.2, audio=False)
    a_file = tmp_path / "taken"
    a_file.write_text("not a folder")
    out = {"a-file": a_file, "under-a-file": a_file / "out", "read-only": Path("/sys/rtseg")}
    result = rtseg("batch", str(clip), "--out", str(out[where]), "-q")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("rtseg: error:") and len(result.stderr.splitlines()) == 1
    assert str(out[where]) in result.stderr
    assert a_file.read_text() == "not a folder"
