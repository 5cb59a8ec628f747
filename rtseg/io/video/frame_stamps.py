"""How many frames a source holds, and when each frame of a video is shown, read without
decoding: the progress bar's total, a batch's plan, and the check that an output is complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from rtseg.errors import RtsegError
from rtseg.io import remote
from rtseg.io.location import Location
from rtseg.io.sources import IMAGE_SUFFIXES
from rtseg.io.video.reader import (
    frame_rate,
    frames_never_arrived,
    header_promise,
    media_origin,
    no_video,
    open_media,
    video_stream,
)


@dataclass(frozen=True)
class _Read:
    """What demuxing a video's packets tells: each frame's time, and how many frames its
    header promised that the file does not hold."""

    stamps: list[int]
    time_base: Fraction
    missing: int


def frame_stamps(path: Location | Path) -> tuple[list[int], Fraction]:
    """When each frame of a video is shown, in presentation order and in units of the
    returned time base, counted as `VideoReader` counts (from the file's origin). Packets
    are read, not decoded; those an edit list hides are left out, and so is a download's
    cut-off last packet (flagged corrupt), which would not decode.

    The answer for the last file is kept while the file stays the same: a batch counts a
    video's frames and then plans its split from the same stamps, and the file (an object
    in storage, or a long local video) would otherwise be read through again."""
    read = _read(Location.of(path))
    return read.stamps, read.time_base


def frames_missing(path: Location | Path) -> int:
    """Frames of a video that its header promised and its packets do not hold (a truncated
    download; see `reader.frames_never_arrived`), as `VideoReader.frames_lost` counts
    them for a whole run."""
    return _read(Location.of(path)).missing


def _read(path: Location) -> _Read:
    if path.is_remote:
        key = remote.version(path)
    else:
        stat = path.path.stat()
        key = (str(path.path.absolute()), stat.st_size, stat.st_mtime_ns)
    if _last_read[0] != key:
        _last_read[:] = [key, _read_stamps(path)]
    return _last_read[1]


_last_read: list = [None, None]  # the file's (URL, version) or (path, size, time), its _Read


def _read_stamps(path: Location) -> _Read:
    with open_media(path) as container:
        stream = video_stream(container)
        if stream is None:
            raise no_video(path, container)
        time_base = stream.time_base or Fraction(1, 90000)
        origin = round(media_origin(container) / time_base)
        stamps = []
        packets, end = 0, None
        demuxed = container.demux(stream)
        while True:
            try:
                packet = next(demuxed)
            except (StopIteration, av.FFmpegError):  # the end, or where the file breaks off
                break
            if not packet.size or packet.is_corrupt:
                continue
            packets += 1
            if packet.pts is not None:
                end = max(end or 0, packet.pts + (packet.duration or 0))
                if not packet.is_discard:
                    stamps.append(packet.pts - origin)
        end_s = None if end is None else end * time_base
        missing = frames_never_arrived(header_promise(stream), packets, end_s, frame_rate(stream))
    return _Read(sorted(stamps), time_base, missing)


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
