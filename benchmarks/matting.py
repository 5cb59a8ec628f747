"""Matting models (RVM) beside the bundled selfie model: what they cost and what they give.

- engine: ms per frame of the network alone, for frames of 1280x720 and 1920x1080 at each
  downsample ratio, fed the way rtseg feeds it (the frame shrunk by the ratio, at ratio 1.0,
  rtseg's guided filter bringing alpha back) and the way RVM's own loop does (the whole frame,
  the ratio inside the graph with its own refiner);
- P3M portraits: IoU and boundary F against the mattes, per quality level;
- composites: each portrait pasted small into a wide background (benchmarks/composites.py)
  and put over green again by rtseg, with and without the model's foreground colours: mean
  abs error (grey levels) against the same people pasted on green, near the person and along
  its edges; "truth alpha" rows use the reference alpha, to show what colours alone do;
- clips: flicker and lag on the shared clips, per level (video mode);
- photos: how alpha settles over repeated passes of one photo (the warm passes).

    python -m benchmarks.matting --model rvm_mobilenetv3 --out DIR [--quick] [--what ...]

Everything runs on the CPU with one ONNX Runtime and one OpenCV thread unless --threads says.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from benchmarks.composites import SINGLE, Portrait, background, composite
from benchmarks.output import write_results
from benchmarks.quality import DATA, clip_figures, load_portraits, read_frames, score
from rtseg.bench import live
from rtseg.bench.engine import time_engine
from rtseg.bench.file import bench_file
from rtseg.bench.timing import process_cpu_s, summarize
from rtseg.matte.compose import blend
from rtseg.models.engine import Engine
from rtseg.models.registry import resolve, user_dir
from rtseg.models.transforms import to_model_input, upscale_alpha
from rtseg.segmenter import Segmenter

WHAT = ("engine", "portraits", "composites", "clips", "photos")
FRAMES = ((720, 1280), (1080, 1920))
RATIOS = (0.25, 0.375, 0.5)
GREEN = (64, 177, 0)  # BGR
BASELINE = "selfie_general"


def engine_rows(model: str, threads: int, runs: int) -> list[dict]:
    """ms per frame of the network alone at each frame size and ratio, both ways of feeding
    (a variant built for one ratio only the way that ratio is)."""
    engine = Engine(resolve(model), device="cpu", threads=threads)
    rows = []
    for height, width in FRAMES:
        for ratio in RATIOS:
            shrunk = (round(height * ratio), round(width * ratio))
            for fed, size, graph_ratio in (
                ("shrunk, ratio 1 (rtseg)", shrunk, 1.0),
                ("whole frame, ratio in the graph", (height, width), ratio),
            ):
                fixed = engine.info.fixed_ratio
                if fixed is not None and fixed != graph_ratio:
                    continue  # a variant built for one ratio ignores any other
                samples = time_engine(engine, runs, size=size, ratio=graph_ratio)
                rows.append(
                    {
                        "frame": f"{width}x{height}",
                        "ratio": ratio,
                        "fed": fed,
                        "input": f"{size[1]}x{size[0]}",
                        "threads": threads,
                        "ms": summarize(samples),
                    }
                )
    return rows


def time_raw_rvm(
    path: Path, size: tuple[int, int], ratio: float, threads: int, runs: int
) -> list[float]:
    """ms per frame of an RVM graph run directly by ONNX Runtime, NCHW (the release's layout)
    or NHWC (the TF.js graph as converted), states fed back: the as-converted baseline."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    inputs = {i.name: i for i in session.get_inputs()}
    src = inputs["src"]
    nhwc = src.shape[-1] == 3
    h, w = size
    rng = np.random.default_rng(0)
    shape = (1, h, w, 3) if nhwc else (1, 3, h, w)
    frames = [rng.random(shape, dtype=np.float32) for _ in range(4)]
    ratio_rank = len(inputs["downsample_ratio"].shape)
    feeds: dict[str, np.ndarray] = {
        "downsample_ratio": np.full((1,) * ratio_rank, ratio, np.float32),
        **{n: np.zeros((1, 1, 1, 1), np.float32) for n in inputs if n.startswith("r")},
    }
    names = [o.name for o in session.get_outputs()]
    samples = []
    for i in range(runs + 3):
        start = time.perf_counter_ns()
        out = dict(zip(names, session.run(names, feeds | {"src": frames[i % 4]}), strict=True))
        if i >= 3:
            samples.append((time.perf_counter_ns() - start) / 1e6)
        feeds |= {n[:-1] + "i": v for n, v in out.items() if n[0] == "r" and n.endswith("o")}
    return samples


def default_baseline() -> Path | None:
    """The as-converted graph `make rvm` keeps beside the models (not a model itself: NHWC),
    or None."""
    path = user_dir() / "rvm-baseline" / "rvm_mobilenetv3_as_converted.onnx"
    return path if path.is_file() else None


def side_by_side(
    model: str, baseline: Path, video: str, frames: int, threads: int, runs: int
) -> dict:
    """The speed target: a 720p file run end to end (decode, matte, blur, H.264) against the
    as-converted graph's inference alone on 720p frames, both at ratio 0.25 and with
    `threads`. Each is timed by the wall clock and by the process's CPU time a frame: on a
    machine shared with other work the wall clock stretches, while CPU time a frame still
    says how fast each would run on the 2 cores alone (2000 / CPU ms fps at most)."""
    cpu0 = process_cpu_s()
    base = summarize(time_raw_rvm(baseline, (720, 1280), 0.25, threads, runs))
    base_cpu = (process_cpu_s() - cpu0) * 1e3 / (runs + 3)  # with its 3 warm-up runs
    cpu0 = process_cpu_s()
    run = bench_file(video, "720", model, frames, "cpu", threads, downsample_ratio=0.25)
    run_cpu = (process_cpu_s() - cpu0) * 1e3 / (run["frames"] + run["sequential_frames"])
    base_fps = 1e3 / base["p50"]
    return {
        "baseline": baseline.name,
        "baseline_ms": base,
        "baseline_fps": round(base_fps, 2),
        "baseline_cpu_ms": round(base_cpu, 1),
        "file": run,
        "file_cpu_ms": round(run_cpu, 1),  # the pipeline and the sequential run together
        "speedup": round(run["pipeline_fps"] / base_fps, 2),
        "speedup_cpu": round(base_cpu / run_cpu, 2),
    }


def bench(
    model: str,
    baseline: Path | None,
    video: str,
    frames: int,
    live_frames: int,
    threads: int,
    runs: int,
) -> dict:
    """`rtseg bench matting`: the engine at each ratio and size, the side-by-side speed
    target (when the as-converted graph is given), and a paced live run at 720p and 30 fps."""
    out: dict = {"model": model, "engine": engine_rows(model, threads, runs)}
    if baseline is not None:
        out["side_by_side"] = side_by_side(model, baseline, video, frames, threads, runs)
    out["live"] = live.bench_live(video, "720", model, 30.0, live_frames, "cpu", threads)
    return out


def format_bench(result: dict) -> str:
    """`bench`'s result as text for the report."""
    lines = [render({"model": result["model"], "engine": result["engine"]}).split("\n", 2)[2]]
    side = result.get("side_by_side")
    if side:
        file = side["file"]
        lines.append(
            f"720p file run at ratio 0.25 (decode, matte, blur, H.264), {file['threads']} threads: "
            f"{file['pipeline_fps']} fps; the as-converted graph ({side['baseline']}) alone on "
            f"720p frames at ratio 0.25: {side['baseline_ms']['p50']} ms p50 "
            f"({side['baseline_fps']} fps); the file run is {side['speedup']}x that. CPU time a "
            f"frame: {side['file_cpu_ms']} ms for the file run, {side['baseline_cpu_ms']} ms "
            f"for the graph alone ({side['speedup_cpu']}x)"
        )
    run = result.get("live")
    if run:
        infer = run["stages_ms"].get("infer", {}).get("p50", 0.0)
        lines.append(
            f"live, {run['size']} at 30 fps: {run['fps_out']} fps out, latency p50 "
            f"{run['latency_ms']['p50']} ms, masks up to {run['mask_lag_max']} frames behind "
            f"(inference {infer} ms p50)"
        )
    return "\n".join(lines).rstrip() + "\n"


def portrait_rows(model: str, levels: list[str], portraits: list[Portrait]) -> dict:
    """Mean IoU and boundary F on the P3M portraits per level (photos: image mode)."""
    out = {}
    for level in levels:
        with Segmenter(model, "cpu", quality=level, threads=1) as segmenter:
            scores = [score(segmenter.segment(p.image).alpha, p.matte) for p in portraits]
        out[level] = {k: float(np.mean([s[k] for s in scores])) for k in scores[0]}
    return out


def _pasted(portraits: list[Portrait]) -> list[list[tuple[Portrait, float, float]]]:
    return [[(p, fraction, centre)] for p in portraits for fraction, centre in SINGLE]


def _regions(truth: np.ndarray) -> dict[str, np.ndarray]:
    """Near the person (alpha > 0, grown by 15 px) and along its edges (0 < alpha < 1, grown
    by 5 px)."""
    near = cv2.dilate((truth > 0.01).astype(np.uint8), np.ones((31, 31), np.uint8)) > 0
    soft = ((truth > 0.01) & (truth < 0.99)).astype(np.uint8)
    edges = cv2.dilate(soft, np.ones((11, 11), np.uint8)) > 0
    return {"near": near, "edges": edges}


def composite_rows(model: str, level: str, portraits: list[Portrait]) -> dict:
    """IoU and boundary F of alpha on the composites, and rtseg's composite over green with
    and without the model's foreground colours: its error against the same people pasted on
    green, and its leak, what changes in it when only the old background does (the person
    pasted on a second background; the truth has none)."""
    grounds = [g for g in (background(p) for p in portraits) if g is not None]
    green = np.empty_like(grounds[0])
    green[:] = GREEN
    sums: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        sums.setdefault(key, []).append(value)

    with Segmenter(model, "cpu", quality=level, threads=1) as segmenter:
        for i, people in enumerate(_pasted(portraits)):
            truth_image, truth = composite(green, people)
            regions = _regions(truth)
            outputs: dict[str, list[np.ndarray]] = {}
            for g in (grounds[i % len(grounds)], grounds[(i + 1) % len(grounds)]):
                frame, _ = composite(g, people)
                found = segmenter.segment(frame)
                made = {"frame": blend(frame, green, found.alpha)}
                if found.fgr is not None:
                    made["foreground"] = blend(found.fgr, green, found.alpha)
                made["truth alpha, frame"] = blend(frame, green, truth)
                for name, image in made.items():
                    outputs.setdefault(name, []).append(image.astype(np.float32))
                if len(outputs["frame"]) == 1:
                    for key, value in score(found.alpha, truth).items():
                        add(key, value)
            for name, (first, second) in outputs.items():
                error = np.abs(first - truth_image).mean(axis=2)
                leak = np.abs(first - second).mean(axis=2)
                for region, where in regions.items():
                    add(f"{name}, error {region}", float(error[where].mean()))
                    add(f"{name}, leak {region}", float(leak[where].mean()))
    return {name: float(np.mean(v)) for name, v in sums.items()}


def clip_rows(model: str, levels: list[str], clips: dict[str, list[np.ndarray]]) -> dict:
    """Flicker and lag per clip and level, each clip a video from a fresh state."""
    out: dict = {}
    for level in levels:
        for name, frames in clips.items():
            with Segmenter(model, "cpu", mode="video", quality=level, threads=1) as segmenter:
                started = time.perf_counter()
                alphas = [segmenter.segment(f, time_s=i / 30).alpha for i, f in enumerate(frames)]
                seconds = time.perf_counter() - started
            figures = clip_figures(frames, iter(alphas))
            out[f"{level}, {name}"] = figures | {"ms_per_frame": 1e3 * seconds / len(frames)}
    return out


def photo_rows(model: str, portraits: list[Portrait], passes: int = 8) -> list[dict]:
    """Alpha over repeated passes of each photo from a fresh state: the mean abs change from
    the pass before and the mean abs error against the matte, after each pass."""
    engine = Engine(resolve(model), device="cpu", threads=1)
    change = np.zeros(passes)
    error = np.zeros(passes)
    for p in portraits:
        tensor = to_model_input(p.image, engine.info)
        previous = state = None  # each photo from a fresh state
        for n in range(passes):
            alpha, _, _, state = engine.run(tensor, state)
            big = upscale_alpha(alpha, *p.matte.shape)
            error[n] += float(np.abs(big - p.matte).mean())
            if previous is not None:
                change[n] += float(np.abs(alpha - previous).mean())
            previous = alpha
    count = len(portraits)
    return [
        {"pass": n + 1, "change": change[n] / count, "mae": error[n] / count} for n in range(passes)
    ]


def render(result: dict) -> str:
    """The results as markdown tables."""
    lines = [f"# Matting: {result['model']} beside {BASELINE}", ""]
    if "engine" in result:
        lines += ["| frame | ratio | fed | input | threads | p50 ms | p95 ms |"]
        lines += ["|---|---|---|---|---|---|---|"]
        for r in result["engine"]:
            ms = r["ms"]
            lines.append(
                f"| {r['frame']} | {r['ratio']} | {r['fed']} | {r['input']} | {r['threads']} "
                f"| {ms['p50']:.1f} | {ms['p95']:.1f} |"
            )
        lines.append("")
    if "portraits" in result:
        lines += ["| P3M | IoU | boundary F |", "|---|---|---|"]
        for name, s in result["portraits"].items():
            lines.append(f"| {name} | {s['iou']:.3f} | {s['boundary_f']:.3f} |")
        lines.append("")
    if "composites" in result:
        lines += ["| composites (small people): IoU, boundary F, composite over green: mean abs "]
        lines[-1] += "error (grey levels) | value |"
        lines += ["|---|---|"]
        for name, value in result["composites"].items():
            lines.append(f"| {name} | {value:.2f} |")
        lines.append("")
    if "clips" in result:
        lines += ["| clip | flicker | lag | ms/frame |", "|---|---|---|---|"]
        for name, c in result["clips"].items():
            lines.append(
                f"| {name} | {c['flicker']:.5f} | {c['lag']:.2f} | {c['ms_per_frame']:.0f} |"
            )
        lines.append("")
    if "photos" in result:
        lines += ["| pass | mean abs change | MAE vs matte |", "|---|---|---|"]
        for r in result["photos"]:
            lines.append(f"| {r['pass']} | {r['change']:.4f} | {r['mae']:.4f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="rvm_mobilenetv3", help="the matting model")
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    parser.add_argument("--quick", action="store_true", help="2 portraits, 30 clip frames")
    parser.add_argument("--what", nargs="*", default=list(WHAT), choices=WHAT)
    parser.add_argument("--levels", nargs="*", default=["fast", "balanced"])
    parser.add_argument(
        "--baseline-levels", nargs="*", default=["balanced", "best"], help=f"{BASELINE}'s"
    )
    parser.add_argument("--composite-portraits", type=int, help="portraits pasted (default all)")
    parser.add_argument("--threads", type=int, default=2, help="engine benchmark threads")
    parser.add_argument("--clip-frames", type=int, help="frames per clip (default all; quick 30)")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    portraits = load_portraits(DATA / "portraits" / "p3m", 2 if args.quick else None)
    result: dict = {"model": args.model, "quick": args.quick}
    models = {args.model: args.levels, BASELINE: args.baseline_levels}
    if "engine" in args.what:
        result["engine"] = engine_rows(args.model, args.threads, 3 if args.quick else 20)
    if "portraits" in args.what and portraits:
        result["portraits"] = {
            f"{m}, {level}": s
            for m, levels in models.items()
            for level, s in portrait_rows(m, levels, portraits).items()
        }
    if "composites" in args.what and portraits:
        result["composites"] = {
            f"{m}, {level}, {k}": v
            for m, levels in models.items()
            for level in levels
            for k, v in composite_rows(m, level, portraits[: args.composite_portraits]).items()
        }
    if "clips" in args.what:
        limit = args.clip_frames or (30 if args.quick else None)
        clips = {p.stem: read_frames(p, limit) for p in sorted((DATA / "videos").glob("*.mp4"))}
        result["clips"] = {
            f"{m}, {k}": v
            for m, levels in models.items()
            for k, v in clip_rows(m, levels, clips).items()
        }
    if "photos" in args.what and portraits:
        result["photos"] = photo_rows(args.model, portraits)
    text = render(result)
    write_results(args.out, "matting", result, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
