"""What the pipeline reads from and writes to: the `Source` and `Sink` protocols.

They live beside the pipeline that uses them, so `rtseg.pipeline` stands on its own: the
cameras, files and windows of `rtseg.io` implement these, and anything else with the same
methods (a test's list of frames, a caller's callback) plugs in the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from rtseg.pipeline.frame import Frame


class Source(Protocol):
    """Frames in order; `live` sources (cameras, streams) may drop frames to keep up."""

    live: bool
    fps: float

    def read(self) -> Frame | None:
        """The next frame, or None at the end."""
        ...

    def close(self) -> None:
        """Release what the source holds; called once, after the last `read()` returned."""
        ...


class Sink(Protocol):
    """Where processed frames go. `close()` finalises a complete run, `abort()` any other."""

    def write(self, frame: Frame) -> None:
        """Take one processed frame (`frame.output`), in order."""
        ...

    def close(self) -> None:
        """The run ended complete: make the output final."""
        ...

    def abort(self) -> None:
        """The run failed or was stopped early: keep any output under a partial name."""
        ...


class SinkWrapper:
    """A sink in front of another (`sink`): finishing, and the partial file an aborted run
    keeps, are the inner sink's. Subclasses change what `write` passes on."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    def write(self, frame: Frame) -> None:
        """Pass `frame` on unchanged."""
        self.sink.write(frame)

    def close(self) -> None:
        """Finish the inner sink as complete."""
        self.sink.close()

    def abort(self) -> None:
        """Finish the inner sink as stopped (its partial output kept)."""
        self.sink.abort()

    @property
    def partial_path(self) -> Path | None:
        """Where the inner sink kept its partial output, if anywhere."""
        return getattr(self.sink, "partial_path", None)
