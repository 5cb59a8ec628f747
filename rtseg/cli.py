"""The `rtseg` command: `rtseg run`, `rtseg batch`, `rtseg models`, `rtseg bench`, and the
webcam entry point.

Expected failures (bad input, missing model, unwritable output) print one line and exit 2;
an unexpected exception inside a pipeline stage prints one line with its cause and exits 1;
a run stopped by Ctrl-C or SIGTERM says what it wrote and exits 130 or 143.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

import cv2

from rtseg.batch.discover import FORMATS
from rtseg.errors import (
    CameraUnavailable,
    RtsegError,
    StageError,
    Stopped,
    cli_words,
    one_line,
)
from rtseg.io import remote
from rtseg.io.destinations import SINK_HELP, VideoFile, Window, parse_sink
from rtseg.io.outputs import check_stats_path
from rtseg.io.sinks import has_display
from rtseg.io.video.reader import VideoReader
from rtseg.job import Job, JobConfig, lost_frames_warning
from rtseg.matte.effects import EFFECT_HELP, parse_effect
from rtseg.matte.people import PEOPLE
from rtseg.matte.quality import LEVELS
from rtseg.models import registry as models
from rtseg.models.engine import load_session
from rtseg.models.fetch import fetch_rvm, release_url
from rtseg.options import DEVICES
from rtseg.pipeline.channels import Policy
from rtseg.pipeline.memory import keep_freed_memory
from rtseg.pipeline.progress import Progress, ProgressSink
from rtseg.pipeline.stats import format_table, write_json
from rtseg.redaction import redact, redact_logs

log = logging.getLogger("rtseg")

SAMPLE_OUTPUT = Path("out") / "sample-blur.mp4"


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose usage error stays one line whatever argument it quotes (an
    argument with a line break in it is shown escaped)."""

    def error(self, message: str) -> NoReturn:
        super().error(one_line(message))


def _positive_int(text: str) -> int:
    if not text.isdecimal() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text!r}")
    return int(text)


def _ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1], got {text!r}")
    return value


