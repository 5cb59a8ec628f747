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
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from benchmarks.composites import SINGLE, Portrait, background, composite
from benchmarks.output import write_results
from benchmarks.peer import make_clip, median_run, rtseg_file
from benchmarks.quality import DATA, clip_figures, load_portraits, read_frames, score
from rtseg.bench.engine import time_engine
from rtseg.bench.timing import process_cpu_s, summarize
from rtseg.job import Job, JobConfig
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


def baseline_alone(baseline: Path, runs: int, threads: int = 2) -> dict:
    """The as-converted graph's inference alone on 720p frames at ratio 0.25 with `threads`
    (what a naive RVM loop pays for the network): wall ms a frame and process CPU ms a frame
    (its 3 warm-up runs included)."""
    cpu0 = process_cpu_s()
    ms = summarize(time_raw_rvm(baseline, (720, 1280), 0.25, threads, runs))
    cpu = (process_cpu_s() - cpu0) * 1e3 / (runs + 3)
    return {"ms": ms, "fps": round(1e3 / ms["p50"], 2), "cpu_ms": round(cpu, 1)}


def live_replay(clip: Path, model: str, frames: int) -> dict:
    """`rtseg run --source CLIP --model MODEL --realtime --sink null`: the file played at its
    own rate through the live pipeline, at the defaults. Frames the pipeline cannot keep up
    with are dropped (and counted); the mask's age says how far masks trail their frames."""
    config = JobConfig(source=str(clip), model=model, realtime=True, sinks=["null"])
    config.max_frames = frames
    with Job(config) as job:
        wall0, cpu0 = time.perf_counter(), process_cpu_s()
        job.run()
        wall, cpu = time.perf_counter() - wall0, process_cpu_s() - cpu0
        summary = job.summary()
    frames_in = summary["frames_in"]
    return {
        "frames_in": frames_in,
        "frames_out": summary["frames_out"],
        "drops": summary["drops"],
        "dropped_share": round(summary["drops"] / frames_in, 4) if frames_in else 0.0,
        "fps_out": summary["fps_out"],
        "cpu_share": round(cpu / wall, 3),
        "latency_ms": summary["latency_ms"],
        "stages_ms": summary["stages"],
        "mask_age_frames": summary["mask_age_frames"],
        "inference_threads": summary["inference_threads"],
        "quality": job.path.level_name,
    }


def photo_run(model: str, photos: Path, out: Path) -> dict:
    """`rtseg run --source PHOTOS --model MODEL --effect mask --sink OUT`: seconds a photo at
    the defaults, decoding and writing included (model loading apart, reported beside)."""
    started = time.perf_counter()
    config = JobConfig(source=str(photos), model=model, effect="mask", sinks=[str(out)])
    with Job(config) as job:
        load = time.perf_counter() - started
        wall0, cpu0 = time.perf_counter(), process_cpu_s()
        stats = job.run()
        wall, cpu = time.perf_counter() - wall0, process_cpu_s() - cpu0
        quality, threads = job.path.level_name, job.engine.threads
    n = stats.frames_out
    return {
        "photos": n,
        "seconds_per_photo": round(wall / max(n, 1), 3),
        "cpu_s_per_photo": round(cpu / max(n, 1), 3),
        "load_s": round(load, 2),
        "quality": quality,
        "inference_threads": threads,
    }


def bench(
    model: str,
    baseline: Path | None,
    video: str,
    frames: int,
    live_frames: int,
    photos: Path | None,
    runs: int,
    rounds: int = 3,
) -> dict:
    """`python -m benchmarks matting`: RVM's targets at its defaults (`--model MODEL` and nothing
    else). A 720p file run end to end (decode, matte, blur, H.264; `rtseg run`'s own path)
    and the as-converted graph's inference alone (ratio 0.25, 2 threads) run alternately
    `rounds` times, each timed by the wall clock and by the process's CPU time a frame; then
    the same clip replayed live at its 30 fps, and a folder of photos; and the network alone
    at each ratio and size (2 threads)."""
    out: dict = {"model": model}
    with tempfile.TemporaryDirectory(prefix="rtseg-matting-") as tmp:
        clip = Path(tmp) / "clip720.mp4"
        out["input"] = make_clip(video, 720, max(frames, live_frames), clip)
        pairs: dict[str, list[dict]] = {"file": [], "baseline": []}
        for _ in range(rounds):
            if baseline is not None:
                pairs["baseline"].append(baseline_alone(baseline, runs))
            pairs["file"].append(rtseg_file(clip, Path(tmp) / "out.mp4", model, frames, None))
        out["file"] = median_run(pairs["file"])
        if baseline is not None:
            out["baseline"] = {"file": baseline.name, "runs": pairs["baseline"]}
            speedups = [
                round(f["fps"] / b["fps"], 2)
                for f, b in zip(pairs["file"], pairs["baseline"], strict=True)
            ]
            out["speedup_rounds"] = speedups
            out["speedup"] = float(np.median(speedups))
            out["speedup_cpu"] = float(
                np.median(
                    [
                        round(b["cpu_ms"] / f["cpu_ms_per_frame"], 2)
                        for f, b in zip(pairs["file"], pairs["baseline"], strict=True)
                    ]
                )
            )
        out["live"] = live_replay(clip, model, live_frames)
        if photos is not None:
            out["photos"] = photo_run(model, photos, Path(tmp) / "masks")
    out["engine"] = engine_rows(model, 2, runs)
    return out


def format_bench(result: dict) -> str:
    """`bench`'s result as text for the report."""
    clip = result["input"]
    lines = [
        f"{result['model']} at its defaults; input {clip['from']} brought to {clip['size']}",
    ]
    file = result["file"]
    lines.append(
        f"720p file run (decode, matte, blur, H.264): {file['fps']} fps (rounds "
        f"{', '.join(str(f) for f in file['fps_runs'])}), {file['cpu_ms_per_frame']} ms CPU a "
        f"frame, {file['bytes']:,} bytes"
    )
    if "baseline" in result:
        base = result["baseline"]["runs"]
        lines.append(
            f"as-converted graph ({result['baseline']['file']}) alone, 720p at ratio 0.25, 2 "
            f"threads: {', '.join(str(b['fps']) for b in base)} fps, "
            f"{', '.join(str(b['cpu_ms']) for b in base)} ms CPU a frame; the file run is "
            f"{result['speedup']}x that (rounds {', '.join(map(str, result['speedup_rounds']))}"
            f"; {result['speedup_cpu']}x by CPU time a frame)"
        )
    live = result["live"]
    age = live["mask_age_frames"]
    lines.append(
        f"live replay at 30 fps ({live['quality']}): {live['drops']} of {live['frames_in']} "
        f"frames dropped ({100 * live['dropped_share']:.1f}%), {live['fps_out']} fps out, "
        f"{live['cpu_share']} of a core, latency p50/p99 {live['latency_ms']['p50']}/"
        f"{live['latency_ms']['p99']} ms, mask age p50/p99 {age['p50']}/{age['p99']} frames"
    )
    photos = result.get("photos")
    if photos:
        lines.append(
            f"photos ({photos['quality']}, mask): {photos['photos']} at "
            f"{photos['seconds_per_photo']} s each ({photos['cpu_s_per_photo']} s CPU), the "
            f"model loaded in {photos['load_s']} s"
        )
    lines.append(render({"model": result["model"], "engine": result["engine"]}).split("\n", 2)[2])
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
