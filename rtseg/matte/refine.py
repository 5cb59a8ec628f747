"""Edge refinement: snap a coarse model alpha to the frame's own edges.

A segmentation model sees a 256x256 squeeze of the frame, so its mask, stretched back to
720p, has soft, blocky edges that ignore the hair and shoulder lines the frame shows. A guided
filter (He, Sun and Tang) fits, in every small window, alpha as a linear function of the
frame's brightness; edges in the frame then become edges in alpha. The "fast" variant fits
those linear coefficients at a reduced resolution (they vary slowly) and applies them to the
full-resolution frame, so the only full-size work is two resizes, a multiply and an add. The
same step brings a model-size alpha to frame size, so no separate full-size resize is needed.

A grey guide by default. A colour guide (`color=True`) also finds edges between regions of
equal brightness; on the P3M portraits it scores about 0.04 higher in boundary F-score, but
its per-pixel 3x3 solve and three-channel full-size step cost about three times as much, which
breaks the 2 ms budget on a 2-core CPU.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from rtseg.errors import RtsegError
from rtseg.models.transforms import upscale_alpha

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in working-size pixels


class EdgeRefiner:
    """Guided-filter refinement of alpha with the frame as guide.

    It keeps full-size scratch buffers between calls: use one refiner per thread.

    radius: window radius in working-resolution pixels (the window is 2*radius+1 wide).
    eps: regularisation, in units of (brightness in [0, 1])^2; larger keeps alpha smoother
        where the frame has weak edges, smaller follows every edge.
    work_short_side: the fit runs at the frame halved until its short side would drop below
        this (720p -> 180 for 180); None fits at full resolution (slow, used by tests).
    coarse_short_side: the same for masks that hold no finer detail than a whole-frame model
        pass (`refine(..., fine=False)`); None: work_short_side for every mask. The radius
        shrinks with it, so the window keeps its size in frame pixels.
    feather: width in full-resolution pixels of a box blur on the result; 0 turns it off.
        It softens edges that come out too hard, at about 0.6 ms per 720p frame.
    threshold: (lo, hi): the result is remapped to clamp((alpha - lo) / (hi - lo), 0, 1),
        which hardens a mask that is too soft; (0, 1) leaves it as is. It costs nothing: the
        remap is folded into the low-resolution coefficients.
    color: fit alpha to the frame's colour instead of its brightness; edges between
        regions of equal brightness but different colour are found too, at a higher cost.
    """

    def __init__(
        self,
        radius: int = 4,
        eps: float = 1e-3,
        work_short_side: int | None = 180,
        coarse_short_side: int | None = None,
        feather: int = 0,
        threshold: tuple[float, float] = (0.0, 1.0),
        color: bool = False,
    ) -> None:
        lo, hi = threshold
        if radius < 1:
            raise RtsegError(f"refine radius must be >= 1, got {radius}")
        if eps <= 0:
            raise RtsegError(f"refine eps must be > 0, got {eps}")
        for side in (work_short_side, coarse_short_side):
            if side is not None and side < 8:
                raise RtsegError(f"refine working size must be >= 8 pixels, got {side}")
        if feather < 0:
            raise RtsegError(f"feather must be >= 0 pixels, got {feather}")
        if not 0.0 <= lo < hi <= 1.0:
            raise RtsegError(f"threshold must satisfy 0 <= lo < hi <= 1, got ({lo}, {hi})")
        self.radius = radius
        self.eps = eps
        self.work_short_side = work_short_side
        self.coarse_short_side = coarse_short_side
        self.feather = feather
        self.threshold = (float(lo), float(hi))
        self.color = color
        self._full: dict[str, np.ndarray] = {}

    def refine(self, image_bgr: np.ndarray, alpha: np.ndarray, fine: bool = True) -> np.ndarray:
        """Alpha at the frame's size, its edges moved onto the frame's edges.

        `alpha` is float32 in [0, 1], at any size (model size or frame size). `fine=False`
        says it holds no finer detail than a whole-frame model pass, which a fit at
        `coarse_short_side` keeps as well as a finer one, on a quarter of the pixels.
        """
        _check_inputs(image_bgr, alpha)
        height, width = image_bgr.shape[:2]
        full = image_bgr if self.color else cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
        side, radius = self.work_short_side, self.radius
        if not fine and self.coarse_short_side is not None:
            side = self.coarse_short_side
            if self.work_short_side is not None:  # the window keeps its size in frame pixels
                radius = max(1, round(radius * side / self.work_short_side))
        guide = self._shrink(full, side)
        gh, gw = guide.shape[:2]
        if alpha.shape != (gh, gw):
            alpha = cv2.resize(alpha, (gw, gh), interpolation=cv2.INTER_LINEAR)
        i = guide.astype(np.float32) * np.float32(1.0 / 255.0)
        p = alpha.astype(np.float32, copy=False)
        boxes = self._boxes(p, height, width, radius)
        if boxes is None:
            whole = np.empty((height, width), np.float32)
            return self._finish(self._apply(i, p, full, whole, radius))
        # Only around each person: outside the boxes alpha is (nearly) 0, and so is the result.
        s = width // gw
        out = np.zeros((height, width), np.float32)
        for x0, y0, x1, y1 in boxes:
            region = (slice(y0 * s, y1 * s), slice(x0 * s, x1 * s))
            self._apply(i[y0:y1, x0:x1], p[y0:y1, x0:x1], full[region], out[region], radius)
        return self._finish(out)

    def _apply(
        self, i: np.ndarray, p: np.ndarray, full: np.ndarray, out: np.ndarray, radius: int
    ) -> np.ndarray:
        """Fit on the working-size guide `i` and alpha `p` in windows of `radius`, apply to
        `full` (the same area at full size) into `out`."""
        box = _window_mean(radius)
        a, b = (_color_fit if self.color else _gray_fit)(i, p, box, self.eps)
        # Smooth the coefficients, fold in the threshold remap and the 1/255 of the full-size
        # guide, so the full-size work is q = a * I + b with I in 0..255, then a clamp.
        lo, hi = self.threshold
        scale = np.float32(1.0 / (hi - lo))
        a = box(a) * (scale / np.float32(255.0))
        b = (box(b) - np.float32(lo)) * scale
        height, width = out.shape
        a_full = self._buffer("a", height, width, *a.shape[2:])
        b_full = self._buffer("b", height, width)
        cv2.resize(a, (width, height), dst=a_full, interpolation=cv2.INTER_LINEAR)
        cv2.resize(b, (width, height), dst=b_full, interpolation=cv2.INTER_LINEAR)
        if self.color:
            # Per-pixel dot product of a and the colour: one multiply, one channel sum.
            out[...] = cv2.transform(cv2.multiply(a_full, full, dtype=cv2.CV_32F), _ONES)
        else:
            np.multiply(a_full, full, out=out)
        np.add(out, b_full, out=out)
        # Clamp to [0, 1]: two in-place thresholds beat np.clip by about 2x.
        cv2.threshold(out, 1.0, 1.0, cv2.THRESH_TRUNC, dst=out)
        cv2.threshold(out, 0.0, 0.0, cv2.THRESH_TOZERO, dst=out)
        return out

    def _finish(self, out: np.ndarray) -> np.ndarray:
        if self.feather > 1:
            cv2.blur(out, (self.feather, self.feather), dst=out)
        return out

    @staticmethod
    def _boxes(p: np.ndarray, height: int, width: int, radius: int) -> list[Box] | None:
        """The working-size boxes (x0, y0, x1, y1) outside which the result is 0, or None to
        refine the whole frame.

        Where alpha is 0 in a whole window, the fit gives a = b = 0; the two box filters
        reach 2 * radius beyond alpha's support, and a margin of 3 * radius + 2 keeps a box's
        own border handling out of the result too, so the boxes give the whole-frame result.
        Alpha below 1/512 counts as 0 (it moves the result by less than 1/256, under one
        blend step). Columns of alpha more than two margins apart get boxes of their own
        (two people, or a person and a stray speck at the frame's edge): nothing one box
        holds is within reach of another's. It needs a whole-number scale to full size, and
        pays off only when the boxes leave a good part of the frame out.
        """
        gh, gw = p.shape
        s = width // gw
        if s * gw != width or s * gh != height:
            return None
        mask = (p > _EMPTY).view(np.uint8)
        columns = np.flatnonzero(mask.any(axis=0))
        m = 3 * radius + 2
        # runs of columns with alpha, split where more than 2 * m columns have none
        cuts = np.flatnonzero(np.diff(columns) > 2 * m + 1) + 1
        boxes = []
        for run in np.split(columns, cuts) if columns.size else []:
            c0, c1 = int(run[0]), int(run[-1]) + 1
            _, y, _, h = cv2.boundingRect(mask[:, c0:c1])
            boxes.append((max(c0 - m, 0), max(y - m, 0), min(c1 + m, gw), min(y + h + m, gh)))
        area = sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes)
        return None if area > _whole_share(s) * gw * gh else boxes

    @staticmethod
    def _shrink(image: np.ndarray, short_side: int | None) -> np.ndarray:
        """Halve with INTER_AREA (fast and alias-free at exactly 2x) down to `short_side`."""
        if short_side is None:
            return image
        while min(image.shape[:2]) // 2 >= short_side:
            h, w = image.shape[:2]
            image = cv2.resize(image, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        return image

    def _buffer(self, name: str, *shape: int) -> np.ndarray:
        """A contiguous float32 scratch array of `shape`, carved from storage kept across
        frames (the crop changes size from frame to frame; storage only grows)."""
        size = int(np.prod(shape))
        storage = self._full.get(name)
        if storage is None or storage.size < size:
            storage = self._full[name] = np.empty(size, np.float32)
        return storage[:size].reshape(shape)


_ONES = np.ones((1, 3), np.float32)
_EMPTY = 1.0 / 512.0  # alpha at or below this is taken as 0 when cropping


def _whole_share(scale: int) -> float:
    """Above this share of the frame the boxes cost more than refining the whole frame, for a
    fit at 1/`scale` of the frame's size. Measured on the 720p doctor clip: at 640x360, boxes
    over 71% of the frame took 2.03 ms against 2.63 for the whole frame, over 85% 2.52 against
    2.72, over 90% 2.94 against 2.90; at 320x180 (radius 2), where the full-size step is most
    of the work, over 71% 1.10 against 1.12, over 79% 1.15 against 1.13."""
    return 0.85 if scale <= 2 else 0.7


def _window_mean(radius: int) -> Callable[[np.ndarray], np.ndarray]:
    """Mean over the (2r+1)^2 window; edges mirrored."""
    size = (2 * radius + 1, 2 * radius + 1)
    return lambda x: cv2.boxFilter(x, -1, size, borderType=cv2.BORDER_REFLECT_101)


def _gray_fit(
    i: np.ndarray, p: np.ndarray, box: Callable[[np.ndarray], np.ndarray], eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-window least squares p ~ a * i + b, a grey guide."""
    mean_i = box(i)
    mean_p = box(p)
    var_i = box(i * i) - mean_i * mean_i
    cov_ip = box(i * p) - mean_i * mean_p
    a = cov_ip / (var_i + np.float32(eps))
    return a, mean_p - a * mean_i


def _color_fit(
    i: np.ndarray, p: np.ndarray, box: Callable[[np.ndarray], np.ndarray], eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-window least squares p ~ a . i + b, a colour guide: a 3x3 solve per pixel written
    out with cofactors (numpy's batched solve is several times slower at this size)."""
    mean_i = box(i)
    mean_p = box(p)
    cov = box(i * p[..., None]) - mean_i * mean_p[..., None]
    e = np.float32(eps)
    m0, m1, m2 = mean_i[..., 0], mean_i[..., 1], mean_i[..., 2]
    i0, i1, i2 = i[..., 0], i[..., 1], i[..., 2]
    s00 = box(i0 * i0) - m0 * m0 + e
    s11 = box(i1 * i1) - m1 * m1 + e
    s22 = box(i2 * i2) - m2 * m2 + e
    s01 = box(i0 * i1) - m0 * m1
    s02 = box(i0 * i2) - m0 * m2
    s12 = box(i1 * i2) - m1 * m2
    # The inverse of the symmetric covariance, times its determinant.
    c00 = s11 * s22 - s12 * s12
    c01 = s02 * s12 - s01 * s22
    c02 = s01 * s12 - s02 * s11
    c11 = s00 * s22 - s02 * s02
    c12 = s01 * s02 - s00 * s12
    c22 = s00 * s11 - s01 * s01
    det = s00 * c00 + s01 * c01 + s02 * c02
    v0, v1, v2 = cov[..., 0], cov[..., 1], cov[..., 2]
    a = np.empty_like(mean_i)
    a[..., 0] = c00 * v0 + c01 * v1 + c02 * v2
    a[..., 1] = c01 * v0 + c11 * v1 + c12 * v2
    a[..., 2] = c02 * v0 + c12 * v1 + c22 * v2
    a /= det[..., None]
    b = mean_p - (a * mean_i).sum(axis=2)
    return a, b


def _check_inputs(image_bgr: np.ndarray, alpha: np.ndarray) -> None:
    if image_bgr.dtype != np.uint8 or image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
        raise RtsegError(
            f"refine needs a BGR uint8 H x W x 3 frame, got {image_bgr.dtype} {image_bgr.shape}"
        )
    if alpha.ndim != 2 or alpha.dtype != np.float32:
        raise RtsegError(
            f"refine needs a float32 H x W alpha, got {alpha.dtype} {alpha.shape}; "
            "squeeze the model output to 2-D"
        )


def alpha_at_frame_size(
    image_bgr: np.ndarray, alpha: np.ndarray, refiner: EdgeRefiner | None, zoomed: bool
) -> np.ndarray:
    """A model-size alpha brought to the frame's size: edge-refined (finely where `zoomed`,
    see `EdgeRefiner`), or plainly upscaled."""
    if refiner is not None:
        return refiner.refine(image_bgr, alpha, fine=zoomed)
    return upscale_alpha(alpha, *image_bgr.shape[:2])
