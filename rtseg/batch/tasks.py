"""What batch workers are given and what they give back: plain data that pickles, so the
local pool and Ray pass the same objects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from rtseg.errors import describe


@dataclass(frozen=True)
class Task:
    """Process `source` into `output`; with `stop`, only frames [start, stop) of it, after
    running (and throwing away) `warmup` frames before `start` to settle the smoothing."""

    source: str
    output: str
    start: int = 0
    stop: int | None = None
    warmup: int = 0
    # The presentation times of frames start - warmup and stop (None: the end), as the
    # planner read them, so a worker seeks to its segment without reading the file through
    # (a range request on object storage); None: the worker reads them itself.
    times: tuple[int, int | None] | None = None


@dataclass
class Result:
    """What happened to one input; one JSON line of `--report`."""

    source: str
    output: str
    status: str  # done, skipped or failed
    frames_in: int = 0
    frames_out: int = 0
    seconds: float = 0.0
    fps: float = 0.0
    error: str | None = None
    # The exception that failed it, by class name ("RtsegError" for rtseg's expected ones:
    # bad input or output; anything else, e.g. "ValueError", is unexpected); None when no
    # exception said (a worker that died, a batch interrupted).
    error_type: str | None = None
    attempts: int = 1
    worker: str | None = None
    bytes_read: int = 0  # from remote storage (inputs, segments), where it ran
    bytes_written: int = 0  # to remote storage (outputs, segments)

    def fail(self, exc: BaseException, context: str = "") -> Result:
        """This result as failed by `exc`, its type and message kept (after `context`)."""
        self.status = "failed"
        self.error = f"{context}{describe(exc)}"
        self.error_type = type(exc).__name__
        return self

    def to_dict(self) -> dict:
        return asdict(self)


# What executors call as tasks end (the task's index and its result) and as frames are written.
OnResult = Callable[[int, Result], None]
OnFrames = Callable[[int], None]
