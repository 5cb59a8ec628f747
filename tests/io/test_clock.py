"""The clock every source hands its frames to: numbers, times, and arrival times."""

import time
from fractions import Fraction

import numpy as np

from rtseg.io.clock import ARRIVAL_TIME_BASE, Clock

IMAGE = np.zeros((4, 4, 3), np.uint8)


def test_frames_without_a_time_are_numbered_and_one_period_apart() -> None:
    clock = Clock(25.0)
    frames = [clock.frame(IMAGE) for _ in range(3)]
    assert [f.seq for f in frames] == [0, 1, 2]
    assert [f.time_s() for f in frames] == [0, Fraction(1, 25), Fraction(2, 25)]


def test_a_frame_s_own_time_is_kept() -> None:
    clock = Clock(25.0)
    clock.frame(IMAGE)
    frame = clock.frame(IMAGE, pts=900, time_base=Fraction(1, 90000), duration=3000)
    assert frame.seq == 1 and frame.time_s() == Fraction(1, 100) and frame.duration == 3000


def test_live_frames_are_timed_by_their_arrival() -> None:
    clock = Clock(30.0, arrival=True)
    first = clock.frame(IMAGE)
    time.sleep(0.05)
    second = clock.frame(IMAGE)
    assert first.time_base == second.time_base == ARRIVAL_TIME_BASE
    assert first.pts == 0 and second.time_s() >= Fraction(45, 1000)
