"""Recurrent matting models: the contract recognises them, the engine carries their state.

The models are small real ONNX graphs (tests/onnx_models.py) run by ONNX Runtime: one with
Robust Video Matting's release signature and no rtseg metadata, one rtseg contract model that
declares its state and foreground in metadata.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper

from rtseg.errors import RtsegError
from rtseg.models import engine as engine_module
from rtseg.models.contract import RVM_INPUTS
from rtseg.models.engine import Engine
from tests.onnx_models import brightness_model, rvm_signature_model, stateful_contract_model

GREY = 100  # a grey that the test network calls "person" only once its state has built up


def frame(height: int = 36, width: int = 64) -> np.ndarray:
    """A uint8 RGB model input: white on the left, grey elsewhere."""
    tensor = np.full((1, height, width, 3), GREY, np.uint8)
    tensor[0, :, : width // 4] = 255
    return tensor


@pytest.fixture
def rvm(tmp_path: Path) -> Path:
    return rvm_signature_model(tmp_path / "rvm_like.onnx")


def test_rvm_s_release_signature_is_recognised_without_rtseg_metadata(rvm: Path) -> None:
    info = Engine(rvm, "cpu", 1).info
    assert info.rvm and info.dynamic and info.stateful
    assert info.name == "rvm_like" and info.input_size == "any"
    assert info.foreground == "fgr" and info.license == "GPL-3.0"
    assert info.states == (("r1i", "r1o"), ("r2i", "r2o"), ("r3i", "r3o"), ("r4i", "r4o"))


def test_metadata_names_and_licence_are_read_when_present(tmp_path: Path) -> None:
    meta = {"rtseg.name": "rvm_mobilenetv3", "license": "GPL-3.0-only", "rtseg.rvm.ratio": "0.5"}
    info = Engine(rvm_signature_model(tmp_path / "x.onnx", meta=meta), "cpu", 1).info
    assert (info.name, info.license, info.fixed_ratio) == ("rvm_mobilenetv3", "GPL-3.0-only", 0.5)


def frames(engine: Engine, count: int, tensor: np.ndarray | None = None, ratio: float = 1.0):
    """`count` results of one stream over a still input, the state handed from one to the next."""
    results, state = [], None
    for _ in range(count):
        results.append(engine.run(frame() if tensor is None else tensor, state, ratio))
        state = results[-1].state
    return results


def test_the_state_goes_in_and_comes_out_of_each_run(rvm: Path) -> None:
    engine = Engine(rvm, "cpu", 1)
    grey = [float(r.alpha[18, 40]) for r in frames(engine, 5)]
    assert grey[0] < 0.5 < grey[-1]  # the grey turns "person" as the state builds up
    assert all(b > a for a, b in itertools.pairwise(grey))
    # the engine keeps none of it: a run without a state starts from zeros
    assert engine.run(frame()).alpha[18, 40] == pytest.approx(grey[0], abs=1e-6)


def test_one_engine_serves_streams_apart_and_a_new_size_starts_afresh(rvm: Path) -> None:
    engine = Engine(rvm, "cpu", 1)
    first = engine.run(frame())
    second = engine.run(frame(), first.state)
    assert float(second.alpha[18, 40]) > float(first.alpha[18, 40])  # the state moved on
    other = engine.run(frame())  # another stream, in between: from zeros, and no harm done
    assert other.alpha[18, 40] == pytest.approx(first.alpha[18, 40], abs=1e-6)
    third = engine.run(frame(), second.state)
    assert float(third.alpha[18, 40]) > float(second.alpha[18, 40])
    small = engine.run(frame(18, 32), third.state)  # another size: from zeros
    assert small.alpha.shape == (18, 32)
    assert small.alpha[9, 20] == pytest.approx(first.alpha[18, 40], abs=1e-6)


def test_io_binding_gives_what_plain_runs_give(rvm: Path) -> None:
    plain = Engine(rvm, "cpu", 1, io_binding=False)
    bound = Engine(rvm, "cpu", 1, io_binding=True)
    for a, b in zip(frames(plain, 3, ratio=0.5), frames(bound, 3, ratio=0.5), strict=True):
        np.testing.assert_allclose(a.alpha, b.alpha, atol=1e-6)
        np.testing.assert_allclose(a.fgr, b.fgr, atol=1e-6)


def test_outputs_come_as_float32_at_the_input_s_size_for_fp16_files_too(tmp_path: Path) -> None:
    full = Engine(rvm_signature_model(tmp_path / "a.onnx"), "cpu", 1)
    half = Engine(rvm_signature_model(tmp_path / "b.onnx", half=True), "cpu", 1)
    assert half.info.half and half.info.precision == "fp16"
    for a, b in zip(frames(full, 3, ratio=0.5), frames(half, 3, ratio=0.5), strict=True):
        assert b.alpha.dtype == np.float32 and b.fgr.shape == (36, 64, 3)
        np.testing.assert_allclose(a.alpha, b.alpha, atol=2e-3)
    # the foreground is src with blue halved: RGB (100, 100, 50) / 255
    np.testing.assert_allclose(b.fgr[18, 40], np.array([100, 100, 50]) / 255, atol=1e-3)


def test_a_contract_model_may_declare_state_and_foreground_in_metadata(tmp_path: Path) -> None:
    engine = Engine(stateful_contract_model(tmp_path / "s.onnx"), "cpu", 1)
    assert engine.info.states == (("h_in", "h_out"),) and engine.info.foreground == "fgr"
    assert not engine.info.dynamic
    tensor = np.full((1, 32, 32, 3), 204, np.uint8)  # brightness 0.8
    alphas = [float(r.alpha[0, 0]) for r in frames(engine, 3, tensor)]
    np.testing.assert_allclose(alphas, [0.4, 0.6, 0.7], atol=1e-6)
    assert engine.run(tensor).fgr.shape == (32, 32, 3)


def test_an_unknown_signature_says_what_was_expected(tmp_path: Path) -> None:
    path = brightness_model(tmp_path / "m.onnx", input_name="pixels")
    with pytest.raises(RtsegError, match="does not follow the rtseg model contract") as info:
        Engine(path, "cpu")
    message = str(info.value)
    assert "Robust Video Matting" in message and all(n in message for n in RVM_INPUTS)


def test_rvm_inputs_with_other_outputs_are_refused(tmp_path: Path) -> None:
    path = rvm_signature_model(tmp_path / "m.onnx")
    model = onnx.load(path)
    model.graph.output[0].name = "foreground"
    model.graph.node.append(helper.make_node("Identity", ["fgr"], ["foreground"]))
    onnx.save(model, path)
    with pytest.raises(RtsegError, match=re.escape("has Robust Video Matting's inputs")):
        Engine(path, "cpu")


def test_auto_on_a_gpu_leaves_tensorrt_out_for_a_model_of_any_size(rvm: Path, monkeypatch) -> None:
    """TensorRT would build an engine per input size; where auto would pick it (a GPU is
    there, simulated: this machine has none, so CUDA then falls back to the CPU), a model of
    any size goes to CUDA. Asked for by name, TensorRT is still tried."""
    gpu = [engine_module.TRT, engine_module.CUDA, engine_module.CPU]
    monkeypatch.setattr(engine_module, "providers_for", lambda device: list(gpu))
    assert Engine(rvm, "auto", 1).requested == gpu[1:]
    assert Engine(rvm, "tensorrt", 1).requested == gpu
