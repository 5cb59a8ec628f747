"""Summaries of timing samples, the same for every benchmark."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

import numpy as np


def summarize(samples_ms: Sequence[float] | np.ndarray) -> dict[str, float]:
    """Median, p95, p99 and mean in ms (rounded to 0.01), plus the sample count."""
    if len(samples_ms) == 0:
        return {"n": 0, "p50": 0.0, "p95": 0.0, "p99": 0.0, "mean": 0.0}
    a = np.asarray(samples_ms, np.float64)
    p50, p95, p99 = np.percentile(a, (50, 95, 99))
    return {
        "n": len(a),
        "p50": round(float(p50), 2),
        "p95": round(float(p95), 2),
        "p99": round(float(p99), 2),
        "mean": round(float(a.mean()), 2),
    }


def rounded(samples_ms: Sequence[float] | np.ndarray) -> list[float]:
    """Samples kept in the JSON (for CDF plots), at 0.01 ms."""
    return [round(float(x), 2) for x in samples_ms]


def process_cpu_s() -> float:
    """User + system CPU seconds of this process's threads and its waited-for children.

    The process's own share comes from `time.process_time` (nanoseconds): `os.times` counts in
    10 ms ticks, which reads a short run's CPU as zero."""
    t = os.times()
    return time.process_time() + t.children_user + t.children_system
