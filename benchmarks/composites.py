"""Frames with an exact ground truth: portraits cut out with their mattes and pasted, small,
into wide person-free backgrounds.

A portrait with its matte says what is person only for that photo, where the person fills the
frame. Pasting the person (matte as alpha) at a third to nine tenths of a 1280x720 frame's
height, left, centre or right, makes the case a webcam or a full-body shot gives, and the
pasted matte is the exact answer. Backgrounds come from the portraits themselves: the widest
band of each photo the matte says holds nobody, mirror-tiled to 16:9.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SIZE = (1280, 720)
# (height as a fraction of the frame, horizontal centre as a fraction of the width)
SINGLE = ((0.35, 0.2), (0.6, 0.5), (0.9, 0.75))
PAIR = ((0.5, 0.25), (0.4, 0.75))
PERSON = 8 / 255  # matte values above this count as person when cutting out


@dataclass(frozen=True)
class Portrait:
    """A photo (BGR) and its matte (float32 in [0, 1], same size)."""

    image: np.ndarray
    matte: np.ndarray


def _free_run(occupied: np.ndarray) -> tuple[int, int]:
    """The longest run of False in a 1-D mask, as [start, end)."""
    best, start = (0, 0), None
    for i, taken in enumerate([*occupied.tolist(), True]):
        if not taken and start is None:
            start = i
        elif taken and start is not None:
            best = max(best, (start, i), key=lambda r: r[1] - r[0])
            start = None
    return best


def background(portrait: Portrait, min_fraction: float = 0.1) -> np.ndarray | None:
    """The photo's widest person-free band (columns or rows), mirror-tiled to 16:9 and scaled
    to 1280x720; None when that band is under `min_fraction` of the photo."""
    occupied = portrait.matte > PERSON
    h, w = occupied.shape
    c0, c1 = _free_run(occupied.any(axis=0))
    r0, r1 = _free_run(occupied.any(axis=1))
    band = portrait.image[:, c0:c1] if (c1 - c0) * h >= (r1 - r0) * w else portrait.image[r0:r1]
    if band.size < min_fraction * portrait.image.size:
        return None
    need = round(band.shape[0] * SIZE[0] / SIZE[1])
    tiles = [band]
    while sum(t.shape[1] for t in tiles) < need:
        tiles.append(tiles[-1][:, ::-1])
    wide = np.hstack(tiles)[:, :need]
    return cv2.resize(wide, SIZE, interpolation=cv2.INTER_AREA)


def composite(
    ground: np.ndarray, people: list[tuple[Portrait, float, float]]
) -> tuple[np.ndarray, np.ndarray]:
    """`ground` with each (portrait, height fraction, centre x fraction) pasted in, and the
    exact alpha of the result. A person cut by the photo's bottom (or top) edge stands on the
    frame's bottom (or hangs from its top), so no cut edge floats in the picture."""
    frame = ground.astype(np.float32)
    truth = np.zeros(ground.shape[:2], np.float32)
    height, width = truth.shape
    for portrait, fraction, centre in people:
        ys, xs = np.nonzero(portrait.matte > PERSON)
        top, bottom = ys.min(), ys.max() + 1
        box = (slice(top, bottom), slice(xs.min(), xs.max() + 1))
        scale = fraction * height / (bottom - top)
        person = cv2.resize(
            portrait.image[box], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA
        )
        ph, pw = person.shape[:2]
        alpha = cv2.resize(portrait.matte[box], (pw, ph), interpolation=cv2.INTER_AREA)
        x0 = int(np.clip(centre * width - pw / 2, 0, width - pw))
        if bottom >= portrait.matte.shape[0] - 2:
            y0 = height - ph
        elif top <= 2:
            y0 = 0
        else:
            y0 = int((height - ph) * 0.6)
        region = frame[y0 : y0 + ph, x0 : x0 + pw]
        region[...] = person * alpha[..., None] + region * (1.0 - alpha[..., None])
        np.maximum(truth[y0 : y0 + ph, x0 : x0 + pw], alpha, out=truth[y0 : y0 + ph, x0 : x0 + pw])
    return np.clip(frame + 0.5, 0, 255).astype(np.uint8), truth


def make_sets(
    portraits: list[Portrait],
) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """The composite sets: "one person" (each portrait at three sizes and places) and "two
    people" (each portrait beside the next one), each on another portrait's background."""
    grounds = [g for g in (background(p) for p in portraits) if g is not None]
    if not grounds:
        return {}
    single, pair = [], []
    n = len(portraits)
    for i, portrait in enumerate(portraits):
        for j, (fraction, centre) in enumerate(SINGLE):
            single.append(
                composite(grounds[(i + j) % len(grounds)], [(portrait, fraction, centre)])
            )
        (f0, c0), (f1, c1) = PAIR
        others = [(portrait, f0, c0), (portraits[(i + 1) % n], f1, c1)]
        pair.append(composite(grounds[(i + 2) % len(grounds)], others))
    return {"one person": single, "two people": pair}


def background_for(portraits: list[Portrait]) -> np.ndarray:
    """The first usable background, or mid grey without portraits."""
    for portrait in portraits:
        ground = background(portrait)
        if ground is not None:
            return ground
    return np.full((SIZE[1], SIZE[0], 3), 128, np.uint8)


def inset(frame: np.ndarray, ground: np.ndarray, fraction: float, centre: float) -> np.ndarray:
    """`frame` scaled to `fraction` of `ground`'s height and put in it, standing on its bottom
    (a whole clip shown small, so the person in it is small)."""
    out = ground.copy()
    height, width = out.shape[:2]
    scale = fraction * height / frame.shape[0]
    small = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = small.shape[:2]
    x0 = int(np.clip(centre * width - w / 2, 0, width - w))
    out[height - h :, x0 : x0 + w] = small
    return out
