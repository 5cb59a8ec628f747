"""Live runs that drop frames: the model runs less often until the video keeps its rate.

In newest-mask mode the model runs beside the video on the newest frame, back to back. A
matting network on a small CPU takes about one core that way; where the machine cannot also
give the video what it needs, frames are dropped. `DropWatch` counts the drops over a window
of frames and, past `DROP_LIMIT`, has the model run on every second frame (then every
fourth, `--mask-every` 2 and 4), saying so in a warning and in the run's stats: the mask is a
frame or two older, the video keeps its rate.
"""

from __future__ import annotations

import logging

from rtseg.matte.masks import MaskSource

log = logging.getLogger(__name__)

DROP_LIMIT = 0.05  # the share of a window's frames that may be dropped
WINDOW = 60  # frames (by the source's numbering, dropped ones included)
MAX_EVERY = 4


class DropWatch:
    """Raises `masks.every` while a live run drops more than `DROP_LIMIT` of its frames."""

    def __init__(self, masks: MaskSource) -> None:
        self.masks = masks
        self._start: tuple[int, int] | None = None  # (frame number, drops) at the window's start

    def check(self, seq: int, drops: int) -> None:
        """After frame `seq`, with `drops` frames dropped in all so far."""
        if self._start is None:
            self._start = (seq, drops)
            return
        frames, dropped = seq - self._start[0], drops - self._start[1]
        if frames < WINDOW:
            return
        self._start = (seq, drops)
        if dropped <= DROP_LIMIT * frames or self.masks.every >= MAX_EVERY:
            return
        self.masks.every = min(self.masks.every * 2, MAX_EVERY)
        log.warning(
            "live: %d of the last %d frames were dropped; the model now runs on every %s frame "
            "(--mask-every %d) so that the video keeps its rate",
            dropped,
            frames,
            "second" if self.masks.every == 2 else f"{self.masks.every}th",
            self.masks.every,
        )
