"""Where the person is: the crop a zoomed model pass looks at, and when to look at the whole
frame again.

The model sees the whole frame squeezed to its 256x256 input, so a person who fills a third of
a 720p frame is segmented from about 85x85 pixels of evidence. A second pass on a crop around
the person (grown by a margin, with the model's own aspect ratio, kept inside the frame) gives
the model several times more pixels of them. On video the crop comes from the previous
frames' masks, so most frames need only the crop pass; the whole frame is looked at again
when the person nears the crop's edge, when the mask's area jumps, on a scene cut and every
`full_every` frames, so nobody who walks in is missed.

The crop holds still while the person stays well inside it (hysteresis): a crop that moved a
pixel on every frame would resample the person differently each time, which shows as flicker.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from rtseg.errors import RtsegError


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in pixels; x1 and y1 are exclusive."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def scaled(self, sx: float, sy: float) -> Box:
        return Box(self.x0 * sx, self.y0 * sy, self.x1 * sx, self.y1 * sy)

    def union(self, other: Box) -> Box:
        return Box(
            min(self.x0, other.x0),
            min(self.y0, other.y0),
            max(self.x1, other.x1),
            max(self.y1, other.y1),
        )

    def contains(self, other: Box) -> bool:
        return (
            self.x0 <= other.x0
            and self.y0 <= other.y0
            and self.x1 >= other.x1
            and self.y1 >= other.y1
        )

    def overlaps(self, other: Box) -> bool:
        return (
            self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1
        )

    def iou(self, other: Box) -> float:
        """Intersection over union: 0 for boxes apart, 1 for the same box."""
        w = min(self.x1, other.x1) - max(self.x0, other.x0)
        h = min(self.y1, other.y1) - max(self.y0, other.y0)
        if w <= 0 or h <= 0:
            return 0.0
        inter = w * h
        return inter / (self.width * self.height + other.width * other.height - inter)

    def grown(self, fraction: float) -> Box:
        """Grown by `fraction` of its longer side on every side."""
        pad = fraction * max(self.width, self.height)
        return Box(self.x0 - pad, self.y0 - pad, self.x1 + pad, self.y1 + pad)

    def blend(self, other: Box, weight: float) -> Box:
        """`weight` of the way from this box to `other`, corner by corner."""
        keep = 1.0 - weight
        return Box(
            keep * self.x0 + weight * other.x0,
            keep * self.y0 + weight * other.y0,
            keep * self.x1 + weight * other.x1,
            keep * self.y1 + weight * other.y1,
        )

    def pixels(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) rounded to whole pixels."""
        return round(self.x0), round(self.y0), round(self.x1), round(self.y1)


def person_boxes(
    alpha: np.ndarray, threshold: float = 0.5, min_fraction: float = 2e-3
) -> list[Box]:
    """Bounding boxes of the blobs where `alpha` >= `threshold`, in alpha's pixels, largest
    first; blobs smaller than `min_fraction` of the image are noise and left out. (Outer
    contours: as exact as connected components here, and 10x faster on this OpenCV.)"""
    mask = (alpha >= threshold).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    least = min_fraction * alpha.size
    rects = [cv2.boundingRect(c) for c in contours if cv2.contourArea(c) >= least]
    rects.sort(key=lambda r: -r[2] * r[3])
    return [Box(float(x), float(y), float(x + w), float(y + h)) for x, y, w, h in rects]


def group_boxes(boxes: list[Box], margin: float, together: bool) -> list[Box]:
    """The boxes crops are made for: one holding them all (`together`), or one per group of
    boxes whose margins touch (a hand apart from its body stays with it)."""
    if not boxes:
        return []
    if together:
        whole = boxes[0]
        for box in boxes[1:]:
            whole = whole.union(box)
        return [whole]
    groups = list(boxes)
    merged = True
    while merged:
        merged = False
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                if groups[i].grown(margin).overlaps(groups[j].grown(margin)):
                    groups[i] = groups[i].union(groups.pop(j))
                    merged = True
                    break
            if merged:
                break
    return sorted(groups, key=lambda b: b.x0)


def match_boxes(old: list[Box], new: list[Box]) -> list[int | None]:
    """For each box of `new`, the index of the box of `old` it continues, or None: pairs
    that overlap most are matched first, each old box once. The order of the lists says
    nothing (groups are sorted left to right, and people who pass each other swap places)."""
    pairs = sorted(
        ((o.iou(n), j, i) for i, o in enumerate(old) for j, n in enumerate(new)), reverse=True
    )
    found: list[int | None] = [None] * len(new)
    taken: set[int] = set()
    for overlap, j, i in pairs:
        if overlap <= 0.0:
            break
        if found[j] is None and i not in taken:
            found[j] = i
            taken.add(i)
    return found


