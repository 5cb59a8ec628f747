"""Training samples for the U-Net: labelled portraits, or video frames a teacher model labels.

Labelled data (the AutoPortraitMatting / EG1800 layout)::

    DIR/images/NAME.jpg|png      RGB portraits, any size
    DIR/masks/NAME.png           8-bit person mask or alpha matte (0 = background,
                                 255 = person; 0/1 masks are accepted too); the file may also
                                 be called NAME_matte.png or NAME_mask.png

Unlabelled data for distillation: a video file or a folder of images; any contract ONNX
model (the bundled selfie segmenter, an exported DeepLab) labels each frame.

Samples are kept in memory, shrunk so their short side is at most `MAX_SIDE` pixels; the
frames are stretched to the model size exactly as the runtime stretches them (no letterbox),
so the network learns the aspect distortion it will see.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from export.parity import contract_info, open_session, run
from rtseg.errors import RtsegError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
MASK_SUFFIXES = ("", "_matte", "_mask")
MAX_SIDE = 384

Sample = tuple[np.ndarray, np.ndarray]  # uint8 RGB HxWx3, float32 alpha HxW in [0, 1]


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise RtsegError(f"cannot read image {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _shrink(image: np.ndarray) -> np.ndarray:
    scale = MAX_SIDE / min(image.shape[:2])
    if scale >= 1:
        return image
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _mask_for(image: Path, masks: Path) -> Path:
    for tail in MASK_SUFFIXES:
        for suffix in (".png", image.suffix):
            candidate = masks / f"{image.stem}{tail}{suffix}"
            if candidate.is_file():
                return candidate
    raise RtsegError(f"no mask for {image.name} in {masks} (expected {image.stem}.png)")


def load_labelled(root: Path) -> list[Sample]:
    """All (image, alpha) pairs under `root`/images and `root`/masks."""
    images, masks = root / "images", root / "masks"
    if not images.is_dir() or not masks.is_dir():
        raise RtsegError(f"{root} must hold images/ and masks/ folders (see export/README.md)")
    paths = _images_in(images)
    if not paths:
        raise RtsegError(f"no images in {images}")
    samples = []
    for path in paths:
        rgb = _shrink(_read_rgb(path))
        raw = cv2.imread(str(_mask_for(path, masks)), cv2.IMREAD_GRAYSCALE)
        if raw is None:
            raise RtsegError(f"cannot read the mask of {path.name}")
        alpha = raw.astype(np.float32) / (255.0 if raw.max() > 1 else 1.0)
        alpha = cv2.resize(alpha, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
        samples.append((rgb, alpha))
    return samples


def read_frames(source: Path, every: int = 1, limit: int | None = None) -> list[np.ndarray]:
    """RGB frames of a video file or an image folder: every `every`-th, at most `limit`."""
    if every < 1:
        raise RtsegError(f"frame step must be >= 1, got {every}")
    frames = [f for i, f in enumerate(_iter_frames(source)) if i % every == 0]
    frames = frames[:limit] if limit else frames
    if not frames:
        raise RtsegError(f"no frames read from {source}")
    return frames


def _iter_frames(source: Path) -> Iterator[np.ndarray]:
    if source.is_dir():
        for path in _images_in(source):
            yield _shrink(_read_rgb(path))
        return
    if not source.is_file():
        raise RtsegError(f"frames source not found: {source}")
    capture = cv2.VideoCapture(str(source))
    if not capture.isOpened():
        raise RtsegError(f"cannot open video {source}")
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                return
            yield _shrink(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    finally:
        capture.release()


def label_with_teacher(teacher: Path, frames: list[np.ndarray]) -> list[Sample]:
    """Pair each frame with the alpha a contract model predicts for it."""
    if not teacher.is_file():
        raise RtsegError(f"teacher model not found: {teacher}")
    session = open_session(teacher)
    try:
        info = contract_info(session)
    except ValueError as exc:
        raise RtsegError(f"teacher {teacher.name} breaks the model contract: {exc}") from exc
    samples = []
    for frame in frames:
        small = cv2.resize(frame, (info.width, info.height), interpolation=cv2.INTER_LINEAR)
        alpha = run(session, small)[0][0, 0].astype(np.float32)
        size = (frame.shape[1], frame.shape[0])
        samples.append((frame, cv2.resize(alpha, size, interpolation=cv2.INTER_LINEAR)))
    return samples


def fit(sample: Sample, size: tuple[int, int]) -> Sample:
    """Stretch a sample to `size` (H, W) the way the runtime stretches frames."""
    rgb, alpha = sample
    dsize = (size[1], size[0])
    return (
        cv2.resize(rgb, dsize, interpolation=cv2.INTER_LINEAR),
        cv2.resize(alpha, dsize, interpolation=cv2.INTER_LINEAR),
    )


def augment(sample: Sample, size: tuple[int, int], rng: np.random.Generator) -> Sample:
    """A random flip, scale (0.75-1.33x with a shift) and colour change of a sample at `size`."""
    rgb, alpha = fit(sample, size)
    height, width = size
    scale = float(np.exp(rng.uniform(np.log(0.75), np.log(1.33))))
    shift = rng.uniform(-0.1, 0.1, size=2) * (width, height)
    flip = -1.0 if rng.random() < 0.5 else 1.0
    cx, cy = (width - 1) / 2, (height - 1) / 2
    matrix = np.array(
        [
            [scale * flip, 0.0, cx - scale * flip * cx + shift[0]],
            [0.0, scale, cy - scale * cy + shift[1]],
        ]
    )
    dsize = (width, height)
    border = cv2.BORDER_REFLECT_101
    rgb = cv2.warpAffine(rgb, matrix, dsize, flags=cv2.INTER_LINEAR, borderMode=border)
    alpha = cv2.warpAffine(alpha, matrix, dsize, flags=cv2.INTER_LINEAR, borderMode=border)
    return _jitter_colour(rgb, rng), alpha


def _jitter_colour(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness, contrast and saturation each scaled by up to +-25%."""
    x = rgb.astype(np.float32)
    gray = x.mean(axis=2, keepdims=True)
    x = gray + (x - gray) * rng.uniform(0.75, 1.25)  # saturation
    x = x.mean() + (x - x.mean()) * rng.uniform(0.75, 1.25)  # contrast
    x = x * rng.uniform(0.75, 1.25)  # brightness
    return np.clip(x, 0, 255).astype(np.uint8)
