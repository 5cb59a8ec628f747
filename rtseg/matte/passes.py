"""One frame's alpha from the model: a whole-frame pass, a mirrored pass, a zoomed pass.

Two model-free levers make the bundled model's masks better than its plain use:
- test-time flip: the model also sees the mirror image of its input, and the two alphas
  (the second mirrored back) are averaged; the model's left/right mistakes differ, so the
  average is closer to the truth than either;
- zoom: a pass on a crop around the person (`rtseg.matte.roi` finds and follows it), pasted into a
  frame-shaped canvas, so the person is segmented from many more pixels of evidence.

With zoom the alpha lives on the canvas, the frame scaled down to `canvas_long` pixels on its
longer side, in frame coordinates, so temporal smoothing sees the same pixel in the same place
whatever the crop does. Without zoom it stays at the model's size, as before.
"""

from __future__ import annotations

import cv2
import numpy as np

from rtseg.matte.roi import Box, RoiSettings, RoiTracker
from rtseg.models.contract import ModelInfo
from rtseg.models.engine import Engine
from rtseg.models.transforms import to_model_input

THUMB = (32, 32)  # the grey thumbnail scene cuts are found on


def infer(engine: Engine, tensor: np.ndarray, flip: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Alpha (and labels) for one model input; with `flip`, averaged with the alpha of its
    mirror image, mirrored back. Labels come from the unmirrored pass."""
    alpha, labels = engine.run(tensor)
    if flip:
        mirrored, _ = engine.run(np.ascontiguousarray(tensor[:, :, ::-1]))
        alpha = (alpha + mirrored[:, ::-1]) * np.float32(0.5)
    return alpha, labels


def crop_input(image: np.ndarray, crop: Box, info: ModelInfo) -> np.ndarray:
    """The model input for `crop` of a BGR frame (the crop is inside the frame)."""
    x0, y0, x1, y1 = crop.pixels()
    return to_model_input(image[y0:y1, x0:x1], info)


def paste(
    canvas: np.ndarray, alpha: np.ndarray, crop: Box, scale: float, merge: bool, centres: bool
) -> None:
    """Write a model-size `alpha` of `crop` (frame pixels) into `canvas` (the frame resized by
    `scale`, pixel centres aligned), exactly where the model's input sampled it: model pixel j
    of a crop c pixels wide sampled crop pixel j * c / w (corner-mapped stretch), or
    (j + 0.5) * c / w - 0.5 with `centres` (a plain resize). `merge` keeps the larger value
    where something is already pasted (crops that overlap)."""
    h, w = alpha.shape
    ch, cw = canvas.shape
    x0, y0, x1, y1 = (round(v * scale) for v in (crop.x0, crop.y0, crop.x1, crop.y1))
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, cw), min(y1, ch)
    if x1 <= x0 or y1 <= y0:
        return
    sx, sy = crop.width / w, crop.height / h
    ox, oy = (0.5 * sx - 0.5, 0.5 * sy - 0.5) if centres else (0.0, 0.0)
    matrix = np.array(
        [
            [scale * sx, 0.0, scale * (crop.x0 + ox + 0.5) - 0.5 - x0],
            [0.0, scale * sy, scale * (crop.y0 + oy + 0.5) - 0.5 - y0],
        ],
        np.float64,
    )
    patch = cv2.warpAffine(
        alpha, matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    region = canvas[y0:y1, x0:x1]
    if merge:
        np.maximum(region, patch, out=region)
    else:
        region[...] = patch


class Passes:
    """Runs the model on a frame the way the quality settings ask; one stream at a time.

    flip: average with the mirrored pass (twice the inference).
    roi: zoom on the person with these settings; None runs the whole frame only.
    canvas_long: the longer side of the canvas zoomed alphas are pasted into.
    """

    def __init__(
        self, flip: bool = False, roi: RoiSettings | None = None, canvas_long: int = 640
    ) -> None:
        self.flip = flip
        self.roi = roi
        self.canvas_long = canvas_long
        self.tracker: RoiTracker | None = None

    def reset(self) -> None:
        """A new stream (an unrelated image): look at the whole frame first."""
        if self.tracker is not None:
            self.tracker.reset()

    def run(
        self, engine: Engine, image: np.ndarray | None, tensor: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, bool]:
        """(alpha, labels, view, zoomed) of a BGR frame whose whole-frame model input is
        `tensor`; `view` is the frame at alpha's size (for temporal smoothing), `zoomed` says
        alpha holds a crop's pass, with finer detail than the whole frame's. The frame itself
        is needed only to zoom."""
        if self.roi is None:
            alpha, labels = infer(engine, tensor, self.flip)
            return alpha, labels, tensor[0], False
        if image is None:
            raise ValueError("zooming needs the frame itself, not only its model input")
        tracker = self._tracker(image, engine.info)
        height, width = image.shape[:2]
        scale = min(1.0, self.canvas_long / max(height, width))
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        canvas = np.zeros((size[1], size[0]), np.float32)
        labels = None
        centres = engine.info.resize != "corners_linear"
        thumb = cv2.resize(
            cv2.cvtColor(tensor[0], cv2.COLOR_RGB2GRAY), THUMB, interpolation=cv2.INTER_AREA
        )
        if tracker.needs_full(thumb) or engine.info.has_labels:
            full, labels = infer(engine, tensor, self.flip)
            tracker.retarget(full)
            if not tracker.crops:
                whole = Box(0.0, 0.0, width, height)
                paste(canvas, full, whole, scale, merge=False, centres=centres)
        crops = tracker.crops
        for i, crop in enumerate(crops):
            alpha, _ = infer(engine, crop_input(image, crop, engine.info), self.flip)
            overlaps = any(crop.overlaps(other) for other in crops[:i])
            paste(canvas, alpha, crop, scale, merge=overlaps, centres=centres)
        tracker.follow(canvas)  # may drop the crops for the next frame, not for this one
        view = image if scale == 1.0 else cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        return canvas, labels, view, bool(crops)

    def _tracker(self, image: np.ndarray, info: ModelInfo) -> RoiTracker:
        """The tracker for this frame size and model (a new one when either changes)."""
        assert self.roi is not None
        height, width = image.shape[:2]
        aspect = info.width / info.height
        t = self.tracker
        if t is None or (t.width, t.height, t.aspect) != (width, height, aspect):
            self.tracker = t = RoiTracker(width, height, aspect, self.roi)
        return t