def crop_around(
    box: Box,
    frame_width: int,
    frame_height: int,
    aspect: float | None,
    margin: float,
    min_side: int,
) -> Box | None:
    """The crop for `box`: its longer side grown by `margin` on each side, with the model's
    aspect ratio (width / height), at least `min_side` pixels high, moved inside the frame and
    shrunk to fit it; `aspect` None (a network of any input size): the box's own shape, each
    side grown by `margin` of its longer side, each side cut to the frame's. None when no
    crop smaller than the frame holds the box with at least half its margin on every side
    that is not the frame's border: the whole frame is then the best view the model gets."""
    if aspect is None:
        pad = 2.0 * margin * max(box.width, box.height)
        scale = max(1.0, min_side / (box.height + pad))
        width = round(min((box.width + pad) * scale, frame_width))
        height = round(min((box.height + pad) * scale, frame_height))
    else:
        width = max(box.width, box.height * aspect) * (1.0 + 2.0 * margin)
        width = max(width, min_side * aspect)
        height = width / aspect
        fit = min(1.0, frame_width / width, frame_height / height)
        width, height = round(width * fit), round(height * fit)
    if width >= 0.9 * frame_width and height >= 0.9 * frame_height:
        return None
    cx, cy = (box.x0 + box.x1) / 2.0, (box.y0 + box.y1) / 2.0
    x0 = float(round(min(max(cx - width / 2.0, 0.0), frame_width - width)))
    y0 = float(round(min(max(cy - height / 2.0, 0.0), frame_height - height)))
    crop = Box(x0, y0, x0 + width, y0 + height)
    need = 0.5 * margin * max(box.width, box.height)
    gaps = (
        (crop.x0 > 0, box.x0 - crop.x0),
        (crop.x1 < frame_width, crop.x1 - box.x1),
        (crop.y0 > 0, box.y0 - crop.y0),
        (crop.y1 < frame_height, crop.y1 - box.y1),
    )
    if any(inner and gap < need for inner, gap in gaps):
        return None
    return crop


@dataclass(frozen=True)
class RoiSettings:
    """How the crop is made and followed.

    margin: added on each side of the person's box, as a fraction of its longer side.
    together: one crop holding everybody (True) or one crop per person (False, better on the
        quality benchmark's two-people composites: each person is seen larger).
    full_every: a whole-frame pass at least this often, in frames.
    edge: a person within this fraction of the crop's side from an inner edge of the crop
        (one not on the frame's border) triggers a whole-frame pass.
    area_jump: a relative change of the mask's area larger than this triggers one.
    cut: a mean grey-level change (0..255) of the whole frame above this is a scene cut.
    follow: weight of the newest box in the smoothed box the crop is made from (1: no smoothing).
    slack: the crop is kept while the smoothed box, grown by this fraction, stays inside it
        and the crop is no more than `1 + 2 * slack` times as wide as a fresh one.
    min_side: the smallest crop, in frame pixels (the model's input then upsamples).
    """

    margin: float = 0.3
    together: bool = False
    full_every: int = 30
    edge: float = 0.04
    area_jump: float = 0.3
    cut: float = 30.0
    follow: float = 0.5
    slack: float = 0.1
    min_side: int = 96

    def __post_init__(self) -> None:
        if self.margin < 0 or self.slack < 0 or not 0 < self.follow <= 1:
            raise RtsegError("ROI margin and slack must be >= 0 and follow in (0, 1]")
        if self.full_every < 1 or self.min_side < 8:
            raise RtsegError("ROI full_every must be >= 1 and min_side >= 8")


