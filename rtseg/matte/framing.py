"""Auto-framing (`--auto-frame`): the output is a crop of the frame, at the frame's size, that
keeps the person centred with headroom, as a camera operator would, from the mask rtseg
computes anyway (no model runs for it).

Where the crop should be (the aim): its centre on the people's box horizontally (with
`--people main`, the main person's; else everyone's), the top of their box `HEADROOM` of the
crop's height below its top edge, and zoomed so that they fill `FILL` of its height, or
further where the crop could not be centred on them otherwise (a person near a side), from
1x up to `MAX_ZOOM`. The crop always stays inside the frame.

How it gets there: each of centre x, centre y and zoom follows the aim like a critically
damped spring (no overshoot) settling in about `SETTLE_S`, with its speed bounded
(`MAX_PAN` frame widths or heights a second, `MAX_ZOOM_RATE` a second). The aim moves only
when the new one is more than `DEAD_PAN` of the crop's width (or `DEAD_ZOOM` in zoom) from it, so
a person who sits still, whose mask wavers by a few pixels, gets a crop that does not move
at all. Without anybody for `LOST_S` the crop eases back to the whole frame; a photo, the
first frame and a time gap put it at the aim at once.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from rtseg.matte.roi import Box, person_boxes

MAX_ZOOM = 2.0
FILL = 0.8  # the share of the crop's height the people's box is zoomed to fill
HEADROOM = 0.1  # the share of the crop's height above the top of their box
SETTLE_S = 0.8  # about the time a move takes
MAX_PAN = 0.5  # frame widths (heights) a second
MAX_ZOOM_RATE = 0.6  # zoom steps a second (1x to 1.6x takes at least a second)
DEAD_PAN = 0.04
DEAD_ZOOM = 0.08
LOST_S = 2.0
GAP_S = 0.5  # a frame this long after the one before puts the crop at the aim at once
_WHOLE = (0.5, 0.5, 1.0)


def aim(box: Box, max_zoom: float = MAX_ZOOM) -> tuple[float, float, float]:
    """(centre x, centre y, zoom) of the crop for a box in shares of the frame's size."""
    cx = (box.x0 + box.x1) / 2
    fill = FILL / max(box.height, 1e-3)
    centre = 1.0 / (2.0 * max(min(cx, 1.0 - cx), 1e-3))
    zoom = min(max_zoom, max(1.0, fill, centre))
    half = 0.5 / zoom
    cy = box.y0 - HEADROOM / zoom + half
    return _inside(cx, half), _inside(cy, half), zoom


def _inside(centre: float, half: float) -> float:
    return min(max(centre, half), 1.0 - half)


def _spring(x: float, v: float, goal: float, dt: float, limit: float) -> tuple[float, float]:
    """One step of a critically damped spring towards `goal` (exact for any `dt`), its speed
    held within `limit` a second."""
    omega = 4.0 / SETTLE_S  # within 10% of a move after SETTLE_S
    e = x - goal
    decay = math.exp(-omega * dt)
    new = goal + (e + (v + omega * e) * dt) * decay
    v = (v - omega * (v + omega * e) * dt) * decay
    step = min(max(new - x, -limit * dt), limit * dt)
    return x + step, min(max(v, -limit), limit)


class AutoFrame:
    """The crop of one stream's frames, frame after frame (see the module's docstring).

    `update(alpha, time_s)` takes each frame's mask (any size: boxes are taken as shares of
    it) and returns the crop as a `Box` in shares of the frame; `apply` cuts it out.
    """

    def __init__(self, max_zoom: float = MAX_ZOOM) -> None:
        self.max_zoom = max_zoom
        self.reset()

    def reset(self) -> None:
        """A new stream: the next frame's crop is its aim, at once."""
        self.state: list[float] | None = None  # centre x, centre y, zoom
        self._speed = [0.0, 0.0, 0.0]
        self._goal = _WHOLE
        self._time: float | None = None
        self._seen: float | None = None

    def update(self, alpha: np.ndarray, time_s: float, still: bool = False) -> Box:
        """The crop for the frame at `time_s` whose mask is `alpha`; `still`: a photo."""
        height, width = alpha.shape[:2]
        boxes = person_boxes(alpha)
        fresh = still or self._time is None or not 0 <= time_s - self._time <= GAP_S
        dt = 0.0 if fresh else time_s - self._time
        self._time = time_s
        if boxes:
            whole = boxes[0]
            for box in boxes[1:]:
                whole = whole.union(box)
            self._seen = time_s
            self._retarget(aim(whole.scaled(1 / width, 1 / height), self.max_zoom), fresh)
        elif self._seen is None or time_s - self._seen > LOST_S:
            self._retarget(_WHOLE, fresh)
        if fresh or self.state is None:
            self.state, self._speed = list(self._goal), [0.0, 0.0, 0.0]
        else:
            limits = (MAX_PAN, MAX_PAN, MAX_ZOOM_RATE)
            for i in range(3):
                self.state[i], self._speed[i] = _spring(
                    self.state[i], self._speed[i], self._goal[i], dt, limits[i]
                )
        cx, cy, zoom = self.state
        half = 0.5 / zoom
        cx, cy = _inside(cx, half), _inside(cy, half)
        return Box(cx - half, cy - half, cx + half, cy + half)

    def _retarget(self, goal: tuple[float, float, float], fresh: bool) -> None:
        """Take `goal` as the aim unless it is within the dead band of the current one (in
        shares of the crop shown, so a person zoomed in on keeps to the same band on screen)."""
        old = self._goal
        band = DEAD_PAN / old[2]
        moved = abs(goal[0] - old[0]) > band or abs(goal[1] - old[1]) > band
        if fresh or moved or abs(goal[2] - old[2]) > DEAD_ZOOM:
            self._goal = goal


def apply_crop(image: np.ndarray, crop: Box, nearest: bool = False) -> np.ndarray:
    """`crop` (shares of `image`'s size) of `image`, scaled back to `image`'s size; at
    sub-pixel positions, so a slow pan glides rather than steps. `nearest` for class ids."""
    height, width = image.shape[:2]
    if (crop.x0, crop.y0, crop.x1, crop.y1) == (0.0, 0.0, 1.0, 1.0):
        return image
    sx, sy = 1.0 / crop.width, 1.0 / crop.height
    # output pixel centre (u + 0.5) samples (x0 * W + (u + 0.5) / sx) - 0.5
    matrix = np.array(
        [
            [sx, 0.0, -crop.x0 * width * sx + 0.5 * (sx - 1.0)],
            [0.0, sy, -crop.y0 * height * sy + 0.5 * (sy - 1.0)],
        ],
        np.float64,
    )
    flags = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    return cv2.warpAffine(
        image, matrix, (width, height), flags=flags, borderMode=cv2.BORDER_REPLICATE
    )
