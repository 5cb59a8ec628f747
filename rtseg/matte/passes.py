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

from collections.abc import Hashable
from typing import NamedTuple

import cv2
import numpy as np

from rtseg.matte.roi import Box, RoiSettings, RoiTracker
from rtseg.models.contract import ModelInfo
from rtseg.models.engine import Engine, Inference
from rtseg.models.transforms import Ratio, model_input_size, to_model_input

THUMB = (32, 32)  # the grey thumbnail scene cuts are found on


def infer(engine: Engine, tensor: np.ndarray, flip: bool, stream: Hashable = "full") -> Inference:
    """Alpha (labels, foreground) for one model input; with `flip`, alpha and foreground are
    averaged with those of its mirror image, mirrored back. Labels come from the unmirrored
    pass. `stream` keeps a recurrent model's state apart per pass (see `Engine.run`)."""
    result = engine.run(tensor, stream)
    if flip:
        mirrored = engine.run(np.ascontiguousarray(tensor[:, :, ::-1]), (stream, "mirrored"))
        half = np.float32(0.5)
        alpha = (result.alpha + mirrored.alpha[:, ::-1]) * half
        fgr = None if result.fgr is None else (result.fgr + mirrored.fgr[:, ::-1]) * half
        result = Inference(alpha, result.labels, fgr)
    return result


# A crop's input for a model of any size is rounded to this many pixels a side, so that a crop
# that moves a little keeps its input size, and a recurrent model its state.
CROP_STEP = 16


def crop_input(image: np.ndarray, crop: Box, info: ModelInfo, ratio: Ratio = None) -> np.ndarray:
    """The model input for `crop` of a BGR frame (the crop is inside the frame)."""
    x0, y0, x1, y1 = crop.pixels()
    part = image[y0:y1, x0:x1]
    size = None
    if info.dynamic:
        h, w = model_input_size(info, *part.shape[:2], ratio)
        size = (max(CROP_STEP, round(h / CROP_STEP) * CROP_STEP),
                max(CROP_STEP, round(w / CROP_STEP) * CROP_STEP))  # fmt: skip
    return to_model_input(part, info, size=size)


def paste(
    canvas: np.ndarray, alpha: np.ndarray, crop: Box, scale: float, merge: bool, centres: bool
) -> None:
    """Write a model-size `alpha` of `crop` (frame pixels) into `canvas` (the frame resized by
    `scale`, pixel centres aligned), exactly where the model's input sampled it: model pixel j
    of a crop c pixels wide sampled crop pixel j * c / w (corner-mapped stretch), or
    (j + 0.5) * c / w - 0.5 with `centres` (a plain resize). `merge` keeps the larger value
    where something is already pasted (crops that overlap)."""
    h, w = alpha.shape[:2]
    ch, cw = canvas.shape[:2]
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


def scene_thumb(tensor: np.ndarray) -> np.ndarray:
    """The small grey image scene cuts are found on, from a uint8 RGB model input."""
    grey = cv2.cvtColor(tensor[0], cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, THUMB, interpolation=cv2.INTER_AREA)


class PassResult(NamedTuple):
    """One frame's mask from `Passes.run`."""

    alpha: np.ndarray  # at model size, or on the canvas when zooming
    labels: np.ndarray | None  # class ids, for models with labels
    view: np.ndarray  # the frame at alpha's size (for temporal smoothing)
    zoomed: bool  # alpha holds a crop's pass, with finer detail than the whole frame's
    fgr: np.ndarray | None  # foreground colours, RGB float32 in [0, 1] at alpha's size


