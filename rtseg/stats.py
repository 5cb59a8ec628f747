"""Latency and throughput figures: per stage and capture-to-sink, as percentiles."""

from __future__ import annotations

import json
import threading
import time
from array import array
from pathlib import Path

import numpy as np

from rtseg.errors import RtsegError
from rtseg.frame import Frame

PERCENTILES = (50, 95, 99)


def percentiles(samples_ms: array | list[float]) -> dict[str, float]:
    """p50/p95/p99 of `samples_ms`, rounded to 0.01 ms; zeros when there are none."""
    if len(samples_ms) == 0:
        return {f"p{p}": 0.0 for p in PERCENTILES}
    values = np.percentile(
        np.frombuffer(samples_ms, np.float64)
        if isinstance(samples_ms, array)
        else np.asarray(samples_ms),
        PERCENTILES,
    )
    return {f"p{p}": round(float(v), 2) for p, v in zip(PERCENTILES, values, strict=True)}


class Stats:
    """Collects timings while the pipeline runs; each stage thread only appends to its own list."""

    def __init__(self, stages: list[str]) -> None:
        self.stage_ms: dict[str, array] = {name: array("d") for name in stages}
        # CPU time of each stage's own thread per frame (not wall time: waiting for a core
        # doesn't count), capture included; what runs on other threads (ONNX Runtime's pool,
        # an encoder's) shows only in the process's total.
        self.cpu_ms: dict[str, array] = {name: array("d") for name in ["capture", *stages]}
        self.latency_ms = array("d")
        self.frames_in = 0
        self.frames_out = 0
        # What the source said it holds, set when it ends (a file's container frame count).
        self.frames_expected: int | None = None
        self.mask_lag = 0  # frames between a frame and the one its mask came from: the last
        self.mask_lag_max = 0  # and the largest
        self.started_ns = time.monotonic_ns()
        self.finished_ns = 0
        self._lock = threading.Lock()
        self._recent: list[int] = []

    def add_stage(self, stage: str, start_ns: int, end_ns: int, cpu_ns: int = 0) -> None:
        self.stage_ms[stage].append((end_ns - start_ns) / 1e6)
        self.add_cpu(stage, cpu_ns)

    def add_cpu(self, stage: str, cpu_ns: int) -> None:
        """`cpu_ns` of `stage`'s thread time spent on one frame."""
        self.cpu_ms[stage].append(cpu_ns / 1e6)

    def add_output(self, frame: Frame, now_ns: int) -> None:
        """Record a frame that reached the sinks."""
        self.latency_ms.append((now_ns - frame.capture_ns) / 1e6)
        self.frames_out += 1
        if frame.mask_seq is not None:
            self.mask_lag = frame.seq - frame.mask_seq
            self.mask_lag_max = max(self.mask_lag_max, self.mask_lag)
        with self._lock:
            self._recent.append(now_ns)
            if len(self._recent) > 60:
                del self._recent[:-60]

    def live_fps(self) -> float:
        """Output rate over the last second or so, for the HUD."""
        with self._lock:
            if len(self._recent) < 2:
                return 0.0
            span = self._recent[-1] - self._recent[0]
            return (len(self._recent) - 1) * 1e9 / span if span else 0.0

    @property
    def frames_lost(self) -> int:
        """Frames the source promised but could not deliver (a truncated file)."""
        if self.frames_expected is None:
            return 0
        return max(0, self.frames_expected - self.frames_in)

    def finish(self) -> None:
        self.finished_ns = time.monotonic_ns()

    def elapsed_s(self) -> float:
        end = self.finished_ns or time.monotonic_ns()
        return (end - self.started_ns) / 1e9

    def summary(self, drops: dict[str, int], providers: list[str], model: str) -> dict:
        """The figures as a JSON-ready dict (the `--stats-json` schema)."""
        elapsed = self.elapsed_s()
        return {
            "frames_in": self.frames_in,
            "frames_out": self.frames_out,
            "frames_expected": self.frames_expected,
            "frames_lost": self.frames_lost,
            "drops": sum(drops.values()),
            "drops_by_channel": drops,
            "mask_lag_max": self.mask_lag_max,
            "elapsed_s": round(elapsed, 3),
            "fps_out": round(self.frames_out / elapsed, 2) if elapsed > 0 else 0.0,
            "latency_ms": percentiles(self.latency_ms),
            "stages": {name: percentiles(ms) for name, ms in self.stage_ms.items()},
            "providers": providers,
            "model": model,
        }


def format_table(summary: dict) -> str:
    """A plain-text table of the summary, printed at the end of a run."""
    rows = [("stage", "p50 ms", "p95 ms", "p99 ms")]
    for name, p in summary["stages"].items():
        rows.append((name, f"{p['p50']:.2f}", f"{p['p95']:.2f}", f"{p['p99']:.2f}"))
    lat = summary["latency_ms"]
    rows.append(("capture->sink", f"{lat['p50']:.2f}", f"{lat['p95']:.2f}", f"{lat['p99']:.2f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    head = (
        f"model {summary['model']} on {', '.join(summary['providers'])}: "
        f"{summary['frames_in']} frames in, {summary['frames_out']} out, "
        f"{summary['drops']} dropped, {summary['fps_out']:.1f} fps"
    )
    return "\n".join([head, *lines])


def write_json(summary: dict, path: Path) -> None:
    """Write the summary where `--stats-json` says; a bad path is an expected failure."""
    try:
        path.write_text(json.dumps(summary, indent=2) + "\n")
    except OSError as exc:
        raise RtsegError(f"cannot write stats to {path}: {exc.strerror}") from None
