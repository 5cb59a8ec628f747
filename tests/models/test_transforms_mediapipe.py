"""MediaPipe's pre- and post-processing, reproduced: checked against mediapipe itself.

The comparisons with mediapipe run where `mediapipe==0.10.14` is installed (its own venv:
export/requirements-mediapipe.txt); the sampling checks run everywhere.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from rtseg.models.contract import ModelInfo
from rtseg.models.transforms import to_model_input as _to_input
from rtseg.models.transforms import upscale_alpha
from tests.models.test_bundled import MODELS_DIR, golden_input

VIDEOS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "videos"
# model file, MediaPipe's model_selection, input height and width
MODELS = {"selfie_general": (0, 256, 256), "selfie_landscape": (1, 144, 256)}


def _corner_bilinear(bgr: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear at (y * H / h, x * W / w) rounded to 1/32 pixel, zero beyond the far edges."""
    rows, cols = bgr.shape[:2]
    x = np.rint(np.arange(width) * cols / width * 32) / 32
    y = np.rint(np.arange(height) * rows / height * 32) / 32
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = (x - x0)[None, :, None], (y - y0)[:, None, None]
    p = np.pad(bgr.astype(np.float64), ((0, 1), (0, 1), (0, 0)))
    top = p[y0][:, x0] * (1 - fx) + p[y0][:, x0 + 1] * fx
    bottom = p[y0 + 1][:, x0] * (1 - fx) + p[y0 + 1][:, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def to_model_input(bgr: np.ndarray, height: int, width: int) -> np.ndarray:
    """The runtime's preprocessing for a MediaPipe-style model of this input size."""
    info = ModelInfo("m", height, width, "corners_linear", "", "", "fp32", True)
    return _to_input(bgr, info)


def to_frame_size(alpha: np.ndarray, frame_height: int, frame_width: int) -> np.ndarray:
    """The runtime's way back from a [1, 1, h, w] model output to frame size."""
    return upscale_alpha(alpha[0, 0], frame_height, frame_width)


@pytest.mark.parametrize(("rows", "cols"), [(540, 960), (360, 640), (101, 77), (100, 200)])
def test_to_model_input_samples_corner_to_corner(rows: int, cols: int) -> None:
    bgr = np.random.default_rng(rows).integers(0, 256, (rows, cols, 3), dtype=np.uint8)
    got = to_model_input(bgr, 144, 256)
    assert got.shape == (1, 144, 256, 3) and got.dtype == np.uint8
    expected = _corner_bilinear(bgr, 144, 256)[..., ::-1]
    assert np.abs(got[0].astype(np.float64) - expected).max() <= 1.0


def test_to_frame_size_gives_the_frame_shape() -> None:
    alpha = np.linspace(0, 1, 144 * 256, dtype=np.float32).reshape(1, 1, 144, 256)
    mask = to_frame_size(alpha, 540, 960)
    assert mask.shape == (540, 960) and mask.dtype == np.float32
    assert mask[0, 0] == alpha[0, 0, 0, 0] and mask[-1, -1] == alpha[0, 0, -1, -1]


def _video_frames(name: str, count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(VIDEOS / name))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    frames = []
    for index in np.linspace(0, total - 1, count).astype(int):
        capture.set(cv2.CAP_PROP_POS_FRAMES, int(index))
        ok, frame = capture.read()
        assert ok, f"cannot read frame {index} of {name}"
        frames.append(frame)
    capture.release()
    return frames


def _small_frames() -> list[np.ndarray]:
    """Frames smaller than the model input, so MediaPipe's border handling shows."""
    portrait = golden_input(256, 256)[0, :, :, ::-1]
    return [cv2.resize(portrait, (200, 112), interpolation=cv2.INTER_AREA)]


def _frames_16x9() -> list[np.ndarray]:
    names = ["doctor_960x540.mp4", "thoughtful_640x360.mp4"]
    if not all((VIDEOS / n).exists() for n in names):
        pytest.skip(f"no clips under {VIDEOS} (the shared test data)")
    return [f for n in names for f in _video_frames(n, 4)]


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("frames", [_small_frames, _frames_16x9], ids=["small", "16x9"])
def test_masks_match_mediapipe(name: str, frames) -> None:
    mp = pytest.importorskip("mediapipe", reason="mediapipe==0.10.14 is not installed")
    selection, height, width = MODELS[name]
    session = ort.InferenceSession(str(MODELS_DIR / f"{name}.onnx"))
    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=selection) as seg:
        for frame in frames():
            expected = seg.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)).segmentation_mask
            alpha = session.run(None, {"image": to_model_input(frame, height, width)})[0]
            mask = to_frame_size(alpha, *frame.shape[:2])
            np.testing.assert_allclose(mask, expected, rtol=0, atol=1e-3)
