"""Variants side by side: the schedule that alternates them, and each mode's pooled rows."""

from __future__ import annotations

import numpy as np
import pytest

from rtseg.bench.command import build_parser, settings_and_variants
from rtseg.bench.side_by_side import (
    Settings,
    Variant,
    command,
    label,
    run_variants,
    schedule,
    shares,
    variants,
    varied_fields,
)
from tests.onnx_models import brightness_model, rvm_signature_model


def test_every_round_visits_every_variant_starting_one_later():
    assert list(schedule(3, 2)) == [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (1, 0)]


@pytest.mark.parametrize(("total", "rounds", "want"), [(10, 3, [4, 3, 3]), (2, 3, [1, 1])])
def test_shares_split_the_frames_into_rounds_none_empty(total, rounds, want):
    assert shares(total, rounds) == want


def test_labels_name_only_what_differs():
    chosen = variants(["selfie_general", "models/x.onnx"], ["cpu"], [1, 2], ["720"], [None])
    assert varied_fields(chosen) == {"model", "threads"}
    labels = [label(v, varied_fields(chosen)) for v in chosen]
    assert labels == [
        "selfie_general · 1 thread",
        "selfie_general · 2 threads",
        "x.onnx · 1 thread",
        "x.onnx · 2 threads",
    ]
    assert label(chosen[0], set()) == "selfie_general"


@pytest.mark.parametrize(
    ("settings", "variant"),
    [
        (Settings("engine", runs=50), Variant("a.onnx", "cuda", 2, "360", True)),
        (Settings("live", "clip.mp4", frames=90, fps=60.0), Variant("m", "cpu", None, "native")),
        (Settings("file", frames=12), Variant("selfie_landscape", "auto", 4, "1080")),
    ],
)
def test_each_rows_command_measures_that_variant_alone(settings, variant):
    args = build_parser().parse_args(command(variant, settings).split()[2:])
    again, (only,) = settings_and_variants(args)
    assert only == variant
    assert (again.mode, again.source, again.fps) == (settings.mode, settings.source, settings.fps)
    count = "runs" if settings.mode == "engine" else "frames"
    assert getattr(again, count) == getattr(settings, count)


def test_engine_rows_pool_every_round(tmp_path):
    small = str(brightness_model(tmp_path / "small.onnx", 32, 32))
    large = str(brightness_model(tmp_path / "large.onnx", 96, 96))
    said = []
    chosen = variants([small, large], ["cpu"], [1], ["720"], [False, True])
    rows = run_variants(Settings("engine", runs=7, rounds=3), chosen, said.append)
    assert len(said) == 12
    assert [(r["size"], r["io_binding"]) for r in rows] == [
        ("32x32", False),
        ("32x32", True),
        ("96x96", False),
        ("96x96", True),
    ]
    for row in rows:
        samples = row["samples_ms"]["latency"]
        assert row["frames"] == len(samples) == 7 and len(row["fps_by_round"]) == 3
        assert row["latency_ms"]["p99"] == pytest.approx(np.percentile(samples, 99), abs=0.01)
        assert not row["fell_back"] and row["provider"] == "CPUExecutionProvider"
        assert row["precision"] == "fp32" and row["cpu_share"] > 0 and row["fps"] > 0


def test_file_rows_time_each_step_of_every_frame(clip, tmp_path):
    model = str(brightness_model(tmp_path / "m.onnx", 32, 32))
    settings = Settings("file", str(clip), frames=5, rounds=2)
    (row,) = run_variants(settings, [Variant(model, "cpu", 1, "native")])
    assert row["frames"] == 5 and row["size"] == "160x120"
    assert row["stages_ms"].keys() == {"capture", "preprocess", "infer", "postprocess", "sink"}
    assert all(len(row["samples_ms"][name]) == 5 for name in row["stages_ms"])


def test_a_model_of_any_size_gets_the_frame_rtseg_run_would_feed_it(tmp_path):
    model = str(rvm_signature_model(tmp_path / "rvm_like.onnx"))
    chosen = variants([model], ["cpu"], [1], ["720", "native"], [None])
    rows = run_variants(Settings("engine", runs=2, rounds=1), chosen)
    # 1280x720 brought to rtseg's matting input area (320x180); native: the warm-up size
    assert [r["size"] for r in rows] == ["320x180", "512x288"]
