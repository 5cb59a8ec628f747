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

import math
from collections.abc import Callable
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


# A matting network of any input size (RVM) sees every frame, or zoomed crop, at this many
# pixels (320x180, 0.25 of a 720p frame and 1/6 of a 1080p one): its cost a pass is then the
# same whatever is fed, and a crop smaller than the frame is seen larger for the same price.
# RVM's own rule is a longer side between 256 and 512 px, and rtseg used 480 px (0.375 at
# 720p) before measuring; on the project's clips 320x180 gave masks as good for 0.44x the
# pixels (docs/matting.md, "Defaults").
MATTING_PIXELS = 320 * 180
# Photos, which have no frame rate to keep, see theirs with the longer side at this many
# pixels: a zoomed crop of a person (taller than wide) gets more pixels than the area rule
# gives, which the P3M portraits' boundary F needed (0.768 against 0.737) and the small
# people of the composites (0.82 against 0.76).
MATTING_LONG_SIDE = 384

# How a matting network's input is sized: a downsample ratio, a rule giving one for a frame
# or crop of (height, width), or None for `auto_ratio`.
RatioRule = Callable[[int, int], float]
Ratio = float | RatioRule | None


def auto_ratio(height: int, width: int) -> float:
    """A matting network's downsample ratio for a frame or crop: its area brought to
    `MATTING_PIXELS`, never up."""
    return min(1.0, math.sqrt(MATTING_PIXELS / (height * width)))


def long_side_ratio(height: int, width: int) -> float:
    """The photos' rule: the longer side brought to `MATTING_LONG_SIDE`, never up."""
    return min(1.0, MATTING_LONG_SIDE / max(height, width))


def model_input_size(
    info: ModelInfo, height: int, width: int, ratio: Ratio = None
) -> tuple[int, int]:
    """The (h, w) a frame of `height` x `width` is brought to for `info`: the model's own size,
    or for a model of any size the frame scaled by `ratio` (a rule: what it gives for the
    frame; None: `auto_ratio`). A variant
    built for one ratio gets the frame that much larger, so the network still sees the
    frame at `ratio` (never beyond the frame's own size)."""
    if not info.dynamic:
        return info.height, info.width
    rule = auto_ratio if ratio is None else ratio
    scale = rule(height, width) if callable(rule) else rule
    if info.fixed_ratio:
        scale = min(1.0, scale / info.fixed_ratio)
    return max(1, round(height * scale)), max(1, round(width * scale))


def to_model_input(
    bgr: np.ndarray,
    info: ModelInfo,
    ratio: Ratio = None,
    size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Stretch a BGR frame to the model's input size as the model was trained to see it
    (`ratio`: see `model_input_size`; `size` (h, w) instead, for a model of any size).

    Returns uint8 RGB `[1, h, w, 3]`; normalisation happens inside the model graph (or in
    the engine, for RVM's float input).
    """
    h, w = size or model_input_size(info, bgr.shape[0], bgr.shape[1], ratio)
    if info.resize == "corners_linear":
        small = stretch_corners(bgr, h, w)
    elif (h, w) == bgr.shape[:2]:
        small = bgr
    else:  # bilinear also for RVM: its own downsampling, which it was trained with
        small = cv2.resize(bgr, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(small, cv2.COLOR_BGR2RGB)[np.newaxis]


def upscale_alpha(alpha: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bring a model-size alpha to frame size, bilinear (the cheap path without refinement)."""
    if alpha.shape == (height, width):
        return alpha
    return cv2.resize(alpha, (width, height), interpolation=cv2.INTER_LINEAR)
