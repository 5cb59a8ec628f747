"""Running a command in a network namespace that has only loopback.

Ray binds its servers to the machine's network address; tests may only send traffic to
loopback, so every Ray test runs its body in a namespace of its own where loopback is the
only interface (and Ray falls back to 127.0.0.1). Where such a namespace cannot be made
(not root, no `unshare`), the test is skipped with that reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import lru_cache

import pytest

from tests.conftest import ROOT


@lru_cache(maxsize=1)
def unavailable_reason() -> str | None:
    if os.geteuid() != 0:
        return "a loopback-only network namespace needs root (unshare -n)"
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            return f"a loopback-only network namespace needs `{tool}`, not found"
    probe = subprocess.run(
        ["unshare", "-n", "sh", "-c", "ip link set lo up"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        return f"cannot make a network namespace here: {probe.stderr.strip()}"
    return None


def run_isolated(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """`python ARGS` inside a fresh namespace with only loopback up; skips where impossible."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0"}
    return subprocess.run(
        ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", sys.executable,
         *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env,
    )  # fmt: skip
