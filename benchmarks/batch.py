"""Batch benchmark: `python -m benchmarks batch --out DIR` (also `python -m benchmarks.batch`).

Every variant runs as a user would run it, a fresh `python -m rtseg` process timed from start
to exit, and each comparison runs side by side in one invocation:
- many short clips: a shell loop of `rtseg run` over them vs `rtseg batch` with 1..cores workers;
- the local pool vs Ray on this machine (Ray starting its own instance, and one already up);
- one long clip: `rtseg run` vs `rtseg batch --split 2`, with the mean |alpha| difference of the
  two outputs on the frames around the seam (both write the mask losslessly for that);
- the costs a scaling model needs: a run's start, a file's cost in a warm worker, a frame's.
Inputs are made from the shared doctor clip (a test pattern without it), with a 440 Hz tone
as their audio. Writes batch.json, batch.md and batch.png into DIR.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np

from benchmarks.output import write_results
from rtseg.batch.split import plan
from rtseg.bench.machine import describe, load_average, machine_info
from rtseg.bench.report import table

ROOT = Path(__file__).resolve().parents[1]
SHARED_CLIP = ROOT.parent / "shared" / "data" / "videos" / "doctor_960x540.mp4"
MACHINES = (1, 2, 4, 8, 16)


def make_clip(
    path: Path, seconds: float, height: int, offset: float = 0.0, clip: Path = SHARED_CLIP
) -> Path:
    """`seconds` of `clip` (looped; starting `offset` seconds into its first 20 s) at
    `height`, with a tone; a test pattern when `clip` is absent."""
    if clip.exists():
        start = ["-ss", f"{offset % 20:.3f}"]
        video = ["-stream_loop", "-1", *start, "-i", str(clip)]
    else:
        video = ["-f", "lavfi", "-i", "testsrc2=size=960x540:rate=30000/1001"]
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", *video,
        "-f", "lavfi", "-i", "sine=frequency=440",
        "-frames:v", str(max(1, round(seconds * 30000 / 1001))), "-t", f"{seconds}",
        "-map", "0:v", "-map", "1:a", "-vf", f"scale=-2:{height}",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
        "-c:a", "aac", str(path),
    ]  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(cmd, check=True, timeout=600)
    return path


def timed(args: list[str], env: dict | None = None) -> float:
    """Wall seconds of a command; a failure stops the benchmark with its stderr."""
    started = time.perf_counter()
    env = {**os.environ, **(env or {})}
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(args)} failed:\n{done.stderr[-2000:]}")
    return round(seconds, 2)


def rtseg(*args: str) -> list[str]:
    return [sys.executable, "-m", "rtseg", *args]


def shell_loop(clips: Path, out: Path, model: str) -> float:
    """`for f in clips/*.mp4; do rtseg run --source $f --sink out/$f; done`, as a shell runs it."""
    script = (
        'for f in "$1"/*.mp4; do "$2" -m rtseg run -q --overwrite --model "$4" --source "$f" '
        '--sink "$3/$(basename "$f")" || exit 1; done'
    )
    out.mkdir(parents=True, exist_ok=True)
    return timed(["sh", "-c", script, "sh", str(clips), sys.executable, str(out), model])


def frames_of(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="gray") for f in container.decode(video=0)]


def seam_difference(split: Path, single: Path, seams: list[int]) -> dict:
    """Mean |alpha| difference of the two mask videos, in grey levels (1 = 1/255), on the
    frames from 2 before each seam to 10 after, and on every frame."""
    a, b = frames_of(split), frames_of(single)
    if len(a) != len(b):
        return {"frames_split": len(a), "frames_single": len(b)}
    per_frame = [float(np.abs(x.astype(np.int16) - y).mean()) for x, y in zip(a, b, strict=True)]
    around = [per_frame[i] for s in seams for i in range(max(0, s - 2), min(len(a), s + 10))]
    return {
        "frames": len(a),
        "seams": seams,
        "seam_mean_levels": round(float(np.mean(around)), 4),
        "seam_max_levels": round(max(around), 4),
        "all_frames_mean_levels": round(float(np.mean(per_frame)), 4),
    }


def ray_up(port: int) -> str:
    """Start a one-node Ray instance on loopback; its address."""
    ray = str(Path(sys.executable).with_name("ray"))
    subprocess.run(
        [ray, "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1",
         "--include-dashboard=false", "--disable-usage-stats"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return f"127.0.0.1:{port}"


def ray_down() -> None:
    ray = str(Path(sys.executable).with_name("ray"))
    subprocess.run([ray, "stop", "--force"], capture_output=True, timeout=120, check=False)


def costs(args: argparse.Namespace, work: Path, clips: Path) -> dict:
    """A run's fixed cost (`rtseg run` of one frame), and a batch's fixed cost and cost per
    extra file (batches of 1 and of `args.clips` 3-frame clips, one worker)."""
    tiny = work / "tiny"
    for i in range(args.clips):
        make_clip(tiny / f"{i:03d}.mp4", 0.1, args.clip_height, offset=i, clip=args.clip)
    first = sorted(clips.glob("*.mp4"))[0]
    model = ("--model", args.model)
    run_start = [
        timed(rtseg("run", "-q", "--overwrite", *model, "--source", str(first),
                    "--max-frames", "1", "--sink", str(work / "start.mp4")))
        for _ in range(3)
    ]  # fmt: skip
    batch = ("batch", "-q", "--overwrite", "--workers", "1", *model, "--out")
    start = timed(rtseg(*batch, str(work / "o1"), str(tiny / "000.mp4")))
    many = timed(rtseg(*batch, str(work / "on"), str(tiny)))
    return {
        "run_start_s": float(np.median(run_start)),
        "batch_start_s": start,
        "file_in_batch_s": round((many - start) / (args.clips - 1), 3),
    }


def scaling(result: dict) -> dict:
    """Predicted batch time on N machines like this one (docs/benchmarks.md states the assumptions).

    A frame's cost is what is left of the fastest local batch once its start and its files'
    fixed costs are taken off, spread over the frames each worker processed."""
    c = result["costs"]
    best = min(result["batch"], key=lambda r: r["seconds"])
    workers = best["workers"]
    files, frames = result["inputs"]["clips"], result["inputs"]["frames"]
    per_file = frames / files
    rounds = math.ceil(files / workers)
    frame_s = (best["seconds"] - c["batch_start_s"] - rounds * c["file_in_batch_s"]) / (
        rounds * per_file
    )
    predictions = [
        {
            "machines": n,
            "files": count,
            "predicted_s": round(
                c["batch_start_s"]
                + math.ceil(count / (n * workers)) * (c["file_in_batch_s"] + frame_s * per_file),
                1,
            ),
        }
        for count in (files, 100 * files)
        for n in MACHINES
    ]
    return {
        "frame_s": round(frame_s, 5),
        "workers_per_machine": workers,
        "predictions": predictions,
    }


def say(what: str) -> None:
    print(f"bench: {what}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> dict:
    work = args.out / "work"
    if work.exists():
        shutil.rmtree(work)
    clips = work / "clips"
    for i in range(args.clips):
        make_clip(clips / f"{i:03d}.mp4", args.clip_seconds, args.clip_height, 1.7 * i, args.clip)
    long = make_clip(work / "long" / "long.mp4", args.long_seconds, args.long_height, 0, args.clip)
    clip_frames = sum(len(frames_of(p)) for p in sorted(clips.glob("*.mp4"))[:1]) * args.clips
    result: dict = {
        "machine": machine_info(),
        "inputs": {
            "clips": args.clips,
            "clip_seconds": args.clip_seconds,
            "clip_height": args.clip_height,
            "frames": clip_frames,
            "long_seconds": args.long_seconds,
            "long_height": args.long_height,
            "source": args.clip.name if args.clip.exists() else "testsrc2",
        },
    }
    model = ("--model", args.model)
    say("shell loop of rtseg run")
    result["loop_s"] = shell_loop(clips, work / "loop", args.model)
    say(f"  {result['loop_s']} s")
    result["batch"] = []
    cores = os.cpu_count() or 1
    for workers in range(1, cores + 1):
        say(f"batch, {workers} workers")
        seconds = timed(
            rtseg("batch", "-q", "--overwrite", "--workers", str(workers), *model,
                  "--out", str(work / f"batch{workers}"), str(clips))
        )  # fmt: skip
        result["batch"].append({"workers": workers, "seconds": seconds})
        say(f"  {seconds} s")
    local = min(result["batch"], key=lambda r: r["seconds"])
    if not args.no_ray:
        say("batch on Ray, starting its own instance")
        result["ray_own_s"] = timed(
            rtseg("batch", "-q", "--overwrite", *model, "--ray",
                  "--out", str(work / "ray_own"), str(clips))
        )  # fmt: skip
        say("batch on Ray, instance already up")
        address = ray_up(args.ray_port)
        try:
            # The instance `ray start` made requires its token, which a client reads only
            # in token mode.
            result["ray_up_s"] = timed(
                rtseg("batch", "-q", "--overwrite", *model, "--ray", address,
                      "--out", str(work / "ray_up"), str(clips)),
                env={"RAY_AUTH_MODE": "token"},
            )  # fmt: skip
        finally:
            ray_down()
    mask = ("--effect", "mask", "--crf", "0", *model)
    say("one long clip, one run")
    single = work / "single.mp4"
    result["long_single_s"] = timed(
        rtseg("run", "-q", "--overwrite", *mask, "--source", str(long), "--sink", str(single))
    )
    say("one long clip, split over 2 workers")
    result["long_split_s"] = timed(
        rtseg("batch", "-q", "--overwrite", "--split", "2", "--workers", "2", *mask,
              "--out", str(work / "split"), str(long))
    )  # fmt: skip
    frames = len(frames_of(long))
    seams = [t.start for t in plan(long, work / "split" / "long.mp4", frames, 2)[1:]]
    result["seam"] = seam_difference(work / "split" / "long.mp4", single, seams)
    result["long_frames"] = frames
    say("per-run, per-file and per-frame costs")
    result["costs"] = costs(args, work, clips)
    result["scaling"] = scaling(result)
    result["targets"] = targets(result, local)
    result["machine"]["load_average_end"] = load_average()
    if not args.keep:
        shutil.rmtree(work)
    return result


def targets(result: dict, local: dict) -> list[dict]:
    rows = [
        {
            "target": "batch >= 1.5x the shell loop",
            "measured": round(result["loop_s"] / local["seconds"], 2),
            "goal": 1.5,
        },
        {
            "target": "split over 2 workers >= 0.95x one run",
            "measured": round(result["long_single_s"] / result["long_split_s"], 2),
            "goal": 0.95,
        },
    ]
    if "ray_own_s" in result:
        rows.append(
            {
                "target": "Ray (own instance) <= 10% slower than the local pool",
                "measured": round(result["ray_own_s"] / local["seconds"], 2),
                "goal": 1.10,
                "lower_is_better": True,
            }
        )
        rows.append(
            {
                "target": "Ray (instance already up) <= 10% slower than the local pool",
                "measured": round(result["ray_up_s"] / local["seconds"], 2),
                "goal": 1.10,
                "lower_is_better": True,
            }
        )
    seam = result["seam"].get("seam_mean_levels")
    rows.append(
        {
            "target": "seam: mean |alpha difference| < 1/255",
            "measured": seam,
            "goal": 1.0,
            "lower_is_better": True,
        }
    )
    for row in rows:
        value, goal = row["measured"], row["goal"]
        row["met"] = value is not None and (
            value < goal if row.get("lower_is_better") else value >= goal
        )
    return rows


def render(result: dict) -> str:
    """batch.md: the figures as tables."""
    inputs = result["inputs"]
    lines = [
        "# rtseg batch benchmark",
        "",
        f"Machine: {describe(result['machine'])}. Command: `{result.get('command', '')}`.",
        f"Inputs: {inputs['clips']} clips of {inputs['clip_seconds']} s at "
        f"{inputs['clip_height']}p ({inputs['frames']} frames), one {inputs['long_seconds']} s "
        f"clip at {inputs['long_height']}p ({result['long_frames']} frames), from "
        f"{inputs['source']} with a tone as audio. Wall time of each command, one run each.",
        "",
    ]
    rows = [["shell loop of `rtseg run`", f"{result['loop_s']:.1f}", "1.00x"]]
    for r in result["batch"]:
        speedup = result["loop_s"] / r["seconds"]
        rows.append([f"`rtseg batch --workers {r['workers']}`", f"{r['seconds']:.1f}",
                     f"{speedup:.2f}x"])  # fmt: skip
    for key, name in (("ray_own_s", "`--ray` (own instance)"), ("ray_up_s", "`--ray ADDR`")):
        if key in result:
            rows.append([name, f"{result[key]:.1f}", f"{result['loop_s'] / result[key]:.2f}x"])
    lines += [*table(["many short clips", "seconds", "vs loop"], rows), ""]
    seam = result["seam"]
    lines += table(
        ["one long clip (mask effect, lossless)", "seconds", "vs one run"],
        [
            ["`rtseg run`", f"{result['long_single_s']:.1f}", "1.00x"],
            [
                "`rtseg batch --split 2`",
                f"{result['long_split_s']:.1f}",
                f"{result['long_single_s'] / result['long_split_s']:.2f}x",
            ],
        ],
    )
    lines += [
        "",
        f"Seam: mean |alpha difference| {seam.get('seam_mean_levels')} grey levels on the "
        f"frames around the seam (max {seam.get('seam_max_levels')}), "
        f"{seam.get('all_frames_mean_levels')} over all frames.",
        "",
    ]
    c = result["costs"]
    model = result["scaling"]
    lines += [
        f"Costs: a run's start {c['run_start_s']} s; a batch's start {c['batch_start_s']} s; "
        f"a file in a warm worker {c['file_in_batch_s']} s; a frame {model['frame_s'] * 1000:.1f}"
        f" ms per worker with {model['workers_per_machine']} workers per machine.",
        "",
    ]
    lines += table(
        ["machines", "files", "predicted seconds"],
        [
            [str(r["machines"]), str(r["files"]), f"{r['predicted_s']}"]
            for r in model["predictions"]
        ],
    )
    lines += ["", "Targets:", ""]
    lines += [
        f"- {'met' if t['met'] else 'MISSED'}: {t['target']}: {t['measured']}"
        for t in result["targets"]
    ]
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> Path:
    """Seconds for the short-clip batch by variant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ["shell loop"] + [f"batch w={r['workers']}" for r in result["batch"]]
    values = [result["loop_s"]] + [r["seconds"] for r in result["batch"]]
    for key, name in (("ray_own_s", "Ray (own)"), ("ray_up_s", "Ray (up)")):
        if key in result:
            names.append(name)
            values.append(result[key])
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.barh(names, values)
    ax.set_xlabel("seconds (lower is better)")
    inputs = result["inputs"]
    ax.set_title(
        f"{inputs['clips']} clips of {inputs['clip_seconds']} s at {inputs['clip_height']}p"
    )
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks batch", description=__doc__.splitlines()[0]
    )
    p.add_argument("--out", type=Path, default=Path("bench-results"), help="results folder")
    p.add_argument("--quick", action="store_true", help="a tiny run: 4 short clips, 4 s long")
    p.add_argument("--model", default="selfie_general")
    p.add_argument("--clip", type=Path, default=SHARED_CLIP, help="footage the inputs are cut from")
    p.add_argument("--clips", type=int, help="short clips (default 40)")
    p.add_argument("--clip-seconds", type=float, help="each short clip's length (default 2)")
    p.add_argument("--clip-height", type=int, default=540)
    p.add_argument("--long-seconds", type=float, help="the long clip's length (default 60)")
    p.add_argument("--long-height", type=int, default=720)
    p.add_argument("--no-ray", action="store_true", help="skip the Ray variants")
    p.add_argument("--ray-port", type=int, default=6390, help="port of the Ray instance it starts")
    p.add_argument("--keep", action="store_true", help="keep the inputs and outputs made")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.clips = args.clips or (4 if args.quick else 40)
    args.clip_seconds = args.clip_seconds or (0.5 if args.quick else 2.0)
    args.long_seconds = args.long_seconds or (4.0 if args.quick else 60.0)
    if args.no_ray is False:
        try:
            import ray  # noqa: F401
        except ImportError:
            print("bench: Ray not installed (pip install 'rtseg[cluster]'); skipping it")
            args.no_ray = True
    started = time.monotonic()
    try:
        result = run(args)
    except RuntimeError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 1
    result["command"] = shlex.join(["rtseg", "bench", "batch", *argv])
    result["seconds"] = round(time.monotonic() - started, 1)
    write_results(args.out, "batch", result, render(result))
    plot(result, args.out / "batch.png")
    print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
