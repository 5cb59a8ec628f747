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

The passes hold only settings; what a stream carries from frame to frame (the tracker, a
recurrent model's state per pass) is in the `StreamState` handed in with each frame. A
recurrent state is kept per pass stream: "full" for the whole frame, ("crop", id) for the
crop following tracked person `id`, and (stream, "mirrored") for a mirrored pass. A state is
carried only from one frame to the next: with the zoom, the whole-frame pass runs only now
and then (every `full_every` frames, or when the person moves out of their crop), and its
state from the last such pass is up to a second old. So a whole-frame pass that did not run
on the frame before starts afresh and is warmed up on its own frame, `PHOTO_PASSES` times
over, as a photo is: the crops are retargeted from a mask of this frame, neither stale nor
cold. It costs two more whole-frame passes on those frames only.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import NamedTuple

import cv2
import numpy as np

from rtseg.matte.roi import Box, RoiSettings, RoiTracker
from rtseg.matte.stream import StreamState
from rtseg.models.contract import ModelInfo
from rtseg.models.engine import Engine, Inference
from rtseg.models.transforms import Ratio, model_input_size, to_model_input

THUMB = (32, 32)  # the grey thumbnail scene cuts are found on
# A photo given to a recurrent model (RVM) is run this many times over, its state carried from
# pass to pass, and the last pass kept: the state is what a video would have built up on a
# still frame. On the 15 P3M portraits RVM's mean abs error against the mattes went 0.0126,
# 0.0120, 0.0118 over the first three passes and stayed at 0.0118-0.0119 up to eight
# (`python -m benchmarks.matting --what photos`). The zoom's occasional whole-frame pass is
# warmed up the same way (see `Passes.run`).
PHOTO_PASSES = 3


def infer(
    engine: Engine,
    tensor: np.ndarray,
    flip: bool,
    state: StreamState | None = None,
    stream: Hashable = "full",
) -> Inference:
    """Alpha (labels, foreground) for one model input; with `flip`, alpha and foreground are
    averaged with those of its mirror image, mirrored back. Labels come from the unmirrored
    pass. A recurrent model's state for pass stream `stream` comes from `state` and goes back
    there (None: from zeros, and not kept)."""
    result = _run(engine, tensor, state, stream)
    if flip:
        mirror = np.ascontiguousarray(tensor[:, :, ::-1])
        mirrored = _run(engine, mirror, state, (stream, "mirrored"))
        half = np.float32(0.5)
        alpha = (result.alpha + mirrored.alpha[:, ::-1]) * half
        fgr = None if result.fgr is None else (result.fgr + mirrored.fgr[:, ::-1]) * half
        result = Inference(alpha, result.labels, fgr)
    return result


def _run(
    engine: Engine, tensor: np.ndarray, state: StreamState | None, stream: Hashable
) -> Inference:
    if state is None:
        return engine.run(tensor)
    result = engine.run(tensor, state.recurrent_state(stream))
    state.keep(stream, result.state)
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
    """Runs the model on a frame the way the quality settings ask; settings only, the
    stream's own state is handed in.

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

    def _cut(self, engine: Engine, tensor: np.ndarray, state: StreamState) -> None:
        """Zero a recurrent model's state at a scene cut (the mean grey change of the whole
        frame above the zoom's `cut` level): the state of the shot before would otherwise
        bleed into the new one for several frames."""
        if not engine.info.stateful:
            return
        thumb = scene_thumb(tensor)
        cut_level = (self.roi or RoiSettings()).cut
        if state.thumb is not None and float(cv2.absdiff(thumb, state.thumb).mean()) > cut_level:
            state.forget_recurrent()
        state.thumb = thumb

    def run(
        self, engine: Engine, image: np.ndarray | None, tensor: np.ndarray, state: StreamState
    ) -> PassResult:
        """The mask of a BGR frame whose whole-frame model input is `tensor` (see
        `PassResult`), the next of the stream `state` holds. The frame itself is needed only
        to zoom."""
        self._cut(engine, tensor, state)
        if self.roi is None:
            alpha, labels, fgr, _ = infer(engine, tensor, self.flip, state)
            return PassResult(alpha, labels, tensor[0], False, fgr)
        if image is None:
            raise ValueError("zooming needs the frame itself, not only its model input")
        tracker = self._tracker(image, engine.info, state)
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
            stale = state.step > 1 and state.recurrent_state("full") is None
            for _ in range(PHOTO_PASSES if engine.info.stateful and stale else 1):
                full = infer(engine, tensor, self.flip, state)
            labels = full.labels
            tracker.retarget(full.alpha)
            if not tracker.crops:
                whole = Box(0.0, 0.0, width, height)
                paste(canvas, full.alpha, whole, scale, merge=False, centres=centres)
                if colours is not None:
                    paste(colours, full.fgr, whole, scale, merge=False, centres=centres)
        crops = tracker.crops
        for i, (crop, person) in enumerate(zip(crops, tracker.ids, strict=True)):
            model_input = crop_input(image, crop, engine.info, self.ratio)
            part = infer(engine, model_input, self.flip, state, ("crop", person))
            overlaps = any(crop.overlaps(other) for other in crops[:i])
            paste(canvas, part.alpha, crop, scale, merge=overlaps, centres=centres)
            if colours is not None:
                paste(colours, part.fgr, crop, scale, merge=False, centres=centres)
        tracker.follow(canvas)  # may drop the crops for the next frame, not for this one
        return PassResult(canvas, labels, view, bool(crops), colours)

    def _tracker(self, image: np.ndarray, info: ModelInfo, state: StreamState) -> RoiTracker:
        """The stream's tracker for this frame size and model (a new one when either
        changes)."""
        assert self.roi is not None
        height, width = image.shape[:2]
        # a network of any input size takes the person's own shape: no pixels of the crop
        # are spent beyond the margin (a square crop of a standing person cost 1.8x a pass)
        aspect = None if info.dynamic else info.width / info.height
        t = state.tracker
        if t is None or (t.width, t.height, t.aspect) != (width, height, aspect):
            state.tracker = t = RoiTracker(width, height, aspect, self.roi)
        return t
