"""Bringing frames to the model and masks back: the only pre/post-processing the runtime does.

The bundled MediaPipe models expect MediaPipe's own stretch: the whole frame mapped corners
onto corners (`cv::warpPerspective`, INTER_LINEAR, zero border) by the OpenCV 3.4 MediaPipe
bundles, whose bilinear sampling rounds source coordinates to 1/32 pixel. OpenCV >= 4.11
samples warps at full float precision, which moves masks by up to 0.2 on 16:9 footage, and
`cv2.resize` (half-pixel centres) drops IoU against MediaPipe's masks to 0.95-0.98.
`cv2.remap` with fixed-point maps keeps MediaPipe's rounding on every OpenCV version; its
masks then match MediaPipe's own to 5e-5. The mask comes back with INTER_LINEAR resize, as
MediaPipe does.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from rtseg.models.contract import ModelInfo

SUBPIXELS = 32  # OpenCV's INTER_TAB_SIZE: fixed-point maps address 1/32 of a pixel


@lru_cache(maxsize=8)
def _corner_maps(
    frame_height: int, frame_width: int, height: int, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Fixed-point remap tables sampling output pixel (y, x) at (y * H / h, x * W / w)."""
    qx = np.rint(np.arange(width) * (frame_width / width) * SUBPIXELS).astype(np.int32)
    qy = np.rint(np.arange(height) * (frame_height / height) * SUBPIXELS).astype(np.int32)
    whole = np.empty((height, width, 2), np.int16)
    whole[..., 0] = qx[None, :] // SUBPIXELS
    whole[..., 1] = qy[:, None] // SUBPIXELS
    fraction = ((qy % SUBPIXELS)[:, None] * SUBPIXELS + (qx % SUBPIXELS)[None, :]).astype(np.uint16)
    whole.flags.writeable = False
    fraction.flags.writeable = False
    return whole, fraction


def stretch_corners(bgr: np.ndarray, height: int, width: int) -> np.ndarray:
    """The whole frame stretched to height x width the way MediaPipe does it (see above)."""
    whole, fraction = _corner_maps(bgr.shape[0], bgr.shape[1], height, width)
    return cv2.remap(bgr, whole, fraction, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def to_model_input(bgr: np.ndarray, info: ModelInfo) -> np.ndarray:
    """Stretch a BGR frame to the model's input size as the model was trained to see it.

    Returns uint8 RGB `[1, h, w, 3]`; normalisation happens inside the model graph.
    """
    h, w = info.height, info.width
    if info.resize == "corners_linear":
        small = stretch_corners(bgr, h, w)
    else:
        small = cv2.resize(bgr, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(small, cv2.COLOR_BGR2RGB)[np.newaxis]


def upscale_alpha(alpha: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bring a model-size alpha to frame size, bilinear (the cheap path without refinement)."""
    if alpha.shape == (height, width):
        return alpha
    return cv2.resize(alpha, (width, height), interpolation=cv2.INTER_LINEAR)
