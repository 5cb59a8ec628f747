"""Temporal smoothing of alpha that holds still regions steady without making motion lag.

A model run on each frame on its own gives masks that jitter by a few percent from frame to
frame even when nothing moves (sensor noise is enough), which shows as flicker along the
edges. A plain moving average removes the flicker but drags the mask behind a moving person.
So the average here is per pixel and its weight on the new alpha adapts: low where the image
stayed the same, full where the image changed (the person moved) or where alpha jumped by a
lot (the model saw something new). All of it runs at model resolution, a fraction of a ms.
"""

from __future__ import annotations

import cv2
import numpy as np

from rtseg.errors import RtsegError

DEFAULT_STRENGTH = 0.5
_STILL_AT_DEFAULT = 0.15  # the still weight at the default strength


def still_weight(strength: float) -> float:
    """The weight of the new alpha where nothing changed, at smoothing `strength` (0 to 1)."""
    return float(_STILL_AT_DEFAULT ** (strength / DEFAULT_STRENGTH))


class TemporalSmoother:
    """Motion-adaptive exponential moving average of alpha, one stream at a time.

    strength: 0 (off) to 1: how much of the past a still region keeps. The weight of the new
        alpha where nothing changed is 0.15 ** (strength / 0.5): 1 at 0, 0.15 at the default
        0.5 (the level every quality had before strength was a setting), 0.0225 at 1. It may
        be changed between two frames (`strength = ...`).
    motion_levels: (lo, hi) mean grey-level change (0..255, over a small window) from which the
        weight starts to rise, and at which it reaches 1.
    jump_levels: (lo, hi) change of alpha against the smoothed value from which the weight
        starts to rise, and at which it reaches 1.
    window: side of the box that averages the image change, in pixels at the working size;
        it suppresses sensor noise and widens the moving area a little.
    """

    def __init__(
        self,
        strength: float = DEFAULT_STRENGTH,
        motion_levels: tuple[float, float] = (2.0, 8.0),
        jump_levels: tuple[float, float] = (0.3, 0.6),
        window: int = 5,
    ) -> None:
        for name, (lo, hi) in (("motion_levels", motion_levels), ("jump_levels", jump_levels)):
            if not 0.0 <= lo < hi:
                raise RtsegError(f"{name} must satisfy 0 <= lo < hi, got ({lo}, {hi})")
        if window < 1:
            raise RtsegError(f"window must be >= 1 pixel, got {window}")
        self.window = window
        self._motion_levels = motion_levels
        self._jump_levels = jump_levels
        self.strength = strength
        self._gray: np.ndarray | None = None
        self._alpha: np.ndarray | None = None

    @property
    def strength(self) -> float:
        """0 (off) to 1; see the class docstring."""
        return self._strength

    @strength.setter
    def strength(self, strength: float) -> None:
        if not 0.0 <= strength <= 1.0:
            raise RtsegError(f"smoothing strength must be in [0, 1], got {strength}")
        still = still_weight(strength)
        lo, hi = self._motion_levels
        ramp = np.clip((np.arange(256, dtype=np.float32) - lo) / (hi - lo), 0.0, 1.0)
        # Image change (uint8) -> weight of the new alpha, in one table lookup.
        lut = (still + (1.0 - still) * ramp).astype(np.float32)
        jump_scale = np.float32((1.0 - still) / (self._jump_levels[1] - self._jump_levels[0]))
        jump_offset = np.float32(still - self._jump_levels[0] * jump_scale)
        # One assignment, so a frame being smoothed on another thread sees old or new whole.
        self._weights = (still, lut, jump_scale, jump_offset)
        self._strength = float(strength)

    @property
    def still_weight(self) -> float:
        """The weight of the new alpha where nothing changed (1: no smoothing)."""
        return self._weights[0]

    def reset(self) -> None:
        """Forget the past: the next frame starts a new stream."""
        self._gray = None
        self._alpha = None

    def update(self, image: np.ndarray, alpha: np.ndarray, periods: float = 1.0) -> np.ndarray:
        """The smoothed alpha for this frame (float32, alpha's shape).

        `image` is the frame (grey, BGR or RGB uint8), best at or near alpha's size: pass the
        model input, not the full frame; it is resized to alpha's size when it differs.
        `periods` is how many of the stream's frame periods passed since the previous frame
        (2 after a dropped frame): the still weight is compounded over them, so a mask that
        skipped a frame catches up as far as two steps would have taken it.
        """
        gray = self._gray_at(image, alpha)
        still_weight, motion_lut, jump_scale, jump_offset = self._weights
        if self._alpha is None or self._alpha.shape != alpha.shape or still_weight == 1.0:
            self._gray = gray
            self._alpha = alpha.astype(np.float32, copy=True)
            return self._alpha.copy()
        change = cv2.blur(cv2.absdiff(gray, self._gray), (self.window, self.window))
        weight = cv2.LUT(change, motion_lut)
        delta = alpha - self._alpha
        jump = np.abs(delta)
        jump *= jump_scale
        jump += jump_offset
        np.maximum(weight, jump, out=weight)
        if periods != 1.0:
            # weight = s + (1 - s) * ramp: the same ramp from the compounded still weight
            still = 1.0 - (1.0 - still_weight) ** periods
            weight -= np.float32(still_weight)
            weight *= np.float32((1.0 - still) / (1.0 - still_weight))
            weight += np.float32(still)
        np.minimum(weight, 1.0, out=weight)
        delta *= weight
        self._alpha += delta
        self._gray = gray
        return self._alpha.copy()

    @staticmethod
    def _gray_at(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        if alpha.ndim != 2 or alpha.dtype != np.float32:
            raise RtsegError(
                f"smoothing needs a float32 H x W alpha, got {alpha.dtype} {alpha.shape}"
            )
        if image.dtype != np.uint8 or not (
            image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)
        ):
            raise RtsegError(
                f"smoothing needs a uint8 grey or 3-channel image, got {image.dtype} {image.shape}"
            )
        # A new array every time: the caller may reuse its buffer for the next frame.
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image.copy()
        if gray.shape != alpha.shape:
            h, w = alpha.shape
            gray = cv2.resize(gray, (w, h), interpolation=cv2.INTER_LINEAR)
        return gray
