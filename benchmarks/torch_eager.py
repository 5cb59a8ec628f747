"""PyTorch eager inference of an exported family, to show what ONNX Runtime buys.

Optional: it needs torch and the `export` package (the `export` extra), and only applies to
models whose `rtseg.name` is an export family. Without them it says why and is skipped.
"""

from __future__ import annotations

import importlib.util
import time

from rtseg.bench.timing import summarize
from rtseg.models.contract import ModelInfo


def unavailable_reason() -> str | None:
    """Why eager timing can't run here, or None when it can."""
    for module in ("torch", "export"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not importable (install the export extra)"
    return None


def bench_eager(info: ModelInfo, threads: int | None, runs: int, warmup: int = 3) -> dict:
    """Eager forward of the family's bare network (random weights, same input size)."""
    import torch

    from export.families import get_family

    network = get_family(info.name).build(None).eval()
    if threads:
        torch.set_num_threads(threads)
    generator = torch.Generator().manual_seed(0)
    inputs = [torch.rand(1, 3, info.height, info.width, generator=generator) for _ in range(4)]
    samples = []
    with torch.inference_mode():
        for i in range(warmup + runs):
            start = time.perf_counter_ns()
            network(inputs[i % len(inputs)])
            if i >= warmup:
                samples.append((time.perf_counter_ns() - start) / 1e6)
    return {
        "model": info.name,
        "input_size": info.input_size,
        "precision": "fp32",
        "provider": "torch-eager-cpu",
        "threads": threads,
        "io_binding": False,
        "ms": summarize(samples),
    }
