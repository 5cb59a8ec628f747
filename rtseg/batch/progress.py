"""Progress of a run or a batch: a tqdm bar on a terminal, a plain line every few seconds
otherwise (logs and CI get readable lines instead of carriage returns).

The bar counts frames, so its rate is frames per second and its ETA holds for files of any
length; the files done so far go in its postfix.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

from tqdm import tqdm

# Seconds between plain progress lines when the stream is not a terminal.
LINE_PERIOD_S = 5.0


class Progress:
    """One bar over `frames` frames, and `files` files when given."""

    def __init__(
        self, frames: int | None, files: int | None = None, stream: TextIO | None = None
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

    def _show_files(self) -> None:
        if self.files is not None:
            self._bar.set_postfix_str(f"files {self.files_done}/{self.files}")

    def frames(self, n: int) -> None:
        """`n` more frames written (negative: taken back from a worker that died)."""
        self._bar.update(n)
        if not self.tty and time.monotonic() - self._last_line >= LINE_PERIOD_S:
            self._last_line = time.monotonic()
            print(f"rtseg: {self.line()}", file=self.stream, flush=True)

    def file_done(self) -> None:
        self.files_done += 1
        self._show_files()

    def line(self) -> str:
        """The bar as one line of plain text."""
        return str(self._bar)

    def close(self) -> None:
        self._bar.close()
        if self._null is not None:
            self._null.close()
