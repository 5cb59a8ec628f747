"""A matting model's foreground colours brought to the frame's size.

A matting network (RVM) predicts, beside alpha, the colours the person would have over no
background at all: along hair and edges the frame mixes the person with the old background,
and compositing the frame itself over a new background keeps a trace of the old one there.

The network runs on a downscaled frame, so its colours are low-resolution. What it changes in
the frame is a correction (foreground minus frame) that is upscaled and added to the full-size
frame, which keeps the frame's own detail. It is added in proportion to how transparent each
pixel is (weight 1 - alpha): where the person is solid the frame is the person's colour
already, and the network's colours there, upscaled, only blur it. Measured on the P3M
composites (`python -m benchmarks.matting`, docs/matting.md): the whole correction made the
composite over green worse along the edges (mean abs error 18.0 against 16.8 grey levels for
the frame), the weighted one keeps the frame's error (16.9) and lets less of the old background
through (what changes when only the old background does: 15.6 against 16.6; 3.2 against 3.7
with the exact alpha).
"""

from __future__ import annotations

import cv2
import numpy as np


def foreground_at_frame_size(
    image_bgr: np.ndarray, fgr_rgb: np.ndarray, alpha: np.ndarray
) -> np.ndarray:
    """Foreground colours, BGR uint8 at the frame's size, from the model's RGB float32
    [h, w, 3] in [0, 1] at any size (a canvas or the model input's) and the frame-size alpha
    (float32 in [0, 1] or uint8 in 0..255) that weighs them in."""
    height, width = image_bgr.shape[:2]
    fgr = cv2.cvtColor(fgr_rgb, cv2.COLOR_RGB2BGR)
    h, w = fgr.shape[:2]
    if (h, w) == (height, width):
        correction = cv2.scaleAdd(fgr, 255.0, -image_bgr.astype(np.float32))
    else:
        small = cv2.resize(image_bgr, (w, h), interpolation=cv2.INTER_AREA)
        correction = cv2.scaleAdd(fgr, 255.0, -small.astype(np.float32))
        correction = cv2.resize(correction, (width, height), interpolation=cv2.INTER_LINEAR)
    scale = 1.0 / 255.0 if alpha.dtype == np.uint8 else 1.0
    transparent = cv2.subtract(1.0, alpha.astype(np.float32) * np.float32(scale))
    correction = cv2.multiply(correction, cv2.merge((transparent,) * 3))
    return cv2.add(image_bgr, correction, dtype=cv2.CV_8U)
