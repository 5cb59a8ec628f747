"""Latency and throughput figures: per stage and capture-to-sink, as percentiles.

Memory stays flat however long a run lasts: totals are counters, and the percentiles cover a
window of the most recent frames (`WINDOW`), kept in fixed buffers.
"""

from __future__ import annotations

import json
import textwrap
import threading
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rtseg.errors import RtsegError
from rtseg.pipeline.frame import Frame

PERCENTILES = (50, 95, 99)
# Frames whose timings the percentiles cover: over five minutes at 30 fps, 80 KB a series.
WINDOW = 10_000
_LIVE_FPS_FRAMES = 60  # the live rate is measured over about this many frames


def percentiles(samples_ms: Sequence[float] | np.ndarray) -> dict[str, float]:
    """p50/p95/p99 of `samples_ms`, rounded to 0.01 ms; zeros when there are none."""
    if len(samples_ms) == 0:
        return {f"p{p}": 0.0 for p in PERCENTILES}
    values = np.percentile(np.asarray(samples_ms, np.float64), PERCENTILES)
    return {f"p{p}": round(float(v), 2) for p, v in zip(PERCENTILES, values, strict=True)}


class Window:
    """The last `size` values of a series in one fixed buffer, oldest first when read."""

    def __init__(self, size: int = WINDOW) -> None:
        self._values = np.zeros(size, np.float64)
        self.count = 0  # values ever added

    def add(self, value: float) -> None:
        self._values[self.count % len(self._values)] = value
        self.count += 1

    def values(self, last: int | None = None) -> np.ndarray:
        """A copy of the kept values (at most the `last` ones), oldest first."""
        size = len(self._values)
        kept = min(self.count, size, size if last is None else last)
        end = self.count % size
        if kept <= end:
            return self._values[end - kept : end].copy()
        return np.concatenate((self._values[end - kept :], self._values[:end]))


class Stats:
    """Timings the pipeline's threads record while it runs, read safely from any thread (the
    preview's HTTP thread, the window's HUD) under one lock."""

    def __init__(self, stages: list[str], window: int = WINDOW) -> None:
        self._stages = {name: Window(window) for name in stages}
        # CPU time of each stage's own thread per frame (not wall time: waiting for a core
        # doesn't count), capture included; what runs on other threads (ONNX Runtime's pool,
        # an encoder's) shows only in the process's total.
        self._cpu = {name: Window(window) for name in ["capture", *stages]}
        self._latency = Window(window)
        self._window = window
        self._steps: dict[str, Window] = {}  # optional steps inside stages, by name
        self.frames_in = 0
        self.frames_out = 0
        # What the source said it holds, set when it ends (a file's container frame count).
        self.frames_expected: int | None = None
        self.mask_lag = 0  # frames between a frame and the one its mask came from: the last
        self.mask_lag_max = 0  # and the largest
        self._mask_age = Window(window)  # the same for every frame out, in frames
        self.started_ns = 0  # when the first frame was captured: the run's clock starts there
        self.finished_ns = 0
        self._lock = threading.Lock()
        self._recent: deque[int] = deque(maxlen=_LIVE_FPS_FRAMES)

    def add_stage(self, stage: str, start_ns: int, end_ns: int, cpu_ns: int = 0) -> None:
        with self._lock:
            self._stages[stage].add((end_ns - start_ns) / 1e6)
            self._cpu[stage].add(cpu_ns / 1e6)

    def add_cpu(self, stage: str, cpu_ns: int) -> None:
        """`cpu_ns` of `stage`'s thread time spent on one frame (capture's; the other stages
        pass theirs to `add_stage`)."""
        with self._lock:
            self._cpu[stage].add(cpu_ns / 1e6)

    def add_step(self, step: str, ms: float) -> None:
        """`ms` spent on an optional step inside a stage (choosing the main person, the
        auto-frame crop, grow and feather), from whichever thread ran it, so a feature's
        cost shows in the stats."""
        with self._lock:
            self._steps.setdefault(step, Window(self._window)).add(ms)

    def add_input(self, frame: Frame) -> None:
        """Record a frame the source gave. The first starts the clock `fps_out` is measured
        on, so opening the source and loading the model do not count as running time."""
        with self._lock:
            if self.frames_in == 0:
                self.started_ns = frame.capture_ns
            self.frames_in += 1

    def add_output(self, frame: Frame, now_ns: int) -> None:
        """Record a frame that reached the sinks."""
        with self._lock:
            self._latency.add((now_ns - frame.capture_ns) / 1e6)
            self.frames_out += 1
            if frame.mask is not None:
                self.mask_lag = frame.seq - frame.mask.seq
                self.mask_lag_max = max(self.mask_lag_max, self.mask_lag)
                self._mask_age.add(self.mask_lag)
            self._recent.append(now_ns)

    @property
    def latency_ms(self) -> np.ndarray:
        """Capture-to-sink latency of the frames in the window, oldest first."""
        return self.recent_latency_ms()

    def recent_latency_ms(self, last: int | None = None) -> np.ndarray:
        """Capture-to-sink latency of the `last` frames out (all in the window by default)."""
        with self._lock:
            return self._latency.values(last)

    @property
    def stage_ms(self) -> dict[str, np.ndarray]:
        """Each stage's time per frame over the window, oldest first."""
        with self._lock:
            return {name: window.values() for name, window in self._stages.items()}

    @property
    def cpu_ms(self) -> dict[str, np.ndarray]:
        """Each stage's thread CPU time per frame over the window, capture first."""
        with self._lock:
            return {name: window.values() for name, window in self._cpu.items()}

    def _step_ms(self) -> dict[str, np.ndarray]:
        with self._lock:
            return {name: window.values() for name, window in self._steps.items()}

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
        """Seconds from the first frame's capture to the end (so far); 0 before a frame."""
        if not self.started_ns:
            return 0.0
        end = self.finished_ns or time.monotonic_ns()
        return (end - self.started_ns) / 1e9

    def summary(
        self, drops: dict[str, int], providers: list[str], model: str, threads: int | None = None
    ) -> dict:
        """The figures as a JSON-ready dict (the `--stats-json` schema); percentiles cover the
        last `WINDOW` frames, counts the whole run; `threads`: the model's intra-op threads."""
        elapsed = self.elapsed_s()
        with self._lock:
            frames_out, lag_max = self.frames_out, self.mask_lag_max
            mask_age = self._mask_age.values()
        return {
            "frames_in": self.frames_in,
            "frames_out": frames_out,
            "frames_expected": self.frames_expected,
            "frames_lost": self.frames_lost,
            "drops": sum(drops.values()),
            "drops_by_channel": drops,
            "mask_lag_max": lag_max,
            # how many frames older than its frame each frame's mask was (0: its own)
            "mask_age_frames": percentiles(mask_age),
            "elapsed_s": round(elapsed, 3),
            "fps_out": round(frames_out / elapsed, 2) if elapsed > 0 else 0.0,
            "latency_ms": percentiles(self.latency_ms),
            "stages": {name: percentiles(ms) for name, ms in self.stage_ms.items()},
            "steps": {name: percentiles(ms) for name, ms in self._step_ms().items()},
            "providers": providers,
            "model": model,
            "inference_threads": threads,
        }


