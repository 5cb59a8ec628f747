"""What a batch says at the end: the `--report` JSON lines, a summary table, and one line per
failure with its reason (last, so the end of a log names what went wrong)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TextIO

from rtseg.batch.tasks import Result
from rtseg.errors import RtsegError


class ReportFile:
    """One JSON line per input, written as each ends, so a stopped batch still has its lines."""

    def __init__(self, path: Path | None) -> None:
        self._file: TextIO | None = None
        if path is not None:
            try:
                self._file = path.open("w")
            except OSError as exc:
                raise RtsegError(f"cannot write report {path}: {exc.strerror}") from None

    def add(self, result: Result) -> None:
        if self._file is not None:
            self._file.write(json.dumps(result.to_dict()) + "\n")
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def summary_table(results: list[Result], seconds: float, executor: str, workers: int) -> str:
    """Totals of a batch: files by status, frames, time and throughput."""
    status = Counter(r.status for r in results)
    frames_in = sum(r.frames_in for r in results)
    frames_out = sum(r.frames_out for r in results)
    fps = frames_out / seconds if seconds > 0 else 0.0
    rows = [
        ("files", f"{len(results)}: " + ", ".join(f"{status[s]} {s}" for s in sorted(status))),
        ("frames", f"{frames_in} in, {frames_out} out"),
        ("time", f"{seconds:.1f} s, {fps:.1f} fps"),
        ("workers", f"{workers} ({executor})"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)


def failure_lines(results: list[Result]) -> list[str]:
    """`rtseg: error: SOURCE: reason`, one per failed input."""
    return [f"rtseg: error: {r.source}: {r.error}" for r in results if r.status == "failed"]
