"""The store-fault scenarios' body, run inside a loopback-only namespace (see `netns`).

`python -m tests.batch.cloud_faults CLIPS WORK MODEL` runs moto's S3 server as a process of
its own (so it can be killed or frozen) and, each as its own `rtseg` process:
1. a batch over an input bucket holding the key `in/../escaped.mp4`, into a local --out
   beside a file that key climbs to, and into an output bucket;
2. a batch and a run whose output bucket does not exist;
3. two batches on one output prefix, half a second apart;
4. a run reading an object while the server is killed, and while it is frozen (SIGSTOP);
5. a run whose upload is under way when the server is killed;
6. a run and a batch against a server that refuses the credentials.
CLIPS holds `short.mp4`, `long.mp4` and `big.mp4`. Prints JSON: each command's exit status,
stderr and seconds, and what was found afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import fsspec

from tests.batch.s3 import free_port

STALL_S = "3"  # RTSEG_STORE_STALL_S for these runs: a stalled store is given up on after it


class Moto:
    """moto's S3 server in a process of its own, on 127.0.0.1."""

    def __init__(self, **env: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **env},
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        os.environ.update(
            AWS_ACCESS_KEY_ID="rtseg-test",
            AWS_SECRET_ACCESS_KEY="rtseg-test-secret",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ENDPOINT_URL=f"http://127.0.0.1:{self.port}",
            RTSEG_STORE_STALL_S=STALL_S,
        )
        self.fs = fsspec.filesystem("s3", skip_instance_cache=True)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def rtseg(*args: str) -> dict:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "rtseg", *args], capture_output=True, text=True, timeout=300
    )
    seconds = round(time.monotonic() - started, 1)
    return {"exit": done.returncode, "stderr": done.stderr, "seconds": seconds}


def during(args: list[str], ready: Callable[[], bool], fault: Callable[[], None]) -> dict:
    """Run rtseg; once `ready()`, do `fault()`; how it ended and how long after the fault."""
    process = subprocess.Popen(
        [sys.executable, "-m", "rtseg", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None and not ready():
        time.sleep(0.005)
    faulted = time.monotonic()
    fault()
    try:
        _, stderr = process.communicate(timeout=150)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        stderr += "\n(still running 150 s after the fault: killed)"
    return {"exit": process.returncode, "stderr": stderr,
            "after_fault_s": round(time.monotonic() - faulted, 1)}  # fmt: skip


def main(clips: str, work: str, model: str) -> None:
    clips_dir, root = Path(clips), Path(work)
    os.environ["TMPDIR"] = str(root / "tmp")
    (root / "tmp").mkdir(parents=True)
    staging = root / "tmp" / "rtseg-staging"
    m = ("--model", model)
    outcome: dict = {}

    store = Moto()
    store.fs.mkdir("media")
    store.fs.mkdir("results")
    short = str(clips_dir / "short.mp4")
    for key in ("in/ok.mp4", "in/../escaped.mp4", *(f"two/{c}.mp4" for c in "abcd")):
        store.fs.put_file(short, f"media/{key}")
    store.fs.put_file(str(clips_dir / "long.mp4"), "media/long.mp4")

    # 1. A key that climbs out of its prefix.
    victim = root / "local" / "escaped.mp4"
    victim.parent.mkdir()
    victim.write_bytes(b"a file of the user's")
    out = root / "local" / "out"
    batch = ["batch", "s3://media/in/", "-q", *m]
    outcome["escape_local"] = rtseg(*batch, "--out", str(out), "--overwrite")
    outcome["escape_local"]["victim"] = victim.read_bytes().decode(errors="replace")
    outcome["escape_local"]["files"] = sorted(
        str(p.relative_to(root)) for p in (root / "local").rglob("*") if p.is_file()
    )
    outcome["escape_bucket"] = rtseg(*batch, "--out", "s3://results/out")
    outcome["escape_bucket"]["keys"] = sorted(store.fs.find("results"))

    # 2. An output bucket that does not exist.
    outcome["no_bucket_batch"] = rtseg(*batch, "--out", "s3://nobucket/out")
    outcome["no_bucket_run"] = rtseg("run", "--source", "s3://media/long.mp4", "--sink",
                                     "s3://nobucket/long.mp4", "-q", *m)  # fmt: skip

    # 3. Two batches on one output prefix, on one node.
    two = ["batch", "s3://media/two/", "--out", "s3://results/two", "--workers", "1", "-q", *m]
    processes = []
    for _ in range(2):
        processes.append(subprocess.Popen([sys.executable, "-m", "rtseg", *two],
                                          stderr=subprocess.PIPE, text=True))  # fmt: skip
        time.sleep(0.5)
    outcome["two"] = [{"exit": p.wait(240), "stderr": p.stderr.read()} for p in processes]
    outcome["two_keys"] = sorted(store.fs.find("results/two"))
    outcome["two_staging"] = sorted(p.name for p in staging.rglob("*") if p.is_file())

    # 4. The store killed, then frozen, while a run reads from it.
    local = root / "local"
    for fault, name in ((signal.SIGKILL, "killed_read"), (signal.SIGSTOP, "stalled_read")):
        if name == "stalled_read":
            store = Moto()
            store.fs.mkdir("media")
            store.fs.put_file(str(clips_dir / "long.mp4"), "media/long.mp4")
        sink = local / f"{name}.mp4"
        outcome[name] = during(
            ["run", "--source", "s3://media/long.mp4", "--sink", str(sink), "-q", *m],
            ready=lambda sink=sink: (sink.with_name(sink.stem + ".partial.mp4")).exists(),
            fault=lambda fault=fault, store=store: store.process.send_signal(fault),
        )
        store.stop()

    # 5. The store killed while an output is being uploaded (a multipart upload).
    store = Moto()
    store.fs.mkdir("results")
    staged = staging / "s3" / "results" / "big.mp4"
    outcome["killed_upload"] = during(
        ["run", "--source", str(clips_dir / "big.mp4"), "--sink", "s3://results/big.mp4",
         "--crf", "0", "-q", *m],
        ready=staged.exists,
        fault=lambda: (time.sleep(0.2), store.process.send_signal(signal.SIGKILL)),
    )  # fmt: skip
    outcome["killed_upload"]["kept"] = staged.exists()
    store.stop()

    # 6. Credentials the store refuses.
    store = Moto(INITIAL_NO_AUTH_ACTION_COUNT="0")
    outcome["denied_run"] = rtseg("run", "--source", "s3://media/long.mp4", "--sink",
                                  str(local / "denied.mp4"), "-q", *m)  # fmt: skip
    outcome["denied_batch"] = rtseg("batch", short, "--out", "s3://results/denied", "-q", *m)
    store.stop()
    print(json.dumps(outcome))


if __name__ == "__main__":
    main(*sys.argv[1:4])
