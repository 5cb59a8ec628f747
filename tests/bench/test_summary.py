"""The run's tables: one row per variant, a fallback flagged, the machine, the commands."""

from __future__ import annotations

import copy

from rtseg.bench import summary


def test_both_models_are_rows_of_one_summary_table(engine_run):
    out, results = engine_run
    header, rows = summary.summary(results)
    assert header[:5] == ["variant", "model", "provider", "threads", "size"]
    assert header[5:7] == ["precision", "IO binding"]
    assert [r[:7] for r in rows] == [
        ["32.onnx", "brightness", "CPU", "default", "32x32", "fp32", "no"],
        ["64.onnx", "brightness", "CPU", "default", "64x64", "fp32", "no"],
    ]
    p99 = header.index("p99 ms")
    assert [float(r[p99]) for r in rows] == [v["latency_ms"]["p99"] for v in results["variants"]]
    text = (out / "engine.md").read_text()
    assert "\n".join(summary.table(header, rows)) in text
    assert summary.stages(results) is None  # the engine has no steps


def test_a_fallback_is_flagged_in_the_table_and_the_warnings(engine_run):
    _, results = engine_run
    assert summary.warnings(results) == []
    fell = copy.deepcopy(results)
    fell["variants"][1] |= {"fell_back": True, "device": "cuda"}
    _, rows = summary.summary(fell)
    assert rows[0][2] == "CPU"
    assert rows[1][2] == "CPU (FELL BACK TO CPU: asked for cuda)"
    (warning,) = summary.warnings(fell)
    assert warning.startswith("64.onnx: cuda was asked for")


def test_the_machine_and_each_rows_command_are_named(engine_run):
    _, results = engine_run
    machine = dict(summary.machine(results)[1])
    assert machine["CPU"] == results["machine"]["cpu"]
    runtime = machine["ONNX Runtime"]
    assert runtime.startswith(results["machine"]["onnxruntime"]) and "CPU" in runtime
    assert "at the end" in machine["load average (1, 5, 15 min)"]
    _, commands = summary.commands(results)
    assert [c[1] for c in commands] == [v["command"] for v in results["variants"]]
