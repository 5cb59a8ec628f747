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

from rtseg.matte.compose import WEIGHT_BITS, WEIGHT_ONE, shrink, transparency_weights


def foreground_at_frame_size(
    image_bgr: np.ndarray, fgr_rgb: np.ndarray, alpha: np.ndarray
) -> np.ndarray:
    """Foreground colours, BGR uint8 at the frame's size, from the model's RGB float32
    [h, w, 3] in [0, 1] at any size (a canvas or the model input's) and the frame-size alpha
    (float32 in [0, 1] or uint8 in 0..255) that weighs them in.

    The correction is made in float at the model's size, then brought to the frame's size and
    weighed in int16 fixed point with 7-bit weights (as `rtseg.matte.compose.blend`): 2.6-3.1
    against 5.6-5.9 ms for a 720p frame and a 320x180 foreground in float32 (one thread), at
    most two grey levels apart.
    """
    height, width = image_bgr.shape[:2]
    h, w = fgr_rgb.shape[:2]
    small = shrink(image_bgr, w, h)
    fgr = cv2.cvtColor(fgr_rgb, cv2.COLOR_RGB2BGR)
    correction = np.rint(cv2.scaleAdd(fgr, 255.0, -small.astype(np.float32))).astype(np.int16)
    if (h, w) != (height, width):
        correction = cv2.resize(correction, (width, height), interpolation=cv2.INTER_LINEAR)
    weight = cv2.merge((transparency_weights(alpha).astype(np.int16),) * 3)  # 1 - alpha
    np.multiply(correction, weight, out=correction)  # |255 * 128| fits int16
    np.add(correction, WEIGHT_ONE // 2, out=correction)  # round, not floor
    np.right_shift(correction, WEIGHT_BITS, out=correction)
    np.add(correction, image_bgr, out=correction)
    np.clip(correction, 0, 255, out=correction)  # then uint8: 1.2 ms against 2.1 for cv2.add
    return correction.astype(np.uint8)