def _strength(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1, got {text!r}")
    return value


def _pixels(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        message = f"must be a whole number of pixels, got {text!r}"
        raise argparse.ArgumentTypeError(message) from None


def _add_file_args(p: argparse.ArgumentParser) -> None:
    """The per-run options `rtseg run` and `rtseg batch` share."""
    p.add_argument("--model", default=models.DEFAULT_MODEL, help="model name or .onnx path")
    p.add_argument("--effect", default="blur", help=EFFECT_HELP)
    p.add_argument(
        "--device",
        choices=DEVICES,
        default="auto",
        help="where the model runs: auto (TensorRT, then CUDA, then the CPU), cpu, cuda or "
        "tensorrt; rtseg says which provider really runs",
    )
    p.add_argument("--threads", type=_positive_int, help="ONNX Runtime intra-op threads")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument(
        "--quality",
        choices=list(LEVELS),
        help="mask quality for its cost: fast, balanced (zoom on the person), best (zoom and "
        "flip) (default: best for images, balanced for video files, fast for live sources)",
    )
    p.add_argument(
        "--refine",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="snap mask edges to the frame's edges (default: as --quality says)",
    )
    p.add_argument(
        "--smooth",
        type=_strength,
        metavar="S",
        help="strength of the motion-adaptive temporal smoothing of the mask, 0 (off) to 1: "
        "how much of the past a still region keeps; motion is followed at once (default 0.5)",
    )
    p.add_argument("--no-smooth", dest="smooth", action="store_const", const=0.0, help="--smooth 0")
    p.add_argument(
        "--people",
        choices=PEOPLE,
        default="all",
        help="main: only the main person stays in the mask (the largest, most central, "
        "followed over time), everyone else goes to the background (default all)",
    )
    p.add_argument(
        "--auto-frame",
        action="store_true",
        help="the output is a crop of the input at its size that keeps the person centred "
        "with headroom, moving smoothly, zoomed up to 2x",
    )
    p.add_argument(
        "--grow",
        type=_pixels,
        default=0,
        metavar="PX",
        help="grow the final mask by PX output pixels before compositing; negative shrinks",
    )
    p.add_argument(
        "--feather",
        type=_pixels,
        default=0,
        metavar="PX",
        help="soften the final mask's edges over PX output pixels on either side",
    )
    p.add_argument(
        "--mask-every",
        type=_positive_int,
        default=1,
        metavar="N",
        help="run the model on every Nth frame and reuse its mask in between",
    )
    p.add_argument(
        "--sync",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="delay each frame until its own mask is ready (default: on for files, "
        "off for live sources, where the video keeps its rate and the mask may lag)",
    )
    p.add_argument(
        "--deinterlace",
        action="store_true",
        help="deinterlace interlaced video files (FFmpeg's bwdif, one frame per frame)",
    )
    p.add_argument(
        "--downsample-ratio",
        type=_ratio,
        metavar="R",
        help="matting models (RVM): the share of the frame's size the network sees, in (0, 1] "
        "(default: the frame brought to 320x180's area: 0.25 at 720p; photos to 384 px on "
        "their longer side)",
    )
    p.add_argument("--crf", type=int, help="video file quality for FFmpeg (lower is better)")
    p.add_argument(
        "--preset",
        help="x264 preset for .mp4/.mkv (default superfast with zerolatency; a slower one, "
        "e.g. medium, makes a smaller file for more CPU)",
    )


def _add_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--source",
        default="0",
        help="camera index or /dev/videoN, file, URL, "
        "image, directory of images, or 'sample' (default: camera 0)",
    )
    p.add_argument(
        "--sink",
        action="append",
        dest="sinks",
        metavar="SINK",
        help=f"{SINK_HELP}; repeat for several",
    )
    p.add_argument(
        "--realtime",
        action="store_true",
        help="play a file at its own fps with live (frame-dropping) channels",
    )
    p.add_argument(
        "--policy",
        choices=[p.value for p in Policy],
        help="channel policy (default: latest for live sources, block for files)",
    )
    _add_file_args(p)
    p.add_argument(
        "--stats-json",
        type=Path,
        metavar="PATH",
        help="write the run's figures as JSON: frames, drops, fps, latency percentiles per "
        "stage, providers, model",
    )
    p.add_argument(
        "--max-frames", type=_positive_int, metavar="N", help="stop after N frames (complete)"
    )
    p.add_argument("--width", type=_positive_int, help="camera capture width")
    p.add_argument("--height", type=_positive_int, help="camera capture height")
    p.add_argument("--fps", type=float, help="camera capture rate")
    p.add_argument("--mjpg", action="store_true", help="ask the camera for MJPG")
    p.add_argument("--preview-host", default="127.0.0.1", help="interface for --sink http")
    p.add_argument(
        "--preview-remote",
        action="store_true",
        help="allow --preview-host to be a non-loopback interface (needs a token)",
    )
    p.add_argument("--preview-token", help="token every preview request must carry")
    p.add_argument("-q", "--quiet", action="store_true", help="print no stats table")


def _split(text: str) -> int | str:
    return text if text == "auto" else _positive_int(text)


def _add_batch_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="video or image file, directory (searched recursively), glob, or @list.txt",
    )
    p.add_argument(
        "--out",
        required=True,
        help="folder or storage URL (s3://, gs://, az://) the outputs go in",
    )
    p.add_argument("--format", choices=FORMATS, default="mp4", dest="fmt", help="output kind")
    p.add_argument(
        "--workers", type=_positive_int, metavar="N", help="worker processes (default: cores)"
    )
    p.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="run on Ray: a local instance, or the cluster at ADDRESS (needs rtseg[cluster])",
    )
    p.add_argument(
        "--split",
        type=_split,
        metavar="N|auto",
        help="cut each long video into N segments for different workers (auto: one per "
        "worker, for videos long enough)",
    )
    p.add_argument("--report", metavar="FILE", help="one JSON line per input (a path or URL)")
    p.add_argument(
        "--attempts",
        type=_positive_int,
        default=3,
        metavar="N",
        help="tries per file when its worker dies (default 3)",
    )
    _add_file_args(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or table")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rtseg",
        description="Real-time person segmentation of live and recorded video: run one "
        "source, batch many files, list or fetch models, or run the benchmarks.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="segment a camera, file or sample and show or write it")
    _add_run_args(run)
    batch = sub.add_parser(
        "batch",
        help="segment many files, or one long one in segments, on every core or a Ray cluster",
    )
    _add_batch_args(batch)
    listing = sub.add_parser(
        "models",
        help="list bundled and user models with their metadata; add or fetch one",
        description="List bundled and user models with their metadata (rtseg models), or "
        "install one (rtseg models add FILE, rtseg models fetch rvm).",
    )
    actions = listing.add_subparsers(dest="models_command")
    add = actions.add_parser(
        "add",
        help="check a model file (rtseg's contract, or Robust Video Matting's ONNX release as "
        "it is) and install it into the user model directory",
    )
    add.add_argument("file", type=Path, help="the .onnx file")
    add.add_argument("--name", help="the name to run it by (default: the file's stem)")
    add.add_argument("--overwrite", action="store_true", help="replace a user model of that name")
    fetch = actions.add_parser(
        "fetch",
        help="download Robust Video Matting's ONNX release (GPL-3.0) into the user model "
        "directory, check it, and show its licence",
    )
    fetch.add_argument("model", choices=["rvm"], help="what to fetch")
    fetch.add_argument("--fp16", action="store_true", help="the fp16 file (default fp32)")
    fetch.add_argument("--url", help="download from here instead of the RVM release")
    fetch.add_argument("--overwrite", action="store_true", help="replace a user model of that name")
    sub.add_parser(
        "bench", add_help=False, help="latency and throughput benchmarks (rtseg bench --help)"
    )
    return parser


def _per_file_options(args: argparse.Namespace) -> dict:
    """The JobConfig fields `rtseg run` and `rtseg batch` share (`_add_file_args`)."""
    names = ("model", "device", "threads", "overwrite", "quality", "refine", "smooth")
    names += ("grow", "feather", "people", "auto_frame")
    names += ("mask_every", "sync", "crf", "preset", "downsample_ratio", "deinterlace")
    return {name: getattr(args, name) for name in names}


def config_from_args(args: argparse.Namespace) -> JobConfig:
    """The job the arguments describe, their strings parsed into effect and sink objects."""
    return JobConfig(
        source=args.source,
        effect=parse_effect(args.effect),
        sinks=[parse_sink(spec) for spec in args.sinks or ["window"]],
        realtime=args.realtime,
        max_frames=args.max_frames,
        width=args.width,
        height=args.height,
        fps=args.fps,
        mjpg=args.mjpg,
        policy=Policy(args.policy) if args.policy else None,
        **_per_file_options(args),
        preview_host=args.preview_host,
        preview_remote=args.preview_remote,
        preview_token=args.preview_token,
    )


def run_batch_args(args: argparse.Namespace) -> int:
    """`rtseg batch`: its per-file options into a JobConfig, the rest into BatchOptions."""
    # The batch machinery loads only for `rtseg batch` (and Ray only with --ray).
    from rtseg.batch.runner import BatchOptions, run_batch

    config = JobConfig(effect=args.effect, sinks=[], **_per_file_options(args))
    options = BatchOptions(
        sources=args.sources,
        out=args.out,
        fmt=args.fmt,
        workers=args.workers,
        ray=args.ray,
        split=args.split,
        report=args.report,
        max_attempts=args.attempts,
        quiet=args.quiet,
    )
    return run_batch(config, options)


def run_job(config: JobConfig, stats_json: Path | None = None, quiet: bool = False) -> dict:
    """Run one job; Ctrl-C and SIGTERM stop it early (see `Pipeline.interrupt`), and outputs
    are finalised either way."""
    if stats_json is not None:  # every output is checked before the first frame
        check_stats_path(stats_json, Path(str(config.source)), config.sinks)
    with Job(config) as job:
        log.info(
            "model %s (%s) on %s",
            job.engine.info.name,
            job.engine.info.input_size,
            ", ".join(job.engine.providers),
        )
        progress = None
        if not quiet and isinstance(job.source, VideoReader) and not job.source.live:
            # The bar's total comes from the container's header (frame count, or duration
            # times rate), not from reading the file through once more; without either the
            # bar counts frames and their rate, with no total, percentage or ETA.
            total = job.source.frames_estimate
            progress = Progress(min(total, config.max_frames or total) if total else None)
            job.add_sink(ProgressSink(progress.frames))
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, lambda n, _: job.pipeline.interrupt(n))
        try:
            job.run()
        except Stopped:
            _report(job, config, stats_json, quiet)
            raise
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            if progress is not None:
                progress.close()
    return _report(job, config, stats_json, quiet)


