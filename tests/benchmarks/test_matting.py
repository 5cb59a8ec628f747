"""The matting benchmark on a tiny real network with RVM's signature (no GPL weights)."""

from __future__ import annotations

import json

import cv2

from benchmarks import matting
from benchmarks.__main__ import main
from tests.conftest import decode_frames, shared_file, write_clip
from tests.onnx_models import rvm_signature_model


def test_rtseg_bench_matting_times_the_defaults_file_live_and_photo_runs(tmp_path):
    model = rvm_signature_model(tmp_path / "rvm_like.onnx")
    clip = write_clip(tmp_path / "clip.mp4", frames=8, size=(160, 120))
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, frame in enumerate(decode_frames(clip)[:2]):
        cv2.imwrite(str(photos / f"p{i}.png"), frame)
    out = tmp_path / "out"
    argv = ["matting", "--quick", "--out", str(out), "--videos", str(clip)]
    argv += ["--matting-model", str(model), "--matting-baseline", str(model)]
    argv += ["--matting-photos", str(photos)]
    assert main(argv) == 0
    result = json.loads((out / "results.json").read_text())["matting"]
    fed = {(r["frame"], r["ratio"], r["fed"]) for r in result["engine"]}
    assert len(fed) == len(matting.FRAMES) * len(matting.RATIOS) * 2
    assert all(r["ms"]["p50"] > 0 for r in result["engine"])
    assert result["input"]["size"] == "960x720"  # the 4:3 clip brought to 720p
    file, base = result["file"], result["baseline"]["runs"]
    assert file["frames"] == 6 and file["fps"] > 0 and file["cpu_ms_per_frame"] > 0
    assert result["speedup"] == round(file["fps"] / base[0]["fps"], 2)
    live = result["live"]
    assert live["frames_out"] + live["drops"] == live["frames_in"] == 8
    assert live["quality"] == "fast" and live["inference_threads"] >= 1
    assert live["mask_age_frames"]["p50"] >= 0
    assert result["photos"]["photos"] == 2 and result["photos"]["quality"] == "best"
    assert result["photos"]["seconds_per_photo"] > 0
    assert f"Matting model {model}" in (out / "results.md").read_text()
    targets = json.loads((out / "results.json").read_text())["targets"]
    assert {t["target"].split(" ", 1)[1][:7] for t in targets} >= {"720p fi", "live 72", "photos:"}
    assert (out / "targets.png").stat().st_size > 0


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
