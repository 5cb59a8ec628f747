"""Rules every file output follows, whichever writer does the encoding.

An output is checked before any work (it must not exist unless overwriting is asked for, it
must not be the input, nor may its temporary name be, it must not be a device or other
special file, and its directory must take a new file), locked against a second run writing
the same path, written under a temporary name and renamed only when complete, and stopped
with a clear error while there is still room to finish the partial file playably when the
disk fills up. Nothing an earlier run left is removed or replaced before the lock is held.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from filelock import FileLock, Timeout

from rtseg.errors import OutputBusy, OutputExists, RtsegError, option

# Space kept free while writing a video, so the container's index (written on close) still
# fits and the partial output stays playable: fixed headroom plus a margin per frame.
RESERVE_BYTES = 64 * 1024
RESERVE_PER_FRAME_BYTES = 64


def check_output(path: Path, overwrite: bool) -> None:
    """Refuse, before any work, an output that exists (without `overwrite`) or can't be written.

    Writability is probed by creating a file, since permission bits say nothing for root,
    read-only mounts or ACLs.
    """
    if is_special(path):
        raise RtsegError(
            f"cannot write {path}: it is a device or other special file, not a file or folder"
        )
    if path.exists() and not overwrite:
        raise OutputExists(f"{path} already exists; pass {option('overwrite', True)} to replace it")
    parent = path.parent if str(path.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise RtsegError(f"cannot write {path}: {parent} is a file, not a directory")
    if not parent.is_dir():
        raise RtsegError(f"cannot write {path}: directory {parent} does not exist")
    try:
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as exc:
        raise RtsegError(
            f"cannot write {path}: directory {parent} is not writable ({exc.strerror}); "
            "choose another output"
        ) from exc


def is_special(path: Path) -> bool:
    """Whether `path` is a device, pipe or socket (`/dev/null`): not a file nor a folder."""
    try:
        mode = path.stat().st_mode
    except (OSError, ValueError):
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def is_null_device(path: Path) -> bool:
    """Whether `path` is the null device (`/dev/null`, or a node of that device), which
    takes any output and keeps nothing."""
    try:
        mode, device = path.stat(), os.stat(os.devnull)
    except (OSError, ValueError):
        return False
    return stat.S_ISCHR(mode.st_mode) and mode.st_rdev == device.st_rdev


def check_not_input(path: Path, source: object) -> None:
    """Refuse an output that is the input itself, or whose temporary name is (an input
    called `clip.partial.mp4` is a video like any other): writing or clearing it would
    destroy the source. `source` is the input's path, or anything else for none."""
    if not isinstance(source, str | os.PathLike) or getattr(source, "is_remote", False):
        return
    source = Path(source)
    if not source.exists():
        return
    for used in (path, partial_name(path)):
        if used.exists() and os.path.samefile(used, source):
            which = "is the input" if used == path else f"would be written as {used}, the input"
            raise RtsegError(f"output {path} {which}; choose another output name")


def check_stats_path(path: Path, source: Path, sinks: Iterable[object]) -> None:
    """Check, before the first frame, where the stats JSON will go at the end: a writable
    directory, neither the input nor one of the run's outputs (it would overwrite them).

    `sinks` are the run's sink specs: strings, paths, or objects with a `path`.
    """
    if is_null_device(path):
        return  # the stats are not kept, as asked
    check_output(path, overwrite=True)
    check_not_input(path, source)
    for sink in sinks:
        target = getattr(sink, "path", sink)
        local = isinstance(target, str | os.PathLike) and not getattr(target, "is_remote", 0)
        if local and Path(target).absolute() == path.absolute():
            raise RtsegError(f"{path} is both --stats-json and a --sink; choose another name")


class OutputLock:
    """An exclusive lock on an output path for the length of a run.

    Two runs writing the same output would share its temporary file and corrupt it, so the
    second one is refused at once. The lock is `filelock`'s on a hidden file beside the
    output (flock on Unix, LockFileEx on Windows: a kernel lock, which the kernel drops when
    the process dies, so a crash never leaves a stale lock). The file is removed while the
    lock is still held, so no stray file stays beside the output: a run that opened it in the
    meantime finds its file unlinked once it locks it (filelock checks) and tries again.
    """

    def __init__(self, path: Path) -> None:
        self.path = lock_path(path)
        self._lock = FileLock(self.path, timeout=0, thread_local=False)
        try:
            self._lock.acquire()
        except Timeout as exc:
            raise OutputBusy(
                f"{path} is being written by another rtseg run; wait for it to finish "
                "or choose another output"
            ) from exc

    def release(self) -> None:
        """Give the path up; safe to call more than once."""
        if not self._lock.is_locked:
            return
        with contextlib.suppress(OSError):  # Windows removes it itself, on release
            self.path.unlink()
        self._lock.release()


