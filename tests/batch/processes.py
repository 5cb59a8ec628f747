"""Finding and killing a batch's worker processes from outside, as a crash would."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def descendants(pid: int) -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process below `pid`, read from /proc."""
    table: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            table[int(entry.name)] = (int(stat.rsplit(")", 1)[1].split()[1]), cmdline)
    below: dict[int, tuple[int, str]] = {}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, cmdline) in table.items():
            if ppid == parent:
                below[child] = (ppid, cmdline)
                frontier.append(child)
    return below


def writing(pid: int, folder: Path) -> bool:
    """Whether process `pid` holds a partial output under `folder` open."""
    try:
        links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
    except OSError:
        return False
    return any(link.startswith(str(folder)) and ".partial" in link for link in links)


def kill_a_worker_mid_file(pid: int, folder: Path, timeout: float = 60) -> int:
    """SIGKILL the first process below `pid` seen writing a partial output under `folder`,
    as a crash or the out-of-memory killer would; its pid."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in descendants(pid):
            if writing(child, folder):
                os.kill(child, signal.SIGKILL)
                return child
        time.sleep(0.05)
    raise AssertionError("no worker started writing")
