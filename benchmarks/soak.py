"""Soak: a long run through the pipeline, watching memory, throughput and latency over time.

`python -m benchmarks.soak --frames 20000 --out DIR` runs the `sample` source through the
model into a null sink and writes `soak.json` and `soak.png` (RSS and fps over time). A leak
shows as RSS that keeps growing; a slow-down (a queue that fills, a list that grows) as fps
that falls or latency that climbs. The exit status is 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rtseg.job import Job, JobConfig
from rtseg.models.registry import DEFAULT_MODEL
from rtseg.pipeline.frame import Frame
from rtseg.pipeline.stats import percentiles

RSS_LIMIT_MB = 50.0
FPS_TOLERANCE = 0.10


def rss_mb() -> float:
    """This process's resident memory now, from /proc (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


@dataclass
class Probe:
    """A sink that samples RSS, fps and latency every `window` frames."""

    window: int
    rows: list[dict] = field(default_factory=list)
    _count: int = 0
    _window_start: float = field(default_factory=time.monotonic)
    _latencies: list[float] = field(default_factory=list)

    def write(self, frame: Frame) -> None:
        now_ns = time.monotonic_ns()
        self._latencies.append((now_ns - frame.capture_ns) / 1e6)
        self._count += 1
        if self._count % self.window == 0:
            now = now_ns / 1e9
            self.rows.append(
                {
                    "frames": self._count,
                    "t_s": round(now - self.rows[0]["t_abs"] if self.rows else 0.0, 3),
                    "t_abs": now,
                    "fps": round(self.window / (now - self._window_start), 2),
                    "rss_mb": round(rss_mb(), 1),
                    "latency_ms": percentiles(self._latencies),
                }
            )
            self._window_start, self._latencies = now, []

    def close(self) -> None:
        """Nothing to finalise: the rows are read from the probe after the run."""

    abort = close


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def soak(
    frames: int,
    model: str = DEFAULT_MODEL,
    width: int = 1280,
    height: int = 720,
    windows: int = 50,
) -> dict:
    """Run the soak and return its figures and the checks' verdicts."""
    config = JobConfig(
        source="sample",
        model=model,
        effect="blur",
        sinks=["null"],
        max_frames=frames,
        width=width,
        height=height,
    )
    job = Job(config)
    probe = Probe(window=max(1, frames // windows))
    job.add_sink(probe)
    rss_before = rss_mb()
    job.run()
    rows = probe.rows
    for row in rows:
        row.pop("t_abs")
    tenth = max(1, len(rows) // 10)
    first, last = rows[1 : 1 + tenth], rows[-tenth:]  # the very first window holds warm-up
    fps_first, fps_last = _mean([r["fps"] for r in first]), _mean([r["fps"] for r in last])
    p50 = [r["latency_ms"]["p50"] for r in rows[1:]]
    result = {
        "frames": job.pipeline.stats.frames_out,
        "model": job.engine.info.name,
        "frame_size": f"{width}x{height}",
        "rss_before_run_mb": round(rss_before, 1),
        "rss_first_window_mb": rows[0]["rss_mb"],
        "rss_end_mb": rows[-1]["rss_mb"],
        "rss_growth_mb": round(rows[-1]["rss_mb"] - rows[0]["rss_mb"], 1),
        "rss_growth_from_start_mb": round(rows[-1]["rss_mb"] - rss_before, 1),
        "fps_first_10pct": round(fps_first, 2),
        "fps_last_10pct": round(fps_last, 2),
        "fps_change": round(fps_last / fps_first - 1, 4),
        "latency_p50_first_10pct_ms": round(_mean(p50[:tenth]), 2),
        "latency_p50_last_10pct_ms": round(_mean(p50[-tenth:]), 2),
        "summary": job.summary(),
        "windows": rows,
    }
    result["checks"] = {
        "rss_growth_under_limit": result["rss_growth_mb"] < RSS_LIMIT_MB,
        "fps_stable": abs(result["fps_change"]) <= FPS_TOLERANCE,
        "latency_stable": result["latency_p50_last_10pct_ms"]
        <= 1.5 * result["latency_p50_first_10pct_ms"] + 1.0,
    }
    return result


def plot(result: dict, path: Path) -> None:
    """RSS and fps against frames processed, one panel each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["windows"]
    x = [r["frames"] for r in rows]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    top.plot(x, [r["rss_mb"] for r in rows], color="tab:red")
    top.set_ylabel("RSS (MB)")
    top.set_title(
        f"soak: {result['frames']} frames, {result['model']}, {result['frame_size']} "
        f"(RSS +{result['rss_growth_mb']} MB, fps {100 * result['fps_change']:+.1f}%)"
    )
    bottom.plot(x, [r["fps"] for r in rows], color="tab:blue")
    bottom.set_ylabel("fps")
    bottom.set_xlabel("frames processed")
    bottom.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__)
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--out", type=Path, default=Path("out") / "soak")
    args = parser.parse_args(argv)
    result = soak(args.frames, args.model, args.width, args.height)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "soak.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(result, args.out / "soak.png")
    keys = [k for k in result if k not in ("summary", "windows", "checks")]
    for key in keys:
        print(f"{key:28s} {result[key]}")
    for name, ok in result["checks"].items():
        print(f"{name:28s} {'ok' if ok else 'FAILED'}")
    print(f"wrote {args.out / 'soak.json'} and {args.out / 'soak.png'}")
    return 0 if all(result["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
