"""The matting benchmark on a tiny real network with RVM's signature (no GPL weights)."""

from __future__ import annotations

import json

import pytest

from benchmarks import matting
from benchmarks.__main__ import main
from tests.conftest import shared_file, write_clip
from tests.onnx_models import rvm_signature_model


def test_rtseg_bench_matting_times_the_engine_the_file_run_and_a_live_run(tmp_path):
    model = rvm_signature_model(tmp_path / "rvm_like.onnx")
    clip = write_clip(tmp_path / "clip.mp4", frames=8, size=(160, 120))
    out = tmp_path / "out"
    argv = ["matting", "--quick", "--out", str(out), "--videos", str(clip)]
    argv += ["--matting-model", str(model), "--matting-baseline", str(model)]
    assert main(argv) == 0
    result = json.loads((out / "results.json").read_text())["matting"]
    fed = {(r["frame"], r["ratio"], r["fed"]) for r in result["engine"]}
    assert len(fed) == len(matting.FRAMES) * len(matting.RATIOS) * 2
    assert all(r["ms"]["p50"] > 0 for r in result["engine"])
    side = result["side_by_side"]
    assert side["file"]["size"] == "960x720" and side["file"]["frames"] == 6  # 4:3 clip
    assert side["speedup"] == round(side["file"]["pipeline_fps"] / side["baseline_fps"], 2)
    assert side["file_cpu_ms"] > 0 and side["baseline_cpu_ms"] > 0
    ratio = side["baseline_cpu_ms"] / side["file_cpu_ms"]
    assert side["speedup_cpu"] == pytest.approx(ratio, rel=0.2)
    assert result["live"]["frames_out"] + result["live"]["drops"] == result["live"]["frames_in"]
    assert f"Matting model {model}" in (out / "results.md").read_text()


def test_without_the_model_the_matting_benchmark_says_it_skipped(tmp_path, monkeypatch):
    monkeypatch.setenv("RTSEG_MODELS", str(tmp_path))
    clip = write_clip(tmp_path / "clip.mp4", frames=4, size=(160, 120))
    out = tmp_path / "out"
    assert main(["matting", "--quick", "--out", str(out), "--videos", str(clip)]) == 0
    notes = json.loads((out / "results.json").read_text())["notes"]
    assert any("matting: skipped" in n and "make rvm" in n for n in notes)


def test_composites_and_photo_passes_on_the_portraits(tmp_path):
    shared_file("portraits/p3m")
    model = rvm_signature_model(tmp_path / "rvm_like.onnx")
    argv = ["--model", str(model), "--quick", "--out", str(tmp_path), "--what"]
    assert matting.main([*argv, "composites", "photos"]) == 0
    result = json.loads((tmp_path / "matting.json").read_text())
    errors = result["composites"]
    name = f"{model}, fast"
    assert {f"{name}, frame, error edges", f"{name}, foreground, leak edges"} <= errors.keys()
    assert "selfie_general, balanced, foreground, error edges" not in errors  # no colours
    # the truth alpha over the frame is nearly exact: only the old background's colour in
    # the soft edges is wrong
    assert errors[f"{name}, truth alpha, frame, error near"] < errors[f"{name}, frame, error near"]
    photos = result["photos"]
    assert [p["pass"] for p in photos] == list(range(1, 9))
    assert photos[-1]["change"] < photos[1]["change"]  # the state settles


def test_a_variant_built_for_one_ratio_is_timed_only_at_that_ratio(tmp_path):
    model = rvm_signature_model(tmp_path / "rvm_r1.onnx", meta={"rtseg.rvm.ratio": "1"})
    rows = matting.engine_rows(str(model), threads=1, runs=1)
    assert {r["fed"] for r in rows} == {"shrunk, ratio 1 (rtseg)"}
    assert len(rows) == len(matting.FRAMES) * len(matting.RATIOS)
