"""Only the main person: everyone else in the mask goes to the background (`--people main`).

Every segmenter keeps every person it sees: a colleague walking behind you, someone on the
sofa. The people are already in the mask: its blobs, the ones the zoom's tracker follows
(`rtseg.matte.roi`). The main one is chosen among them and followed from frame to frame;
everything that is not near them is cleared from the mask. No model runs for it.

The rule:
- people are the cores of the mask at or above one half: its points deeper inside it than
  `CORE` of the frame's diagonal and than `SPLIT` of their blob's deepest point, so thin
  bridges between two people (a desk edge the model half-keeps, an arm reaching over)
  break, while a small person far away keeps a core of their own. Cores smaller than 0.2%
  of the frame are noise. Every pixel belongs to the person whose core is nearest: two
  people joined by a bridge are cut where they meet. A blob of the mask without a core is
  nobody's unless it lies within `JOIN` of the diagonal of one that has one (a hand held
  apart from the body). Cores of one blob one above the other are one person (a head
  above its shoulders, whatever the neck); two people whose bodies overlap widely make one
  core, or stand one above the other: they are kept or cleared together;
- the main person is the one with the highest score, their share of the frame times
  `1 - 0.6 d`, `d` the distance of their box's centre from the frame's centre over half the
  diagonal: the largest and most central;
- once chosen they are followed: each frame, the person whose box overlaps their last one
  most (intersection over union, at least `MATCH`) is them. Someone else takes over only
  when they score twice as high for `SWITCH_S` seconds on end (the main person steps back,
  another sits down in front);
- when the main person is not found (they left the frame), nobody is shown; after `LOST_S`
  seconds without them the best-scoring person is the main one from then on, and a main
  person who comes back within that time is found again where they were.

The mask keeps the main person's part, and a band `KEEP` of the frame's diagonal around it
where soft edges and hair below one half lie, within their share of the frame; the cut is
softened over a third of that band.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from rtseg.errors import RtsegError
from rtseg.matte.roi import Box
from rtseg.matte.tuning import feather_alpha, grow_alpha

PEOPLE = ("all", "main")
LOST_S = 1.0  # seconds without the main person before the next one is chosen
SWITCH_S = 2.0  # seconds someone must outscore the main person twice over to take over
CORE = 0.015  # a core lies at least this share of the diagonal inside the mask
SPLIT = 0.35  # and at least this share of its blob's deepest point's depth
MATCH = 0.2  # the box overlapping the main person's last one by this much (IoU) is them
JOIN = 0.03  # a blob without a core this close (share of the diagonal) to a person is theirs
KEEP = 0.04  # the band kept around the main person (share of the diagonal)
_MIN_SHARE = 2e-3  # smaller blobs are noise
WORK_LONG = 320  # people are found on the mask brought down to this longer side
_OUTSCORE = 2.0


def check_people(people: str) -> str:
    """`people` if it is "all" or "main".

    Raises:
        RtsegError: anything else.
    """
    if people not in PEOPLE:
        raise RtsegError(f"unknown people {people!r}; choose one of {', '.join(PEOPLE)}")
    return people


@dataclass(frozen=True)
class Person:
    """One person found in a mask: their box in mask pixels, their share of the frame."""

    box: Box
    share: float

    def score(self, width: int, height: int) -> float:
        """Share of the frame times centrality (see the module's docstring)."""
        cx, cy = (self.box.x0 + self.box.x1) / 2, (self.box.y0 + self.box.y1) / 2
        d = np.hypot(cx - width / 2, cy - height / 2) / (np.hypot(width, height) / 2)
        return self.share * (1.0 - 0.6 * min(1.0, float(d)))


def find_people(alpha: np.ndarray) -> tuple[list[Person], np.ndarray, np.ndarray]:
    """The people in `alpha` (any size, float32 in [0, 1]); a map (int32) giving each pixel
    the index + 1 of the person whose core is nearest (0 where there is nobody); and the
    mask's pixels that someone's core anchors (a blob without a core is nobody's)."""
    mask = (alpha >= 0.5).astype(np.uint8)
    least = _MIN_SHARE * alpha.size
    blobs, blob_labels, blob_stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    depth = cv2.distanceTransform(mask, cv2.DIST_L2, 3)  # how far inside the mask
    deepest = np.zeros(blobs, np.float32)
    for blob in range(1, blobs):
        x, y, w, h, area = blob_stats[blob]
        if area >= least:
            inside = blob_labels[y : y + h, x : x + w] == blob
            deepest[blob] = depth[y : y + h, x : x + w][inside].max()
    # a core: deeper than CORE of the diagonal and than SPLIT of its blob's deepest point
    floor = CORE * float(np.hypot(*alpha.shape))
    cores = (depth >= np.maximum(floor, SPLIT * deepest[blob_labels])) & (deepest[blob_labels] > 0)
    count, core_labels, stats, _ = cv2.connectedComponentsWithStats(
        cores.astype(np.uint8), connectivity=8
    )
    seeds = [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] >= least]
    if not seeds:
        return [], np.zeros(alpha.shape, np.int32), np.zeros(alpha.shape, bool)
    person_of = np.zeros(count, np.int32)
    for seed, person in zip(seeds, _stacked(seeds, stats, blob_labels, core_labels), strict=True):
        person_of[seed] = person
    seeded = person_of[core_labels]
    total = int(person_of.max())
    has_core = np.zeros(blobs, bool)
    has_core[blob_labels[seeded > 0]] = True
    # a blob without a core within JOIN of one that has one is its person's (a hand)
    join = max(1, round(JOIN * float(np.hypot(*alpha.shape))))
    near = grow_alpha(has_core[blob_labels].astype(np.uint8), join) > 0
    has_core[blob_labels[near & (mask > 0)]] = True
    anchored = has_core[blob_labels] & (mask > 0)
    # Every pixel goes to the nearest core (the cores are the zeros of the distance transform;
    # each connected set of zeros gets a label of its own, mapped back to its person).
    _, nearest = cv2.distanceTransformWithLabels(
        (seeded == 0).astype(np.uint8), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_CCOMP
    )
    owner = np.zeros(int(nearest.max()) + 1, np.int32)
    owner[nearest[seeded > 0]] = seeded[seeded > 0]
    cells = owner[nearest]
    people = []
    for index in range(1, total + 1):
        own = ((cells == index) & anchored).astype(np.uint8)
        x, y, w, h = (float(v) for v in cv2.boundingRect(own))
        people.append(Person(Box(x, y, x + w, y + h), float(np.count_nonzero(own)) / alpha.size))
    return people, cells, anchored


