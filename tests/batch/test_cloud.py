"""`rtseg batch` and `rtseg run` on object storage: a real S3 API server (moto) on loopback,
the local pool and a two-node Ray cluster whose nodes share no disk, each scenario inside a
network namespace with only loopback (see `netns`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.batch.media import make_clip, make_noise_clip
from tests.batch.netns import run_isolated
from tests.batch.test_runner import assert_same_timing_with_audio, read_report
from tests.media import frame_times

pytest.importorskip("s3fs", reason="object storage is the optional extra rtseg[cloud]")
pytest.importorskip("moto", reason="the S3 test server is moto[server], in the dev extra")


def test_local_pool_reads_and_writes_s3_skips_finished_objects_and_never_leaves_a_cut_one(
    tmp_path: Path, bright_model: Path
):
    clips, fetched, staging = tmp_path / "clips", tmp_path / "fetched", tmp_path / "staging"
    staging.mkdir()
    a = make_clip(clips / "batch" / "a.mp4", 1.0)
    b = make_clip(clips / "batch" / "talks" / "b.mp4", 1.4)
    (clips / "batch" / "talks" / "broken.mp4").write_bytes(b.read_bytes()[:4000])
    make_clip(clips / "long" / "long.mp4", 20.0, size="320x240")

    result = run_isolated(
        "-m", "tests.batch.cloud_local", str(clips), str(fetched), str(staging), str(bright_model),
        timeout=400,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    first, rerun = outcome["first"], outcome["rerun"]
    # The broken object is reported; the others finish, frame-exact with their audio.
    assert first["exit"] == 1, first["stderr"]
    assert "Traceback" not in first["stderr"]
    last = first["stderr"].strip().splitlines()[-1]
    assert last.startswith("rtseg: error: s3://media/batch/talks/broken.mp4: cannot")
    lines = read_report(fetched / "report.jsonl")
    assert lines["broken.mp4"]["status"] == "failed"
    for clip, key in ((a, "out/a.mp4"), (b, "out/talks/b.mp4")):
        line = lines[clip.name]
        frames = len(frame_times(clip))
        assert (line["status"], line["frames_in"], line["frames_out"]) == ("done", frames, frames)
        assert line["bytes_read"] >= clip.stat().st_size
        assert line["bytes_written"] == (fetched / key).stat().st_size
        assert line["worker"]
        assert_same_timing_with_audio(fetched / key, clip)
        assert f"done s3://media/batch/{clip.relative_to(clips / 'batch')} on " in first["stderr"]
    assert "out/talks/broken.mp4" not in outcome["keys"]
    # The rerun skips what is done and reports the broken object again.
    assert rerun["exit"] == 1, rerun["stderr"]
    again = read_report(fetched / "rerun.jsonl")
    assert {n: again[n]["status"] for n in again} == {
        "a.mp4": "skipped",
        "b.mp4": "skipped",
        "broken.mp4": "failed",
    }
    # `rtseg run` from s3:// to s3://.
    assert outcome["run"]["exit"] == 0, outcome["run"]["stderr"]
    assert_same_timing_with_audio(fetched / "run.mp4", a)
    # Stopped mid-file: no object under the final key, the partial output kept on the node.
    for name, key in (("stopped_batch", "stopped/long.mp4"), ("stopped_run", "stopped-run.mp4")):
        stopped = outcome[name]
        assert stopped["exit"] == 130, stopped["stderr"]
        assert key not in outcome["keys"]
        assert not any(k.startswith(key.rsplit(".", 1)[0]) for k in outcome["keys"])
        assert any(p.endswith(f"{key.rsplit('.', 1)[0]}.partial.mp4") for p in stopped["partials"])
    assert "the partial output is kept as" in outcome["stopped_run"]["stderr"]
    assert (
        outcome["stopped_batch"]["stderr"]
        .strip()
        .endswith(
            "nothing was uploaded, and a partial output stays on the node that ran it, as "
            "long.partial.mp4 under rtseg-staging/ in its temporary directory"
        )
    )


def test_two_ray_nodes_without_a_shared_disk_split_a_long_object_through_the_store(
    tmp_path: Path, bright_model: Path
):
    pytest.importorskip("ray", reason="Ray is the optional extra rtseg[cluster]")
    clips, fetched = tmp_path / "clips", tmp_path / "fetched"
    long = make_clip(clips / "long.mp4", 8.0, size="320x240")
    short = make_clip(clips / "talks" / "short.mp4", 2.0)
    (clips / "talks" / "broken.mp4").write_bytes(short.read_bytes()[:4000])

    result = run_isolated(
        "-m", "tests.batch.cloud_cluster", str(clips), str(fetched), str(bright_model),
        timeout=500,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    # The second node has a disk of its own: it does not see what the head wrote.
    second = [node for node, res in outcome["nodes"].items() if "second_node" in res]
    assert len(outcome["nodes"]) == 2 and len(second) == 1
    assert outcome["seen"]["node"] == second[0]
    assert "head-only.txt" not in outcome["seen"]["files"]
    assert outcome["exit"] == 1, outcome["stderr"]
    assert (
        outcome["stderr"]
        .strip()
        .splitlines()[-1]
        .startswith("rtseg: error: s3://media/talks/broken.mp4: ")
    )
    lines = read_report(fetched / "report.jsonl")
    assert lines["broken.mp4"]["status"] == "failed"
    ran_on = set()
    for clip, key in ((long, "out/long.mp4"), (short, "out/talks/short.mp4")):
        line = lines[clip.name]
        frames = len(frame_times(clip))
        assert (line["status"], line["frames_in"], line["frames_out"]) == ("done", frames, frames)
        assert line["bytes_written"] >= (fetched / key).stat().st_size
        assert_same_timing_with_audio(fetched / key, clip)
        ran_on |= {worker.split("/")[0] for worker in line["worker"].split(", ")}
    assert ran_on == {node[:12] for node in outcome["nodes"]}
    # Only the outputs and the reports are left: the segment objects were removed.
    assert sorted(outcome["keys"]) == ["out/long.mp4", "out/talks/short.mp4", "report.jsonl"]


def test_store_faults_missing_buckets_refused_credentials_and_climbing_keys_each_end_in_one_line(
    tmp_path: Path, bright_model: Path
):
    clips = tmp_path / "clips"
    make_clip(clips / "short.mp4", 0.6)
    make_noise_clip(clips / "long.mp4", 3.0)  # 36 MB: more than the reader fetches ahead
    make_noise_clip(clips / "big.mp4", 8.0)  # its output is uploaded in parts (> 50 MiB)

    result = run_isolated(
        "-m", "tests.batch.cloud_faults", str(clips), str(tmp_path / "work"), str(bright_model),
        timeout=560,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    for name, case in outcome.items():
        for run in case if isinstance(case, list) else [case]:
            if isinstance(run, dict) and "stderr" in run:
                assert "Traceback" not in run["stderr"], (name, run["stderr"])
                assert "Task exception was never retrieved" not in run["stderr"], name
    # 1. A key that climbs is reported; the file it climbs to is untouched, and nothing is
    # written outside --out, locally or in the output bucket.
    local = outcome["escape_local"]
    assert local["exit"] == 1, local["stderr"]
    assert "rtseg: error: s3://media/in/../escaped.mp4: " in local["stderr"]
    assert local["victim"] == "a file of the user's"
    assert local["files"] == ["local/escaped.mp4", "local/out/ok.mp4"]
    assert outcome["escape_bucket"]["keys"] == ["results/out/ok.mp4"]
    # 2. A missing output bucket is found before any work.
    for name in ("no_bucket_batch", "no_bucket_run"):
        missing = outcome[name]
        assert missing["exit"] == 2, missing["stderr"]
        assert missing["stderr"].strip().splitlines()[-1] == (
            "rtseg: error: cannot write s3://nobucket/"
            + ("out/.rtseg-check.mp4" if name == "no_bucket_batch" else "long.mp4")
            + ": its bucket does not exist"
        )
    assert "frames" not in outcome["no_bucket_batch"]["stderr"]  # no summary: no work done
    # 3. Two batches on one prefix: every output arrives, no partial is left.
    assert [run["exit"] for run in outcome["two"]] == [0, 0], outcome["two"]
    assert outcome["two_keys"] == [f"results/two/{c}.mp4" for c in "abcd"]
    assert outcome["two_staging"] == []
    # 4. A store that dies or freezes mid-read ends the run within the stated stall.
    for name in ("killed_read", "stalled_read"):
        read = outcome[name]
        assert read["exit"] == 2, (name, read["stderr"])
        assert read["after_fault_s"] < 15, (name, read)  # two tries of a 3 s stall
        error = [line for line in read["stderr"].splitlines() if "error" in line]
        assert len(error) == 1 and "s3://media/long.mp4" in error[0], read["stderr"]
        assert "partial output is kept as" in error[0]
    assert "did not answer for 3 s" in outcome["stalled_read"]["stderr"]
    # 5. A store killed mid-upload: one line, the complete output kept on this node.
    upload = outcome["killed_upload"]
    assert upload["exit"] == 2, upload["stderr"]
    assert [line for line in upload["stderr"].splitlines() if "error" in line] == [
        upload["stderr"].strip().splitlines()[-1]
    ], upload["stderr"]
    assert "the complete output is kept at" in upload["stderr"] and upload["kept"]
    # 6. Refused credentials are "access denied", before any work.
    assert outcome["denied_run"]["stderr"].strip() == (
        "rtseg: error: access denied to s3://media/long.mp4: check the credentials this node uses"
    )
    denied = outcome["denied_batch"]
    assert denied["exit"] == 2 and "access denied to s3://results/denied" in denied["stderr"]
