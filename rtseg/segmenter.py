"""Segmenting images one call at a time, from Python: `rtseg.Segmenter`.

It runs each frame through the very path a job's stages run (`rtseg.matte.frame_path`: model
input, inference with the quality level's passes and zoom, temporal smoothing over the
frames' times, edge refinement to the image's size, labels and foreground colours), one phase
after the other on the caller's thread, so a frame segmented here gets the mask `rtseg run`
would give it. Its three modes are MediaPipe Tasks' running modes: separate images, the
frames of a video with their times, and a live stream whose frames are handed in without
waiting and whose results come back through a callback.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from rtseg.checks import check_count, check_ratio
from rtseg.errors import Closing, RtsegError, describe
from rtseg.matte.effects import AlphaOut, alpha_u8
from rtseg.matte.frame_path import build_frame_path
from rtseg.matte.quality import quality_level
from rtseg.models.engine import Engine
from rtseg.models.registry import DEFAULT_MODEL, resolve
from rtseg.options import (
    ALPHA_DTYPES,
    COLORS,
    MODES,
    AlphaDtype,
    ColorOrder,
    Device,
    Mode,
    QualityName,
)
from rtseg.pipeline.frame import check_image

# What `alpha_dtype=` takes: the name, or numpy's type or dtype object for it.
AlphaDtypeLike = AlphaDtype | type[np.uint8] | type[np.float32] | np.dtype[Any]


def _dtype_name(alpha_dtype: object) -> str:
    """ "uint8" or "float32" from any spelling `alpha_dtype=` takes, else RtsegError."""
    try:
        name = np.dtype(alpha_dtype).name  # type: ignore[call-overload]
    except TypeError:
        name = repr(alpha_dtype)
    if name not in ALPHA_DTYPES:
        raise RtsegError(
            f"unknown alpha_dtype {alpha_dtype!r}; choose one of {', '.join(ALPHA_DTYPES)} "
            "(or np.float32, np.uint8)"
        )
    return name


def _shape(array: np.ndarray | None) -> str:
    return "None" if array is None else f"{array.dtype} {'x'.join(map(str, array.shape))}"


@dataclass(frozen=True)
class Segmentation:
    """What the segmenter found in one image."""

    # person probability at the image's height x width: float32 in [0, 1], or uint8 in
    # 0..255 with `alpha_dtype="uint8"`
    alpha: np.ndarray
    labels: np.ndarray | None  # class ids (uint8) at the image's size, for models with labels
    model: str  # the model's name, from its metadata
    provider: str  # the ONNX Runtime provider that ran it, e.g. "CPUExecutionProvider"
    time_s: float | None = None  # the time the image was given with
    # the person's own colours, uint8 at the image's size in its channel order, for matting
    # models that give them (RVM): composited instead of the image, less of the old background
    # shows through soft edges
    fgr: np.ndarray | None = None
    # the image segmented, as it was given (not copied; 3 channels, its transparency aside);
    # with `auto_frame=True` the image as framed (a crop scaled to its size), which alpha,
    # labels and fgr above are cut to
    image: np.ndarray | None = field(default=None, repr=False, compare=False)

    def cutout(self) -> np.ndarray:
        """The person on a transparent background: a uint8 H x W x 4 image, the image's
        colours (a matting model's foreground colours where it gives them) with the alpha as
        the fourth channel, in the image's channel order (BGRA; RGBA with `color="rgb"`).
        Ready for `cv2.imwrite("person.png", result.cutout())`.

        Raises:
            RtsegError: the result carries no image (one made by hand without `image=`).
        """
        if self.image is None:
            raise RtsegError("cutout() needs the image: this Segmentation was made without it")
        return AlphaOut().apply(self.image, self.alpha, self.fgr)

    def __repr__(self) -> str:
        return (
            f"Segmentation(alpha={_shape(self.alpha)}, labels={_shape(self.labels)}, "
            f"model={self.model!r}, provider={self.provider!r}, time_s={self.time_s!r}, "
            f"fgr={_shape(self.fgr)})"
        )


class Segmenter(Closing):
    """A model ready to segment images; a context manager that releases it on exit.

    - `mode="image"`: `segment(image)`, each image on its own.
    - `mode="video"`: `segment(image, time_s=...)`, the frames of one video in time order:
      the mask is smoothed over time (compounded over the time between frames), the zoom
      follows the person, and a gap of more than `rtseg.matte.stream.GAP_S` starts afresh.
    - `mode="live"`: `submit(image, time_s=...)` returns at once; a worker thread segments
      the newest frame, dropping those that came while it was busy (counted in `dropped`),
      and calls `on_result(segmentation)` in time order.

    It changes no process-wide setting (OpenCV's thread count stays the caller's). It is
    safe to share between threads: calls from several threads take turns, one image at a
    time, each getting its own image's result (a program that wants images segmented in
    parallel makes one Segmenter per thread). In live mode, `on_result` runs on the worker.
    """

    engine: Engine  # the loaded model; `engine.provider` says where it really runs
    mode: Mode  # "image", "video" or "live"
    on_result: Callable[[Segmentation], None] | None  # live mode's callback
    dropped: int  # live frames replaced by a newer one before the worker took them

    def __init__(
        self,
        model: str | Path = DEFAULT_MODEL,
        device: Device = "auto",
        *,
        mode: Mode = "image",
        on_result: Callable[[Segmentation], None] | None = None,
        color: ColorOrder = "bgr",
        alpha_dtype: AlphaDtypeLike = "float32",
        quality: QualityName | None = None,
        refine: bool | None = None,
        threads: int | None = None,
        downsample_ratio: float | None = None,
        grow: int = 0,
        feather: int = 0,
        smooth: float | None = None,
        people: str = "all",
        auto_frame: bool = False,
    ) -> None:
        """Load `model`.

        Args:
            model: a name from `rtseg models` or a path to a contract `.onnx` file.
            device: "auto" (TensorRT, then CUDA, then CPU), "cpu", "cuda" or "tensorrt".
            mode: "image", "video" or "live" (see the class docstring).
            on_result: live mode's callback, called with each frame's `Segmentation`.
            color: the channel order of the images given, "bgr" (OpenCV) or "rgb".
            alpha_dtype: "float32" (0 to 1) or "uint8" (0 to 255) alpha in the results;
                `np.float32` and `np.uint8` (or their dtypes) say the same.
            quality: "fast", "balanced" or "best", as `rtseg run --quality` (default: "best"
                for images, "balanced" for video, "fast" for live frames).
            refine: snap the mask's edges to the image's edges (default: as `quality` says).
            threads: ONNX Runtime intra-op threads (default: one for a fixed-size model, every
                core up to four for a matting model, one less in live mode, see
                `rtseg.models.engine.auto_threads`).
            downsample_ratio: for a matting model (RVM), the share of the image's size the
                network sees, in (0, 1] (default: the image brought to 320x180's area, 0.25
                at 720p).
            grow: pixels the alpha grows by at the image's size (negative: shrinks).
            feather: pixels over which the alpha's edges are softened, either side.
            smooth: temporal smoothing strength in video and live modes, 0 (off) to 1
                (default: 0.5). `tuning.set("grow", 8)` and the like change these three
                between frames.
            people: "main" keeps only the main person in the alpha, "all" everyone (see
                docs/webcam.md); in video and live modes the choice is followed over time.
            auto_frame: results are cut to a crop that keeps the person centred
                (`Segmentation.image` is the image so framed).

        Raises:
            RtsegError: the model is unknown, unreadable or breaks the model contract; the
                device, quality, mode, color, alpha_dtype or people is unknown; grow,
                feather or smooth is out of range; `downsample_ratio` is outside (0, 1] or
                `threads` below 1; live mode without `on_result`, or
                `on_result` in another mode.
        """
        for name, value, known in (("mode", mode, MODES), ("color", color, COLORS)):
            if value not in known:
                raise RtsegError(f"unknown {name} {value!r}; choose one of {', '.join(known)}")
        uint8 = _dtype_name(alpha_dtype) == "uint8"
        if downsample_ratio is not None:
            check_ratio("downsample_ratio", downsample_ratio)
        if threads is not None:
            check_count("threads", threads, 1)
        if (mode == "live") != (on_result is not None):
            raise RtsegError("on_result= is for mode='live', and live mode needs it")
        if quality is not None:
            quality_level(quality)  # an unknown level is refused before the model loads
        self.engine = Engine(resolve(str(model)), device, threads, shared=mode == "live")
        self._path = build_frame_path(
            quality=quality,
            live=mode == "live",
            stills=mode == "image",
            refine=refine,
            sync=True,
            ratio=downsample_ratio,
            matting=self.engine.info.dynamic,
            grow=grow,
            feather=feather,
            smooth=smooth,
            people=people,
            auto_frame=auto_frame,
        )
        self.tuning = self._path.tuning  # grow, feather, smooth: changeable between frames
        self._state = self._path.new_stream()
        self.mode = mode
        self._rgb = color == "rgb"
        self._uint8 = uint8
        self._seq = 0
        self.on_result = on_result
        self.dropped = 0
        self._last_given: float | None = None
        self._fresh = False  # reset() was called: the next frame starts a new stream
        self._pending: tuple[np.ndarray, float] | None = None
        self._error: BaseException | None = None  # the live worker's, until a call says so
        self._failed: BaseException | None = None  # ...and for every call after that one
        self._closed = False
        self._wake = threading.Condition()
        self._turn = threading.Lock()  # one image at a time through the model and its state
        self._worker = None
        if mode == "live":
            self._worker = threading.Thread(
                target=self._serve, name="rtseg-segmenter-live", daemon=True
            )
            self._worker.start()

    def segment(self, image: np.ndarray, time_s: float | None = None) -> Segmentation:
        """Segment one image (image mode) or the next frame of the video (video mode).

        Args:
            image: uint8 H x W x 3, in the `color` order (BGR as OpenCV reads it by default),
                or H x W x 4 with its own transparency last (BGRA, RGBA), which is
                multiplied into the alpha, as `rtseg run` does with a PNG's.
            time_s: when the frame is shown, in seconds; needed in video mode, where each
                must come after the one before; carried into the result.

        Returns:
            The alpha (labels for semantic models, foreground colours for matting
            models) at the image's size.

        Raises:
            RtsegError: the image is not uint8 H x W x 3 or 4, a video frame's time is missing or
                does not advance, the segmenter is in live mode (use `submit`), or closed.
        """
        if self.mode == "live":
            raise RtsegError("a live segmenter takes frames with submit(), not segment()")
        image = check_image(image, "segment()", channels=(3, 4))
        with self._turn:  # another thread's call waits here: no image gets another's mask
            if self._closed:
                raise RtsegError("the segmenter is closed")
            if self.mode == "video":
                self._check_time(time_s)
            return self._segment(image, time_s)

    def submit(self, image: np.ndarray, time_s: float) -> None:
        """Hand a live frame over and return at once; `on_result` gets its result, unless a
        newer frame replaces it first (then `dropped` counts it).

        Raises:
            RtsegError: the segmenter is not in live mode or was closed, the image is not
                uint8 H x W x 3 or 4, or `time_s` does not advance; and a failure of the worker
                (the model, or `on_result` itself) is raised by the next call.
        """
        if self.mode != "live":
            raise RtsegError(f"submit() is for mode='live'; this segmenter is in {self.mode!r}")
        self._raise_failure()
        image = check_image(image, "submit()", channels=(3, 4))
        with self._wake:
            if self._closed:
                raise RtsegError("the segmenter is closed")
            self._check_time(time_s)
            if self._pending is not None:
                self.dropped += 1
            self._pending = (image.copy(), time_s)  # the caller may reuse its buffer
            self._wake.notify()

    def _check_time(self, time_s: float | None) -> None:
        if time_s is None:
            raise RtsegError(f"{self.mode} mode needs each frame's time_s")
        if self._last_given is not None and not time_s > self._last_given:
            raise RtsegError(f"time_s must advance: {time_s} came after {self._last_given}")
        self._last_given = time_s

    def _segment(self, image: np.ndarray, time_s: float | None) -> Segmentation:
        input_alpha = None
        if image.shape[2] == 4:
            input_alpha = image[..., 3] / np.float32(255)
            image_bgr = cv2.cvtColor(image, cv2.COLOR_RGBA2BGR if self._rgb else cv2.COLOR_BGRA2BGR)
        else:
            image_bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if self._rgb else image
        with self._wake:
            fresh, self._fresh = self._fresh, False
        if fresh:
            self._state.reset()  # a new video or stream begins
        still = self.mode == "image"
        matte = self._path.segment(
            self.engine,
            image_bgr,
            self._seq,
            self._state,
            None if still else time_s,
            still,
            input_alpha,
        )
        self._seq += 1
        fgr, shown = matte.fgr, matte.image  # shown: the image as auto-framed
        if self._rgb:
            fgr = None if fgr is None else cv2.cvtColor(fgr, cv2.COLOR_BGR2RGB)
            shown = None if shown is None else cv2.cvtColor(shown, cv2.COLOR_BGR2RGB)
        if shown is None:
            shown = image if image.shape[2] == 3 else np.ascontiguousarray(image[..., :3])
        return Segmentation(
            alpha=alpha_u8(matte.alpha) if self._uint8 else matte.alpha,
            labels=matte.labels,
            model=self.engine.info.name,
            provider=self.engine.provider,
            time_s=time_s,
            fgr=fgr,
            image=shown,
        )

    def _serve(self) -> None:
        """Live mode's worker: the newest frame given, one at a time, until closed."""
        while True:
            with self._wake:
                while self._pending is None and not self._closed:
                    self._wake.wait()
                if self._pending is None:
                    return
                (image, time_s), self._pending = self._pending, None
            try:
                with self._turn:
                    result = self._segment(image, time_s)
                self.on_result(result)
            except BaseException as exc:  # raised to the caller by its next call
                with self._wake:
                    self._error = self._failed = exc
                return

    def _raise_failure(self) -> None:
        """The live worker's failure: in full (chained) by the first call after it, and
        named by every later one, which the segmenter refuses."""
        with self._wake:
            error, self._error, failed = self._error, None, self._failed
        if error is not None:
            raise RtsegError(f"live segmentation failed: {describe(error)}") from error
        if failed is not None:
            raise RtsegError(
                f"this live segmenter stopped when its worker failed ({describe(failed)}); "
                "make a new one"
            )

    def reset(self) -> None:
        """Forget the previous frames: the next one starts a new video or stream (in live
        mode, the next frame the worker takes)."""
        with self._wake:
            self._last_given = None
            self._fresh = True

    def close(self) -> None:
        """Release the model (in live mode after the frame in hand and the one waiting are
        done); `segment` and `submit` refuse afterwards.

        Raises:
            RtsegError: the live worker failed and no call has said so yet.
        """
        with self._wake:
            if self._closed:
                return
            self._closed = True
            self._wake.notify()
        if self._worker is not None:
            self._worker.join()
        with self._turn:  # after a call in progress on another thread
            self._path.close()
            self.engine.close()
        with self._wake:
            error, self._error = self._error, None
        if error is not None:
            raise RtsegError(f"live segmentation failed: {describe(error)}") from error

    def __repr__(self) -> str:
        state = "closed" if self._closed else self.engine.provider
        return f"Segmenter({self.engine.info.name!r}, mode={self.mode!r}, {state})"
