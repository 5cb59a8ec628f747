"""Bringing frames to the model and masks back: the only pre/post-processing the runtime does."""

from __future__ import annotations

import cv2
import numpy as np

from rtseg.contract import ModelInfo


def to_model_input(bgr: np.ndarray, info: ModelInfo) -> np.ndarray:
    """Stretch a BGR frame to the model's input size as the model was trained to see it.

    Returns uint8 RGB `[1, h, w, 3]`; normalisation happens inside the model graph.
    """
    h, w = info.height, info.width
    if info.resize == "corners_linear":
        # The frame's corner points map onto the input's corner points, as in MediaPipe's
        # own warp (no half-pixel offset, unlike cv2.resize).
        sy, sx = h / bgr.shape[0], w / bgr.shape[1]
        m = np.array([[sx, 0.0, 0.0], [0.0, sy, 0.0]], dtype=np.float64)
        small = cv2.warpAffine(
            bgr, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
    else:
        small = cv2.resize(bgr, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(small, cv2.COLOR_BGR2RGB)[np.newaxis]


def upscale_alpha(alpha: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bring a model-size alpha to frame size, bilinear (the cheap path without refinement)."""
    if alpha.shape == (height, width):
        return alpha
    return cv2.resize(alpha, (width, height), interpolation=cv2.INTER_LINEAR)
