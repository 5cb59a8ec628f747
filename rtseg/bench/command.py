"""`rtseg bench [MODE]`: measure a model, or the whole pipeline, on this machine.

MODE is `engine` (the model alone), `file` (a source through the whole pipeline, as `rtseg
run` writes a file), `live` (a paced source or a camera: latency, drops, mask age) or
`overload` (a model slower than the frame rate). Without one it is `file`: what `rtseg run`
does by default, on the built-in sample at 720p.

Several values of --model, --device, --threads or --size are measured side by side in one run,
alternated round by round. Results go to --out as MODE.json, MODE.md and MODE.html, with
PNG plots (embedded in the HTML) when --plots is given and the plots extra is installed.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from dataclasses import asdict
from pathlib import Path

import rtseg
from rtseg.bench import html, summary
from rtseg.bench.live import is_camera
from rtseg.bench.machine import load_average, machine_info
from rtseg.bench.report import table
from rtseg.bench.side_by_side import (
    MODES,
    SLOW_MODEL,
    Settings,
    Variant,
    run_variants,
    shares,
    variants,
)
from rtseg.errors import RtsegError
from rtseg.models.engine import DEVICES
from rtseg.models.registry import DEFAULT_MODEL

# The repository's comparisons: they need peers, data sets or cloud accounts a user's machine
# does not have, so they stay tools of the source checkout.
REPOSITORY_ONLY = ("peer", "profile", "encoder", "matting", "quality", "cloud", "batch", "soak")
PLOTS_EXTRA = "pip install 'rtseg[plots]'"


def _size(text: str) -> str:
    if text != "native" and not (text.isdecimal() and int(text) >= 16):
        raise argparse.ArgumentTypeError(f"a frame height such as 720, or native; got {text!r}")
    return text


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = 0
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
        return value

    return parse


def _yes_no(text: str) -> bool:
    if text not in ("yes", "no"):
        raise argparse.ArgumentTypeError(f"yes or no, got {text!r}")
    return text == "yes"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rtseg bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="The peer comparisons, quality and cloud benchmarks are tools of the source "
        "repository: python -m benchmarks there.",
    )
    p.add_argument("mode", nargs="?", default="file", metavar="MODE", help=", ".join(MODES))
    p.add_argument(
        "--model",
        action="extend",
        nargs="+",
        metavar="MODEL",
        help=f"model names or contract .onnx files, side by side (default {DEFAULT_MODEL}; "
        f"overload: {SLOW_MODEL}, a model made to be slow)",
    )
    p.add_argument(
        "--device",
        action="extend",
        nargs="+",
        choices=DEVICES,
        metavar="DEVICE",
        help=f"devices side by side: {', '.join(DEVICES)} (default auto)",
    )
    p.add_argument(
        "--threads",
        action="extend",
        nargs="+",
        metavar="N",
        type=_positive(int),
        help="ONNX Runtime threads side by side",
    )
    p.add_argument(
        "--size",
        action="extend",
        nargs="+",
        metavar="HEIGHT",
        type=_size,
        help="frame heights side by side, or native (default 720; engine: the frame size of "
        "a model of any input size, such as RVM)",
    )
    p.add_argument(
        "--io-binding",
        action="extend",
        nargs="+",
        type=_yes_no,
        metavar="yes|no",
        help="engine: IO binding on, off or both (default: on a GPU only)",
    )
    p.add_argument("--source", default="sample", help="sample, a video file, or a camera index")
    p.add_argument("--frames", type=_positive(int), help="frames per variant (default 300)")
    p.add_argument("--runs", type=_positive(int), help="engine: runs per variant (default 200)")
    p.add_argument("--fps", type=_positive(float), default=30.0, help="live: source rate (30)")
    p.add_argument("--rounds", type=_positive(int), default=3, help="rounds of alternation (3)")
    p.add_argument("--out", type=Path, default=Path("bench-results"), help="results folder")
    p.add_argument("--plots", action="store_true", help=f"PNG plots too ({PLOTS_EXTRA})")
    p.add_argument("--quick", action="store_true", help="a tiny run: 6 frames, 10 runs")
    return p


def settings_and_variants(args: argparse.Namespace) -> tuple[Settings, list[Variant]]:
    """What the arguments ask for, defaults filled in; refuses what no run can do."""
    if args.mode in REPOSITORY_ONLY:
        raise RtsegError(
            f"the {args.mode} benchmark is a tool of the source repository, not of an installed "
            f"rtseg: in a checkout, run `python -m benchmarks {args.mode}`"
        )
    if args.mode not in MODES:
        raise RtsegError(f"unknown benchmark {args.mode!r}; choose one of {', '.join(MODES)}")
    if args.mode in ("engine", "file") and is_camera(args.source):
        raise RtsegError(f"{args.mode} mode reads no camera; measure a camera with `live`")
    default_model = SLOW_MODEL if args.mode == "overload" else DEFAULT_MODEL
    settings = Settings(
        mode=args.mode,
        source=args.source,
        frames=args.frames or (6 if args.quick else 300),
        runs=args.runs or (10 if args.quick else 200),
        fps=args.fps,
        rounds=args.rounds,
    )
    chosen = variants(
        list(dict.fromkeys(args.model or [default_model])),
        list(dict.fromkeys(args.device or ["auto"])),
        list(dict.fromkeys(args.threads or [None])),
        list(dict.fromkeys(args.size or ["720"])),
        list(dict.fromkeys(args.io_binding or [None])),
    )
    return settings, chosen


def check_plots() -> None:
    """Fail before measuring when plots are asked for and matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise RtsegError(f"--plots needs the plots extra: {PLOTS_EXTRA}") from exc


