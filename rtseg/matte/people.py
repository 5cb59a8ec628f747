"""Only the main person: everyone else in the mask goes to the background (`--people main`).

Every segmenter keeps every person it sees: a colleague walking behind you, someone on the
sofa. The people are already in the mask: its blobs, the ones the zoom's tracker follows
(`rtseg.matte.roi`). The main one is chosen among them and followed from frame to frame;
everything that is not near them is cleared from the mask. No model runs for it.

The rule:
- people are the blobs of the mask at or above one half, blobs closer than `JOIN` of the
  frame's diagonal counting as one person (a hand held apart from the body stays theirs),
  people smaller than 0.2% of the frame left out as noise. Two people who touch in the
  mask are one blob: they are kept or cleared together;
- the main person is the one with the highest score, their share of the frame times
  `1 - 0.6 d`, `d` the distance of their box's centre from the frame's centre over half the
  diagonal: the largest and most central;
- once chosen they are followed: each frame, the person whose box overlaps theirs most is
  them. Someone else takes over only when they score twice as high for `SWITCH_S` seconds
  on end (the main person steps back, another sits down in front);
- when the main person is not found (they left the frame), nobody is shown; after `LOST_S`
  seconds without them the best-scoring person is the main one from then on, and a main
  person who comes back within that time is found again where they were.

The mask keeps the main person and a band `KEEP` of the frame's diagonal around them, where
soft edges and hair below one half lie; it fades out over a third of its width either side
of its edge.
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
JOIN = 0.03  # blobs this close (share of the diagonal) are one person
KEEP = 0.04  # the band kept around the main person (share of the diagonal)
_MIN_SHARE = 2e-3  # smaller blobs are noise
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


def find_people(alpha: np.ndarray) -> tuple[list[Person], np.ndarray, int]:
    """The people in `alpha` (any size, float32 in [0, 1]); a label map (int32, 0 the
    background) in which the blobs of the mask, grown by half of `JOIN`, bear the index + 1
    of the person they make up; and that growth in pixels."""
    mask = (alpha >= 0.5).astype(np.uint8)
    join = max(1, round(JOIN * float(np.hypot(*alpha.shape)) / 2))
    blobs, blob_labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    count, labels = cv2.connectedComponents(grow_alpha(mask, join), connectivity=8)
    inside = mask > 0
    group_of = np.zeros(blobs, np.int32)
    group_of[blob_labels[inside]] = labels[inside]  # every pixel of a blob is in one group
    boxes: dict[int, Box] = {}
    areas = np.zeros(count)
    for blob in range(1, blobs):
        group, stat = int(group_of[blob]), stats[blob]
        x, y, w, h = (float(v) for v in stat[:4])
        box = Box(x, y, x + w, y + h)
        boxes[group] = boxes[group].union(box) if group in boxes else box
        areas[group] += stat[cv2.CC_STAT_AREA]
    people_of = np.zeros(count, np.int32)
    people = []
    for group, box in sorted(boxes.items()):
        if areas[group] >= _MIN_SHARE * alpha.size:
            people.append(Person(box, float(areas[group]) / alpha.size))
            people_of[group] = len(people)
    return people, people_of[labels], join


def _overlap(a: Box, b: Box) -> float:
    """Intersection over the smaller box's area."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    if w <= 0 or h <= 0:
        return 0.0
    return w * h / max(1e-9, min(a.width * a.height, b.width * b.height))


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
            overlaps = [_overlap(mine, p.box) for p in people]
            if overlaps and max(overlaps) > 0.3:
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
        alpha's pixels (None when not found: then the mask is empty)."""
        height, width = alpha.shape
        people, labels, join = find_people(alpha)
        found = self.choose(people, width, height, time_s)
        if found is None:
            return np.zeros_like(alpha), None
        diagonal = float(np.hypot(width, height))
        band = max(1, round(KEEP * diagonal))
        fade = max(1, band // 3)
        region = (labels == found + 1).astype(np.float32)
        region = feather_alpha(grow_alpha(region, max(0, band - join)), fade)
        return alpha * region, people[found].box
