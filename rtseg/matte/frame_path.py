"""Segmenting one frame of one stream: the one path `rtseg run` and `rtseg.Segmenter` share.

A frame goes through three phases, which a job runs on three threads and the `Segmenter`
runs one after the other:

1. `model_input`: the frame brought to the model's input (`ModelInput`);
2. `mask`: the model's passes, the zoom, temporal smoothing and `--mask-every`, at the
   model's working size (`Mask`), the next of the stream whose `StreamState` is handed in;
3. `matte`: the alpha refined (or upscaled) to the frame's size, the input's own
   transparency multiplied in, class labels and a matting model's foreground colours at the
   frame's size (`Matte`).

Around them, the webcam features (docs/webcam.md): `--people main` clears everyone but the
main person from each frame's mask and `--auto-frame` aims its crop (phase 2, per frame, on
the stream's `MainPerson` and `AutoFrame`); the matte is cut to that crop and then grown and
feathered as `tuning` says (phase 3).

`FramePath` holds the settings and nothing of any stream; `build_frame_path` makes it from the
settings a job or a segmenter is given, so both resolve quality levels alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import cv2
import numpy as np

from rtseg.matte.foreground import foreground_at_frame_size
from rtseg.matte.framing import AutoFrame, apply_crop
from rtseg.matte.masks import MaskSource
from rtseg.matte.people import MainPerson, check_people
from rtseg.matte.quality import Quality, default_level, quality_level
from rtseg.matte.refine import EdgeRefiner, alpha_at_frame_size
from rtseg.matte.roi import Box
from rtseg.matte.stream import StreamState
from rtseg.matte.tuning import Tuning
from rtseg.models.contract import ModelInfo
from rtseg.models.engine import Engine
from rtseg.models.transforms import Ratio, to_model_input
from rtseg.pipeline.frame import Mask, Matte, ModelInput


class FramePath:
    """The three phases of one frame (see the module's docstring), with one set of settings.

    level: the quality level (passes, refinement, smoothing).
    refiner: the edge refinement to frame size, None for a plain upscale; it keeps scratch
        buffers, so `matte` runs on one thread at a time.
    masks: which frames run the model (sync or newest-mask, `--mask-every`).
    ratio: what sizes a matting model's input (a ratio or a rule; None: `auto_ratio`).
    level_name: the level's name (fast, balanced, best).
    tuning: grow, feather and smoothing strength, which may change between two frames
        (None: none, and the level's smoothing).
    people: "main" keeps only the main person in each mask, "all" everyone.
    auto_frame: cut each frame to the crop that keeps the person centred.
    `on_step(name, ms)`, when set, is told the time of each optional step (a run's stats).
    """

    def __init__(
        self,
        level: Quality,
        refiner: EdgeRefiner | None,
        masks: MaskSource,
        ratio: Ratio = None,
        level_name: str = "",
        tuning: Tuning | None = None,
        people: str = "all",
        auto_frame: bool = False,
    ) -> None:
        self.level = level
        self.level_name = level_name
        self.refiner = refiner
        self.masks = masks
        self.ratio = ratio
        self.tuning = tuning or Tuning(smooth=level.smooth)
        self.people = people
        self.auto_frame = auto_frame
        self.on_step: Callable[[str, float], None] | None = None

    def new_stream(self) -> StreamState:
        """The state of a stream that begins now."""
        return StreamState(
            self.level.smoother(self.tuning.smooth),
            MainPerson() if self.people == "main" else None,
            AutoFrame() if self.auto_frame else None,
        )

    def model_input(self, image: np.ndarray, info: ModelInfo) -> ModelInput:
        """Phase 1: BGR frame `image` brought to the input of the model `info` describes."""
        return ModelInput(to_model_input(image, info, self.ratio), info)

    def mask(
        self,
        engine: Engine,
        model_input: ModelInput,
        image: np.ndarray,
        seq: int,
        state: StreamState,
        time_s: float | None = None,
        still: bool = False,
    ) -> Mask:
        """Phase 2: the mask of frame `seq` (shown at `time_s` seconds; None: one period
        after the frame before) of the stream `state` holds. `still` says it is a photo of
        its own: it begins a stream of its own. A frame that comes more than `GAP_S` after
        the one before begins one too."""
        if model_input.model is not engine.info:
            raise ValueError(f"the model input was made for another model than {engine.info.name}")
        if still:
            state.timeline.reset()
            new, periods = True, 1.0
        elif time_s is None:
            new, periods = False, 1.0
        else:
            new, periods = state.timeline.advance(float(time_s))
        if state.smoother is not None and state.smoother.strength != self.tuning.smooth:
            state.smoother.strength = self.tuning.smooth  # changed while running
        mask = self.masks.mask_for(
            engine, model_input.tensor, seq, state, image, new, periods, still
        )
        # frames without times count as 30 a second
        return self._follow(mask, state, seq / 30.0 if time_s is None else float(time_s), still)

    def _follow(self, mask: Mask, state: StreamState, time_s: float, still: bool) -> Mask:
        """This frame's mask with only the main person kept (`--people main`) and the crop
        aimed (`--auto-frame`), per frame: a reused or newest mask is followed too. The
        stream's own mask (`state.last`) keeps everyone."""
        alpha, crop = mask.alpha, None
        if state.people is not None:
            start = time.perf_counter()
            alpha, _ = state.people.keep(alpha, time_s)
            self._took("people", start)
        if state.framer is not None:
            box = state.framer.update(alpha, time_s, still)
            crop = (box.x0, box.y0, box.x1, box.y1)
        if alpha is mask.alpha and crop is None:
            return mask
        return replace(mask, alpha=alpha, crop=crop)

    def _took(self, step: str, start: float) -> None:
        if self.on_step is not None:
            self.on_step(step, (time.perf_counter() - start) * 1e3)

    def matte(self, image: np.ndarray, mask: Mask, input_alpha: np.ndarray | None = None) -> Matte:
        """Phase 3: `mask` brought to the size of BGR frame `image`, with the frame's own
        transparency `input_alpha` (float32 at frame size) multiplied in; cut to the mask's
        crop (`--auto-frame`), then grown and feathered at that size."""
        alpha = alpha_at_frame_size(image, mask.alpha, self.refiner, mask.zoomed)
        if input_alpha is not None:
            alpha = alpha * input_alpha
        height, width = image.shape[:2]
        labels = mask.labels
        if labels is not None and labels.shape != (height, width):
            labels = cv2.resize(labels, (width, height), interpolation=cv2.INTER_NEAREST)
        fgr = None if mask.fgr is None else foreground_at_frame_size(image, mask.fgr, alpha)
        framed = None
        if mask.crop is not None:
            start, crop = time.perf_counter(), Box(*mask.crop)
            framed, alpha = apply_crop(image, crop), apply_crop(alpha, crop)
            labels = None if labels is None else apply_crop(labels, crop, nearest=True)
            fgr = None if fgr is None else apply_crop(fgr, crop)
            self._took("auto-frame", start)
        start, tuned = time.perf_counter(), self.tuning.apply(alpha)
        if tuned is not alpha:
            self._took("grow/feather", start)
        return Matte(tuned, labels, fgr, framed)

    def segment(
        self,
        engine: Engine,
        image: np.ndarray,
        seq: int,
        state: StreamState,
        time_s: float | None = None,
        still: bool = False,
        input_alpha: np.ndarray | None = None,
    ) -> Matte:
        """The three phases in a row, on the caller's thread."""
        model_input = self.model_input(image, engine.info)
        mask = self.mask(engine, model_input, image, seq, state, time_s, still)
        return self.matte(image, mask, input_alpha)

    def restart(self, state: StreamState) -> None:
        """A new model takes over: wait for an inference in flight, then start the stream
        afresh (no mask or smoothing of the old model carries over). From the thread that
        calls `mask`."""
        self.masks.drain()
        state.restart()

    def close(self) -> None:
        """Join the newest-mask mode's worker."""
        self.masks.close()


def build_frame_path(
    *,
    quality: str | None = None,
    live: bool = False,
    stills: bool = False,
    refine: bool | None = None,
    smooth: float | None = None,
    mask_every: int = 1,
    sync: bool | None = None,
    ratio: float | None = None,
    matting: bool = False,
    grow: int = 0,
    feather: int = 0,
    people: str = "all",
    auto_frame: bool = False,
) -> FramePath:
    """The frame path for these settings; the defaults follow the source: `live` (a camera,
    a stream) and `stills` (photos, each on its own) pick the quality level when `quality`
    is None (see `default_level`) and live sources take the newest mask unless `sync`;
    `smooth` None is the level's smoothing strength. `matting`: the model is a matting
    network of any input size, which has levels of its own (`MATTING_LEVELS`).

    Raises:
        RtsegError: an unknown quality level or `people`; grow, feather or smooth out of
            range.
    """
    name = quality or default_level(live, stills)
    level = quality_level(name, matting)
    check_people(people)
    tuning = Tuning(grow, feather, level.smooth if smooth is None else smooth)
    masks = MaskSource(
        sync=not live if sync is None else sync, every=mask_every, passes=level.passes(ratio)
    )
    return FramePath(
        level,
        level.refiner(refine),
        masks,
        level.ratio(ratio),
        name,
        tuning,
        people,
        auto_frame,
    )
