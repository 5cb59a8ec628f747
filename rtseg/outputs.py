"""Rules every file output follows, whichever writer does the encoding.

An output is checked before any work (it must not exist unless overwriting is asked for, and
its directory must take a new file), written under a temporary name and renamed only when
complete, and stopped with a clear error while there is still room to finish the partial file
playably when the disk fills up.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from rtseg.errors import RtsegError

# Space kept free while writing a video, so the container's index (written on close) still
# fits and the partial output stays playable: fixed headroom plus a margin per frame.
RESERVE_BYTES = 64 * 1024
RESERVE_PER_FRAME_BYTES = 64


def check_output(path: Path, overwrite: bool) -> None:
    """Refuse, before any work, an output that exists (without `overwrite`) or can't be written.

    Writability is probed by creating a file, since permission bits say nothing for root,
    read-only mounts or ACLs.
    """
    if path.exists() and not overwrite:
        raise RtsegError(f"{path} already exists; pass --overwrite to replace it")
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
        ) from None


def partial_name(path: Path, tag: str = "partial") -> Path:
    """The temporary name an output is written under until it is complete."""
    return path.with_name(f"{path.stem}.{tag}{path.suffix}")


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
