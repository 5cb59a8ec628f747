"""Which outputs a rerun can skip: complete ones, and only those.

rtseg writes every output under a temporary name and gives it its final name only when the
run finished, so an output under its final name was complete when written. That is checked
again here (the file may have been cut or replaced since): its frame count, read by demuxing
without decoding, must equal the input's.
"""

from __future__ import annotations

from pathlib import Path

import av

from rtseg.sources import IMAGE_SUFFIXES


def count_images(folder: Path) -> int:
    return sum(1 for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def frame_count(path: Path) -> int | None:
    """Frames in a video (its video packets, counted without decoding), an image folder or an
    image; None when it cannot be read."""
    if path.is_dir():
        return count_images(path)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return 1 if path.is_file() else None
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            return sum(1 for packet in container.demux(stream) if packet.size)
    except (av.FFmpegError, OSError):
        return None


def is_complete(source: Path, output: Path) -> bool:
    """Whether `output` exists under its final name with as many frames as `source`."""
    if not output.exists():
        return False
    done = frame_count(output)
    return done is not None and done > 0 and done == frame_count(source)
