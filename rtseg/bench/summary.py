"""The tables of an `rtseg bench` run, as data (header and rows of text), and as Markdown.

The Markdown file and the HTML report show the same tables, built here once: the summary
(one row per variant), the per-stage times, the machine, and the command behind each row.
"""

from __future__ import annotations

from rtseg.bench.report import table

TITLES = {
    "engine": "Engine: the model alone, on random frames at its input size",
    "file": "File mode: decode, model, blur and mp4 encode, threaded as `rtseg run` does",
    "live": "Live mode: a paced source, the newest frame wins",
    "overload": "Overload: a model slower than the frame period, each frame waits for its mask",
}
LATENCY = {
    "engine": "one model run",
    "file": "capture to sink, per frame",
    "live": "capture to sink, per frame",
    "overload": "capture to sink, per frame",
}
FELL_BACK = "FELL BACK TO CPU"

Table = tuple[list[str], list[list[str]]]


def provider_cell(row: dict) -> str:
    """The provider that ran, flagged when a GPU was asked for and the CPU ran instead."""
    name = row["provider"].replace("ExecutionProvider", "")
    return f"{name} ({FELL_BACK}: asked for {row['device']})" if row["fell_back"] else name


def summary(results: dict) -> Table:
    """One row per variant: p50, p95, p99, fps, CPU share (the engine's precision and IO
    binding, live modes' drops, and in live mode how many frames old the newest mask was at
    most)."""
    mode = results["mode"]
    header = ["variant", "model", "provider", "threads", "size"]
    header += ["p50 ms", "p95 ms", "p99 ms", "fps", "CPU share"]
    live = mode in ("live", "overload")
    if live:
        header += ["drops"]
    if mode == "live":
        header += ["mask lag, max"]
    engine = mode == "engine"
    if engine:
        header[5:5] = ["precision", "IO binding"]
    rows = []
    for r in results["variants"]:
        lat = r["latency_ms"]
        cells = [r["label"], r["model"], provider_cell(r), str(r["threads"] or "default")]
        cells.append(r["size"])
        if engine:
            cells += [r["precision"], "yes" if r["io_binding"] else "no"]
        cells += [f"{lat['p50']:.2f}", f"{lat['p95']:.2f}", f"{lat['p99']:.2f}"]
        cells += [f"{r['fps']:.1f}", f"{r['cpu_share']:.2f}"]
        if live:
            cells.append(f"{r['drops']} of {r['frames_in']}")
        if mode == "live":
            lag = r["mask_lag_max"]
            cells.append(f"{lag} frame{'' if lag == 1 else 's'}")
        rows.append(cells)
    return header, rows


def stages(results: dict) -> Table | None:
    """Each step's p50 / p99 per variant; None for the engine, which has no steps."""
    names = list(dict.fromkeys(n for r in results["variants"] for n in r["stages_ms"]))
    if not names:
        return None
    rows = [
        [r["label"]]
        + [
            f"{r['stages_ms'][n]['p50']:.2f} / {r['stages_ms'][n]['p99']:.2f}"
            if n in r["stages_ms"]
            else ""
            for n in names
        ]
        for r in results["variants"]
    ]
    return ["variant", *(f"{n} p50 / p99 ms" for n in names)], rows


def machine(results: dict) -> Table:
    """What the figures were measured on: CPU, cores, ONNX Runtime, GPU, load average."""
    m = results["machine"]
    cores = f"{m.get('usable_cores') or m['cores']} usable of {m['cores']}"
    providers = ", ".join(p.replace("ExecutionProvider", "") for p in m["providers_available"])
    load = m.get("load_average_start") or []
    end = m.get("load_average_end") or []
    loads = ", ".join(map(str, load)) + (f" at the start; {', '.join(map(str, end))} at the end")
    rows = [
        ["CPU", m["cpu"]],
        ["cores", cores],
        ["ONNX Runtime", f"{m['onnxruntime']} (providers: {providers})"],
        ["GPU", ", ".join(m.get("gpus") or []) or "none found"],
        ["load average (1, 5, 15 min)", loads],
        ["rtseg, Python, OpenCV", f"{results['rtseg']}, {m['python']}, {m['opencv']}"],
    ]
    return ["", ""], rows


def commands(results: dict) -> Table:
    """The command line that reproduces each row, alone."""
    return ["variant", "reproduce with"], [[r["label"], r["command"]] for r in results["variants"]]


def warnings(results: dict) -> list[str]:
    """Lines a reader must not miss: a fallback, an overload that was not one."""
    out = []
    for r in results["variants"]:
        if r["fell_back"]:
            out.append(
                f"{r['label']}: {r['device']} was asked for, but ONNX Runtime ran the model "
                "on the CPU: these figures are the CPU's"
            )
        check = r.get("check")
        if check and not check["overloaded"]:
            out.append(
                f"{r['label']}: not an overload, the model ({check['model_ms']:.1f} ms) kept up "
                f"with the {check['period_ms']:.1f} ms period: raise --fps or pass a slower --model"
            )
    return out


def overload(results: dict) -> list[str]:
    """The overload verdict per variant: latency bounded, drops counted, no queue growing."""
    out = []
    for r in results["variants"]:
        c = r.get("check")
        if c:
            verdict = "bounded" if c["bounded"] and c["queues_bounded"] else "NOT bounded"
            out.append(
                f"{r['label']}: model {c['model_ms']:.1f} ms against a {c['period_ms']:.1f} ms "
                f"period; p99 {c['p99_ms']:.1f} ms against the bound {c['bound_ms']:.1f} ms "
                f"(two model runs and a period): {verdict}; {c['drops']} frames dropped; "
                f"largest queue {c['max_high_water']}"
            )
    return out


def markdown(results: dict) -> str:
    """The run as Markdown: warnings, the summary, the steps, the machine, the commands."""
    mode = results["mode"]
    out = [f"# rtseg bench {mode}", "", f"{TITLES[mode]}.", ""]
    out += [line for w in warnings(results) for line in (f"**Warning:** {w}", "")]
    out += [
        f"Latency: {LATENCY[mode]}; {results['rounds']} rounds, the variants alternated in each. "
        "CPU share: CPU time of every thread over wall time (1.0 is one core kept busy).",
        "",
    ]
    out += [*table(*summary(results)), ""]
    if (steps := stages(results)) is not None:
        out += ["## Steps", "", *table(*steps), ""]
    if lines := overload(results):
        out += ["## Overload", "", *(f"- {line}" for line in lines), ""]
    out += ["## Machine", "", *table(*machine(results)), ""]
    header, rows = commands(results)
    out += ["## Reproduce", "", *table(header, [[a, f"`{b}`"] for a, b in rows]), ""]
    out += [f"Whole run: `{results['command']}`", ""]
    out += [f"- {note}" for note in results.get("notes", [])]
    return "\n".join(out).rstrip() + "\n"
