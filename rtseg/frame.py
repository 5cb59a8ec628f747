"""The unit that flows through the pipeline: one video frame plus what each stage adds to it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from rtseg.contract import ModelInfo


@dataclass
class Frame:
    """One frame and its history.

    `seq` numbers frames in capture order from 0, so drops and reordering are visible.
    `capture_ns` is `time.monotonic_ns()` when the source produced the frame, and `stamps`
    holds the monotonic time each stage finished with it, so latency is measured, not guessed.
    """

    seq: int
    image: np.ndarray  # BGR uint8, H x W x 3, as OpenCV reads it
    capture_ns: int = field(default_factory=time.monotonic_ns)
    name: str | None = None  # the input's file stem, for image-sequence outputs
    stamps: dict[str, int] = field(default_factory=dict)
    tensor: np.ndarray | None = None  # model input, uint8 [1, h, w, 3] RGB
    tensor_info: ModelInfo | None = None  # the model `tensor` was made for
    # person probability, float32 in [0, 1]: at model size after inference, at frame size
    # (refined or upscaled) after postprocessing
    alpha: np.ndarray | None = None
    labels: np.ndarray | None = None  # class ids at model size, uint8, for semantic models
    mask_seq: int | None = None  # seq of the frame whose inference produced `alpha`
    output: np.ndarray | None = None  # what sinks write: BGR (H x W x 3) or BGRA (H x W x 4)
