"""Keeping freed memory for reuse, so large per-frame arrays don't cost page faults.

A 720p pipeline allocates and frees arrays of 1-4 MB every frame (alpha, scratch results of
OpenCV and numpy calls). glibc's malloc serves blocks that large with fresh `mmap`s, or hands
freed heap memory back to the kernel, so each frame pays its page faults again: on the 2-core
reference machine that was 0.9 s of system time in a 300-frame 720p file run. Serving them
from the heap and keeping what is freed halves that system time and runs the file 3-11% faster
(docs/efficiency.md). The process then keeps its peak heap instead of returning it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# The largest mmap threshold glibc accepts on 64-bit (half its 64 MB arena heap): blocks up
# to a 1080p float32 frame's 8 MB come from the heap.
_MMAP_THRESHOLD = 32 * 1024 * 1024
_TRIM_THRESHOLD = 256 * 1024 * 1024


def keep_freed_memory() -> bool:
    """Tune glibc's malloc for per-frame arrays (see the module docstring); True if applied.

    The `rtseg` command and batch workers call it at start. A program that uses rtseg as a
    library may call it too: it trades memory handed back to the system for speed, for the
    whole process. A no-op (False) off glibc.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    )