def claim_output(path: Path, overwrite: bool, replace_partial: bool | None = None) -> OutputLock:
    """Check `path` (see `check_output`), lock it for this run, and only then clear the
    partial output an earlier run kept (`partial_name`), so no run removes the file another
    is writing.

    That partial output is replaced when `replace_partial` says so (a batch does again what
    did not finish; None: as `overwrite`), and refused otherwise rather than written over:
    it may be all that is left of a long run.

    Raises:
        OutputExists: `path` is there and `overwrite` is not set (checked again once locked:
            another run may have finished it meanwhile).
        OutputBusy: another run holds the lock.
    """
    check_output(path, overwrite)
    lock = OutputLock(path)
    try:
        check_output(path, overwrite)
        kept = partial_name(path)
        if kept.exists() and not (overwrite if replace_partial is None else replace_partial):
            raise RtsegError(
                f"{kept} holds what an earlier run wrote before it stopped; move it away, or "
                f"pass {option('overwrite', True)} to replace it"
            )
        if kept.is_dir():
            shutil.rmtree(kept)
        elif kept.exists():
            kept.unlink()
    except BaseException:
        lock.release()
        raise
    return lock


def partial_name(path: Path, tag: str = "partial") -> Path:
    """The temporary name an output is written under until it is complete."""
    return path.with_name(f"{path.stem}.{tag}{path.suffix}")


def lock_path(path: Path) -> Path:
    """The hidden file a run writing `path` holds locked (see `OutputLock`)."""
    return path.with_name(f".{path.name}.lock")


# `partial_name`'s pattern: NAME.partial.EXT, or NAME.partial-TAG.EXT for a run's other
# temporaries (a split's segments folder, NAME.partial-segments).
PARTIAL_NAME = re.compile(r"(?P<stem>.+)\.partial(?:-[a-z]+)?(?P<suffix>\.[^.]+)?")


def final_name(partial: Path) -> Path | None:
    """The output whose partial name `partial` has, or None when it has no such name."""
    match = PARTIAL_NAME.fullmatch(partial.name)
    if match is None:
        return None
    return partial.with_name(match["stem"] + (match["suffix"] or ""))


def size_changed(
    seq: int, size: tuple[int, int], expected: tuple[int, int], path: Path
) -> RtsegError:
    """The error for a frame whose size differs from the video's (width, height)."""
    return RtsegError(
        f"frame {seq} is {size[0]}x{size[1]} but {path} is {expected[0]}x{expected[1]}: "
        "a video holds one frame size; write PNGs to a directory instead"
    )


class SpaceGuard:
    """Stops a video while the disk still has room to finish it playably.

    Encoders fail on a full disk only after the container's index could no longer be
    written, which leaves a file nothing can play. So the guard watches the growth of the
    partial file and the free space, and raises once free space drops below a reserve.
    `copies_on_close` reserves room for a remux on close that copies the whole file.
    """

    def __init__(self, partial: Path, target: Path, copies_on_close: bool = False) -> None:
        self.partial = partial
        self.target = target
        self.copies_on_close = copies_on_close
        self._size = 0
        self._largest_growth = 0

    def check(self, frames: int) -> None:
        size = self.partial.stat().st_size if self.partial.exists() else 0
        self._largest_growth = max(self._largest_growth, size - self._size)
        self._size = size
        reserve = RESERVE_BYTES + 4 * self._largest_growth + RESERVE_PER_FRAME_BYTES * frames
        if self.copies_on_close:
            reserve += size
        free = shutil.disk_usage(self.partial.parent).free
        if free < reserve:
            raise RtsegError(
                f"disk full while writing {self.target}: {free // 1024} KiB left after "
                f"{frames} frames; free some space and run again"
            )
