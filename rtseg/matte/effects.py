"""What to do with the mask: blur or replace the background, a colour screen, views of alpha.

Effects take their settings in `__init__`, then `apply(image, alpha)` is pure: BGR uint8 frame
plus alpha at frame size (float32 in [0, 1], or uint8 in 0..255 as the pipeline passes it)
in, the output image out. All blends are soft, never a hard
threshold.

Where the model gives foreground colours (a matting model such as RVM), the effects that put
the person over something else (blur, replace, color, alpha) take them as `foreground`: the
person's colours without the old background mixed into hair and edges. Every alpha output
rtseg writes (PNG, VP9 in .webm, ProRes 4444 in .mov) holds straight, not premultiplied,
alpha, so the colour channels are those foreground colours as they are.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from rtseg.errors import RtsegError
from rtseg.matte.compose import blend, blur_background
from rtseg.models.registry import RVM_HINT


class Effect(Protocol):
    """What every effect is: a `name` (its command-line spelling) and a pure `apply`.

    Any object with these two is an effect, a user's own included. What more an effect needs
    of a frame is said by its type, and `draw` calls it accordingly:
    - `TakesForeground`: an effect that puts the person over something else takes a matting
      model's foreground colours, where the model has them, as `apply(..., foreground=)`;
    - `NeedsForeground`: one that shows those colours themselves, refused for other models;
    - `NeedsLabels`: one drawn from the frame's class labels (`paint`), not from its alpha,
      refused for models without labels before the first frame;
    - `GivesAlpha`: one whose output is BGRA, refused for files that cannot hold alpha.
    """

    name: str

    def apply(self, image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """The output for one frame: BGR uint8 `image` and its `alpha` at the same size."""
        ...


class TakesForeground(ABC):
    """An effect that puts the person over something else: drawn with a matting model's
    foreground colours (the person without the old background mixed into hair and edges)
    where the model gives them, with the frame's own colours otherwise."""

    name: str

    @abstractmethod
    def apply(
        self, image: np.ndarray, alpha: np.ndarray, foreground: np.ndarray | None = None
    ) -> np.ndarray:
        """The output for one frame (see `Effect.apply`); `foreground` (BGR uint8, as
        `image`) is the person's own colours, drawn instead of the frame's."""


class NeedsForeground(TakesForeground):
    """An effect that shows the foreground colours themselves: only a matting model has
    them, so a job refuses it for any other model."""


class GivesAlpha:
    """An effect whose output is BGRA, the person's alpha in a fourth channel: a job refuses
    it up front for a file that cannot hold alpha (`.mp4`, `.mkv`)."""