class Passes:
    """Runs the model on a frame the way the quality settings ask; one stream at a time.

    flip: average with the mirrored pass (twice the inference).
    roi: zoom on the person with these settings; None runs the whole frame only.
    canvas_long: the longer side of the canvas zoomed alphas are pasted into.
    """

    def __init__(
        self,
        flip: bool = False,
        roi: RoiSettings | None = None,
        canvas_long: int = 640,
        ratio: Ratio = None,
    ) -> None:
        self.flip = flip
        self.roi = roi
        self.canvas_long = canvas_long
        self.ratio = ratio
        self.tracker: RoiTracker | None = None
        self._fresh = True  # the next frame starts a stream: a recurrent state starts afresh
        self._thumb: np.ndarray | None = None

    def reset(self) -> None:
        """A new stream (an unrelated image, a new model): look at the whole frame first, and
        start a recurrent model's state from zeros."""
        self._fresh = True
        self._thumb = None
        if self.tracker is not None:
            self.tracker.reset()

    def _restart_state(self, engine: Engine, tensor: np.ndarray) -> None:
        """Zero a recurrent model's state at the start of a stream and at a scene cut (the
        mean grey change of the whole frame above the zoom's `cut` level): the state of the
        shot before would otherwise bleed into the new one for several frames."""
        if not engine.info.stateful:
            return
        thumb = scene_thumb(tensor)
        cut_level = (self.roi or RoiSettings()).cut
        if self._fresh or (
            self._thumb is not None and float(cv2.absdiff(thumb, self._thumb).mean()) > cut_level
        ):
            engine.reset_state()
        self._fresh = False
        self._thumb = thumb

    def run(self, engine: Engine, image: np.ndarray | None, tensor: np.ndarray) -> PassResult:
        """The mask of a BGR frame whose whole-frame model input is `tensor` (see
        `PassResult`). The frame itself is needed only to zoom."""
        self._restart_state(engine, tensor)
        if self.roi is None:
            alpha, labels, fgr = infer(engine, tensor, self.flip)
            return PassResult(alpha, labels, tensor[0], False, fgr)
        if image is None:
            raise ValueError("zooming needs the frame itself, not only its model input")
        tracker = self._tracker(image, engine.info)
        height, width = image.shape[:2]
        scale = min(1.0, self.canvas_long / max(height, width))
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        canvas = np.zeros((size[1], size[0]), np.float32)
        view = image if scale == 1.0 else cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        # Foreground colours where the model gives them: the frame's own outside every pass.
        colours = None
        if engine.info.foreground is not None:
            colours = cv2.cvtColor(view, cv2.COLOR_BGR2RGB).astype(np.float32) / 255
        labels = None
        centres = engine.info.resize != "corners_linear"
        if tracker.needs_full(scene_thumb(tensor)) or engine.info.has_labels:
            full = infer(engine, tensor, self.flip)
            labels = full.labels
            tracker.retarget(full.alpha)
            if not tracker.crops:
                whole = Box(0.0, 0.0, width, height)
                paste(canvas, full.alpha, whole, scale, merge=False, centres=centres)
                if colours is not None:
                    paste(colours, full.fgr, whole, scale, merge=False, centres=centres)
        crops = tracker.crops
        for i, crop in enumerate(crops):
            part = infer(engine, crop_input(image, crop, engine.info, self.ratio), self.flip, i)
            overlaps = any(crop.overlaps(other) for other in crops[:i])
            paste(canvas, part.alpha, crop, scale, merge=overlaps, centres=centres)
            if colours is not None:
                paste(colours, part.fgr, crop, scale, merge=False, centres=centres)
        tracker.follow(canvas)  # may drop the crops for the next frame, not for this one
        return PassResult(canvas, labels, view, bool(crops), colours)

    def _tracker(self, image: np.ndarray, info: ModelInfo) -> RoiTracker:
        """The tracker for this frame size and model (a new one when either changes)."""
        assert self.roi is not None
        height, width = image.shape[:2]
        # a network of any input size takes the person's own shape: no pixels of the crop
        # are spent beyond the margin (a square crop of a standing person cost 1.8x a pass)
        aspect = None if info.dynamic else info.width / info.height
        t = self.tracker
        if t is None or (t.width, t.height, t.aspect) != (width, height, aspect):
            self.tracker = t = RoiTracker(width, height, aspect, self.roi)
        return t
