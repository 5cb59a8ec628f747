"""The unit that flows through the pipeline: one video frame plus what each stage adds to it.

Each stage's result is a typed value of its own, at one size and in one form for its whole
trip: the model's input (`ModelInput`), the mask at the model's size (`Mask`), and the matte
at the frame's size (`Matte`). `rtseg.matte.frame_path` makes all three.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from rtseg.errors import RtsegError


def rate_time_base(fps: float) -> Fraction:
    """One frame period as an exact fraction: 29.97002997 fps gives 1001/30000 s.

    Raises:
        RtsegError: `fps` is not a positive, finite rate of at least one frame in 2002 s.
    """
    if not (fps > 0 and math.isfinite(fps)):
        raise RtsegError(f"frame rate must be a positive number, got {fps}")
    rate = Fraction(fps).limit_denominator(1001)
    if rate == 0:
        raise RtsegError(f"frame rate {fps} is too low; give at least 0.0005 fps")
    return 1 / rate


@dataclass(frozen=True)
class ModelInput:
    """A frame brought to a model's input: made on the preprocess thread."""

    tensor: np.ndarray  # uint8 [1, h, w, 3] RGB
    # the model it was made for (its ModelInfo, compared by identity after a model switch)
    model: object


@dataclass(frozen=True)
class Mask:
    """One frame's mask at the model's working size: what the inference gives."""

    alpha: np.ndarray  # float32 in [0, 1], at the model's input size or on the zoom's canvas
    labels: np.ndarray | None  # uint8 class ids at the model's size, for models with labels
    seq: int  # the frame whose inference produced it (a reused or newest mask: an earlier one)
    zoomed: bool  # alpha holds a crop's pass, with finer detail than the whole frame's
    fgr: np.ndarray | None = None  # foreground colours, RGB float32 in [0, 1] at alpha's size
    # `--auto-frame`'s crop of this frame, (x0, y0, x1, y1) as shares of its width and height
    crop: tuple[float, float, float, float] | None = None


@dataclass(frozen=True)
class Matte:
    """One frame's matte at the frame's size: what effects and outputs use."""

    alpha: np.ndarray  # float32 in [0, 1], H x W, the input's own transparency multiplied in
    labels: np.ndarray | None  # uint8 class ids, H x W, for models with labels
    fgr: np.ndarray | None  # the person's own colours, BGR uint8 H x W x 3, for matting models
    # the frame as `--auto-frame` shows it (a crop scaled to its size), which alpha, labels
    # and fgr above are cut to; None: the frame itself
    image: np.ndarray | None = None


@dataclass
class Frame:
    """One frame and its history.

    `seq` numbers frames in capture order from 0, so drops and reordering are visible.
    `capture_ns` is `time.monotonic_ns()` when the source produced the frame, and `stamps`
    holds the monotonic time each stage finished with it, so latency is measured, not guessed.

    `pts` is when the frame is shown, in units of `time_base` seconds, counted from the start
    of the input (for a file: of its earliest stream, so video that starts after the audio
    keeps its offset). Video sinks write it as it is, so the output keeps the input's timing,
    variable frame rates included. `duration` (same unit) is how long it is shown, when the
    input says; `sar` is its sample (pixel) aspect ratio, None for square pixels.

    The stages add `model_input`, `mask` and `matte` in turn, then `output`; `alpha`,
    `labels` and `fgr` read the matte, at the frame's size.
    """

    seq: int
    image: np.ndarray  # BGR uint8, H x W x 3, as OpenCV reads it
    capture_ns: int = field(default_factory=time.monotonic_ns)
    pts: int | None = None
    time_base: Fraction | None = None
    duration: int | None = None
    sar: Fraction | None = None
    name: str | None = None  # the input's file stem, for image-sequence outputs
    # a photo of its own (one of a folder's), unrelated to the frame before: it starts a
    # stream of its own, and nothing of another photo's mask carries over
    still: bool = False
    # the input's own transparency (an RGBA image), float32 in [0, 1] at frame size: the
    # matte is multiplied by it, so what was transparent stays so with --effect alpha
    input_alpha: np.ndarray | None = None
    stamps: dict[str, int] = field(default_factory=dict)
    model_input: ModelInput | None = None  # after preprocess
    mask: Mask | None = None  # after infer
    matte: Matte | None = None  # after postprocess
    output: np.ndarray | None = None  # what sinks write: BGR (H x W x 3) or BGRA (H x W x 4)

    @property
    def alpha(self) -> np.ndarray | None:
        """The person's alpha at the frame's size (float32 in [0, 1]), once postprocessed."""
        return None if self.matte is None else self.matte.alpha

    @property
    def labels(self) -> np.ndarray | None:
        """Class ids at the frame's size, for models with labels, once postprocessed."""
        return None if self.matte is None else self.matte.labels

    @property
    def fgr(self) -> np.ndarray | None:
        """A matting model's foreground colours, BGR uint8 at the frame's size."""
        return None if self.matte is None else self.matte.fgr

    def time_s(self) -> Fraction | None:
        """When the frame is shown, in seconds from the start of the input (None: unknown)."""
        if self.pts is None or self.time_base is None:
            return None
        return self.pts * self.time_base


def check_image(image: object, what: str, channels: tuple[int, ...] = (3,)) -> np.ndarray:
    """`image` if it is a uint8 H x W x C array with C in `channels` and at least one pixel,
    else RtsegError saying what `what` (e.g. "segment()") got: the one check on images a
    program hands rtseg."""
    if (
        isinstance(image, np.ndarray)
        and image.dtype == np.uint8
        and image.ndim == 3
        and image.shape[2] in channels
        and image.shape[0] > 0
        and image.shape[1] > 0
    ):
        return image
    kind = " or ".join({3: "BGR", 4: "BGRA"}.get(c, str(c)) for c in channels)
    got = getattr(image, "dtype", type(image).__name__)
    raise RtsegError(
        f"{what} takes a {kind} uint8 H x W x C image, got {got} "
        f"{getattr(image, 'shape', '')}".rstrip()
    )
