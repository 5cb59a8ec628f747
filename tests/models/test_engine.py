import os
import re

import numpy as np
import pytest
from onnx import TensorProto

from rtseg.errors import RtsegError
from rtseg.models.contract import ModelInfo, metadata_dict
from rtseg.models.engine import MAX_AUTO_THREADS, Engine, auto_threads, providers_for
from tests.onnx_models import brightness_model, rvm_signature_model


def test_runs_a_contract_model_on_the_cpu(bright_model):
    engine = Engine(bright_model, device="cpu", threads=1)
    assert engine.providers == ["CPUExecutionProvider"]
    assert not engine.fell_back
    tensor = np.zeros((1, 32, 32, 3), np.uint8)
    tensor[0, :16] = 255
    alpha = engine.infer(tensor)
    assert alpha.shape == (32, 32) and alpha.dtype == np.float32
    assert np.allclose(alpha[:16], 1.0) and np.allclose(alpha[16:], 0.0)


def test_threads_default_to_one_for_a_fixed_size_model_and_every_core_for_a_matting_one(
    bright_model, tmp_path
):
    matting = rvm_signature_model(tmp_path / "rvm.onnx")
    cores = min(os.cpu_count() or 1, MAX_AUTO_THREADS)
    for path, threads, expected in (
        (bright_model, None, 1),
        (matting, None, cores),
        (matting, 1, 1),
        (bright_model, 3, 3),
    ):
        engine = Engine(path, device="cpu", threads=threads)
        assert engine.threads == expected
        assert engine.session.get_session_options().intra_op_num_threads == expected
    assert auto_threads(engine.info, cores=64) == 1
    matting_info = Engine(matting, device="cpu", threads=1).info
    assert auto_threads(matting_info, cores=64) == 4
    # a video's pipeline runs beside the inference, and keeps a core
    assert [auto_threads(matting_info, c, shared=True) for c in (1, 2, 3, 8)] == [1, 1, 2, 4]
    shared_cores = max(1, min((os.cpu_count() or 1) - 1, MAX_AUTO_THREADS))
    assert Engine(matting, device="cpu", shared=True).threads == shared_cores


def test_auto_without_a_gpu_asks_only_for_the_cpu():
    assert providers_for("auto", gpu_present=False) == ["CPUExecutionProvider"]


def test_auto_with_a_gpu_prefers_tensorrt_then_cuda():
    have = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    assert providers_for("auto", have, gpu_present=True) == have
    assert providers_for("auto", have[1:], gpu_present=True) == have[1:]


def test_unknown_device_is_refused():
    with pytest.raises(RtsegError, match="unknown device"):
        providers_for("tpu")


def test_requested_gpu_that_falls_back_is_reported(bright_model, caplog):
    engine = Engine(bright_model, device="cuda")
    if "CUDAExecutionProvider" in engine.providers:
        pytest.skip("a working CUDA provider is present; the fallback path can't be shown")
    assert engine.fell_back
    assert engine.provider == "CPUExecutionProvider"
    assert "inference is on the CPU" in caplog.text


def test_untrained_model_warns(tmp_path, caplog):
    path = brightness_model(tmp_path / "m.onnx", trained=False)
    Engine(path, device="cpu")
    assert "random weights" in caplog.text


def test_missing_file(tmp_path):
    with pytest.raises(RtsegError, match="not found"):
        Engine(tmp_path / "nope.onnx", device="cpu")


@pytest.mark.parametrize("content", [b"", b"this is not onnx", b"\x08\x07" + bytes(range(200))])
def test_empty_or_corrupt_file(tmp_path, content):
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    with pytest.raises(RtsegError, match="cannot load model"):
        Engine(path, device="cpu")


BAD_META = metadata_dict(ModelInfo("x", 32, 32, "linear", "s", "l", "fp32", True))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_type": TensorProto.FLOAT}, "must be uint8"),
        ({"input_name": "input"}, "must be named 'image'"),
        ({"output_name": "mask"}, "first output must be named 'alpha'"),
        ({"extra_output": "logits"}, "optionally 'labels'"),
        ({"rank4": False}, r"must be \[1, 1, 32, 32\]"),
        ({"meta": {}}, "metadata_props lacks"),
        ({"meta": {**BAD_META, "rtseg.input_size": "64x64"}}, "input_size says 64x64"),
        ({"meta": {**BAD_META, "rtseg.precision": "int4"}}, "precision must be"),
        ({"meta": {**BAD_META, "rtseg.contract": "9"}}, "contract version"),
    ],
)
def test_non_contract_models_are_refused_with_the_reason(tmp_path, kwargs, message):
    path = brightness_model(tmp_path / "m.onnx", **kwargs)
    with pytest.raises(RtsegError, match="does not follow the rtseg model contract") as info:
        Engine(path, device="cpu")
    assert re.search(message, str(info.value))


def test_close_releases_the_session_and_keeps_the_description(bright_model):
    engine = Engine(bright_model, device="cpu")
    engine.close()
    assert engine.session is None
    assert engine.info.name == "brightness" and engine.provider == "CPUExecutionProvider"
    with pytest.raises(RtsegError, match="closed"):
        engine.run(np.zeros((1, 32, 32, 3), np.uint8))
    engine.close()  # twice is harmless
