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
from rtseg.bench.report import (
    engine_section,
    live_section,
    overload_section,
    pipeline_section,
    table,
)


def text_section(title: str, text: str) -> list[str]:
    """A heading over a preformatted table (the peer, profile and encoder benchmarks print
    theirs as text)."""
    return [f"### {title}", "", "```", text, "```", ""]


def targets_section(targets: list[dict]) -> list[str]:
    body = [
        [t["target"], t["measured"], "met" if t["met"] else "MISSED", t["why"]] for t in targets
    ]
    return [*table(["target", "measured", "", "why"], body), ""]


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
