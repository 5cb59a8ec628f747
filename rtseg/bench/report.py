"""Markdown tables of the engine, file, live and overload benchmarks, with the machine they
were measured on."""

from __future__ import annotations


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table, one line per row."""
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
    out += table(
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
    out += table(
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
    out += table(
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
