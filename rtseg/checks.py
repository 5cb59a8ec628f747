"""Checks of the numbers a caller gives (counts, frame rates, ratios), shared by the job, the
video writer and the segmenter, so Python and the command line refuse the same values alike."""

from __future__ import annotations

import math
from numbers import Real

from rtseg.errors import RtsegError, option


def check_rate(name: str, value: object) -> float:
    """`value` as a float if it is a finite number above 0 (a frame rate), else RtsegError."""
    if isinstance(value, Real) and not isinstance(value, bool):
        rate = float(value)
        if math.isfinite(rate) and rate > 0:
            return rate
    raise RtsegError(f"{option(name)} must be a finite number above 0, got {value!r}")


def check_ratio(name: str, value: object) -> float:
    """`value` as a float if it is a share in (0, 1], else RtsegError."""
    if isinstance(value, Real) and not isinstance(value, bool) and 0 < float(value) <= 1:
        return float(value)
    raise RtsegError(f"{option(name)} must be a number in (0, 1], got {value!r}")


def check_count(name: str, value: object, low: int) -> int:
    """`value` if it is a whole number of at least `low` (threads, frames...), else RtsegError."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= low:
        return value
    raise RtsegError(f"{option(name)} must be a whole number >= {low}, got {value!r}")
