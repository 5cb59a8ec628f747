"""The batch benchmark's scaling model and report, from a results dict."""

from __future__ import annotations

import math

import pytest

from benchmarks.batch import render, scaling

RESULT = {
    "inputs": {"clips": 40, "clip_seconds": 2.0, "clip_height": 540, "frames": 2400,
               "long_seconds": 60.0, "long_height": 720, "source": "clip.mp4"},
    "loop_s": 31.0,
    "batch": [{"workers": 1, "seconds": 22.0}, {"workers": 2, "seconds": 20.0}],
    "costs": {"run_start_s": 0.3, "batch_start_s": 0.6, "file_in_batch_s": 0.05},
    "long_single_s": 20.0,
    "long_split_s": 18.0,
    "long_frames": 1798,
    "seam": {"seam_mean_levels": 0.0, "seam_max_levels": 0.0, "all_frames_mean_levels": 0.0},
    "machine": {"cpu": "CPU", "cores": 2, "gpus": [], "onnxruntime": "1", "opencv": "5",
                "python": "3"},
    "targets": [],
}  # fmt: skip


def test_the_frame_cost_reproduces_the_fastest_batch_and_more_machines_divide_the_work():
    model = scaling(RESULT)
    assert model["workers_per_machine"] == 2
    per_file = 0.05 + model["frame_s"] * 60
    assert 0.6 + math.ceil(40 / 2) * per_file == pytest.approx(20.0, abs=0.01)  # frame_s is rounded
    predicted = {(p["machines"], p["files"]): p["predicted_s"] for p in model["predictions"]}
    assert predicted[(1, 40)] == round(20.0, 1)
    assert predicted[(2, 4000)] == pytest.approx(0.6 + 1000 * per_file, abs=0.5)
    assert predicted[(16, 4000)] < predicted[(8, 4000)] < predicted[(1, 4000)]


def test_the_report_states_inputs_ratios_and_the_model():
    text = render({**RESULT, "scaling": scaling(RESULT)})
    assert "40 clips of 2.0 s at 540p (2400 frames)" in text
    assert "| `rtseg batch --workers 2` | 20.0 | 1.55x |" in text
    assert "| `rtseg batch --split 2` | 18.0 | 1.11x |" in text
