"""MediaPipe's own pre- and post-processing around its selfie segmenter, in plain OpenCV.

MediaPipe (0.10.14, CPU) stretches the whole frame onto the model input with
`cv::warpPerspective` (corners onto corners, INTER_LINEAR, zero border) from its bundled
OpenCV 3.4, whose bilinear sampling rounds source coordinates to 1/32 pixel. OpenCV >= 4.11
samples warps at full float precision, which shifts edges by a fraction of a pixel and moves
masks by up to 0.2 on 16:9 footage; `cv2.remap` with fixed-point maps keeps MediaPipe's
rounding on every OpenCV version. The mask comes back with `cv::resize` INTER_LINEAR.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from rtseg.errors import RtsegError

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


def to_model_input(bgr: np.ndarray, height: int, width: int) -> np.ndarray:
    """Stretch a BGR frame onto the model input as MediaPipe does: uint8 [1, h, w, 3] RGB."""
    if bgr.dtype != np.uint8 or bgr.ndim != 3 or bgr.shape[2] != 3:
        raise RtsegError(f"expected a uint8 HxWx3 BGR frame, got {bgr.dtype} {list(bgr.shape)}")
    whole, fraction = _corner_maps(bgr.shape[0], bgr.shape[1], height, width)
    resized = cv2.remap(bgr, whole, fraction, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)[None]


def to_frame_size(alpha: np.ndarray, frame_height: int, frame_width: int) -> np.ndarray:
    """Bring a model's [1, 1, h, w] alpha back to the frame as MediaPipe does: float32 [H, W]."""
    return cv2.resize(alpha[0, 0], (frame_width, frame_height), interpolation=cv2.INTER_LINEAR)