def write(results: dict, out: Path, plots: bool) -> list[Path]:
    """MODE.json, MODE.md, the plots when asked for, and MODE.html embedding them."""
    out.mkdir(parents=True, exist_ok=True)
    mode = results["mode"]
    written = [out / f"{mode}.json", out / f"{mode}.md"]
    written[0].write_text(json.dumps(results, indent=1) + "\n")
    written[1].write_text(summary.markdown(results))
    images: list[Path] = []
    if plots:
        from rtseg.bench import plots as charts  # matplotlib: only when plots are asked for

        images.append(charts.latency_by_variant(results, out / f"{mode}-latency.png"))
        if stages := charts.stages_by_variant(results, out / f"{mode}-stages.png"):
            images.append(stages)
    page = out / f"{mode}.html"
    page.write_text(html.render(results, images))
    return [*written, *images, page]


class Once(logging.Filter):
    """Lets each distinct log line through once: every round opens the model again, and its
    warnings (random weights, a provider that fell back) would repeat with each."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message in self.seen:
            return False
        self.seen.add(message)
        return True


def _say(message: str) -> None:
    print(f"rtseg bench: {message}", file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    """Parse, measure, write, and print the summary with the command behind each row.

    Raises:
        RtsegError: a bad choice, a model or source that cannot be opened, or --plots
            without matplotlib; the caller prints it in one line.
    """
    args = build_parser().parse_args(argv)
    for handler in logging.getLogger().handlers:
        handler.addFilter(Once())
    settings, chosen = settings_and_variants(args)
    if args.plots:
        check_plots()
    machine = machine_info()
    rows = run_variants(settings, chosen, _say)
    machine["load_average_end"] = load_average()
    results: dict = {
        "rtseg": rtseg.__version__,
        "mode": settings.mode,
        "command": shlex.join(["rtseg", "bench", *argv]),
        "rounds": len(
            shares(settings.runs if settings.mode == "engine" else settings.frames, settings.rounds)
        ),
        "settings": asdict(settings),
        "machine": machine,
        "variants": rows,
    }
    for path in write(results, args.out, args.plots):
        _say(f"wrote {path}")
    if not args.plots:
        _say(f"no plots: add --plots ({PLOTS_EXTRA})")
    print("\n".join(table(*summary.summary(results))))
    for warning in summary.warnings(results):
        print(f"warning: {warning}")
    for row in results["variants"]:
        print(f"{row['label']}: {row['command']}")
    return 0