class NeedsLabels(ABC):
    """An effect drawn from the frame's class labels rather than its alpha: only models
    with a `labels` output have them, so a job refuses it for any other model, and hands it
    the model's `class_names`."""

    name: str
    class_names: tuple[str, ...] = ()

    @abstractmethod
    def paint(self, image: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """`image` drawn from its `labels` (class ids, at any size)."""

    def apply(self, image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """Refused: alpha holds no classes (`draw` paints the frame's labels)."""
        raise RtsegError(f"the {self.name} effect needs a model with a 'labels' output")


class FrameLike(Protocol):
    """What `draw` reads of a pipeline frame."""

    image: np.ndarray
    alpha: np.ndarray | None
    labels: np.ndarray | None
    fgr: np.ndarray | None


def draw(effect: Effect, frame: FrameLike) -> np.ndarray:
    """`frame`'s output under `effect`, called as the effect's type says (see `Effect`). A
    frame inferred just before a switch to a labelled model has no labels yet, and is shown
    as it is."""
    if isinstance(effect, NeedsLabels):
        return frame.image if frame.labels is None else effect.paint(frame.image, frame.labels)
    assert frame.alpha is not None, "draw() needs the frame's alpha"
    return apply_effect(effect, frame.image, frame.alpha, frame.fgr)


def _bare_repr(effect: object) -> str:
    """The repr of an effect without settings: how to make it, `MaskView()`."""
    return f"{type(effect).__name__}()"


class Blur(TakesForeground):
    """Background blur that keeps the person's colours out of the blurred background.

    See `rtseg.matte.compose.blur_background`: a plain blur smears the person into a halo.
    """

    name = "blur"

    def __init__(self, strength: int = 21) -> None:
        if strength < 1:
            raise RtsegError(f"blur strength must be >= 1, got {strength}")
        self.strength = strength

    def __repr__(self) -> str:
        return f"Blur({self.strength})"

    def apply(
        self, image: np.ndarray, alpha: np.ndarray, foreground: np.ndarray | None = None
    ) -> np.ndarray:
        """The output for one frame (see `Effect.apply`); `foreground` (BGR uint8, as
        `image`) is drawn over the blurred background instead of the frame itself."""
        return blur_background(image, alpha, self.strength, foreground)


class Replace(TakesForeground):
    """The background replaced by an image, or by a video that loops.

    A video background holds a capture open while frames are drawn from it; `close()` (the
    job calls it at the end of a run) releases it, and a later `apply` opens it again.
    """

    name = "replace"

    def __repr__(self) -> str:
        return f"Replace({self.path!r})"

    def __init__(self, path: str | Path) -> None:
        self.path = path = str(path)
        self._still: np.ndarray | None = None
        self._sized: np.ndarray | None = None  # the still at the last frame's size
        self._video: cv2.VideoCapture | None = None
        if not Path(path).is_file():
            raise RtsegError(f"background not found: {path}")
        still = cv2.imread(path, cv2.IMREAD_COLOR)
        if still is not None:
            self._still = still
            return
        self._video = self._open_video()

    def _open_video(self) -> cv2.VideoCapture:
        video = cv2.VideoCapture(self.path)
        if not video.isOpened():
            video.release()
            raise RtsegError(f"cannot read background {self.path} as an image or a video")
        return video

    def _next_background(self) -> np.ndarray:
        if self._still is not None:
            return self._still
        if self._video is None:  # closed after an earlier run
            self._video = self._open_video()
        ok, image = self._video.read()
        if not ok:
            self._video.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = self._video.read()
            if not ok:
                raise RtsegError(f"background video {self.path} has no frames")
        return image

    def close(self) -> None:
        """Release a video background's capture."""
        if self._video is not None:
            self._video.release()
            self._video = None

    def apply(
        self, image: np.ndarray, alpha: np.ndarray, foreground: np.ndarray | None = None
    ) -> np.ndarray:
        """The output for one frame (see `Effect.apply`); `foreground` (BGR uint8, as
        `image`) is drawn over the new background instead of the frame itself."""
        h, w = image.shape[:2]
        sized = self._sized
        if self._still is not None and sized is not None and sized.shape[:2] == (h, w):
            bg = sized  # a still is resized once per frame size, not every frame
        else:
            bg = self._next_background()  # always from the original, never a resized copy
            if bg.shape[:2] != (h, w):
                bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_AREA)
            self._sized = bg if self._still is not None else None
        return blend(image if foreground is None else foreground, bg, alpha)


class Color(TakesForeground):
    """A solid background colour, e.g. a green screen for a keyer downstream."""

    name = "color"

    def __repr__(self) -> str:
        b, g, r = self.bgr
        return f"Color('#{r:02x}{g:02x}{b:02x}')"

    def __init__(self, hex_rgb: str) -> None:
        text = hex_rgb.lstrip("#")
        if len(text) != 6 or any(c not in "0123456789abcdefABCDEF" for c in text):
            raise RtsegError(f"colour must look like #RRGGBB, got {hex_rgb!r}")
        r, g, b = (int(text[i : i + 2], 16) for i in (0, 2, 4))
        self.bgr = (b, g, r)
        self._bg: np.ndarray | None = None

    def apply(
        self, image: np.ndarray, alpha: np.ndarray, foreground: np.ndarray | None = None
    ) -> np.ndarray:
        """The output for one frame (see `Effect.apply`); `foreground` (BGR uint8, as
        `image`) is drawn over the colour instead of the frame itself."""
        if self._bg is None or self._bg.shape != image.shape:
            self._bg = np.empty_like(image)
            self._bg[:] = self.bgr
        return blend(image if foreground is None else foreground, self._bg, alpha)


class MaskView:
    """The alpha itself, as a grey image."""

    name = "mask"
    __repr__ = _bare_repr

    def apply(self, image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """The output for one frame (see `Effect.apply`)."""
        return cv2.cvtColor(alpha_u8(alpha), cv2.COLOR_GRAY2BGR)


class AlphaOut(TakesForeground, GivesAlpha):
    """BGRA output with the person's alpha, for PNG sequences and alpha-capable video."""

    name = "alpha"
    __repr__ = _bare_repr

    def apply(
        self, image: np.ndarray, alpha: np.ndarray, foreground: np.ndarray | None = None
    ) -> np.ndarray:
        """The output for one frame (see `Effect.apply`): straight alpha over `foreground`'s
        colours (BGR uint8, as `image`) where the model gives them, else the frame's."""
        bgra = cv2.cvtColor(image if foreground is None else foreground, cv2.COLOR_BGR2BGRA)
        bgra[..., 3] = alpha_u8(alpha)
        return bgra


class Foreground(NeedsForeground):
    """The person's own colours as a matting model gives them (RVM's foreground output), for
    compositing elsewhere with an `alpha` output of the same run. Only models with foreground
    colours have it; the job refuses it for the others."""

    name = "foreground"
    __repr__ = _bare_repr

    def apply(
        self, image: np.ndarray, alpha: np.ndarray, foreground: np.ndarray | None = None
    ) -> np.ndarray:
        """The output for one frame (see `Effect.apply`): `foreground` itself."""
        if foreground is None:
            raise RtsegError(
                f"the foreground output needs a model with foreground colours; {RVM_HINT}"
            )
        return foreground


def apply_effect(
    effect: Effect, image: np.ndarray, alpha: np.ndarray, foreground: np.ndarray | None
) -> np.ndarray:
    """`effect` on one frame, with the model's foreground colours for an effect that takes
    them (`TakesForeground`); any other effect, one of the user's included, gets the frame."""
    if isinstance(effect, TakesForeground):
        return effect.apply(image, alpha, foreground=foreground)
    return effect.apply(image, alpha)


def alpha_u8(alpha: np.ndarray) -> np.ndarray:
    """Alpha in 0..255 as uint8, from either of the forms effects take."""
    return alpha if alpha.dtype == np.uint8 else cv2.convertScaleAbs(alpha, alpha=255.0)


def voc_palette(n: int = 256) -> np.ndarray:
    """The PASCAL VOC colour map (class id -> RGB): the bits of the id spread over R, G, B."""
    palette = np.zeros((n, 3), np.uint8)
    for cid in range(n):
        c, r, g, b = cid, 0, 0, 0
        for shift in range(7, -1, -1):
            r |= (c & 1) << shift
            g |= ((c >> 1) & 1) << shift
            b |= ((c >> 2) & 1) << shift
            c >>= 3
        palette[cid] = (r, g, b)
    return palette


class Classes(NeedsLabels):
    """Every class painted in its own VOC colour over the frame, with a legend.

    Only models with a `labels` output (the 21-class DeepLabV3/FCN/LRASPP exports) have
    classes; the job refuses this effect for person-only models.
    """

    name = "classes"

    def __repr__(self) -> str:
        return f"Classes({self.class_names!r})" if self.class_names else "Classes()"

    def __init__(self, class_names: tuple[str, ...] = ()) -> None:
        self.class_names = class_names
        self._lut = voc_palette()[:, ::-1].copy()  # BGR, for OpenCV images

    def paint(self, image: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """`image` with each class of `labels` (class ids at any size) in its colour."""
        h, w = image.shape[:2]
        big = cv2.resize(labels, (w, h), interpolation=cv2.INTER_NEAREST)
        colours = self._lut[big]
        out = cv2.addWeighted(image, 0.4, colours, 0.6, 0.0)
        for row, cid in enumerate(int(c) for c in np.unique(labels) if c != 0):
            name = self.class_names[cid] if cid < len(self.class_names) else str(cid)
            y = 20 + 22 * row
            cv2.rectangle(out, (8, y - 12), (24, y + 4), tuple(int(v) for v in self._lut[cid]), -1)
            cv2.putText(out, name, (30, y), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1)
        return out


# The effects' names: what a spelling starts with, before any ":ARGUMENT".
EFFECT_NAMES = ("blur", "replace", "color", "mask", "alpha", "classes", "foreground")
EFFECT_HELP = (
    "blur, blur:STRENGTH, replace:IMAGE_OR_VIDEO, color:#RRGGBB, mask, alpha, classes, "
    "foreground (a matting model's own colours of the person)"
)


def as_effect(effect: str | Effect) -> Effect:
    """`effect` itself, or the effect its command-line spelling names."""
    return parse_effect(effect) if isinstance(effect, str) else effect


def parse_effect(spec: str) -> Effect:
    """Build an effect from its command-line spelling (see EFFECT_HELP)."""
    kind, _, arg = spec.partition(":")
    if kind == "blur":
        if arg and not arg.isdecimal():
            raise RtsegError(f"blur strength must be a whole number, got {arg!r}")
        return Blur(int(arg)) if arg else Blur()
    if kind == "replace" and arg:
        return Replace(arg)
    if kind == "color" and arg:
        return Color(arg)
    if kind == "mask" and not arg:
        return MaskView()
    if kind == "alpha" and not arg:
        return AlphaOut()
    if kind == "classes" and not arg:
        return Classes()
    if kind == "foreground" and not arg:
        return Foreground()
    raise RtsegError(f"unknown effect {spec!r}; choose from {EFFECT_HELP}")
