"""Issue 6, models: unreadable files, contract breakers and fp16, at the CLI."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from onnx import TensorProto

from tests.onnx_models import brightness_model, failing_model, fp16_brightness_model
from tests.reliability import assert_clean_failure, run_cli

BREAKERS = {
    "float input": ({"input_type": TensorProto.FLOAT}, "must be uint8"),
    "wrong rank": ({"rank4": False}, "must be [1, 1, 32, 32]"),
    "two outputs": ({"extra_output": "extra"}, "optionally 'labels'"),
    "wrong input name": ({"input_name": "pixels"}, "must be named 'image'"),
    "wrong output name": ({"output_name": "mask"}, "must be named 'alpha'"),
    "no metadata": ({"meta": {}}, "rtseg."),
}


def run_with_model(tmp_path, model):
    return run_cli(
        "run",
        "--source",
        "sample",
        "--max-frames",
        "3",
        "--model",
        str(model),
        "--sink",
        str(tmp_path / "out.mp4"),
    )


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "content", [b"", b"\x08\x01garbage that is not protobuf" * 10], ids=["empty", "corrupt"]
)
def test_unreadable_model_files(tmp_path, content):
    model = tmp_path / "bad.onnx"
    model.write_bytes(content)
    assert_clean_failure(run_with_model(tmp_path, model), "cannot load model")
    assert not (tmp_path / "out.mp4").exists()


@pytest.mark.timeout(60)
def test_a_model_that_fails_inside_onnxruntime_on_loading_is_one_line(tmp_path):
    model = failing_model(tmp_path / "fails.onnx", always=True)  # fails on its warm-up
    line = assert_clean_failure(run_with_model(tmp_path, model), "fails on a blank frame")
    assert "Reshape" in line
    assert not (tmp_path / "out.mp4").exists()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", BREAKERS, ids=list(BREAKERS))
def test_models_breaking_the_contract(tmp_path, case):
    kwargs, message = BREAKERS[case]
    model = brightness_model(tmp_path / "m.onnx", 32, 32, **kwargs)
    line = assert_clean_failure(run_with_model(tmp_path, model), message)
    assert "does not follow the rtseg model contract" in line


@pytest.mark.timeout(60)
def test_an_fp16_model_runs_on_the_cpu_provider_with_the_right_mask(tmp_path):
    """ONNX Runtime's CPU provider inserts casts around fp16 ops, so an fp16 model runs there."""
    model = fp16_brightness_model(tmp_path / "half.onnx")
    src = tmp_path / "grey.png"
    cv2.imwrite(str(src), np.full((40, 60, 3), 128, np.uint8))
    out, stats = tmp_path / "out", tmp_path / "s.json"
    outcome = run_cli(
        "run",
        "--source",
        str(src),
        "--model",
        str(model),
        "--effect",
        "alpha",
        "--device",
        "cpu",
        "--sink",
        str(out),
        "--stats-json",
        str(stats),
        "-q",
    )
    assert outcome.returncode == 0, outcome.stderr
    assert json.loads(stats.read_text())["providers"][0] == "CPUExecutionProvider"
    alpha = cv2.imread(str(out / "grey.png"), cv2.IMREAD_UNCHANGED)[..., 3]
    assert np.abs(alpha.astype(int) - 128).max() <= 2
