"""The Ray executor on a real local Ray instance and a real two-node cluster on this machine,
each inside a network namespace with only loopback (see `netns`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.batch.media import make_clip
from tests.batch.netns import run_isolated
from tests.batch.test_runner import assert_same_timing_with_audio, read_report

pytest.importorskip("ray", reason="Ray is the optional extra rtseg[cluster]")


def test_local_ray_writes_the_same_outputs_and_reports_a_corrupt_file(
    tmp_path: Path, bright_model: Path
):
    src, out, report = tmp_path / "in", tmp_path / "out", tmp_path / "report.jsonl"
    clips = [make_clip(src / "a.mp4", 1.0), make_clip(src / "sub" / "b.mp4", 1.4)]
    (src / "bad.mp4").write_bytes(b"not a video at all")

    result = run_isolated(
        "-m", "rtseg", "batch", str(src), "--out", str(out), "--model", str(bright_model),
        "--report", str(report), "--ray",
    )  # fmt: skip

    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"rtseg: error: {src / 'bad.mp4'}")
    lines = read_report(report)
    assert lines["bad.mp4"]["status"] == "failed"
    for clip in clips:
        assert lines[clip.name]["status"] == "done"
        assert_same_timing_with_audio(out / clip.relative_to(src), clip)
    assert "3: 2 done, 1 failed" in result.stdout


def test_two_node_cluster_shares_the_work_and_retries_a_killed_worker(
    tmp_path: Path, bright_model: Path
):
    src, out, report = tmp_path / "in", tmp_path / "out", tmp_path / "report.jsonl"
    clips = [make_clip(src / f"{name}.mp4", 6.0, size="320x240") for name in "abcd"]

    result = run_isolated(
        "-m", "tests.batch.ray_cluster", str(src), str(out), str(report), str(bright_model)
    )

    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["exit"] == 0, result.stderr
    assert len(outcome["killed"]) == 1
    second = [node for node, res in outcome["nodes"].items() if "second_node" in res]
    assert len(outcome["nodes"]) == 2 and len(second) == 1
    lines = read_report(report)
    ran_on = {line["worker"].split("/")[0] for line in lines.values()}
    assert ran_on == {node[:12] for node in outcome["nodes"]}
    for clip in clips:
        line = lines[clip.name]
        assert line["status"] == "done"
        assert not line["worker"].endswith(f":{outcome['killed'][0]}")
        assert_same_timing_with_audio(out / clip.name, clip)


RAY_WITHOUT_THE_MODEL = """
import json, sys
from rtseg.batch.ray_executor import RayExecutor
from rtseg.batch.tasks import Task
from rtseg.job import JobConfig
source, output, model = sys.argv[1:]
results = []
executor = RayExecutor(JobConfig(model=model, sinks=[]), "", workers=1, max_attempts=3)
executor.run([Task(source, output)], lambda i, r: results.append(r.to_dict()), lambda n: None)
print(json.dumps(results))
"""


def test_on_ray_a_worker_without_the_model_says_why_and_not_that_ray_gave_up(tmp_path: Path):
    """Ray does not retry a task that raised (retry_exceptions=False), so the report must
    not say it gave up after 3 attempts: it names the real error, after one."""
    clip = make_clip(tmp_path / "a.mp4", 0.2)
    missing = tmp_path / "gone.onnx"
    result = run_isolated(
        "-c", RAY_WITHOUT_THE_MODEL, str(clip), str(tmp_path / "out" / "a.mp4"), str(missing)
    )
    assert result.returncode == 0, result.stderr
    (line,) = json.loads(result.stdout.strip().splitlines()[-1])
    assert (line["status"], line["attempts"]) == ("failed", 1), line["error"]
    assert line["error"] == f"the worker could not load the model: model file not found: {missing}"
    assert line["error_type"] == "RtsegError"
