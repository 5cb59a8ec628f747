"""Timestamps that restart mid-file, put back in order the way players do.

Cameras and DVRs write MPEG-TS (and DVDs MPEG-PS) recordings that people join byte for byte
(`cat a.ts b.ts > all.ts`); each part's clock starts again where the first one did. Decoded as
they are, the second part would be written over the first (or muxing fails on time going
backwards). Players continue each part from where the previous one ended, and so does rtseg:
the file is scanned once for the points where its timestamps jump, and every packet after
such a point is moved by the same amount, picture and sound alike, so each part keeps its own
sync. The shift makes the video continue where its last frame ended.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

log = logging.getLogger(__name__)

# AVFMT_TS_DISCONT: formats whose timestamps may jump (MPEG-TS, MPEG-PS); files of other
# formats cannot be joined with `cat` and are not scanned.
TS_DISCONT = 0x0200
# A forward jump larger than this is a restart too (FFmpeg's own -dts_delta_threshold).
JUMP_S = 10


@dataclass(frozen=True)
class Restarts:
    """Where each later part of a file begins (byte position) and the seconds added to the
    timestamps from there on."""

    positions: tuple[int, ...] = ()
    shifts: tuple[Fraction, ...] = ()

    def shift_s(self, position: int) -> Fraction:
        """Seconds to add to the timestamps of a packet at byte `position`."""
        index = bisect.bisect_right(self.positions, position)
        return self.shifts[index - 1] if index else Fraction(0)


NO_RESTARTS = Restarts()


class Timeline:
    """Moves one reader's packets onto the continuous timeline. A packet that does not say
    where it lies in the file (audio frames split from one PES packet) lies with the one
    before it in its stream."""

    def __init__(self, restarts: Restarts) -> None:
        self.restarts = restarts
        self._positions: dict[int, int] = {}

    def shift(self, packet: av.Packet) -> None:
        """Move a demuxed packet's timestamps, in place."""
        if not self.restarts.positions:
            return
        index = packet.stream.index
        position = packet.pos if packet.pos is not None else self._positions.get(index, 0)
        self._positions[index] = position
        seconds = self.restarts.shift_s(position)
        if seconds and packet.time_base:
            ticks = round(seconds / packet.time_base)
            if packet.pts is not None:
                packet.pts += ticks
            if packet.dts is not None:
                packet.dts += ticks


@dataclass
class _Part:
    """What a scan learns about one part: where it starts and the span of its video (or, in
    a file without video, audio)."""

    position: int
    first_s: Fraction | None = None
    end_s: Fraction | None = None

    def add(self, start_s: Fraction, end_s: Fraction) -> None:
        self.first_s = start_s if self.first_s is None else min(self.first_s, start_s)
        self.end_s = end_s if self.end_s is None else max(self.end_s, end_s)


def timeline(container: av.container.InputContainer) -> Timeline:
    """The timeline for a reader of `container` (see the module docstring); files of formats
    that cannot hold restarts are not scanned."""
    if not container.format.flags & TS_DISCONT:
        return Timeline(NO_RESTARTS)
    try:  # a stream read from storage (`rtseg.io.remote`) has no file to scan
        stat = Path(container.name).stat()
    except (OSError, ValueError):
        return Timeline(NO_RESTARTS)
    return Timeline(_scan(container.name, stat.st_size, stat.st_mtime_ns))


@functools.lru_cache(maxsize=8)
def _scan(name: str, size: int, mtime_ns: int) -> Restarts:
    """Demux (without decoding) every audio and video packet of the file at `name`; the file's
    size and time make the cache forget a file that changed."""
    del size, mtime_ns
    parts: list[_Part] = []
    with av.open(name, metadata_errors="ignore") as container:
        streams = [s for s in container.streams if s.type in ("video", "audio")]
        if not streams:
            return NO_RESTARTS
        timed = container.streams.video[0] if container.streams.video else streams[0]
        last: dict[int, Fraction] = {}
        positions: dict[int, int] = {}
        packets = container.demux(*streams)
        while True:
            try:
                packet = next(packets)
            except (StopIteration, av.FFmpegError):
                break
            if not packet.size or packet.dts is None or not packet.time_base:
                continue
            dts = packet.dts * packet.time_base
            index = packet.stream.index
            if packet.pos is not None:
                positions[index] = packet.pos
            before = last.get(index)
            if before is not None and (dts < before or dts > before + JUMP_S):
                parts.append(_Part(positions.get(index, 0)))
                last.clear()
            elif not parts:
                parts.append(_Part(0))
            last[packet.stream.index] = dts
            if packet.stream is timed and packet.pts is not None:
                start = packet.pts * packet.time_base
                length = (packet.duration or 0) * packet.time_base or _period(timed)
                parts[-1].add(start, start + length)
    parts = [p for p in parts if p.first_s is not None]
    if len(parts) < 2:
        return NO_RESTARTS
    shifts = [Fraction(0)]
    for before, after in itertools.pairwise(parts):
        shifts.append(before.end_s + shifts[-1] - after.first_s)
    log.warning(
        "%s: its timestamps restart %d time(s) (recordings joined into one file); each part "
        "continues where the one before it ended, as players show it",
        name, len(parts) - 1,
    )  # fmt: skip
    return Restarts(tuple(p.position for p in parts[1:]), tuple(shifts[1:]))


def _period(stream: av.stream.Stream) -> Fraction:
    """One frame's length when a packet does not say (audio: unknown, so nothing)."""
    rate = getattr(stream, "average_rate", None) or getattr(stream, "guessed_rate", None)
    return 1 / Fraction(rate) if rate else Fraction(0)
