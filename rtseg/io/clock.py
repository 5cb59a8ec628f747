"""Frame numbers and times for sources, and the pacing of files played live.

Every source hands its frames to a `Clock`, so each frame has a sequence number and a
presentation time: the file's own timestamp where it has one, the arrival time for cameras
and streams, and frame number / fps otherwise.
"""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np

from rtseg.pipeline.frame import Frame, rate_time_base

ARRIVAL_TIME_BASE = Fraction(1, 1_000_000)  # live frames are timed by arrival, in µs


class Clock:
    """Numbers frames, times the ones without a timestamp, and paces them when asked to.

    `arrival`: frames without a timestamp get the time they arrived (live sources); else
    their number in periods of `fps`. `paced` holds each frame back until its time comes.
    """

    def __init__(self, fps: float, paced: bool = False, arrival: bool = False) -> None:
        self.seq = 0
        self._paced = paced
        self._arrival = arrival
        self.time_base = ARRIVAL_TIME_BASE if arrival else rate_time_base(fps)
        self._start_ns = 0
        self._first_s: Fraction | None = None

    def frame(
        self,
        image: np.ndarray,
        name: str | None = None,
        pts: int | None = None,
        time_base: Fraction | None = None,
        duration: int | None = None,
        sar: Fraction | None = None,
    ) -> Frame:
        now = time.monotonic_ns()
        if self.seq == 0:
            self._start_ns = now
        if pts is None:
            time_base, duration = self.time_base, None if self._arrival else 1
            pts = (now - self._start_ns) // 1000 if self._arrival else self.seq
        frame = Frame(
            seq=self.seq, image=image, name=name, pts=pts, time_base=time_base,
            duration=duration, sar=sar,
        )  # fmt: skip
        if self._paced:
            self._pace(frame)
        self.seq += 1
        return frame

    def _pace(self, frame: Frame) -> None:
        """Sleep until the frame's time, counted from when the first frame came."""
        at = frame.time_s()
        if self._first_s is None:
            self._first_s = at
        wait_s = float(at - self._first_s) - (time.monotonic_ns() - self._start_ns) / 1e9
        if wait_s > 0:
            time.sleep(wait_s)
        frame.capture_ns = time.monotonic_ns()
