"""`python -m benchmarks [WHAT ...] --out DIR`, WHAT as listed by --help.
`python -m benchmarks batch` runs the batch benchmark (benchmarks/batch.py).

Writes results.json, results.md and PNG plots into DIR; every result names the machine.
Expected failures (a missing model, a bad option) print one line and return 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import time
from pathlib import Path

from benchmarks import (
    encoder,
    matting,
    peer,
    profile,
    report,
    targets,
    torch_eager,
)
from rtseg.bench import engine, live, plots
from rtseg.bench.file import bench_file
from rtseg.bench.machine import load_average, machine_info
from rtseg.bench.side_by_side import SLOW_MODEL_PATH
from rtseg.errors import RtsegError
from rtseg.models.engine import DEVICES, load_session
from rtseg.models.registry import resolve
from rtseg.pipeline.memory import keep_freed_memory

WHAT = ("engine", "pipeline", "live", "overload", "peer", "profile", "encoder", "matting")
BUNDLED = ("selfie_general", "selfie_landscape")
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
VIDEOS = DATA / "videos"
PHOTOS = DATA / "portraits" / "p3m" / "original"


def _csv(kind):
    def parse(text: str) -> list:
        try:
            return [kind(x) for x in text.split(",") if x]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list: {text!r}") from None

    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    p.add_argument(
        "what", nargs="*", metavar="WHAT", help=f"any of {', '.join(WHAT)}, all (default all)"
    )
    p.add_argument("--out", type=Path, default=Path("bench-results"), help="results folder")
    p.add_argument("--quick", action="store_true", help="a tiny run: a few frames and runs")
    p.add_argument("--model", default="selfie_general", help="model of the pipeline runs")
    p.add_argument("--models", nargs="*", default=[], help="more .onnx files for the engine")
    p.add_argument("--no-bundled", action="store_true", help="engine: skip the bundled models")
    p.add_argument("--devices", type=_csv(str), help="engine devices (default: cpu + GPUs found)")
    p.add_argument("--threads", type=_csv(int), help="engine thread counts (default 1,2)")
    p.add_argument("--runs", type=int, help="engine runs per case (default 200; quick 10)")
    p.add_argument("--device", choices=DEVICES, default="auto", help="pipeline/live device")
    p.add_argument("--pipeline-threads", type=int, help="ONNX Runtime threads in pipelines")
    p.add_argument("--videos", nargs="*", help="clips (default ../shared/data/videos/*.mp4)")
    p.add_argument("--heights", type=_csv(str), help="file mode: native,720,1080 (default)")
    p.add_argument("--frames", type=int, help="frames per file run (default 300; quick 6)")
    p.add_argument("--fps", type=_csv(float), help="live rates (default 30,60)")
    p.add_argument("--live-heights", type=_csv(str), help="live sizes (default 720)")
    p.add_argument("--live-frames", type=int, help="frames per live run (default 300; quick 10)")
    p.add_argument(
        "--overload-model",
        help="a model slower than the frame rate (default: slow_convs, the chain of "
        "convolutions `rtseg bench overload` uses)",
    )
    p.add_argument("--overload-fps", type=float, default=30.0)
    p.add_argument("--torch", action="store_true", help="engine: also time PyTorch eager")
    p.add_argument(
        "--peer-python",
        help="peer: the Python of MediaPipe's venv (default $RTSEG_PEER_PYTHON, "
        "else .venv-mediapipe from `make peer-venv`)",
    )
    p.add_argument(
        "--peer-height", type=int, help="peer, profile, encoder: clip height (720; quick: native)"
    )
    p.add_argument(
        "--matting-model", default="rvm_mobilenetv3", help="matting: the model (`make rvm`)"
    )
    p.add_argument(
        "--matting-baseline",
        type=Path,
        help="matting: the RVM graph as converted, whose inference alone the file run is "
        "compared with (NHWC or NCHW .onnx; default: the one `make rvm` keeps, if there)",
    )
    p.add_argument(
        "--matting-photos",
        type=Path,
        help="matting: a folder of photos timed through `rtseg run` (default: the shared P3M "
        "portraits, if there)",
    )
    return p


def _defaults(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    args.what = args.what or ["all"]
    unknown = [w for w in args.what if w not in (*WHAT, "all")]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(WHAT)}, all")
    quick = args.quick
    args.threads = args.threads or ([1] if quick else [1, 2])
    args.runs = args.runs or (10 if quick else 200)
    args.frames = args.frames or (6 if quick else 300)
    args.live_frames = args.live_frames or (10 if quick else 300)
    args.heights = args.heights or (["native"] if quick else ["native", "720", "1080"])
    args.live_heights = args.live_heights or (["native"] if quick else ["720"])
    args.fps = args.fps or [30.0, 60.0]
    args.peer_height = args.peer_height or (None if quick else 720)
    if args.videos is None:
        found = sorted(VIDEOS.glob("*.mp4")) if VIDEOS.is_dir() else []
        args.videos = [str(p) for p in found[:1]] if quick else [str(p) for p in found]
    args.videos = args.videos or ["sample"]


def engine_models(args: argparse.Namespace, notes: list[str]) -> list[Path]:
    paths = []
    for name in () if args.no_bundled else BUNDLED:
        try:
            paths.append(resolve(name))
        except RtsegError as exc:
            notes.append(f"engine: skipped {name}: {exc}")
    return paths + [resolve(m) for m in args.models]


def eager_rows(paths: list[Path], args: argparse.Namespace, notes: list[str]) -> list[dict]:
    reason = torch_eager.unavailable_reason()
    if reason:
        notes.append(f"PyTorch eager comparison skipped: {reason}")
        return []
    rows = []
    for path in paths:
        _, info = load_session(path, ["CPUExecutionProvider"])
        try:
            rows += [torch_eager.bench_eager(info, t, args.runs) for t in args.threads]
        except RtsegError as exc:
            notes.append(f"PyTorch eager skipped for {info.name}: {exc}")
    return rows


def _say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> dict:
    """Run the chosen benchmarks and return the results dict (also what results.json holds)."""
    what = set(WHAT) if "all" in args.what else set(args.what)
    results: dict = {"machine": machine_info(), "notes": []}
    notes = results["notes"]
    if "engine" in what:
        paths = engine_models(args, notes)
        _say(f"engine: {len(paths)} models")
        results["engine"] = engine.bench_engines(
            paths, args.threads, args.devices, args.runs, warmup=3 if args.quick else 10
        )
        if args.torch:
            results["engine"] += eager_rows(paths, args, notes)
    if "pipeline" in what:
        results["pipeline"] = []
        for video in args.videos:
            for height in args.heights:
                _say(f"file mode: {Path(video).name} at {height}")
                results["pipeline"].append(
                    bench_file(
                        video, height, args.model, args.frames, args.device, args.pipeline_threads
                    )
                )
    if "live" in what:
        results["live"] = []
        for height in args.live_heights:
            for fps in args.fps:
                _say(f"live: {Path(args.videos[0]).name} at {height}, {fps:g} fps")
                results["live"].append(
                    live.bench_live(
                        args.videos[0],
                        height,
                        args.model,
                        fps,
                        args.live_frames,
                        args.device,
                        args.pipeline_threads,
                    )
                )
    if "overload" in what:
        model = args.overload_model or str(SLOW_MODEL_PATH)
        _say(f"overload: {Path(model).name} at {args.overload_fps:g} fps")
        run_ = live.bench_live(
            args.videos[0],
            args.live_heights[0],
            model,
            args.overload_fps,
            args.live_frames,
            args.device,
            args.pipeline_threads,
            sync=True,
        )
        run_["label"] = "overload"
        results["overload"] = {"run": run_, "check": live.overload_check(run_)}
    if "peer" in what:
        _say(f"peer: {Path(args.videos[0]).name}, rtseg and MediaPipe's loop")
        results["peer"] = peer.bench_peer(
            args.videos[0],
            args.peer_height,
            args.model,
            args.frames,
            args.live_frames,
            30.0,
            args.peer_python,
            args.pipeline_threads,
            rounds=1 if args.quick else 3,
        )
        print(peer.format_peer(results["peer"]), flush=True)
        if "peer_skipped" in results["peer"]:
            notes.append(f"peer: skipped: {results['peer']['peer_skipped']}")
    if "profile" in what:
        _say(f"profile: {Path(args.videos[0]).name}, each step in turn")
        results["profile"] = profile.bench_profile(
            args.videos[0], args.peer_height, args.model, args.frames, args.pipeline_threads
        )
        print(profile.format_profile(results["profile"]), flush=True)
    if "encoder" in what:
        _say(f"encoder: x264 candidates on {Path(args.videos[0]).name}")
        results["encoder"] = encoder.bench_encoder(
            args.videos[0], args.peer_height, min(args.frames, 150), args.model
        )
        print(encoder.format_encoder(results["encoder"]), flush=True)
    if "matting" in what:
        try:
            resolve(args.matting_model)
        except RtsegError as exc:
            notes.append(f"matting: skipped: {exc} (build it with `make rvm`)")
        else:
            _say(f"matting: {args.matting_model} on {Path(args.videos[0]).name}")
            baseline = args.matting_baseline or matting.default_baseline()
            photos = args.matting_photos or (PHOTOS if PHOTOS.is_dir() else None)
            results["matting"] = matting.bench(
                args.matting_model,
                baseline,
                args.videos[0],
                min(args.frames, 150),
                args.live_frames,
                photos,
                runs=3 if args.quick else 20,
                rounds=1 if args.quick else 3,
            )
            print(matting.format_bench(results["matting"]), flush=True)
    results["machine"]["load_average_end"] = load_average()
    results["targets"] = targets.evaluate(results)
    return results


def write(results: dict, out: Path) -> list[Path]:
    """results.json, results.md and the plots; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "results.md").write_text(report.render(results, "# rtseg benchmark"))
    written = [out / "results.json", out / "results.md"]
    live_runs = list(results.get("live", []))
    if results.get("overload"):
        live_runs.append(results["overload"]["run"])
    for made in (
        plots.latency_cdfs(live_runs, out / "latency_cdf.png"),
        plots.fps_by_resolution(results.get("pipeline", []), out / "fps_by_resolution.png"),
        plots.targets_chart(results.get("targets", []), out / "targets.png"),
    ):
        if made:
            written.append(made)
    return written


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m benchmarks`."""
    argv = sys.argv[1:] if argv is None else list(argv)
    keep_freed_memory()  # as the `rtseg` command does: the runs measure what `rtseg run` does
    if argv[:1] == ["batch"]:
        from benchmarks.batch import main as batch_main

        return batch_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    _defaults(parser, args)
    logging.basicConfig(level=logging.WARNING, format="rtseg: %(message)s", stream=sys.stderr)
    started = time.monotonic()
    try:
        results = run(args)
    except RtsegError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    results["command"] = shlex.join(["python", "-m", "benchmarks", *argv])
    results["seconds"] = round(time.monotonic() - started, 1)
    for path in write(results, args.out):
        _say(f"wrote {path}")
    for t in results["targets"]:
        _say(f"{'met' if t['met'] else 'MISSED'}: {t['target']}: {t['measured']} ({t['why']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
