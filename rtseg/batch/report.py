"""What a batch says at the end: the `--report` JSON lines, a summary table, and one line per
failure with its reason (last, so the end of a log names what went wrong)."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from rtseg.batch.discover import Skipped
from rtseg.batch.tasks import Result
from rtseg.errors import RtsegError
from rtseg.io import remote
from rtseg.io.location import Location

# Files the summary names for each reason a file was passed over, and files that warned;
# the rest are counted.
NAMED_PER_REASON = 5


class ReportFile:
    """One JSON line per input, written as each ends, so a stopped batch still has its lines.

    A report URL is written here first and uploaded when the batch ends (stopped or not)."""

    def __init__(self, path: Location | Path | str | None) -> None:
        self._file: TextIO | None = None
        self._url: Location | None = None
        path = Location.of(path) if path is not None else None
        if path is not None and path.is_remote:
            remote.check_writable(path, overwrite=True)
            self._url, path = path, remote.temporary_dir() / "report.jsonl"
        if path is not None:
            path = Path(path)
            try:
                self._file = path.open("w")
            except OSError as exc:
                raise RtsegError(f"cannot write report {path}: {exc.strerror}") from exc

    def add(self, result: Result) -> None:
        if self._file is not None:
            self._file.write(json.dumps(result.to_dict()) + "\n")
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            if self._url is not None:
                local = Path(self._file.name)
                remote.upload(local, self._url)
                shutil.rmtree(local.parent)
            self._file = None


def summary_table(
    results: list[Result],
    seconds: float,
    executor: str,
    workers: int,
    passed_over: Sequence[Skipped] = (),
) -> str:
    """Totals of a batch: files by status, what its folders held that it passed over (and
    why), frames, time and throughput."""
    status = Counter(r.status for r in results)
    frames_in = sum(r.frames_in for r in results)
    frames_out = sum(r.frames_out for r in results)
    fps = frames_out / seconds if seconds > 0 else 0.0
    rows = [
        ("files", f"{len(results)}: " + ", ".join(f"{status[s]} {s}" for s in sorted(status))),
        *passed_over_rows(passed_over),
        *warning_rows(results),
        ("frames", f"{frames_in} in, {frames_out} out"),
        ("time", f"{seconds:.1f} s, {fps:.1f} fps"),
        ("workers", f"{workers} ({executor})"),
    ]
    read, written = sum(r.bytes_read for r in results), sum(r.bytes_written for r in results)
    if read or written:
        rows.append(("storage", f"{megabytes(read)} read, {megabytes(written)} written"))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)


def passed_over_rows(passed_over: Sequence[Skipped]) -> list[tuple[str, str]]:
    """One summary row per reason a found file was not taken, naming the first few."""
    by_reason: dict[str, list[str]] = {}
    for entry in passed_over:
        by_reason.setdefault(entry.reason, []).append(entry.path)
    rows = []
    for reason, paths in by_reason.items():
        names = ", ".join(paths[:NAMED_PER_REASON])
        more = len(paths) - NAMED_PER_REASON
        rows.append(
            ("", f"{len(paths)} {reason}: {names}" + (f" and {more} more" if more > 0 else ""))
        )
    if rows:
        rows[0] = ("passed over", rows[0][1])
    return rows


def warning_rows(results: list[Result]) -> list[tuple[str, str]]:
    """One summary row per file that warned (the first few), with its first warning."""
    warned = [r for r in results if r.warnings]
    rows = []
    for result in warned[:NAMED_PER_REASON]:
        more = len(result.warnings) - 1
        rows.append(("", result.warnings[0] + (f" (and {more} more)" if more else "")))
    if len(warned) > NAMED_PER_REASON:
        rows.append(("", f"and {len(warned) - NAMED_PER_REASON} more files (see --report)"))
    if rows:
        rows[0] = ("warnings", rows[0][1])
    return rows


def megabytes(count: int) -> str:
    return f"{count / 1e6:.1f} MB"


def file_line(result: Result) -> str:
    """One input's outcome as progress shows it: where it ran and the bytes it moved."""
    return (
        f"{result.status} {result.source} on {result.worker or 'no worker'}: "
        f"{megabytes(result.bytes_read)} read, {megabytes(result.bytes_written)} written"
    )


def failure_lines(results: list[Result]) -> list[str]:
    """`rtseg: error: SOURCE: reason`, one per failed input."""
    return [f"rtseg: error: {r.source}: {r.error}" for r in results if r.status == "failed"]
