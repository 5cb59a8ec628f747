"""Putting the person back over a new background: a soft blend, and a blur that keeps the
person's colours out of the blurred background.

A plain blur of the whole frame smears the person into the background around them, a bright
halo that moves with them. Here the background is blurred with the person weighted out
(weight 1 - alpha) and renormalised by the blurred weights, so each background pixel is an
average of background only. The blur runs at quarter resolution, where a wide kernel is cheap.

Alpha comes as float32 in [0, 1] or as uint8 in [0, 255] (what the pipeline's refiner hands
over: a quarter of the bytes, and no float pass to make it). Full-size work is integer and
writes into per-thread scratch buffers reused across frames: a fresh 5 MB array a frame costs
its page faults again every frame.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

from rtseg.errors import RtsegError

# Below this blurred background weight (deep inside the person) the normalised blur has
# nothing to average; it fades into a plain blur there, which the person then covers.
_MIN_WEIGHT = 1e-3
# Blend weights are alpha in 1/128 steps, so (fg - bg) * weight fits int16; an output level
# is off by at most 2 from the float blend, and alpha 0 and 1 still give bg and fg exactly.
WEIGHT_BITS = 7
WEIGHT_ONE = 1 << WEIGHT_BITS
_scratch = threading.local()
# The blur drops to eighth size from this quarter-size kernel width, on frames whose eighth
# is at least this many pixels on its short side (720p: 90).
_EIGHTH_KERNEL = 15
_EIGHTH_SIDE = 64


def blend(foreground: np.ndarray, background: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """alpha * foreground + (1 - alpha) * background, per pixel; uint8 BGR in and out.

    `alpha` (float32 in [0, 1] or uint8 in [0, 255]) is at the images' size. In int16 fixed
    point with 7-bit weights: 1.1 ms at 720p on the 2-core reference machine (1.7 ms where
    freed memory is not kept, see `rtseg.pipeline.memory`) against 2.3 ms for `cv2.blendLinear` with
    float weights, 4 ms for OpenCV's 16-bit arithmetic and 15 ms for uint8 `cv2.multiply`
    products.
    """
    _check_image(foreground, "foreground")
    _check_image(background, "background")
    _check_alpha(alpha, foreground.shape[:2])
    if background.shape != foreground.shape:
        raise RtsegError(
            f"blend needs images of the same size, got {foreground.shape} and {background.shape}"
        )
    weights = _weights(alpha)
    # Only the box where alpha shows at all is blended; outside it the output is the
    # background exactly. (A person who fills the frame, or a model that leaves faint alpha
    # all over it, makes the box the frame: then there is nothing to copy.)
    x, y, w, h = cv2.boundingRect(weights)
    # fresh either way: the output travels on to the sinks
    out = np.empty_like(background) if (w, h) == weights.shape[::-1] else background.copy()
    if w == 0:
        return out
    box = (slice(y, y + h), slice(x, x + w))
    weight = _buffer("weight", (h, w, 3), np.int16)  # int16 x int16 beats mixed types
    cv2.merge((weights[box].astype(np.int16),) * 3, dst=weight)
    diff = _buffer("diff", (h, w, 3), np.int16)
    np.subtract(foreground[box], background[box], out=diff, dtype=np.int16)
    np.multiply(diff, weight, out=diff)
    np.add(diff, WEIGHT_ONE // 2, out=diff)  # round, not floor
    np.right_shift(diff, WEIGHT_BITS, out=diff)
    np.add(diff, background[box], out=out[box], casting="unsafe")  # 0..255 by construction
    return out


def blur_background(
    image_bgr: np.ndarray,
    alpha: np.ndarray,
    strength: int = 21,
    foreground: np.ndarray | None = None,
) -> np.ndarray:
    """The frame with its background blurred and its person kept sharp and unsmeared.

    `alpha` (float32 in [0, 1] or uint8 in [0, 255]) is at frame size. `strength` is the
    Gaussian kernel width in quarter-resolution pixels (odd; an even value is rounded up).
    `foreground` (BGR uint8 at frame size): the person's own colours from a matting model,
    put over the blurred background instead of the frame.
    """
    _check_image(image_bgr, "frame")
    _check_alpha(alpha, image_bgr.shape[:2])
    if strength < 1:
        raise RtsegError(f"blur strength must be >= 1, got {strength}")
    height, width = image_bgr.shape[:2]
    background = _buffer("background", image_bgr.shape, np.uint8)
    small = masked_blur(image_bgr, alpha, strength | 1)
    cv2.resize(small, (width, height), dst=background, interpolation=cv2.INTER_LINEAR)
    return blend(image_bgr if foreground is None else foreground, background, alpha)


def masked_blur(image_bgr: np.ndarray, alpha: np.ndarray, kernel: int) -> np.ndarray:
    """The background blurred at quarter size or less, uint8: blur(image * w) / blur(w),
    w = 1 - alpha.

    Whole-array OpenCV calls (numpy's strided channel views cost several times more at this
    size); the weight is blurred as one channel, not three (0.1 vs 0.3 ms at 720p). A wide
    blur on a big frame runs at eighth size with half the sigma, the same blur at a quarter of
    the work (0.36 vs 0.81 ms at 720p; the background differs by 0.5 grey levels on average).
    """
    small = _quarter(image_bgr)
    small_alpha = _quarter(alpha)
    sigma = 0.3 * ((kernel - 1) * 0.5 - 1) + 0.8  # what OpenCV derives from the kernel width
    if kernel >= _EIGHTH_KERNEL and min(small.shape[:2]) >= 2 * _EIGHTH_SIDE:
        small, small_alpha = _halve(small), _halve(small_alpha)
        kernel, sigma = (kernel // 2) | 1, sigma / 2
    small = small.astype(np.float32)
    small_alpha = small_alpha.astype(np.float32)
    if alpha.dtype == np.uint8:
        small_alpha *= np.float32(1.0 / 255.0)
    weight = cv2.subtract(1.0, small_alpha)
    k = (kernel, kernel)
    num = cv2.GaussianBlur(cv2.multiply(small, cv2.merge((weight,) * 3)), k, sigma)
    den = cv2.GaussianBlur(weight, k, sigma) + np.float32(_MIN_WEIGHT)
    # (num + m * plain) / (den + m): num / den wherever there is background to average,
    # fading into a plain blur only deep inside the person, which covers it. A box blur
    # there: 0.05 ms against 0.3 for a second Gaussian, and it only has to look blurred.
    num = cv2.scaleAdd(cv2.blur(small, k), _MIN_WEIGHT, num)
    return cv2.convertScaleAbs(cv2.divide(num, cv2.merge((den,) * 3)))


def _weights(alpha: np.ndarray) -> np.ndarray:
    """Alpha as blend weights in 0..WEIGHT_ONE, uint8, one channel."""
    scale = WEIGHT_ONE / 255.0 if alpha.dtype == np.uint8 else float(WEIGHT_ONE)
    return cv2.convertScaleAbs(alpha, alpha=scale)  # rounds; alpha >= 0, so abs is a no-op


def transparency_weights(alpha: np.ndarray) -> np.ndarray:
    """1 - alpha as blend weights in 0..WEIGHT_ONE (float32 alpha in [0, 1] or uint8 in
    0..255), uint8, one channel: one full-size pass, no float image made."""
    scale = WEIGHT_ONE / 255.0 if alpha.dtype == np.uint8 else float(WEIGHT_ONE)
    return cv2.convertScaleAbs(alpha, alpha=-scale, beta=WEIGHT_ONE)  # |1 - alpha|, rounded


def _buffer(name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """A contiguous scratch array of this thread's, carved from storage kept across frames
    (regrown only when a frame needs more)."""
    size = int(np.prod(shape))
    storage = _scratch.__dict__.get(name)
    if storage is None or storage.size < size or storage.dtype != dtype:
        storage = _scratch.__dict__[name] = np.empty(size, dtype)
    return storage[:size].reshape(shape)


def _quarter(image: np.ndarray) -> np.ndarray:
    """Quarter size by two 2x INTER_AREA halvings (about 5x faster than one 4x INTER_AREA)."""
    return _halve(_halve(image))


def shrink(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """`image` brought down to width x height as INTER_AREA averages it, by 2x halvings while
    it is at least twice as large, then INTER_AREA for the rest: 0.4 against 1.3 ms for
    720p to 320x180 in one INTER_AREA, 2.0 against 3.5 ms to 480x270."""
    while image.shape[1] >= 2 * width and image.shape[0] >= 2 * height:
        image = _halve(image)
    if image.shape[:2] == (height, width):
        return image
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def _halve(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    return cv2.resize(image, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)


def _check_image(image: np.ndarray, what: str) -> None:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise RtsegError(f"the {what} must be BGR uint8 H x W x 3, got {image.dtype} {image.shape}")


def _check_alpha(alpha: np.ndarray, size: tuple[int, ...]) -> None:
    if alpha.dtype not in (np.float32, np.uint8) or alpha.shape != size:
        raise RtsegError(
            f"alpha must be float32 or uint8 at the frame's size {size}, got {alpha.dtype} "
            f"{alpha.shape}; upscale or refine it first"
        )
