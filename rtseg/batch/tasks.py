"""What batch workers are given and what they give back: plain data that pickles, so the
local pool and Ray pass the same objects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from rtseg.errors import describe
from rtseg.io.location import Location

# The statuses of an input that was processed; only `failed` makes the batch fail.
DONE = "done"
DAMAGED = "damaged"


@dataclass(frozen=True)
class Task:
    """Process `source` into `output`; with `stop`, only frames [start, stop) of it, after
    running (and throwing away) `warmup` frames before `start` to settle the smoothing."""

    source: Location  # a str or Path given is made a Location (and checked) here
    output: Location
    start: int = 0
    stop: int | None = None
    warmup: int = 0
    # The presentation times of frames start - warmup and stop (None: the end), as the
    # planner read them, so a worker seeks to its segment without reading the file through
    # (a range request on object storage); None: the worker reads them itself.
    times: tuple[int, int | None] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", Location.of(self.source))
        object.__setattr__(self, "output", Location.of(self.output))


@dataclass
class Result:
    """What happened to one input; one JSON line of `--report`. Locations are in their
    display form (`Location`): no credentials, no signature."""

    source: str
    output: str
    # done; damaged (done, but frames of the input could not be decoded); skipped; failed
    status: str
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
    frames_lost: int = 0  # frames of the input that could not be decoded (a truncated file)
    warnings: list[str] = field(default_factory=list)  # what the run warned of, each once

    def succeed(self, frames_lost: int, warnings: list[str]) -> Result:
        """This result as finished: `done`, or `damaged` when frames of the input were lost
        (the output holds the others), with what the run warned of."""
        self.status = DAMAGED if frames_lost else DONE
        self.frames_lost = frames_lost
        self.warnings = list(dict.fromkeys(warnings))
        return self

    @classmethod
    def of(cls, work: Task, status: str, **fields: object) -> Result:
        """The result of `work` (a Task, or a batch `Item`: a `source` and an `output`)."""
        return cls(str(work.source), str(work.output), status, **fields)

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
