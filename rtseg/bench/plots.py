"""PNG plots (the `plots` extra: matplotlib, imported only when plots are asked for): latency
and per-step CDFs per variant, and the repository benchmarks' per-run CDFs and fps by size."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import ticker


def latency_cdfs(runs: list[dict], path: Path) -> Path | None:
    """One panel per live run: the CDF of each stage's time and of capture-to-sink latency."""
    runs = [r for r in runs if r.get("samples_ms")]
    if not runs:
        return None
    fig, axes = plt.subplots(1, len(runs), figsize=(5.5 * len(runs), 4), squeeze=False)
    for ax, run in zip(axes[0], runs, strict=True):
        for name, samples in run["samples_ms"].items():
            if samples:
                x = np.sort(samples)
                ax.plot(x, np.arange(1, len(x) + 1) / len(x), label=name)
        ax.set_xscale("log")
        ax.set_xlabel("ms")
        ax.set_ylabel("fraction of frames")
        ax.set_title(f"{run.get('label', 'live')}: {run['size']} @ {run['fps_target']:g} fps")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    return _save(fig, path)


def fps_by_resolution(rows: list[dict], path: Path) -> Path | None:
    """Pipeline and sequential fps against frame height, one line pair per clip."""
    rows = [r for r in rows if "pipeline_fps" in r]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    for source in sorted({r["source"] for r in rows}):
        mine = sorted((r for r in rows if r["source"] == source), key=lambda r: _height(r))
        heights = [_height(r) for r in mine]
        ax.plot(heights, [r["pipeline_fps"] for r in mine], "o-", label=f"{source} pipeline")
        ax.plot(heights, [r["sequential_fps"] for r in mine], "s--", label=f"{source} sequential")
    ax.set_xlabel("frame height (px)")
    ax.set_ylabel("frames per second (decode to encode)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def targets_chart(targets: list[dict], path: Path) -> Path | None:
    """One bar per target that gives a `score` (its figure against its threshold, 1.0 the
    line: above it met), met in green, missed in red."""
    scored = [t for t in targets if t.get("score") is not None]
    if not scored:
        return None
    fig, ax = plt.subplots(figsize=(10, 0.7 * len(scored) + 1.2))
    names = [textwrap.fill(t["target"], 50) for t in scored]
    colours = ["tab:green" if t["met"] else "tab:red" for t in scored]
    # capped at 3: a target met many times over needs no longer bar
    ax.barh(range(len(scored)), [min(t["score"], 3.0) for t in scored], color=colours)
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_yticks(range(len(scored)), names, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("measured against the target (1.0: just met)")
    ax.grid(True, axis="x", alpha=0.3)
    return _save(fig, path)


def _save(fig, path: Path, dpi: int = 110) -> Path:
    """Write `fig` to `path` as a PNG and free it (pyplot keeps every open figure)."""
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def _height(row: dict) -> int:
    return int(row["size"].split("x")[1])


def _cdf(ax, samples: list[float], name: str) -> None:
    if samples:
        x = np.sort(samples)
        ax.plot(x, np.arange(1, len(x) + 1) / len(x), label=name)


def _style(ax, title: str) -> None:
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(ticker.ScalarFormatter())
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlabel("ms (log scale)")
    ax.set_ylabel("fraction of samples")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)


def latency_by_variant(results: dict, path: Path) -> Path:
    """The CDF of each variant's latency, every variant on one axis (an `rtseg bench` run)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for row in results["variants"]:
        _cdf(ax, row["samples_ms"]["latency"], row["label"])
    _style(ax, f"rtseg bench {results['mode']}: latency per variant")
    return _save(fig, path, 100)


def stages_by_variant(results: dict, path: Path) -> Path | None:
    """One panel per step, the CDF of each variant's time in it; None without steps."""
    names = list(dict.fromkeys(n for r in results["variants"] for n in r["stages_ms"]))
    if not names:
        return None
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.4 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        for row in results["variants"]:
            _cdf(ax, row["samples_ms"].get(name, []), row["label"])
        _style(ax, name)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    return _save(fig, path, 100)
