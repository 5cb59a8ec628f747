"""The engine as the benchmarks drive it: the sweep, IO binding, and the GPU path."""

import numpy as np
import onnxruntime as ort
import pytest

from benchmarks.slow_model import slow_model
from rtseg.bench.engine import EngineCase, cases, run_case
from rtseg.models.engine import (
    CUDA,
    TRT,
    Engine,
    nvidia_gpu_present,
    provider_options,
    trt_cache_dir,
)

GPU = nvidia_gpu_present() and CUDA in ort.get_available_providers()
needs_gpu = pytest.mark.skipif(not GPU, reason="no NVIDIA GPU with the CUDA provider here")


def frames(engine, n=4):
    rng = np.random.default_rng(1)
    shape = (1, engine.info.height, engine.info.width, 3)
    return [rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(n)]


@pytest.fixture
def convs(tmp_path):
    return slow_model(tmp_path / "convs.onnx", size=32, channels=8, depth=2)


def test_io_binding_on_the_cpu_gives_the_same_alpha(convs):
    plain = Engine(convs, "cpu", 1, io_binding=False)
    bound = Engine(convs, "cpu", 1, io_binding=True)
    for x in frames(plain):
        assert np.array_equal(plain.infer(x), bound.infer(x))


def test_bound_outputs_are_not_overwritten_by_the_next_run(convs):
    # The pipeline post-processes frame n while frame n+1 is inferred.
    engine = Engine(convs, "cpu", 1, io_binding=True)
    a, b = frames(engine, 2)
    first = engine.infer(a)
    kept = first.copy()
    engine.infer(b)
    assert np.array_equal(first, kept)


def test_the_sweep_covers_threads_and_binding_on_cpu(convs):
    got = cases([convs], [1, 2], ["cpu"])
    assert {(c.threads, c.io_binding) for c in got} == {
        (1, False),
        (1, True),
        (2, False),
        (2, True),
    }


def test_tensorrt_is_swept_in_fp32_and_fp16(convs):
    got = cases([convs], [1], ["tensorrt"])
    assert [(c.device, c.fp16) for c in got] == [("tensorrt", None), ("tensorrt", True)]


def test_a_case_reports_its_provider_and_timings(convs):
    row = run_case(EngineCase(convs, "cpu", 1, True), runs=5, warmup=1)
    assert row["provider"] == "CPUExecutionProvider"
    assert row["input_size"] == "32x32" and row["ms"]["n"] == 5


def test_tensorrt_options_keep_engines_on_disk_and_follow_fp16(tmp_path):
    specs = provider_options([TRT, CUDA, "CPUExecutionProvider"], tmp_path, fp16=True)
    (trt, trt_opts), (cuda, _), cpu = specs
    assert (trt, cuda, cpu) == (TRT, CUDA, "CPUExecutionProvider")
    assert trt_opts["trt_fp16_enable"] is True
    assert trt_opts["trt_engine_cache_enable"] is True
    assert trt_opts["trt_engine_cache_path"] == str(tmp_path)


def test_trt_cache_folder_changes_with_content_and_precision(tmp_path, convs):
    root = tmp_path / "cache"
    fp32, fp16 = trt_cache_dir(convs, False, root), trt_cache_dir(convs, True, root)
    assert fp32 != fp16 and fp32.parent == root
    other = slow_model(tmp_path / "convs2.onnx", size=32, channels=8, depth=3)
    other = other.rename(tmp_path / "convs.onnx.other")
    assert trt_cache_dir(other, False, root).name.split("-")[1] != fp32.name.split("-")[1]


@needs_gpu
@pytest.mark.parametrize("device", ["cuda", "tensorrt"])
def test_gpu_matches_the_cpu(device, convs, tmp_path, monkeypatch):
    monkeypatch.setenv("RTSEG_TRT_CACHE", str(tmp_path / "trt"))
    cpu = Engine(convs, "cpu")
    gpu = Engine(convs, device)
    assert gpu.provider == {"cuda": CUDA, "tensorrt": TRT}[device]
    assert gpu.io_binding
    for x in frames(cpu):
        np.testing.assert_allclose(gpu.infer(x), cpu.infer(x), atol=1e-3)


@needs_gpu
def test_tensorrt_engine_is_cached_and_announced_once(convs, tmp_path, monkeypatch, caplog):
    if TRT not in ort.get_available_providers():
        pytest.skip("onnxruntime here has no TensorRT provider")
    monkeypatch.setenv("RTSEG_TRT_CACHE", str(tmp_path / "trt"))
    first = Engine(convs, "tensorrt")
    if first.provider != TRT:
        pytest.skip("TensorRT libraries are not installed; ONNX Runtime fell back")
    assert "building a TensorRT engine" in caplog.text
    assert list((tmp_path / "trt").rglob("*.engine"))
    caplog.clear()
    Engine(convs, "tensorrt")
    assert "building a TensorRT engine" not in caplog.text
