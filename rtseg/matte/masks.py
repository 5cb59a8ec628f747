"""Where each frame's mask comes from: its own inference, or the newest one available.

In sync mode every frame waits for the mask computed from that same frame, so the person and
their mask never drift apart (the video is delayed by the inference instead). Without sync,
inference runs beside the video on the newest frame and each frame takes the newest finished
mask: the video keeps the camera's rate on a slow model, and the mask lags by a few frames
(`Mask.seq` says which frame a mask came from, so the lag is measured and shown).
`every` reuses a mask for that many frames, for weak CPUs. What a mask is made of (flip, zoom)
is the business of `rtseg.matte.passes`.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from rtseg.matte.passes import PHOTO_PASSES, Passes
from rtseg.matte.stream import StreamState
from rtseg.models.engine import Engine
from rtseg.pipeline.frame import Mask


class MaskSource:
    """Gives each frame a mask according to the sync mode; `close()` joins its worker.

    It holds settings and the inference in flight; what a stream carries over (the last
    mask, the smoother, the passes' state) is in the `StreamState` handed in with each frame.
    """

    def __init__(self, sync: bool = True, every: int = 1, passes: Passes | None = None) -> None:
        if every < 1:
            raise ValueError("every must be at least 1")
        self.sync = sync
        self.every = every
        self.passes = passes or Passes()
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
        state: StreamState,
        periods: float = 1.0,
        still: bool = False,
    ) -> Mask:
        state.begin_step()
        repeats = PHOTO_PASSES if still and engine.info.stateful else 1
        for _ in range(repeats):
            alpha, labels, view, zoomed, fgr = self.passes.run(engine, image, tensor, state)
        if state.smoother is not None:
            alpha = state.smoother.update(view, alpha, periods)
        return Mask(alpha, labels, seq, zoomed, fgr)

    def _due(self, seq: int, state: StreamState) -> bool:
        return state.last is None or seq - state.last.seq >= self.every

    def mask_for(
        self,
        engine: Engine,
        tensor: np.ndarray,
        seq: int,
        state: StreamState,
        image: np.ndarray | None = None,
        new_stream: bool = False,
        periods: float = 1.0,
        still: bool = False,
    ) -> Mask:
        """The mask frame `seq` of the stream `state` holds is composed with; `tensor` is its
        whole-frame model input, `image` the frame itself (the zoom crops it), `new_stream`
        says it begins a new stream (a photo, a time gap: nothing of the frames before
        carries over, not even a mask in flight), `periods` how many frame periods passed
        since the frame before (see `TemporalSmoother.update`), `still` that it is a photo
        of its own (a recurrent model gets `PHOTO_PASSES` over it)."""
        if new_stream:
            self.drain()
            state.restart()
        args = (engine, tensor, seq, image, state, periods, still)
        if self._pool is None:
            if self._due(seq, state):
                state.last = self._compute(*args)
            return state.last
        if self._pending is not None and (self._pending.done() or state.last is None):
            state.last = self._pending.result()  # re-raises an inference error here
            self._pending = None
        if self._pending is None and self._due(seq, state):
            self._pending = self._pool.submit(self._compute, *args)
            if state.last is None:
                state.last = self._pending.result()
                self._pending = None
        return state.last

    def drain(self) -> None:
        """Wait for an inference in progress and drop its outcome (a new stream or model
        follows), so the engine and the stream's state are idle once this returns. Call it
        from the thread that calls `mask_for`."""
        if self._pending is not None:
            self._pending.exception()  # waits; the outcome no longer matters
            self._pending = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
