"""How many frames a source holds, and when each frame of a video is shown, read without
decoding: the progress bar's total, a batch's plan, and the check that an output is complete.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av

from rtseg.errors import RtsegError
from rtseg.io import remote
from rtseg.io.location import Location
from rtseg.io.sources import IMAGE_SUFFIXES
from rtseg.io.video_in import media_origin, open_media


def frame_stamps(path: Location | Path) -> tuple[list[int], Fraction]:
    """When each frame of a video is shown, in presentation order and in units of the
    returned time base, counted as `VideoReader` counts (from the file's origin). Packets
    are read, not decoded; those an edit list hides are left out.

    The answer for the last object is kept while the object stays the same: a batch counts
    a video's frames and then plans its split from the same stamps, and an object would
    otherwise be read through twice."""
    path = Location.of(path)
    if path.is_remote:
        key = remote.version(path)
        if _last_object[0] != key:
            _last_object[:] = [key, _read_stamps(path)]
        return _last_object[1]
    return _read_stamps(path)


_last_object: list = [None, None]  # (URL, version) and its stamps


def _read_stamps(path: Location) -> tuple[list[int], Fraction]:
    with open_media(path) as container:
        if not container.streams.video:
            raise RtsegError(f"{path} has no video stream")
        stream = container.streams.video[0]
        time_base = stream.time_base or Fraction(1, 90000)
        origin = round(media_origin(container) / time_base)
        stamps = []
        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except (StopIteration, av.FFmpegError):  # the end, or where the file breaks off
                break
            if packet.size and packet.pts is not None and not packet.is_discard:
                stamps.append(packet.pts - origin)
    return sorted(stamps), time_base


def frame_count(path: Location | Path) -> int | None:
    """Frames in a video, an image folder or an image; None when it cannot be read.

    A video in storage is read through (demuxed, not decoded), as a local one is."""
    path = Location.of(path)
    if path.is_remote:
        try:
            return len(frame_stamps(path)[0])
        except RtsegError:
            return None
    path = path.path
    if path.is_dir():
        return sum(1 for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return 1 if path.is_file() else None
    try:
        return len(frame_stamps(path)[0])
    except RtsegError:
        return None
