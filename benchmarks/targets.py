"""The project's CPU performance targets, checked against a results dict.

Targets (2 cores, bundled general model, blur, mp4 output): file mode at 720p at least 1.6x
the one-thread baseline; live at 30 fps and 720p with no drops and p99 capture-to-sink
<= 25 ms; under overload, latency bounded and no queue growing.
"""

from __future__ import annotations

FILE_RATIO = 1.6
LIVE_P99_MS = 25.0


def _slowest(stages: dict[str, dict[str, float]], key: str) -> str:
    name = max(stages, key=lambda n: stages[n][key])
    return f"{name} ({key} {stages[name][key]:.1f} ms)"


def file_target(rows: list[dict]) -> list[dict]:
    out = []
    for row in rows:
        if row.get("height") != "720":
            continue
        met = row["ratio"] >= FILE_RATIO
        why = f"bounded by {_slowest(row['stages_ms'], 'mean')}"
        out.append(
            {
                "target": f"file mode 720p >= {FILE_RATIO}x sequential ({row['source']})",
                "measured": f"{row['ratio']:.2f}x ({row['pipeline_fps']:.1f} vs "
                f"{row['sequential_fps']:.1f} fps)",
                "met": met,
                "why": why,
            }
        )
    return out


def live_target(runs: list[dict]) -> list[dict]:
    out = []
    for run in runs:
        if run["fps_target"] != 30 or not run["size"].endswith("x720"):
            continue
        p99 = run["latency_ms"]["p99"]
        met = run["drops"] == 0 and p99 <= LIVE_P99_MS
        out.append(
            {
                "target": f"live 30 fps 720p: 0 drops, p99 <= {LIVE_P99_MS:g} ms ({run['source']})",
                "measured": f"{run['drops']} drops, p99 {p99:.1f} ms",
                "met": met,
                "why": f"slowest step at p99: {_slowest(run['stages_ms'], 'p99')}",
            }
        )
    return out


def overload_target(overload: dict | None) -> list[dict]:
    if not overload:
        return []
    check = overload["check"]
    return [
        {
            "target": "overload: p99 <= 2 model latencies + 1 period, drops counted, "
            "no queue grows",
            "measured": f"p99 {check['p99_ms']:.1f} ms vs bound {check['bound_ms']:.1f} ms, "
            f"{check['drops']} drops, max queue {check['max_high_water']}",
            "met": check["bounded"] and check["queues_bounded"] and check["overloaded"],
            "why": "model slower than the frame period"
            if check["overloaded"]
            else "not an overload: the model kept up with the frame rate",
        }
    ]


def evaluate(results: dict) -> list[dict]:
    """Every target the results can speak to, met or not, with the reason."""
    return (
        file_target(results.get("pipeline", []))
        + live_target(results.get("live", []))
        + overload_target(results.get("overload"))
    )
