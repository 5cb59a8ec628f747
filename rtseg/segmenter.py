"""Segmenting images one call at a time, from Python: `rtseg.Segmenter`.

It runs the very steps a job's stages run on each frame (model input, inference, optional
temporal smoothing, edge refinement to the image's size), so an image segmented here gets the
mask `rtseg run` would give it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from rtseg.errors import RtsegError
from rtseg.matte.foreground import foreground_at_frame_size
from rtseg.matte.masks import MaskSource
from rtseg.matte.quality import default_level, quality_level
from rtseg.matte.refine import EdgeRefiner
from rtseg.models.engine import Engine
from rtseg.models.registry import DEFAULT_MODEL, resolve
from rtseg.models.transforms import to_model_input, upscale_alpha


def alpha_at_frame_size(
    image_bgr: np.ndarray, alpha: np.ndarray, refiner: EdgeRefiner | None, zoomed: bool
) -> np.ndarray:
    """A model-size alpha brought to the frame's size: edge-refined (finely where `zoomed`,
    see `EdgeRefiner`), or plainly upscaled."""
    if refiner is not None:
        return refiner.refine(image_bgr, alpha, fine=zoomed)
    return upscale_alpha(alpha, *image_bgr.shape[:2])


@dataclass(frozen=True)
class Segmentation:
    """What `Segmenter.segment` found in one image."""

    alpha: np.ndarray  # person probability, float32 in [0, 1], at the image's height x width
    labels: np.ndarray | None  # class ids (uint8) at the image's size, for models with labels
    model: str  # the model's name, from its metadata
    provider: str  # the ONNX Runtime provider that ran it, e.g. "CPUExecutionProvider"
    # the person's own colours, BGR uint8 at the image's size, for matting models that give
    # them (RVM): composite these rather than the image, and no old background shows in edges
    fgr: np.ndarray | None = None


class Segmenter:
    """A model ready to segment BGR images; a context manager that releases it on exit.

    Not thread-safe: use one per thread.
    """

    def __init__(
        self,
        model: str | Path = DEFAULT_MODEL,
        device: str = "auto",
        *,
        video: bool = False,
        quality: str | None = None,
        refine: bool | None = None,
        threads: int | None = None,
        downsample_ratio: float | None = None,
    ) -> None:
        """Load `model`.

        Args:
            model: a name from `rtseg models` or a path to a contract `.onnx` file.
            device: "auto" (TensorRT, then CUDA, then CPU), "cpu", "cuda" or "tensorrt".
            video: the images are consecutive frames of one video: smooth the mask over
                time across calls (still regions stop flickering); `reset()` between videos.
            quality: "fast", "balanced" or "best", as `rtseg run --quality` (default: "best"
                for separate images, "balanced" for video frames).
            refine: snap the mask's edges to the image's edges (default: as `quality` says).
            threads: ONNX Runtime intra-op threads (default: its own choice).
            downsample_ratio: for a matting model (RVM), the share of the image's size the
                network sees (default: RVM's rule, the longer side brought to 480 px).

        Raises:
            RtsegError: the model is unknown, unreadable or breaks the model contract, or
                the device or quality is unknown.
        """
        self.engine = Engine(resolve(str(model)), device, threads)
        level = quality_level(quality or default_level(live=False, images=not video))
        smoother = level.smoother() if video else None
        self._masks = MaskSource(
            sync=True, smoother=smoother, passes=level.passes(downsample_ratio)
        )
        self._ratio = downsample_ratio
        self._refiner = level.refiner(refine)
        self._video = video
        self._seq = 0

    def segment(self, image_bgr: np.ndarray) -> Segmentation:
        """Segment one image.

        Args:
            image_bgr: uint8 H x W x 3, BGR as OpenCV reads it.

        Returns:
            The alpha (labels for semantic models, foreground colours for matting
            models) at the image's size.

        Raises:
            RtsegError: the image is not BGR uint8, or the segmenter was closed.
        """
        if not (
            isinstance(image_bgr, np.ndarray)
            and image_bgr.dtype == np.uint8
            and image_bgr.ndim == 3
            and image_bgr.shape[2] == 3
        ):
            got = getattr(image_bgr, "dtype", type(image_bgr).__name__)
            raise RtsegError(
                f"segment() takes a BGR uint8 H x W x 3 image, got {got} "
                f"{getattr(image_bgr, 'shape', '')}".rstrip()
            )
        tensor = to_model_input(image_bgr, self.engine.info, self._ratio)
        alpha, labels, _, zoomed, fgr = self._masks.mask_for(
            self.engine, tensor, self._seq, image_bgr, new_stream=not self._video
        )
        self._seq += 1
        height, width = image_bgr.shape[:2]
        if labels is not None:
            labels = cv2.resize(labels, (width, height), interpolation=cv2.INTER_NEAREST)
        return Segmentation(
            alpha=alpha_at_frame_size(image_bgr, alpha, self._refiner, zoomed),
            labels=labels,
            model=self.engine.info.name,
            provider=self.engine.provider,
            fgr=None if fgr is None else foreground_at_frame_size(image_bgr, fgr),
        )

    def reset(self) -> None:
        """Forget the previous frames (video mode): the next image starts a new video."""
        self._masks.reset()

    def close(self) -> None:
        """Release the model; `segment` refuses afterwards."""
        self._masks.close()
        self.engine.close()

    def __enter__(self) -> Segmenter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