def _report(job: Job, config: JobConfig, stats_json: Path | None, quiet: bool) -> dict:
    """Print the stats table (unless quiet), write --stats-json, warn about lost frames."""
    summary = job.summary()
    lost = lost_frames_warning(config.source, summary)
    if lost is not None:
        log.warning("%s", lost)
    if not quiet:
        print(format_table(summary, read_ahead=job.pipeline.policy is Policy.BLOCK))
    if stats_json is not None:
        write_json(summary, stats_json)
    return summary


def list_models() -> None:
    """Print every model rtseg can find by name, with its contract metadata."""
    rows = [("name", "size", "precision", "trained", "licence", "where", "source")]
    for entry in models.available():
        try:
            _, info = load_session(entry.path, ["CPUExecutionProvider"])
        except RtsegError as exc:
            rows.append((entry.name, "-", "-", "-", "-", str(entry.path), f"unusable: {exc}"))
            continue
        where = "bundled" if entry.bundled else str(entry.path)
        rows.append(
            (
                entry.name,
                info.input_size,
                info.precision,
                str(info.trained).lower(),
                info.license,
                where,
                info.source,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1])
    print(f"user models: {models.user_dir()} (set RTSEG_MODELS to change)")


def add_model(path: Path, name: str | None, overwrite: bool) -> None:
    """`rtseg models add`: install a checked model file, and say what it is and its licence."""
    target, info = models.add(path, name, overwrite)
    kind = "matting model with foreground colours" if info.foreground else "model"
    state = ", recurrent" if info.stateful else ""
    print(f"added {target.stem} ({kind}{state}, input {info.input_size}, {info.precision})")
    print(f"  {target}")
    print(f"  licence: {info.license}; source: {info.source}")
    if info.license.upper().startswith(("GPL", "AGPL", "LGPL")):
        print("  its licence binds what you distribute with it; rtseg itself is Apache-2.0")