def _stacked(
    seeds: list[int], stats: np.ndarray, blob_labels: np.ndarray, core_labels: np.ndarray
) -> list[int]:
    """The person (1, 2...) each core belongs to: cores of one blob of the mask, one above
    the other (their widths overlapping by more than half the narrower's), are one person, a
    head above its shoulders whatever the neck; cores side by side are two."""
    blob_of = {seed: int(blob_labels[core_labels == seed][0]) for seed in seeds}
    person = {seed: seed for seed in seeds}

    def root(seed: int) -> int:
        while person[seed] != seed:
            seed = person[seed]
        return seed

    for i, a in enumerate(seeds):
        for b in seeds[i + 1 :]:
            xa, wa, xb, wb = stats[a, 0], stats[a, 2], stats[b, 0], stats[b, 2]
            shared = min(xa + wa, xb + wb) - max(xa, xb)
            if blob_of[a] == blob_of[b] and shared > 0.5 * min(wa, wb):
                person[root(b)] = root(a)
    roots = sorted({root(seed) for seed in seeds})
    return [roots.index(root(seed)) + 1 for seed in seeds]


def _iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / max(1e-9, a.width * a.height + b.width * b.height - inter)


class MainPerson:
    """Chooses and follows the main person of one stream (see the module's docstring).

    Boxes are kept as shares of the mask's width and height, so the mask may change size
    (the zoom's canvas against the model's input) without losing the person.
    """

    def __init__(self, lost_s: float = LOST_S, switch_s: float = SWITCH_S) -> None:
        self.lost_s = lost_s
        self.switch_s = switch_s
        self.reset()

    def reset(self) -> None:
        """A new stream: the next frame chooses afresh."""
        self.box: Box | None = None  # the main person's, as shares of the mask's size
        self._seen: float = 0.0  # when they were last found
        self._challenged: float | None = None  # since when someone outscores them

    def choose(self, people: list[Person], width: int, height: int, time_s: float) -> int | None:
        """The index of the main person among `people` at `time_s`, or None (not found)."""
        scores = [p.score(width, height) for p in people]
        found = None
        if self.box is not None:
            mine = self.box.scaled(width, height)
            overlaps = [_iou(mine, p.box) for p in people]
            if overlaps and max(overlaps) > MATCH:
                found = int(np.argmax(overlaps))
        if found is None and (self.box is None or time_s - self._seen > self.lost_s):
            found = int(np.argmax(scores)) if people else None
            self._challenged = None
        elif found is not None:
            best = int(np.argmax(scores))
            if best != found and scores[best] > _OUTSCORE * scores[found]:
                self._challenged = time_s if self._challenged is None else self._challenged
                if time_s - self._challenged >= self.switch_s:
                    found, self._challenged = best, None
            else:
                self._challenged = None
        if found is not None:
            self.box = people[found].box.scaled(1 / width, 1 / height)
            self._seen = time_s
        return found

    def keep(self, alpha: np.ndarray, time_s: float) -> tuple[np.ndarray, Box | None]:
        """`alpha` with everyone but the main person cleared, and the main person's box in
        alpha's pixels (None when not found: then the mask is empty). People are found on
        alpha brought down to `WORK_LONG` pixels on its longer side (the zoom's canvas is
        640x360: a quarter of the work), and what is kept is scaled back up."""
        height, width = alpha.shape
        scale = min(1.0, WORK_LONG / max(height, width))
        small = alpha
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
        people, cells, anchored = find_people(small)
        found = self.choose(people, small.shape[1], small.shape[0], time_s)
        if found is None:
            return np.zeros_like(alpha), None
        band = max(1, round(KEEP * float(np.hypot(*small.shape))))
        mine = (cells == found + 1).astype(np.float32)
        # theirs: their cell, within the band around their part of the mask
        region = feather_alpha(np.minimum(mine, grow_alpha(mine * anchored, band)), band // 3)
        if scale < 1.0:
            region = cv2.resize(region, (width, height), interpolation=cv2.INTER_LINEAR)
        return alpha * region, people[found].box.scaled(width / small.shape[1],
                                                         height / small.shape[0])  # fmt: skip
