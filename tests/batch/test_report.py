"""What a batch says at the end: JSON lines, the summary table, one line per failure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rtseg.batch.report import ReportFile, failure_lines, summary_table
from rtseg.batch.tasks import Result
from rtseg.errors import RtsegError

RESULTS = [
    Result("a.mp4", "out/a.mp4", "done", frames_in=60, frames_out=60, seconds=2.0, fps=30.0),
    Result("b.mp4", "out/b.mp4", "skipped", attempts=0),
    Result("c.mp4", "out/c.mp4", "failed", error="cannot decode c.mp4 as video"),
]


def test_every_result_is_one_json_line_with_its_fields(tmp_path: Path):
    report = ReportFile(tmp_path / "r.jsonl")
    for result in RESULTS:
        report.add(result)
    report.close()
    lines = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert [line["status"] for line in lines] == ["done", "skipped", "failed"]
    assert set(lines[0]) >= {"source", "output", "status", "frames_in", "frames_out",
                             "seconds", "fps", "error"}  # fmt: skip
    assert lines[2]["error"] == "cannot decode c.mp4 as video"


def test_an_unwritable_report_is_refused_before_any_work(tmp_path: Path):
    with pytest.raises(RtsegError, match="cannot write report"):
        ReportFile(tmp_path / "missing" / "r.jsonl")


def test_the_summary_counts_each_status_and_failures_are_named():
    table = summary_table(RESULTS, seconds=4.0, executor="local", workers=2)
    assert "3: 1 done, 1 failed, 1 skipped" in table
    assert "60 in, 60 out" in table and "15.0 fps" in table and "2 (local)" in table
    assert failure_lines(RESULTS) == ["rtseg: error: c.mp4: cannot decode c.mp4 as video"]
