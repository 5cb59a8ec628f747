"""Shared fixtures: small models and clips the tests make themselves, and the shared data."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.onnx_models import brightness_model

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def shared_file(relative: str) -> Path:
    """A file under ../shared/data, or a skip saying it is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"shared test data not present: {path.name} (expected under ../shared/data)")
    return path


def write_clip(path: Path, frames: int = 24, size: tuple[int, int] = (160, 120), fps=24.0):
    """Write a real encoded clip: a bright square moving over a dark, textured background."""
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 60, (h, w, 3), dtype=np.uint8)
    for i in range(frames):
        image = texture.copy()
        x = 10 + (i * 3) % (w - 60)
        image[30:90, x : x + 50] = 255
        writer.write(image)
    writer.release()
    return path


def decode_frames(path: Path) -> list[np.ndarray]:
    """Every frame OpenCV decodes from a video file."""
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        frames.append(image)
    cap.release()
    return frames


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return write_clip(tmp_path / "clip.mp4")


@pytest.fixture
def bright_model(tmp_path: Path) -> Path:
    return brightness_model(tmp_path / "bright.onnx", 32, 32)


@pytest.fixture(autouse=True)
def no_leaked_threads():
    """Every test must leave no rtseg thread behind (the package names all its threads
    `rtseg-...`: pipeline stages, async inference, model loading, preview, virtual camera)."""
    yield
    for t in threading.enumerate():
        if t.name.startswith("rtseg-"):
            t.join(2.0)
    leftover = [t.name for t in threading.enumerate() if t.name.startswith("rtseg-")]
    assert not leftover, f"threads left running: {leftover}"
