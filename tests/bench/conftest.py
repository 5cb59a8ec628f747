"""A real two-model engine run, shared by the tests that read what it wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rtseg.bench.command import main
from tests.onnx_models import brightness_model


@pytest.fixture(scope="session")
def engine_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """`rtseg bench engine` on two small contract models, side by side: (out folder, JSON)."""
    tmp = tmp_path_factory.mktemp("engine")
    models = [str(brightness_model(tmp / f"{n}.onnx", n, n)) for n in (32, 64)]
    out = tmp / "out"
    argv = ["engine", "--quick", "--device", "cpu", "--model", *models, "--out", str(out)]
    assert main(argv) == 0
    return out, json.loads((out / "engine.json").read_text())