class RoiTracker:
    """The crops to run the model on, frame after frame, and whether the whole frame is due.

    All boxes are in frame pixels. Call `needs_full` before a frame, `retarget` with the mask
    of a whole-frame pass, and `follow` with each frame's final mask. Each crop follows one
    person (or group), named by `ids[i]` for as long as it is tracked: a recurrent model
    keeps a crop's state under its id, so two people who pass each other keep their own.
    """

    def __init__(
        self, frame_width: int, frame_height: int, aspect: float | None, settings: RoiSettings
    ):
        self.width, self.height = frame_width, frame_height
        self.aspect = aspect
        self.settings = settings
        self.crops: list[Box] = []
        self.ids: list[int] = []  # the person each crop follows
        self._next_id = 0
        self.full_passes = 0
        self._boxes: list[Box] = []  # the smoothed person boxes the crops were made from
        self._since_full = 0
        self._due = True
        self._area: float | None = None
        self._thumb: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the person: the next frame gets a whole-frame pass."""
        self.crops, self._boxes, self._due, self._area, self._thumb = [], [], True, None, None
        self.ids = []

    def needs_full(self, thumb: np.ndarray) -> bool:
        """Whether this frame needs a whole-frame pass; `thumb` is a small grey image of it
        (the same size every frame), compared with the last one to find scene cuts."""
        cut = self._thumb is not None and float(cv2.absdiff(thumb, self._thumb).mean()) > (
            self.settings.cut
        )
        self._thumb = thumb
        self._since_full += 1
        return cut or self._due or not self.crops or self._since_full >= self.settings.full_every

    def retarget(self, alpha: np.ndarray) -> None:
        """New crops from a whole-frame mask (any size: it is scaled to the frame)."""
        self.full_passes += 1
        self._since_full = 0
        self._due = False
        self._area = None
        sx, sy = self.width / alpha.shape[1], self.height / alpha.shape[0]
        boxes = [b.scaled(sx, sy) for b in person_boxes(alpha)]
        groups = group_boxes(boxes, self.settings.margin, self.settings.together)
        ids = []
        for found in match_boxes(self._boxes, groups):
            if found is None:
                found_id, self._next_id = self._next_id, self._next_id + 1
            else:
                found_id = self.ids[found]
            ids.append(found_id)
        self._set_boxes(groups, ids)

    def follow(self, alpha: np.ndarray) -> None:
        """Move the crops after this frame's mask (any size, scaled to the frame), and decide
        whether the next frame needs a whole-frame pass."""
        if not self.crops:  # nothing to move, and the next frame is a whole-frame pass anyway
            return
        sx, sy = self.width / alpha.shape[1], self.height / alpha.shape[0]
        area = float(np.count_nonzero(alpha >= 0.5)) * sx * sy
        if self._area is not None and abs(area - self._area) > self.settings.area_jump * max(
            self._area, 1.0
        ):
            self._due = True
        self._area = area
        if any(self._near_inner_edge(alpha, crop, sx, sy) for crop in self.crops):
            self._due = True
        boxes = [b.scaled(sx, sy) for b in person_boxes(alpha)]
        groups = group_boxes(boxes, self.settings.margin, self.settings.together)
        found = match_boxes(self._boxes, groups)
        if len(groups) != len(self._boxes) or None in found:
            self._due = True
            return
        w = self.settings.follow
        boxes = [self._boxes[i].blend(new, w) for i, new in zip(found, groups, strict=True)]
        self._set_boxes(boxes, [self.ids[i] for i in found])

    def _set_boxes(self, boxes: list[Box], ids: list[int]) -> None:
        """Keep each person's crop while their box sits comfortably inside it, else make a
        new one."""
        s = self.settings
        crops: list[Box] = []
        old_crops = dict(zip(self.ids, self.crops, strict=True))
        for box, ident in zip(boxes, ids, strict=True):
            old = old_crops.get(ident)
            fresh = crop_around(box, self.width, self.height, self.aspect, s.margin, s.min_side)
            if fresh is None:  # somebody too big to zoom on: the whole frame every time
                self.crops, self._boxes, self.ids = [], [], []
                return
            roomy = box.grown(s.slack)  # clipped: the frame's border is no reason to move
            roomy = Box(max(roomy.x0, 0), max(roomy.y0, 0), min(roomy.x1, self.width),
                        min(roomy.y1, self.height))  # fmt: skip
            inside = old is not None and old.contains(roomy)
            snug = old is not None and old.width <= fresh.width * (1.0 + s.slack * 2.0)
            crops.append(old if inside and snug else fresh)
        self.crops, self._boxes, self.ids = crops, boxes, ids

    def _near_inner_edge(self, alpha: np.ndarray, crop: Box, sx: float, sy: float) -> bool:
        """Whether the mask reaches into the band along an edge of `crop` that is not the
        frame's border (a person leaving the crop there would be cut off)."""
        x0, y0, x1, y1 = crop.scaled(1 / sx, 1 / sy).pixels()
        h, w = alpha.shape
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        band = max(1, round(self.settings.edge * min(x1 - x0, y1 - y0)))
        inside = alpha[y0:y1, x0:x1] >= 0.5
        edges = (
            (x0 > 0, inside[:, :band]),
            (x1 < w, inside[:, -band:]),
            (y0 > 0, inside[:band, :]),
            (y1 < h, inside[-band:, :]),
        )
        return any(inner and strip.any() for inner, strip in edges)
