"""Channels between pipeline stages, each with an explicit policy.

`LATEST` keeps live video interactive: a one-slot mailbox where the newest frame wins and
every overwrite is counted as a drop (MediaPipe's FlowLimiter, GStreamer's leaky queues).
`BLOCK` keeps files exact: a bounded FIFO with back-pressure, nothing dropped, order kept.
Every wait is timed and watches the pipeline's stop event, so no thread can block forever.
"""

from __future__ import annotations

import enum
import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Policy(enum.Enum):
    LATEST = "latest"
    BLOCK = "block"


class EndOfStream:
    """The marker a stage passes downstream after its last frame."""

    def __repr__(self) -> str:
        return "EOS"


EOS = EndOfStream()


class Channel(Generic[T]):
    """A thread-safe hand-over between two stages; see the module docstring for policies."""

    def __init__(self, name: str, policy: Policy, stop: threading.Event, capacity: int = 4) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.name = name
        self.policy = policy
        self.capacity = 1 if policy is Policy.LATEST else capacity
        self.drops = 0
        self.high_water = 0
        self._stop = stop
        self._items: deque[T | EndOfStream] = deque()
        self._cond = threading.Condition()

    def put(self, item: T | EndOfStream, poll: float = 0.05) -> bool:
        """Hand `item` over; returns False when the pipeline stopped before it could."""
        with self._cond:
            if self.policy is Policy.LATEST:
                self._put_latest(item)
            else:
                while len(self._items) >= self.capacity:
                    if self._stop.is_set():
                        return False
                    self._cond.wait(poll)
                self._items.append(item)
            self.high_water = max(self.high_water, len(self._items))
            self._cond.notify_all()
        return True

    def _put_latest(self, item: T | EndOfStream) -> None:
        # The end marker is never dropped and never overwritten; a waiting frame is.
        waiting_frame = self._items and not isinstance(self._items[-1], EndOfStream)
        if waiting_frame and not isinstance(item, EndOfStream):
            self._items.pop()
            self.drops += 1
        self._items.append(item)

    def get(self, timeout: float = 0.05) -> T | EndOfStream | None:
        """The next item, or None when nothing arrived within `timeout` seconds."""
        with self._cond:
            if not self._items:
                self._cond.wait(timeout)
                if not self._items:
                    return None
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)
