"""What one stream of frames carries from frame to frame, in one place: `StreamState`.

A stream is a video, a camera's run, or one photo. Its state is everything a frame's mask
depends on besides the frame itself: a recurrent model's state per pass (the whole frame,
each tracked person's crop, their mirrored passes), the temporal smoother, the zoom's
tracker, the main person (`--people main`) and the crop (`--auto-frame`), the last mask
(reused by `--mask-every`), the frames' times and the thumbnail scene cuts are found on.
The engine and the effects hold none of it, so nothing carries over between streams unless
it is handed in.

Whoever knows that a stream begins says so: a new state when a run or a `Segmenter` starts,
`restart()` at a new photo, a time gap (`Timeline`), a model switch, and, for the recurrent
state alone, a scene cut (`rtseg.matte.passes`).
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Hashable

import numpy as np

from rtseg.matte.framing import AutoFrame
from rtseg.matte.people import MainPerson
from rtseg.matte.roi import RoiTracker
from rtseg.matte.temporal import TemporalSmoother
from rtseg.models.engine import RecurrentState
from rtseg.pipeline.frame import Mask

# A frame that comes this long after the one before starts afresh: no smoothing across the
# gap, the zoom looks at the whole frame, a recurrent model's state starts again.
GAP_S = 0.5
_PERIODS_KEPT = 15  # the typical frame period is the median of this many recent ones


class Timeline:
    """The times of one stream's frames: how many frame periods passed since the frame
    before (the smoothing compounds over them), and whether a gap starts the stream afresh."""

    def __init__(self, gap_s: float = GAP_S) -> None:
        self.gap_s = gap_s
        self.reset()

    def reset(self) -> None:
        """Forget the times: the next frame starts the stream."""
        self._last: float | None = None
        self._periods: deque[float] = deque(maxlen=_PERIODS_KEPT)

    def advance(self, time_s: float) -> tuple[bool, float]:
        """(starts afresh, periods since the frame before) for a frame at `time_s`."""
        last, self._last = self._last, time_s
        if last is None or time_s - last > self.gap_s:
            self._periods.clear()
            return True, 1.0
        step = time_s - last
        typical = statistics.median(self._periods) if self._periods else step
        self._periods.append(step)
        return False, step / typical


class StreamState:
    """The state of one stream of frames (see the module's docstring).

    `step` counts the masks computed in the stream. A recurrent pass stream's state is used
    only by the step right after the one that made it (or the same step, for a photo's
    repeated passes): a pass that skipped steps, such as the whole-frame pass the zoom runs
    only now and then, starts afresh rather than from a state a second old (the passes warm
    it up on its own frame, see `rtseg.matte.passes`).

    Used by one thread at a time (the inference stage's, or the `Segmenter`'s caller's).
    """

    def __init__(
        self,
        smoother: TemporalSmoother | None = None,
        people: MainPerson | None = None,
        framer: AutoFrame | None = None,
    ) -> None:
        self.smoother = smoother
        self.people = people  # who the main person is, with `--people main`
        self.framer = framer  # where the crop is, with `--auto-frame`
        self.timeline = Timeline()
        self.tracker: RoiTracker | None = None  # made by the passes for the frame's size
        self.recurrent: dict[Hashable, tuple[int, RecurrentState]] = {}
        self.last: Mask | None = None
        self.thumb: np.ndarray | None = None  # the last frame's, for scene cuts
        self.step = 0

    def restart(self) -> None:
        """The next frame begins a new stream: no mask, smoothing, zoom or recurrent state
        carries over (its times do; `timeline.reset()` forgets those)."""
        if self.smoother is not None:
            self.smoother.reset()
        if self.tracker is not None:
            self.tracker.reset()
        for follower in (self.people, self.framer):
            if follower is not None:
                follower.reset()
        self.recurrent.clear()
        self.last = None
        self.thumb = None
        self.step = 0

    def reset(self) -> None:
        """`restart()`, and forget the frames' times too (a new video or camera run)."""
        self.restart()
        self.timeline.reset()

    def begin_step(self) -> None:
        """A new mask is being computed: states older than the step before are dropped."""
        self.step += 1
        self.recurrent = {k: v for k, v in self.recurrent.items() if v[0] >= self.step - 1}

    def recurrent_state(self, stream: Hashable) -> RecurrentState | None:
        """The state pass stream `stream` left for this step, or None to start from zeros."""
        step, state = self.recurrent.get(stream, (-2, None))
        return state if step >= self.step - 1 else None

    def keep(self, stream: Hashable, state: RecurrentState | None) -> None:
        """What pass stream `stream` left for the next step (None for other models)."""
        if state is not None:
            self.recurrent[stream] = (self.step, state)

    def forget_recurrent(self) -> None:
        """A scene cut: every pass's recurrent state starts from zeros."""
        self.recurrent.clear()
