"""Segmenting one frame of one stream: the one path `rtseg run` and `rtseg.Segmenter` share.

A frame goes through three phases, which a job runs on three threads and the `Segmenter`
runs one after the other:

1. `model_input`: the frame brought to the model's input (`ModelInput`);
2. `mask`: the model's passes, the zoom, temporal smoothing and `--mask-every`, at the
   model's working size (`Mask`), the next of the stream whose `StreamState` is handed in;
3. `matte`: the alpha refined (or upscaled) to the frame's size, the input's own
   transparency multiplied in, class labels and a matting model's foreground colours at the
   frame's size (`Matte`).

`FramePath` holds the settings and nothing of any stream; `build_frame_path` makes it from the
settings a job or a segmenter is given, so both resolve quality levels alike.
"""

from __future__ import annotations

import cv2
import numpy as np

from rtseg.matte.foreground import foreground_at_frame_size
from rtseg.matte.masks import MaskSource
from rtseg.matte.quality import Quality, default_level, quality_level
from rtseg.matte.refine import EdgeRefiner, alpha_at_frame_size
from rtseg.matte.stream import StreamState
from rtseg.models.contract import ModelInfo
from rtseg.models.engine import Engine
from rtseg.models.transforms import Ratio, to_model_input
from rtseg.pipeline.frame import Mask, Matte, ModelInput


class FramePath:
    """The three phases of one frame (see the module's docstring), with one set of settings.

    level: the quality level (passes, refinement, smoothing).
    refiner: the edge refinement to frame size, None for a plain upscale; it keeps scratch
        buffers, so `matte` runs on one thread at a time.
    smooth: whether a stream smooths its masks over time (None: as the level says).
    masks: which frames run the model (sync or newest-mask, `--mask-every`).
    ratio: what sizes a matting model's input (a ratio or a rule; None: `auto_ratio`).
    level_name: the level's name (fast, balanced, best).
    """

    def __init__(
        self,
        level: Quality,
        refiner: EdgeRefiner | None,
        smooth: bool | None,
        masks: MaskSource,
        ratio: Ratio = None,
        level_name: str = "",
    ) -> None:
        self.level = level
        self.level_name = level_name
        self.refiner = refiner
        self.smooth = smooth
        self.masks = masks
        self.ratio = ratio

    def new_stream(self) -> StreamState:
        """The state of a stream that begins now."""
        return StreamState(self.level.smoother(self.smooth))

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
        return self.masks.mask_for(
            engine, model_input.tensor, seq, state, image, new, periods, still
        )

    def matte(self, image: np.ndarray, mask: Mask, input_alpha: np.ndarray | None = None) -> Matte:
        """Phase 3: `mask` brought to the size of BGR frame `image`, with the frame's own
        transparency `input_alpha` (float32 at frame size) multiplied in."""
        alpha = alpha_at_frame_size(image, mask.alpha, self.refiner, mask.zoomed)
        if input_alpha is not None:
            alpha = alpha * input_alpha
        height, width = image.shape[:2]
        labels = mask.labels
        if labels is not None and labels.shape != (height, width):
            labels = cv2.resize(labels, (width, height), interpolation=cv2.INTER_NEAREST)
        fgr = None if mask.fgr is None else foreground_at_frame_size(image, mask.fgr, alpha)
        return Matte(alpha, labels, fgr)

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
    smooth: bool | None = None,
    mask_every: int = 1,
    sync: bool | None = None,
    ratio: float | None = None,
    matting: bool = False,
) -> FramePath:
    """The frame path for these settings; the defaults follow the source: `live` (a camera,
    a stream) and `stills` (photos, each on its own) pick the quality level when `quality`
    is None (see `default_level`) and live sources take the newest mask unless `sync`.
    `matting`: the model is a matting network of any input size, which has levels of its own
    (`MATTING_LEVELS`).

    Raises:
        RtsegError: an unknown quality level.
    """
    name = quality or default_level(live, stills)
    level = quality_level(name, matting)
    masks = MaskSource(
        sync=not live if sync is None else sync, every=mask_every, passes=level.passes(ratio)
    )
    return FramePath(level, level.refiner(refine), smooth, masks, level.ratio(ratio), name)
