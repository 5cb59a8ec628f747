"""OpenCV's thread count during a run, given back to the caller afterwards.

One thread per OpenCV call while a job runs: the pipeline's stages already keep the cores
busy, and splitting sub-millisecond calls costs more than it saves (on 2 cores at 720p
refinement took 2.3 ms of CPU a frame with two threads and 1.8 with one, the blur 5.0 against
4.6; `python -m benchmarks profile`). The setting is process-wide (OpenCV's pthreads pool), so the
caller's own value comes back when the last run going on in the process ends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import cv2

_lock = threading.Lock()
_runs = 0  # runs going on in this process
_callers = 0  # the thread count before the first of them


@contextmanager
def one_opencv_thread() -> Iterator[None]:
    """OpenCV on one thread inside the block; the caller's count again once every block
    entered (by runs on other threads too) has ended."""
    global _runs, _callers
    with _lock:
        if _runs == 0:
            _callers = cv2.getNumThreads()
            cv2.setNumThreads(1)
        _runs += 1
    try:
        yield
    finally:
        with _lock:
            _runs -= 1
            if _runs == 0:
                cv2.setNumThreads(_callers)
