"""Engine benchmark: model x precision x provider x threads x input size, the model alone.

Each case runs after warm-up and rotates among several different random inputs, so a cache
that happens to hold the last input is not what gets measured.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from rtseg.bench.timing import summarize
from rtseg.errors import RtsegError
from rtseg.models.engine import CUDA, TRT, WARMUP_SIZE, Engine, nvidia_gpu_present

INPUTS = 8


@dataclass(frozen=True)
class EngineCase:
    """One configuration to time; `fp16` None lets the engine follow the model's precision."""

    model: Path
    device: str = "cpu"
    threads: int | None = None
    io_binding: bool = False
    fp16: bool | None = None
    size: tuple[int, int] | None = None  # (h, w) for a model of any size (RVM)
    ratio: float = 1.0  # RVM's downsample_ratio, applied inside the graph


def gpu_devices() -> list[str]:
    """The GPU devices this machine can run: none without an NVIDIA driver."""
    if not nvidia_gpu_present():
        return []
    have = ort.get_available_providers()
    return [d for d, p in (("cuda", CUDA), ("tensorrt", TRT)) if p in have]


def cases(
    models: list[Path], threads: list[int], devices: list[str], trt_fp16: bool = True
) -> list[EngineCase]:
    """The sweep: CPU cases per thread count with and without IO binding; GPU cases bound
    (threads don't matter there), TensorRT also in FP16 for FP32 models when `trt_fp16`."""
    out: list[EngineCase] = []
    for model in models:
        for device in devices:
            if device == "cpu":
                out += [EngineCase(model, "cpu", t, b) for t in threads for b in (False, True)]
            else:
                out.append(EngineCase(model, device, None, True))
                if device == "tensorrt" and trt_fp16:
                    out.append(EngineCase(model, device, None, True, fp16=True))
    return out


def time_engine(
    engine: Engine,
    runs: int,
    seed: int = 0,
    size: tuple[int, int] | None = None,
    ratio: float = 1.0,
) -> list[float]:
    """Milliseconds per `engine.run`, rotating among `INPUTS` random frames; `size` (h, w)
    for a model of any size (default: `WARMUP_SIZE`), `ratio` its downsample ratio. A recurrent
    model's state is carried from run to run, as in a video."""
    rng = np.random.default_rng(seed)
    if engine.info.dynamic:
        h, w = size or WARMUP_SIZE
    else:
        h, w = engine.info.height, engine.info.width
    inputs = [rng.integers(0, 256, (1, h, w, 3), dtype=np.uint8) for _ in range(INPUTS)]
    state = None
    for x in inputs:  # one more warm-up pass over every input
        state = engine.run(x, state, ratio).state
    samples = []
    for i in range(runs):
        start = time.perf_counter_ns()
        state = engine.run(inputs[i % INPUTS], state, ratio).state
        samples.append((time.perf_counter_ns() - start) / 1e6)
    return samples


def run_case(case: EngineCase, runs: int, warmup: int) -> dict:
    """One result row; a case that cannot run (e.g. TensorRT libraries missing) says why."""
    row: dict = {
        "model_file": case.model.name,
        "device": case.device,
        "threads": case.threads,
        "io_binding": case.io_binding,
    }
    try:
        engine = Engine(
            case.model,
            case.device,
            case.threads,
            warmup,
            io_binding=case.io_binding,
            fp16=case.fp16,
        )
    except RtsegError as exc:
        return row | {"error": str(exc)}
    samples = time_engine(engine, runs, size=case.size, ratio=case.ratio)
    size = f"{case.size[0]}x{case.size[1]}" if case.size else engine.info.input_size
    return row | {
        "model": engine.info.name,
        "input_size": size,
        "ratio": case.ratio if engine.info.rvm else None,
        "precision": engine.info.precision,
        "trt_fp16": engine.fp16 if engine.provider == TRT else None,
        "provider": engine.provider,
        "fell_back": engine.fell_back,
        "ms": summarize(samples),
    }


def bench_engines(
    models: list[Path],
    threads: list[int],
    devices: list[str] | None = None,
    runs: int = 200,
    warmup: int = 10,
) -> list[dict]:
    """Every case of the sweep; `devices` None means the CPU plus every GPU provider present."""
    devices = devices if devices is not None else ["cpu", *gpu_devices()]
    return [run_case(c, runs, warmup) for c in cases(models, threads, devices)]