def fetch_model(fp16: bool, url: str | None, overwrite: bool) -> None:
    """`rtseg models fetch rvm`: download, check and install RVM's release; show its NOTICE."""
    print(f"downloading {url or release_url(fp16)}", file=sys.stderr)
    fetched = fetch_rvm(fp16, url=url, overwrite=overwrite)
    print(f"installed {fetched.path.stem} ({fetched.info.precision}, sha256 {fetched.sha256})")
    print(f"  {fetched.path}")
    print()
    print(fetched.notice, end="")


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="rtseg: %(message)s", stream=sys.stderr)
    redact_logs()
    logging.getLogger("rtseg.models.engine").setLevel(logging.WARNING)
    for backend in remote.BACKEND_LOGGERS:  # storage clients say where they found credentials
        logging.getLogger(backend).setLevel(logging.WARNING)
    # FFmpeg and OpenCV print their own lines for damaged or stalled media; rtseg reports
    # those cases itself, in one line, so their logs are off unless the user turns them on.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    if "OPENCV_LOG_LEVEL" not in os.environ:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


def _fail(message: str) -> int:
    print(f"rtseg: error: {redact(message)}", file=sys.stderr)
    return 2


def _guarded(body: Callable[[], object]) -> int:
    """Run `body`; an expected failure prints one line and exits 2, an unexpected stage
    error one line and 1, Ctrl-C 130; otherwise the exit status `body` returns, if an int."""
    try:
        with cli_words():
            status = body()
    except Stopped as exc:
        print(f"rtseg: {exc}", file=sys.stderr)
        return exc.exit_status
    except StageError as exc:  # an RtsegError too, but not an expected one
        _fail(f"{exc}; this is unexpected: check the model and input, or report it")
        return 1
    except RtsegError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    return status if isinstance(status, int) else 0


def bench(argv: list[str]) -> int:
    """`rtseg bench`: the engine, file, live and overload benchmarks (rtseg/bench/)."""
    from rtseg.bench.command import main as bench_main  # `rtseg run` never pays for it

    _setup_logging()
    logging.getLogger("rtseg").setLevel(logging.WARNING)  # the runs' own progress is noise here
    return _guarded(lambda: bench_main(argv))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `rtseg` console script and `python -m rtseg`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    keep_freed_memory()
    if argv[:1] == ["bench"]:
        return bench(argv[1:])
    args = build_parser().parse_args(argv)
    _setup_logging()
    if args.command == "models" and getattr(args, "models_command", None) == "add":
        return _guarded(lambda: add_model(args.file, args.name, args.overwrite))
    if args.command == "models" and getattr(args, "models_command", None) == "fetch":
        return _guarded(lambda: fetch_model(args.fp16, args.url, args.overwrite))
    if args.command == "models":
        return _guarded(list_models)
    if args.command == "batch":
        return _guarded(lambda: run_batch_args(args))
    return _guarded(lambda: run_job(config_from_args(args), args.stats_json, args.quiet))


def camera_main(argv: Sequence[str] | None = None) -> int:
    """The webcam job (`run_camera.py`, `make run`); without a camera, the same job on `sample`.

    The sample run writes a file, and also opens a window when a display exists.
    """
    keep_freed_memory()
    parser = _Parser(prog="run_camera.py", description=camera_main.__doc__)
    _add_run_args(parser)
    args = parser.parse_args(argv)
    _setup_logging()
    return _guarded(lambda: _camera_or_sample(args))


def _camera_or_sample(args: argparse.Namespace) -> None:
    config = config_from_args(args)
    try:
        run_job(config, args.stats_json, args.quiet)
        return
    except CameraUnavailable as exc:
        if args.source != "0":
            raise
        log.warning("%s; running the same job on the built-in sample instead", exc)
    SAMPLE_OUTPUT.parent.mkdir(exist_ok=True)
    config.source = "sample"
    config.overwrite = True
    config.sinks = [VideoFile(SAMPLE_OUTPUT), *([Window()] if has_display() else [])]
    run_job(config, args.stats_json, args.quiet)
    log.info("wrote %s", SAMPLE_OUTPUT)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
