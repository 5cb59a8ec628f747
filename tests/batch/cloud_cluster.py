"""The object-storage test's body on a two-node Ray cluster whose nodes share no disk.

`python -m tests.batch.cloud_cluster CLIPS FETCHED MODEL`, inside a loopback-only namespace
(see `netns`), starts an S3 server (see `s3`), uploads CLIPS to s3://media/, and starts two
Ray nodes, in a PID namespace of their own, each in a mount namespace of its own with a
tmpfs over the same folder: the node's working directory, its TMPDIR (where rtseg writes
outputs before uploading them) and Ray's session files. Only the object store connects the
two. On the head it runs `rtseg batch s3://media/ --out s3://results/out --ray HEAD
--split 2`, downloads s3://results/ into FETCHED and prints JSON: the batch's exit status and
stderr, the nodes, what the second node sees of the head's folder, and the keys left in the
bucket.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ray

from tests.batch.s3 import download_tree, free_port, s3_server, upload_tree

RAY = str(Path(sys.executable).with_name("ray"))


def on_private_disk(folder: Path, *argv: str, own_pids: bool = False) -> list[str]:
    """`argv` in a new mount namespace where `folder` is a tmpfs of its own, and is the
    working directory and TMPDIR; with `own_pids`, in a PID namespace of its own too, so
    `ray stop` there sees (and stops) this cluster's processes only, not another test run's,
    and whatever is left ends with the namespace."""
    script = 'mount -t tmpfs rtseg-node "$0" && cd "$0" && TMPDIR="$0" exec "$@"'
    pids = ["-p", "-f", "--mount-proc"] if own_pids else []
    return ["unshare", "-m", *pids, "sh", "-c", script, str(folder), *argv]


def look_around(folder: str) -> dict:
    """What a task sees of `folder` (run on the second node)."""
    return {
        "node": ray.get_runtime_context().get_node_id(),
        "files": sorted(os.listdir(folder)),
        "tmpdir": os.environ.get("TMPDIR"),
    }


def head(port: str, folder: str, model: str) -> None:
    """The head node and the batch's driver (in the head's own mount namespace)."""
    start = [RAY, "start", "--num-cpus=1", "--disable-usage-stats", f"--temp-dir={folder}/ray"]
    subprocess.run([*start, "--head", f"--port={port}", "--include-dashboard=false"], check=True)
    Path(folder, "head-only.txt").write_text("written on the head")
    join = [*start, f"--address=127.0.0.1:{port}", '--resources={"second_node": 1}', "--block"]
    second = subprocess.Popen(on_private_disk(Path(folder), *join), stdout=subprocess.DEVNULL)
    try:
        ray.init(address=f"127.0.0.1:{port}", log_to_driver=False)
        deadline = time.monotonic() + 120
        while sum(n["Alive"] for n in ray.nodes()) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        nodes = {n["NodeID"]: n["Resources"] for n in ray.nodes() if n["Alive"]}
        probe = ray.remote(num_cpus=0, resources={"second_node": 0.01})(look_around)
        seen = ray.get(probe.remote(folder), timeout=60)
        ray.shutdown()
        batch = subprocess.run(
            [
                sys.executable, "-m", "rtseg", "batch", "s3://media/", "--out", "s3://results/out",
                "--model", model, "--ray", f"127.0.0.1:{port}", "--split", "2",
                "--report", "s3://results/report.jsonl",
            ],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        outcome = {"exit": batch.returncode, "stderr": batch.stderr, "stdout": batch.stdout}
        print(json.dumps({**outcome, "nodes": nodes, "seen": seen}))
    finally:
        subprocess.run([RAY, "stop", "--force"], capture_output=True)
        second.wait(30)


def main(clips: str, fetched: str, model: str) -> None:
    # No token authentication: its token file lives in the home folder, which these nodes
    # would share (a real cluster gives each node the token; see docs/cloud.md).
    os.environ["RAY_AUTH_MODE"] = "disabled"
    with s3_server("media", "results") as fs:
        upload_tree(fs, Path(clips), "media")
        # A short path: Ray's unix sockets live under it, and their names have a length limit.
        folder = Path(tempfile.mkdtemp(prefix="rtn-", dir="/tmp"))
        try:
            body = [sys.executable, "-m", "tests.batch.cloud_cluster", "head"]
            body += [str(free_port()), str(folder), model]
            on_head = subprocess.run(
                on_private_disk(folder, *body, own_pids=True),
                capture_output=True,
                text=True,
                timeout=400,
            )
        finally:
            folder.rmdir()
        if on_head.returncode != 0:
            sys.exit(f"the head failed: {on_head.stderr[-3000:]}")
        outcome = json.loads(on_head.stdout.strip().splitlines()[-1])
        outcome["keys"] = download_tree(fs, "s3://results/", Path(fetched))
    print(json.dumps(outcome))


if __name__ == "__main__":
    if sys.argv[1] == "head":
        head(*sys.argv[2:5])
    else:
        main(*sys.argv[1:4])