def format_table(summary: dict, read_ahead: bool = False) -> str:
    """A plain-text table of the summary, printed at the end of a run, with a line on what
    its figures mean; `read_ahead` for a run whose source is read ahead into queues (files,
    where nothing is dropped), whose capture->sink time is mostly waiting in them."""
    rows = [("stage", "p50 ms", "p95 ms", "p99 ms")]
    for name, p in summary["stages"].items():
        rows.append((name, f"{p['p50']:.2f}", f"{p['p95']:.2f}", f"{p['p99']:.2f}"))
    for name, p in summary.get("steps", {}).items():  # inside the stages above
        rows.append((f"  {name}", f"{p['p50']:.2f}", f"{p['p95']:.2f}", f"{p['p99']:.2f}"))
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
        f"model {summary['model']} on {', '.join(summary['providers'])}"
        f"{_threads(summary.get('inference_threads'))}: "
        f"{summary['frames_in']} frames in, {summary['frames_out']} out, "
        f"{summary['drops']} dropped, {summary['fps_out']:.1f} fps"
    )
    if read_ahead:
        note = (
            "stages: each step's own time per frame. capture->sink: from reading a frame to "
            "writing it, here mostly time spent queued, since a file is read ahead of the "
            "model so that no frame is dropped; live latency is measured on a camera or "
            "with --realtime"
        )
    else:
        note = (
            "stages: each step's own time per frame. capture->sink: from a frame's capture "
            "to its output, the latency a viewer sees"
        )
    age = summary.get("mask_age_frames")
    if age and age["p99"] > 0:  # masks came from earlier frames (live, --mask-every)
        every = summary.get("mask_every", 1)
        head += f"; masks {age['p50']:g} frames old (p50), {age['p99']:g} (p99)" + (
            f", the model run on 1 frame in {every}" if every > 1 else ""
        )
    return "\n".join([head, *lines, textwrap.fill(note, width=92)])


def _threads(count: int | None) -> str:
    return "" if count is None else f" ({count} inference thread{'s' * (count != 1)})"


def write_json(summary: dict, path: Path) -> None:
    """Write the summary where `--stats-json` says; a bad path is an expected failure."""
    try:
        path.write_text(json.dumps(summary, indent=2) + "\n")
    except OSError as exc:
        raise RtsegError(f"cannot write stats to {path}: {exc.strerror}") from exc
