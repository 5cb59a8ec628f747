"""The object-storage test's body on the local pool, run inside a loopback-only namespace.

`python -m tests.batch.cloud_local CLIPS FETCHED STAGING MODEL` starts an S3 server (see
`s3`), uploads CLIPS to s3://media/, and runs, each as its own `rtseg` process:
1. `rtseg batch s3://media/batch/ --out s3://results/out` (a broken object among them);
2. the same batch again (its finished objects are skipped);
3. `rtseg run` from s3:// to s3://;
4. a batch on s3://media/long/ interrupted (SIGINT) while its worker writes;
5. `rtseg run` on the same object, interrupted the same way.
Local files go under STAGING (TMPDIR). It downloads s3://results/ into FETCHED and prints
JSON: each command's exit status and stderr, and the keys found.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.batch.s3 import download_tree, s3_server, upload_tree


def rtseg(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "rtseg", *args], capture_output=True, text=True, timeout=240
    )
    return {"exit": done.returncode, "stdout": done.stdout, "stderr": done.stderr}


def interrupted(staging: Path, *args: str) -> dict:
    """Run rtseg, and SIGINT it as soon as a partial output appears under `staging`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "rtseg", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if any(".partial" in p.name for p in staging.rglob("*")):
            process.send_signal(signal.SIGINT)
            break
        time.sleep(0.005)
    stdout, stderr = process.communicate(timeout=120)
    partials = sorted(str(p) for p in staging.rglob("*.partial.*"))
    return {"exit": process.returncode, "stdout": stdout, "stderr": stderr, "partials": partials}


def main(clips: str, fetched: str, staging: str, model: str) -> None:
    os.environ["TMPDIR"] = staging
    with s3_server("media", "results") as fs:
        upload_tree(fs, Path(clips), "media")
        model_args = ["--model", model]
        batch = ["batch", "s3://media/batch/", "--out", "s3://results/out", *model_args]
        run = ["run", "--source", "s3://media/batch/a.mp4", "--sink", "s3://results/run.mp4"]
        stop_batch = ["batch", "s3://media/long/", "--out", "s3://results/stopped"]
        stop_run = ["run", "--source", "s3://media/long/long.mp4"]
        stop_run += ["--sink", "s3://results/stopped-run.mp4", "-q"]
        outcome = {
            "first": rtseg(*batch, "--workers", "2", "--report", "s3://results/report.jsonl"),
            "rerun": rtseg(*batch, "--workers", "2", "--report", "s3://results/rerun.jsonl"),
            "run": rtseg(*run, *model_args, "-q"),
            "stopped_batch": interrupted(Path(staging), *stop_batch, *model_args),
        }
        for path in Path(staging).rglob("*.partial.*"):
            path.unlink()  # so the next interruption waits for its own partial output
        outcome["stopped_run"] = interrupted(Path(staging), *stop_run, *model_args)
        outcome["keys"] = download_tree(fs, "s3://results/", Path(fetched))
    print(json.dumps(outcome))


if __name__ == "__main__":
    main(*sys.argv[1:5])
