"""A tiny end-to-end benchmark run, shared by the tests that read its results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.__main__ import main
from benchmarks.slow_model import slow_model
from tests.conftest import write_clip
from tests.onnx_models import brightness_model, rvm_signature_model


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> tuple[Path, dict]:
    """`python -m benchmarks --quick` on made-up models and a made-up clip, a few frames."""
    tmp = tmp_path_factory.mktemp("bench")
    model = brightness_model(tmp / "bright.onnx", 32, 32)
    slow = slow_model(tmp / "slow.onnx", size=64, channels=16, depth=2)
    clip = write_clip(tmp / "clip.mp4", frames=12, size=(160, 120))
    matting = rvm_signature_model(tmp / "rvm_like.onnx")
    out = tmp / "out"
    argv = [
        "all",
        "--quick",
        "--out",
        str(out),
        "--no-bundled",
        "--models",
        str(model),
        "--model",
        str(model),
        "--device",
        "cpu",
        "--videos",
        str(clip),
        "--heights",
        "native,240",
        "--frames",
        "5",
        "--live-frames",
        "6",
        "--fps",
        "30,60",
        "--overload-model",
        str(slow),
        "--overload-fps",
        "60",
        # a tiny network with RVM's signature, so the run does not depend on (or take the time
        # of) a matting model the machine may have installed
        "--matting-model",
        str(matting),
        "--matting-baseline",
        str(matting),
    ]
    assert main(argv) == 0
    return out, json.loads((out / "results.json").read_text())
