"""Markdown from a benchmark JSON: the tables `python -m benchmarks` writes, and the
performance section of docs/benchmarks.md (`python -m benchmarks.report results.json`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.encoder import format_encoder
from benchmarks.matting import format_bench
from benchmarks.peer import format_peer
from benchmarks.profile import format_profile
from rtseg.bench.machine import describe


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def _provider(name: str) -> str:
    return name.replace("ExecutionProvider", "")


def engine_section(rows: list[dict]) -> list[str]:
    ok = [r for r in rows if "ms" in r]
    body = [
        [
            r["model"],
            r["input_size"],
            r["precision"] + (" (TRT fp16)" if r.get("trt_fp16") else ""),
            _provider(r["provider"]),
            str(r["threads"] or "default"),
            "yes" if r["io_binding"] else "no",
            f"{r['ms']['p50']:.2f}",
            f"{r['ms']['p99']:.2f}",
        ]
        for r in ok
    ]
    out = ["### Engine (model alone)", ""]
    out += _table(
        ["model", "input", "precision", "provider", "threads", "IO binding", "p50 ms", "p99 ms"],
        body,
    )
    out += [f"- {r['model_file']} on {r['device']}: {r['error']}" for r in rows if "error" in r]
    return [*out, ""]


def pipeline_section(rows: list[dict]) -> list[str]:
    body = [
        [
            r["source"],
            r["size"] + (" (upscaled)" if r["upscaled"] else ""),
            f"{r['pipeline_fps']:.1f}",
            f"{r['sequential_fps']:.1f}",
            f"{r['ratio']:.2f}x",
            f"{r['bottleneck']} ({r['stages_ms'][r['bottleneck']]['mean']:.1f} ms)",
        ]
        for r in rows
    ]
    out = ["### File mode (decode, model, blur, mp4 encode)", ""]
    out += _table(
        ["clip", "size", "pipeline fps", "sequential fps", "ratio", "bounded by (mean)"], body
    )
    return [*out, ""]


def live_section(runs: list[dict], title: str) -> list[str]:
    body = []
    for r in runs:
        lat = r["latency_ms"]
        stages = ", ".join(f"{k} {v['p99']:.1f}" for k, v in r["stages_ms"].items())
        body.append(
            [
                r["source"],
                r["size"],
                f"{r['fps_target']:g}",
                f"{r['fps_out']:.1f}",
                str(r["drops"]),
                "sync" if r.get("sync") else f"newest, lag <= {r.get('mask_lag_max', 0)}",
                f"{lat['p50']:.1f} / {lat['p95']:.1f} / {lat['p99']:.1f}",
                stages,
            ]
        )
    out = [title, ""]
    out += _table(
        [
            "clip",
            "size",
            "fps in",
            "fps out",
            "drops",
            "mask",
            "latency p50/p95/p99 ms",
            "stage p99 ms",
        ],
        body,
    )
    return [*out, ""]


def overload_section(overload: dict) -> list[str]:
    c = overload["check"]
    out = live_section([overload["run"]], "### Overload (model slower than the frame rate)")
    out.append(
        f"Model {overload['run']['model']}: {c['model_ms']:.1f} ms a frame against a "
        f"{c['period_ms']:.1f} ms period; p99 {c['p99_ms']:.1f} ms against the bound "
        f"{c['bound_ms']:.1f} ms; {c['drops']} frames dropped and counted; largest queue "
        f"{c['max_high_water']}."
    )
    return [*out, ""]


def text_section(title: str, text: str) -> list[str]:
    """A heading over a preformatted table (the peer, profile and encoder benchmarks print
    theirs as text)."""
    return [f"### {title}", "", "```", text, "```", ""]


def targets_section(targets: list[dict]) -> list[str]:
    body = [
        [t["target"], t["measured"], "met" if t["met"] else "MISSED", t["why"]] for t in targets
    ]
    return [*_table(["target", "measured", "", "why"], body), ""]


def render(results: dict, heading: str = "## Performance") -> str:
    """The whole Markdown report, naming the machine it was measured on."""
    machine = results["machine"]
    out = [heading, "", f"Measured on {describe(machine)}."]
    load = machine.get("load_average_start")
    if load:
        out.append(f"Load average when the run started: {', '.join(map(str, load))}.")
    out += ["", f"Command: `{results.get('command', 'python -m benchmarks')}`", ""]
    if results.get("targets"):
        out += targets_section(results["targets"])
    if results.get("engine"):
        out += engine_section(results["engine"])
    if results.get("pipeline"):
        out += pipeline_section(results["pipeline"])
    if results.get("live"):
        out += live_section(results["live"], "### Live mode (paced source, frame-dropping)")
    if results.get("overload"):
        out += overload_section(results["overload"])
    if results.get("peer"):
        text = format_peer(results["peer"])
        out += text_section("rtseg and MediaPipe's own loop, same clip, same run", text)
    if results.get("profile"):
        text = format_profile(results["profile"])
        out += text_section("Where the CPU goes (file mode, one step at a time)", text)
    if results.get("encoder"):
        out += text_section("x264 settings", format_encoder(results["encoder"]))
    if results.get("matting"):
        text = format_bench(results["matting"])
        out += text_section(f"Matting model {results['matting']['model']}", text)
    for note in results.get("notes", []):
        out.append(f"- {note}")
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__)
    parser.add_argument("results", type=Path, help="a results.json from python -m benchmarks")
    parser.add_argument("--heading", default="## Performance")
    args = parser.parse_args(argv)
    try:
        results = json.loads(args.results.read_text())
    except (OSError, ValueError) as exc:
        print(f"error: cannot read {args.results}: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(render(results, args.heading))
    return 0


if __name__ == "__main__":
    sys.exit(main())
