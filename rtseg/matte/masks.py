"""Where each frame's mask comes from: its own inference, or the newest one available.

In sync mode every frame waits for the mask computed from that same frame, so the person and
their mask never drift apart (the video is delayed by the inference instead). Without sync,
inference runs beside the video on the newest frame and each frame takes the newest finished
mask: the video keeps the camera's rate on a slow model, and the mask lags by a few frames
(`Frame.mask_seq` says which frame a mask came from, so the lag is measured and shown).
`every` reuses a mask for that many frames, for weak CPUs. What a mask is made of (flip, zoom)
is the business of `rtseg.matte.passes`.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

from rtseg.matte.passes import Passes
from rtseg.matte.temporal import TemporalSmoother
from rtseg.models.engine import Engine


class Mask(NamedTuple):
    """One frame's mask, as `MaskSource` hands it out."""

    alpha: np.ndarray  # at model or canvas size
    labels: np.ndarray | None  # class ids, for models with labels
    seq: int  # the frame whose inference produced it
    zoomed: bool  # alpha holds a crop's pass, with finer detail than the whole frame's
    fgr: np.ndarray | None = None  # foreground colours, RGB float32 in [0, 1] at alpha's size


# A photo given to a recurrent model (RVM) is run this many times over, its state carried from
# pass to pass, and the last pass kept: the state is what a video would have built up on a
# still frame. On the 15 P3M portraits RVM's mean abs error against the mattes went 0.0126,
# 0.0120, 0.0118 over the first three passes and stayed at 0.0118-0.0119 up to eight
# (`python -m benchmarks.matting --what photos`).
PHOTO_PASSES = 3


class MaskSource:
    """Gives each frame a mask according to the sync mode; `close()` joins its worker."""

    def __init__(
        self,
        sync: bool = True,
        every: int = 1,
        smoother: TemporalSmoother | None = None,
        passes: Passes | None = None,
    ) -> None:
        if every < 1:
            raise ValueError("every must be at least 1")
        self.sync = sync
        self.every = every
        self.smoother = smoother
        self.passes = passes or Passes()
        self._last: Mask | None = None
        self._pending: Future[Mask] | None = None
        self._pool = (
            None
            if sync
            else ThreadPoolExecutor(max_workers=1, thread_name_prefix="rtseg-infer-async")
        )

    def _compute(
        self,
        engine: Engine,
        tensor: np.ndarray,
        seq: int,
        image: np.ndarray | None,
        new: bool,
        periods: float = 1.0,
        still: bool = False,
    ) -> Mask:
        if new:
            self._restart()
        repeats = PHOTO_PASSES if still and engine.info.stateful else 1
        for _ in range(repeats):
            alpha, labels, view, zoomed, fgr = self.passes.run(engine, image, tensor)
        if self.smoother is not None:
            alpha = self.smoother.update(view, alpha, periods)
        return Mask(alpha, labels, seq, zoomed, fgr)

    def _restart(self) -> None:
        """The next frame starts a new stream (an unrelated image, a new model): no smoothing
        across, the zoom looks at the whole frame first, a recurrent state starts afresh."""
        self.passes.reset()
        if self.smoother is not None:
            self.smoother.reset()

    def _due(self, seq: int) -> bool:
        return self._last is None or seq - self._last.seq >= self.every

    def mask_for(
        self,
        engine: Engine,
        tensor: np.ndarray,
        seq: int,
        image: np.ndarray | None = None,
        new_stream: bool = False,
        periods: float = 1.0,
        still: bool = False,
    ) -> Mask:
        """The mask frame `seq` is composed with; `tensor` is its whole-frame model input,
        `image` the frame itself (the zoom crops it), `new_stream` says it is unrelated to
        the frame before (a photo from a folder), `periods` how many frame periods passed
        since the frame before (see `TemporalSmoother.update`), `still` that it is a photo
        of its own (a recurrent model gets `PHOTO_PASSES` over it)."""
        args = (engine, tensor, seq, image, new_stream, periods, still)
        if self._pool is None:
            if self._due(seq):
                self._last = self._compute(*args)
            return self._last
        if self._pending is not None and (self._pending.done() or self._last is None):
            self._last = self._pending.result()  # re-raises an inference error here
            self._pending = None
        if self._pending is None and self._due(seq):
            self._pending = self._pool.submit(self._compute, *args)
            if self._last is None:
                self._last = self._pending.result()
                self._pending = None
        return self._last

    def reset(self) -> None:
        """Start afresh (a new model): no mask or smoothing carries over from the old one.

        Waits for an inference in progress, so the old engine is idle once this returns.
        Call it from the thread that calls `mask_for`.
        """
        if self._pending is not None:
            self._pending.exception()  # waits; the old model's outcome no longer matters
            self._pending = None
        self._last = None
        self._restart()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
