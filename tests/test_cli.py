"""The `rtseg` command end to end, in a real subprocess, on real encoded files."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmarks.slow_model import slow_model
from rtseg.cli import build_parser
from tests.conftest import ROOT, decode_frames, shared_file, write_clip
from tests.onnx_models import brightness_model, failing_model, rvm_signature_model


def rtseg(*args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rtseg", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=kwargs.pop("cwd", ROOT),
        **kwargs,
    )


def test_file_to_file_keeps_every_frame_and_blurs_only_the_background(tmp_path, clip, bright_model):
    out = tmp_path / "out.mp4"
    stats = tmp_path / "s.json"
    result = rtseg(
        "run",
        "--source",
        str(clip),
        "--model",
        str(bright_model),
        "--sink",
        str(out),
        "--stats-json",
        str(stats),
    )
    assert result.returncode == 0, result.stderr
    assert len(decode_frames(out)) == len(decode_frames(clip)) == 24
    summary = json.loads(stats.read_text())
    assert summary["frames_in"] == summary["frames_out"] == 24
    assert summary["drops"] == 0
    for key in ("fps_out", "latency_ms", "stages", "providers", "model"):
        assert key in summary
    assert set(summary["stages"]) >= {"preprocess", "infer", "postprocess", "sink"}
    src, dst = decode_frames(clip)[5], decode_frames(out)[5]
    diff = cv2.absdiff(src, dst).mean(axis=2)
    bright = src.mean(axis=2) > 200  # the "person" of the brightness model
    inner = cv2.erode(bright.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    background = cv2.erode((~bright).astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert diff[inner].mean() < 10
    # The person's pixels differ by the encoder's loss, which moves by +-0.5 from run to run
    # of slightly different inputs; the blurred background by about 3 more.
    assert diff[background].mean() > diff[inner].mean() + 2


def test_real_clip_with_the_default_model(tmp_path):
    video = shared_file("videos/thoughtful_640x360.mp4")
    out = tmp_path / "out.mp4"
    result = rtseg("run", "--source", str(video), "--sink", str(out), "--max-frames", "60", "-q")
    assert result.returncode == 0, result.stderr
    assert len(decode_frames(out)) == 60


def test_existing_output_is_not_overwritten_without_the_flag(tmp_path, clip, bright_model):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"precious")
    args = ["run", "--source", str(clip), "--model", str(bright_model), "--sink", str(out), "-q"]
    result = rtseg(*args)
    assert result.returncode == 2
    assert "exists" in result.stderr and "--overwrite" in result.stderr
    assert out.read_bytes() == b"precious"
    assert rtseg(*args, "--overwrite").returncode == 0
    assert len(decode_frames(out)) == 24


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "missing.mp4"], "input not found"),
        (["--source", "sample", "--model", "nope"], "unknown model"),
        (["--source", "sample", "--model", "missing.onnx"], "model file not found"),
        (["--source", "/dev/video99"], "cannot open camera"),
        (["--source", "sample", "--sink", "/nonexistent-dir/out.mp4"], "cannot write"),
        (["--source", "sample", "--effect", "sparkles"], "unknown effect"),
        (["--source", "sample", "--grow", "41"], "grow must be in [-40, 40]"),
        (["--source", "sample", "--feather", "-2"], "feather must be in [0, 40]"),
    ],
)
def test_expected_failures_print_one_line_and_exit_2(args, message, tmp_path):
    result = rtseg("run", "--sink", "null", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("rtseg: error:")]
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_window_without_a_display_suggests_a_file_sink(clip, bright_model):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = rtseg("run", "--source", str(clip), "--model", str(bright_model), env=env)
    assert result.returncode == 2
    assert "no display" in result.stderr and "--sink out.mp4" in result.stderr


def test_models_lists_the_user_directory(tmp_path, bright_model):
    (tmp_path / "mine.onnx").write_bytes(bright_model.read_bytes())
    result = rtseg("models", env={**os.environ, "RTSEG_MODELS": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("mine"))
    assert "32x32" in line and "fp32" in line


def test_image_directory_to_png_directory_keeps_stems(tmp_path, bright_model):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("cat", "dog"):
        cv2.imwrite(str(src / f"{name}.jpg"), np.full((40, 60, 3), 128, np.uint8))
    out = tmp_path / "out"
    result = rtseg(
        "run",
        "--source",
        str(src),
        "--model",
        str(bright_model),
        "--effect",
        "alpha",
        "--sink",
        str(out),
        "-q",
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.glob("*.png")) == ["cat.png", "dog.png"]
    rgba = cv2.imread(str(out / "cat.png"), cv2.IMREAD_UNCHANGED)
    assert rgba.shape == (40, 60, 4)
    assert abs(int(rgba[20, 30, 3]) - 128) <= 2  # alpha = brightness of the grey input


def test_realtime_reports_drops_and_bounded_latency(tmp_path):
    # A model slower than the clip's 60 fps, and --sync so each frame waits for its own mask:
    # the live channels must drop frames, and say how many.
    model = slow_model(tmp_path / "slow.onnx", size=128, channels=64, depth=16)
    clip = write_clip(tmp_path / "c.mp4", frames=60, fps=60.0, size=(320, 240))
    stats = tmp_path / "s.json"
    result = rtseg(
        "run", "--source", str(clip), "--model", str(model), "--realtime", "--sync",
        "--sink", "null", "--stats-json", str(stats),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(stats.read_text())
    assert summary["drops"] > 0
    assert sum(summary["drops_by_channel"].values()) == summary["drops"]
    assert summary["frames_out"] + summary["drops"] == 60
    assert f"{summary['drops']} dropped" in result.stdout  # the table printed at the end
    # Bounded: a frame waits for at most the inference in progress, then its own; a queue
    # would make the last frames wait for the whole backlog (tens of inferences, about a
    # second). The slack (6 inferences + 100 ms) is for a loaded machine, where the other
    # stages slow down too: with 4 + 50 it failed once at load average 22.
    infer = summary["stages"]["infer"]["p50"]
    assert summary["latency_ms"]["p99"] < 6 * infer + 100


def test_several_sinks_are_fed_from_one_pipeline(tmp_path, clip, bright_model):
    video, frames_dir = tmp_path / "out.mp4", tmp_path / "frames"
    result = rtseg(
        "run", "--source", str(clip), "--model", str(bright_model), "--sink", str(video),
        "--sink", str(frames_dir), "--sink", "null", "-q",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    pngs = sorted(frames_dir.glob("*.png"))
    assert len(decode_frames(video)) == len(pngs) == 24
    decoded = decode_frames(video)[10]
    written = cv2.imread(str(pngs[10]))
    assert cv2.absdiff(decoded, written).mean() < 4  # the same composed frame went to both


def run_camera(*args: str, cwd) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, str(ROOT / "run_camera.py"), *args],
        capture_output=True, text=True, timeout=120, cwd=cwd, env=env,
    )  # fmt: skip


def test_camera_job_without_a_camera_runs_the_sample(tmp_path):
    if any(Path("/dev").glob("video*")):
        pytest.skip("a camera device exists here")
    result = run_camera("--max-frames", "12", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "running the same job on the built-in sample" in result.stderr
    assert len(decode_frames(tmp_path / "out" / "sample-blur.mp4")) == 12


def test_camera_job_reports_a_stage_failure_in_one_line(tmp_path):
    model = failing_model(tmp_path / "failing.onnx")  # fails on the sample's bright pixels
    result = run_camera("--source", "sample", "--model", str(model), "--sink", "null", cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("rtseg: error:")]
    assert len(errors) == 1 and "stage infer failed" in errors[0], result.stderr


def test_models_add_installs_rvm_s_release_file_and_refuses_other_signatures(tmp_path):
    env = {**os.environ, "RTSEG_MODELS": str(tmp_path / "models")}
    release = rvm_signature_model(tmp_path / "rvm_mobilenetv3_fp16.onnx", half=True)
    added = rtseg("models", "add", str(release), "--name", "rvm_test", env=env)
    assert added.returncode == 0, added.stderr
    assert "licence: GPL-3.0" in added.stdout and "recurrent" in added.stdout
    assert (tmp_path / "models" / "rvm_test.onnx").read_bytes() == release.read_bytes()
    listed = rtseg("models", env=env)
    assert "rvm_test" in listed.stdout and "any" in listed.stdout
    again = rtseg("models", "add", str(release), "--name", "rvm_test", env=env)
    assert again.returncode == 2 and "--overwrite" in again.stderr
    bundled = rtseg("models", "add", str(release), "--name", "selfie_general", env=env)
    assert bundled.returncode == 2 and "bundled" in bundled.stderr
    other = brightness_model(tmp_path / "other.onnx", input_name="pixels")
    refused = rtseg("models", "add", str(other), env=env)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "Robust Video Matting" in refused.stderr and "downsample_ratio" in refused.stderr
    assert not (tmp_path / "models" / "other.onnx").exists()


def test_run_with_a_matting_model_and_a_downsample_ratio(tmp_path, clip):
    model = rvm_signature_model(tmp_path / "rvm_like.onnx")
    out = tmp_path / "out.webm"
    args = ("--source", str(clip), "--model", str(model), "--effect", "alpha", "-q")
    result = rtseg("run", *args, "--sink", str(out), "--downsample-ratio", "0.5")
    assert result.returncode == 0, result.stderr
    assert len(decode_frames(out)) == 24
    bad = rtseg("run", *args, "--sink", str(out), "--downsample-ratio", "0")
    assert bad.returncode == 2 and "(0, 1]" in bad.stderr


def test_a_run_on_a_file_reads_it_once(tmp_path, clip, bright_model, monkeypatch):
    """The progress bar is sized from the container's header: the input is not demuxed
    through once more before the run, only to count its frames."""
    import av

    from rtseg import cli

    opened: list[str] = []
    real_open = av.open

    def counting_open(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(av, "open", counting_open)
    assert (
        cli.main(["run", "--source", str(clip), "--model", str(bright_model), "--sink", "null"])
        == 0
    )
    assert opened.count(str(clip.absolute())) == 1


def test_each_sink_can_have_its_own_effect(tmp_path, clip, bright_model):
    video, frames_dir = tmp_path / "blur.mp4", tmp_path / "alpha"
    result = rtseg(
        "run", "--source", str(clip), "--model", str(bright_model), "--effect", "mask",
        "--sink", f"{video}@blur:31", "--sink", f"{frames_dir}@alpha", "-q",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    pngs = sorted(frames_dir.glob("*.png"))
    assert len(decode_frames(video)) == len(pngs) == 24
    assert cv2.imread(str(pngs[0]), cv2.IMREAD_UNCHANGED).shape[2] == 4  # RGBA
    refused = rtseg(
        "run", "--source", str(clip), "--model", str(bright_model),
        "--sink", f"{tmp_path / 'c'}@classes",
    )  # fmt: skip
    assert refused.returncode == 2 and "--labels" in refused.stderr.splitlines()[-1]
    assert "Traceback" not in refused.stderr


def parser_options(parser: argparse.ArgumentParser) -> dict[str, set[str]]:
    """Every option string of each (sub)command, by command path ("run", "models fetch")."""
    found: dict[str, set[str]] = {}

    def walk(p: argparse.ArgumentParser, path: str) -> None:
        found[path] = set()
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, f"{path} {name}".strip())
            else:
                found[path].update(o for o in action.option_strings if o not in ("-h", "--help"))

    walk(parser, "")
    return found


def test_every_option_and_subcommand_has_help() -> None:
    missing = []

    def walk(p: argparse.ArgumentParser, path: str) -> None:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {choice.dest: choice.help for choice in action._choices_actions}
                for name, child in action.choices.items():
                    if not helps.get(name):
                        missing.append(f"{path} {name}")
                    walk(child, f"{path} {name}")
            elif not action.help:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")

    walk(build_parser(), "rtseg")
    assert missing == []
    top = build_parser().format_help()
    for command in ("run", "batch", "models", "bench"):
        assert command in top.split("positional arguments:")[0].split("usage:")[1], command


def test_docs_cli_md_names_every_option_and_only_real_ones() -> None:
    """docs/cli.md is checked against the parser: its run table names every option of `rtseg
    run`, its batch section every option of `rtseg batch`, and it names no option that
    neither has (a `--no-` form is covered by its positive one)."""
    options = parser_options(build_parser())
    text = (ROOT / "docs" / "cli.md").read_text()
    run_part, batch_part = text.split("## Many files", 1)

    def named(part: str) -> set[str]:
        return set(re.findall(r"(?<![\w./-])(--?[a-z](?:[a-z0-9-]*[a-z0-9])?)(?![\w-])", part))

    def missing(names: set[str], part: str) -> list[str]:
        return sorted(n for n in names if n.replace("--no-", "--") not in named(part))

    assert missing(options["run"], run_part) == []
    assert missing(options["batch"], batch_part) == []
    every = set().union(*options.values())
    text = text.replace("export ... --labels", "")  # the exporter's option, not rtseg's
    shown = {name for name in named(text) if name.startswith("--")}
    assert shown - every == set()


def test_a_usage_error_is_one_line_whatever_the_argument_holds() -> None:
    for argv in (["run", "\n0"], ["run", "--fps", "x\ny"], ["models", "fetch", "r\nvm"]):
        done = subprocess.run(
            [sys.executable, "-m", "rtseg", *argv], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 2
        assert ": error: " in done.stderr.splitlines()[-1] and "\\n" in done.stderr, done.stderr


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--grow", "1.5", "whole number of pixels"),
        ("--smooth", "2", "from 0 to 1"),
        ("--people", "some", "invalid choice"),
    ],
)
def test_bad_webcam_settings_are_usage_errors(flag, value, message, tmp_path):
    result = rtseg("run", "--source", "sample", "--sink", "null", flag, value, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert message in result.stderr.splitlines()[-1]
