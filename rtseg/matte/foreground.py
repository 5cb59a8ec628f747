"""A matting model's foreground colours brought to the frame's size.

A matting network (RVM) predicts, beside alpha, the colours the person would have over no
background at all: along hair and edges the frame mixes the person with the old background,
and compositing the frame itself over a new background keeps a fringe of the old one. The
network runs on a downscaled frame, so its colours are low-resolution. What it changes in the
frame is a correction (foreground minus frame) that is zero inside the person and away from
it and smooth along edges; upscaling that correction and adding it to the full-size frame keeps
the frame's own detail and takes the old background out of the edges.
"""

from __future__ import annotations

import cv2
import numpy as np


def foreground_at_frame_size(image_bgr: np.ndarray, fgr_rgb: np.ndarray) -> np.ndarray:
    """Foreground colours, BGR uint8 at the frame's size, from the model's RGB float32
    [h, w, 3] in [0, 1] at any size (a canvas or the model input's)."""
    height, width = image_bgr.shape[:2]
    fgr = cv2.cvtColor(fgr_rgb, cv2.COLOR_RGB2BGR)
    if fgr.shape[:2] == (height, width):
        return cv2.convertScaleAbs(fgr, alpha=255.0)
    h, w = fgr.shape[:2]
    small = cv2.resize(image_bgr, (w, h), interpolation=cv2.INTER_AREA)
    correction = cv2.scaleAdd(fgr, 255.0, -small.astype(np.float32))
    up = cv2.resize(correction, (width, height), interpolation=cv2.INTER_LINEAR)
    return cv2.add(image_bgr, up, dtype=cv2.CV_8U)
