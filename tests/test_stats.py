import json

import numpy as np

from rtseg.frame import Frame
from rtseg.stats import Stats, format_table, percentiles, write_json


def test_percentiles_match_numpy():
    samples = list(np.random.default_rng(0).exponential(5.0, 1000))
    got = percentiles(samples)
    for p in (50, 95, 99):
        assert got[f"p{p}"] == round(float(np.percentile(samples, p)), 2)
    assert percentiles([]) == {"p50": 0.0, "p95": 0.0, "p99": 0.0}


def test_summary_schema_and_table(tmp_path):
    stats = Stats(["infer", "sink"])
    stats.frames_in = 3
    for seq in range(3):
        frame = Frame(seq, np.zeros((1, 1, 3), np.uint8), capture_ns=1_000_000)
        stats.add_stage("infer", 0, 2_000_000)
        stats.add_output(frame, 1_000_000 + 5_000_000 * (seq + 1))
    stats.finish()
    summary = stats.summary({"infer->postprocess": 2}, ["CPUExecutionProvider"], "m")
    assert summary["frames_out"] == 3 and summary["drops"] == 2
    assert summary["latency_ms"]["p50"] == 10.0
    assert summary["stages"]["infer"]["p99"] == 2.0
    table = format_table(summary)
    assert "capture->sink" in table and "2 dropped" in table
    path = tmp_path / "s.json"
    write_json(summary, path)
    assert json.loads(path.read_text()) == summary
