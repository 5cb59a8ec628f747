"""Source wrappers the benchmarks put around the job's real source.

`TimedSource` upscales frames (the shared clips are 540p and smaller; 720p and 1080p runs are
made from them, and results say so) and times every read, because the pipeline's own stats
start after capture. `PacedSource` stands in for a camera at any frame rate.
"""

from __future__ import annotations

import time
from array import array

import cv2
import numpy as np

from rtseg.pipeline.frame import Frame
from rtseg.pipeline.ports import Source


def scaled_size(width: int, height: int, target_height: int) -> tuple[int, int]:
    """(width, height) at `target_height`, keeping the aspect ratio, width even for codecs."""
    return 2 * round(width * target_height / height / 2), target_height


class TimedSource:
    """`inner`, optionally resized to `size` (width, height), with each read's time kept."""

    def __init__(self, inner: Source, size: tuple[int, int] | None = None) -> None:
        self.inner = inner
        self.size = size
        self.live = inner.live
        self.fps = inner.fps
        self.read_ms = array("d")

    def read(self) -> Frame | None:
        start = time.perf_counter_ns()
        frame = self.inner.read()
        if frame is not None and self.size and frame.image.shape[1::-1] != self.size:
            frame.image = cv2.resize(frame.image, self.size, interpolation=cv2.INTER_LINEAR)
        if frame is not None:
            self.read_ms.append((time.perf_counter_ns() - start) / 1e6)
        return frame

    def close(self) -> None:
        self.inner.close()


def frame_bank(source: Source, count: int, size: tuple[int, int] | None) -> list[np.ndarray]:
    """Up to `count` decoded frames of `source` at `size`, held in memory (then closed)."""
    timed = TimedSource(source, size)
    images: list[np.ndarray] = []
    try:
        while len(images) < count and (frame := timed.read()) is not None:
            images.append(frame.image)
    finally:
        timed.close()
    return images


class PacedSource:
    """A camera stand-in: frames from `images` (cycled) released on a `fps` clock.

    The capture time is stamped when a frame is released, as a camera's driver would. When the
    capture thread falls more than a period behind, the clock restarts from now instead of
    releasing a burst, and `late` counts it.
    """

    live = True

    def __init__(self, images: list[np.ndarray], fps: float, frames: int) -> None:
        if not images:
            raise ValueError("PacedSource needs at least one image")
        self.images = images
        self.fps = fps
        self.frames = frames
        self.late = 0
        self._period_ns = round(1e9 / fps)
        self._next_ns = 0
        self._seq = 0

    def read(self) -> Frame | None:
        if self._seq >= self.frames:
            return None
        now = time.monotonic_ns()
        if self._next_ns == 0:
            self._next_ns = now
        elif now < self._next_ns:
            time.sleep((self._next_ns - now) / 1e9)
        elif now - self._next_ns > self._period_ns:
            self.late += 1
            self._next_ns = now
        self._next_ns += self._period_ns
        image = self.images[self._seq % len(self.images)]
        frame = Frame(seq=self._seq, image=image, capture_ns=time.monotonic_ns())
        self._seq += 1
        return frame

    def close(self) -> None:
        self.frames = self._seq
