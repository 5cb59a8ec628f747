"""Progress of a run or a batch: a tqdm bar on a terminal, a plain line every few seconds
otherwise (logs and CI get readable lines instead of carriage returns).

The bar counts frames, so its rate is frames per second and its ETA holds for files of any
length; the files done so far go in its postfix.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from tqdm import tqdm

from rtseg.pipeline.frame import Frame

# Seconds between plain progress lines when the stream is not a terminal.
LINE_PERIOD_S = 5.0
LINE_FORMAT = "{n_fmt}/{total_fmt} frames ({percentage:.0f}%), {rate_fmt}, ETA {remaining}{postfix}"
OPEN_LINE_FORMAT = "{n_fmt} frames, {rate_fmt}{postfix}"
# Seconds without a frame written after which the progress says the run is waiting.
STALL_SAY_S = 30.0
# How often a pipeline passes on how many frames it has written (seconds).
PROGRESS_PERIOD_S = 0.5


class Progress:
    """One bar over `frames` frames, and `files` files when given.

    A watcher thread says so when no frame has been written for `stall_s` seconds (an input
    or a storage read that hangs would otherwise leave the bar silent for minutes), and
    again when frames come back."""

    def __init__(
        self,
        frames: int | None,
        files: int | None = None,
        stream: TextIO | None = None,
        stall_s: float = STALL_SAY_S,
    ) -> None:
        self.stream = stream or sys.stderr
        self.files = files
        self.files_done = 0
        self.tty = self.stream.isatty()
        # Without a terminal the bar draws into the null device and `line()` prints its text.
        self._null = None if self.tty else open(os.devnull, "w")  # noqa: SIM115
        self._bar = tqdm(
            total=frames or None,
            unit="frame",
            file=self.stream if self.tty else self._null,
            dynamic_ncols=self.tty,
            smoothing=0.1,
            mininterval=0.5,
        )
        self._last_line = time.monotonic()
        self._show_files()
        self._lock = threading.Lock()  # the watcher writes too
        self._last_frame = time.monotonic()
        self._stalled_since: float | None = None
        self._stall_s = stall_s
        self._closed = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="rtseg-progress", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        while not self._closed.wait(min(self._stall_s, 1.0)):
            with self._lock:
                idle = time.monotonic() - self._last_frame
                if self._stalled_since is None and idle >= self._stall_s:
                    self._stalled_since = self._last_frame
                    self._note(
                        f"rtseg: no frame written for {idle:.0f} s; still waiting (an input or "
                        "a storage read that stalled?)"
                    )

    def _show_files(self) -> None:
        if self.files is not None:
            self._bar.set_postfix_str(f"files {self.files_done}/{self.files}")

    def frames(self, n: int) -> None:
        """`n` more frames written (negative: taken back from a worker that died)."""
        with self._lock:
            self._frames(n)

    def _frames(self, n: int) -> None:
        now = self._last_frame = time.monotonic()
        if self._stalled_since is not None:
            self._note(f"rtseg: frames again after {now - self._stalled_since:.0f} s")
            self._stalled_since = None
        self._bar.update(n)
        if not self.tty and time.monotonic() - self._last_line >= LINE_PERIOD_S:
            self._last_line = time.monotonic()
            print(f"rtseg: {self.line()}", file=self.stream, flush=True)

    def file_done(self, note: str | None = None) -> None:
        """One more file finished; `note` (where it ran, what it moved) gets a line."""
        with self._lock:
            self.files_done += 1
            self._show_files()
            if note is not None:
                self._note(f"rtseg: {note}")

    def note(self, line: str) -> None:
        """Print `line` above the bar (or as a line of its own without a terminal)."""
        with self._lock:
            self._note(line)

    def _note(self, line: str) -> None:
        if self.tty:
            self._bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def line(self) -> str:
        """The bar's figures as one line of plain text."""
        meter = self._bar.format_dict
        plain = LINE_FORMAT if meter["total"] else OPEN_LINE_FORMAT
        return tqdm.format_meter(**{**meter, "bar_format": plain})

    def close(self) -> None:
        self._closed.set()
        self._watcher.join()
        self._bar.close()
        if self._null is not None:
            self._null.close()


class ProgressSink:
    """Counts frames as they are written and passes the count on every so often; the first
    `skip` frames (a segment's warmup, which is not written) are not counted."""

    def __init__(self, on_frames: Callable[[int], None], skip: int = 0) -> None:
        self._on_frames = on_frames
        self._skip = skip
        self._pending = 0
        self._last = time.monotonic()

    def write(self, frame: Frame) -> None:
        if frame.seq < self._skip:
            return
        self._pending += 1
        now = time.monotonic()
        if now - self._last >= PROGRESS_PERIOD_S:
            self._flush(now)

    def _flush(self, now: float) -> None:
        if self._pending:
            self._on_frames(self._pending)
        self._pending = 0
        self._last = now

    def close(self) -> None:
        self._flush(time.monotonic())

    def abort(self) -> None:
        self.close()
