"""`python -m export.bench`: the model zoo's cost table (size, FLOPs, export time, latency).

Random weights (latency does not depend on them); ONNX Runtime CPU provider with a fixed
thread count, after warm-up. FP16 files are timed too: on the CPU provider they are not
faster (ONNX Runtime casts back to FP32); FP16 pays on a GPU.

    python -m export.bench [--models NAME@HxW ...] [--runs N] [--threads N] [--out table.md]
"""

from __future__ import annotations

import os

# Torch's OpenMP threads busy-wait after each op by default and would steal the cores ONNX
# Runtime is being timed on (LR-ASPP at 256: 46 ms spinning against a few ms without); this
# must be set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from export.families import get_family
from export.flops import count_flops, count_params
from export.fp16 import convert_file
from export.onnx_export import export
from export.parity import open_session
from rtseg.errors import RtsegError
from rtseg.models.contract import parse_size

DEFAULT_MODELS = (
    "lraspp_mobilenet_v3_large@256x256",
    "lraspp_mobilenet_v3_large@512x512",
    "deeplabv3_mobilenet_v3_large@256x256",
    "deeplabv3_mobilenet_v3_large@512x512",
    "unet@256x256",
    "unet@512x512",
    "deeplabv3_resnet50@512x512",
)


@dataclass(frozen=True)
class Row:
    model: str
    size: str
    params_m: float
    gflops: float
    export_s: float
    mb32: float
    mb16: float
    ms32: tuple[float, float]  # median, p99
    ms16: tuple[float, float]


def latency(path: Path, size: tuple[int, int], runs: int, threads: int) -> tuple[float, float]:
    """Median and p99 milliseconds of one inference, after 5 warm-up runs."""
    session = open_session(path, threads)
    feed = {"image": np.random.default_rng(0).integers(0, 256, (1, *size, 3), dtype=np.uint8)}
    for _ in range(5):
        session.run(None, feed)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feed)
        times.append((time.perf_counter() - start) * 1e3)
    return float(np.median(times)), float(np.percentile(times, 99))


def measure(name: str, size: tuple[int, int], runs: int, threads: int, folder: Path) -> Row:
    family = get_family(name)
    net = family.build(None)
    result = export(name, folder / f"{name}.onnx", "none", size=size)
    fp16 = folder / f"{name}.fp16.onnx"
    convert_file(result.path, fp16)
    return Row(
        model=name,
        size=f"{size[0]}x{size[1]}",
        params_m=count_params(net) / 1e6,
        gflops=count_flops(net, size) / 1e9,
        export_s=result.seconds,
        mb32=result.size_bytes / 1e6,
        mb16=fp16.stat().st_size / 1e6,
        ms32=latency(result.path, size, runs, threads),
        ms16=latency(fp16, size, runs, threads),
    )


def table(rows: list[Row], threads: int) -> str:
    """A Markdown table of `rows`."""
    lines = [
        f"| model | input | params (M) | GFLOPs | export (s) | MB fp32/fp16 "
        f"| CPU ms fp32, {threads} threads, median/p99 | CPU ms fp16 median/p99 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.model} | {r.size} | {r.params_m:.2f} | {r.gflops:.1f} | {r.export_s:.0f} "
            f"| {r.mb32:.1f} / {r.mb16:.1f} | {r.ms32[0]:.1f} / {r.ms32[1]:.1f} "
            f"| {r.ms16[0]:.1f} / {r.ms16[1]:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m export.bench", description=__doc__.split("\n")[0])
    p.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS), help="NAME@HxW ...")
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    args = p.parse_args(argv)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for spec in args.models:
                name, _, size_text = spec.partition("@")
                size = parse_size(size_text) if size_text else get_family(name).default_size
                rows.append(measure(name, size, args.runs, args.threads, Path(tmp)))
                print(table(rows[-1:], args.threads).splitlines()[-1], file=sys.stderr)
    except (RtsegError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    text = table(rows, args.threads)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
