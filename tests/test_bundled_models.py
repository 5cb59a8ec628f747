"""The bundled MediaPipe selfie models: contract, size, and outputs pinned by a golden file.

The golden outputs come from MediaPipe's TFLite models run by the TFLite interpreter
(tests/export/test_selfie.py checks and rewrites them), not from the ONNX files under test.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest
from matplotlib import cbook

from rtseg.contract import TensorSpec, check

MODELS_DIR = Path(__file__).resolve().parents[1] / "rtseg" / "models"
GOLDEN = Path(__file__).resolve().parent / "data" / "selfie_golden.npz"
SIZES = {"selfie_general": (256, 256), "selfie_landscape": (144, 256)}


def golden_input(height: int, width: int) -> np.ndarray:
    """Grace Hopper's portrait (matplotlib's sample), cropped to 2h x 2w and halved.

    A 2x INTER_AREA is an exact 2x2 average, so every OpenCV version gives the same pixels.
    """
    bgr = cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    crop = bgr[: 2 * height, : 2 * width]
    small = cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(small[..., ::-1])[None]


def _session(name: str) -> ort.InferenceSession:
    # Loading from bytes proves the file is self-contained: external data would not resolve.
    data = (MODELS_DIR / f"{name}.onnx").read_bytes()
    return ort.InferenceSession(data, providers=["CPUExecutionProvider"])


def _specs(args: list[ort.NodeArg]) -> list[TensorSpec]:
    return [TensorSpec(a.name, a.type, tuple(a.shape)) for a in args]


@pytest.mark.parametrize("name", SIZES)
def test_follows_the_contract(name: str) -> None:
    session = _session(name)
    meta = session.get_modelmeta().custom_metadata_map
    info = check(_specs(session.get_inputs()), _specs(session.get_outputs()), meta)
    assert (info.name, (info.height, info.width)) == (name, SIZES[name])
    assert (info.resize, info.license, info.precision, info.trained) == (
        "corners_linear",
        "Apache-2.0",
        "fp32",
        True,
    )


@pytest.mark.parametrize("name", SIZES)
def test_is_small(name: str) -> None:
    assert (MODELS_DIR / f"{name}.onnx").stat().st_size < 1_000_000


def test_notice_names_the_source_and_licence() -> None:
    text = (MODELS_DIR / "NOTICE").read_text()
    assert "Apache License, Version 2.0" in text
    assert "mediapipe-0.10.14" in text and "sha256" in text


@pytest.mark.parametrize("name", SIZES)
def test_matches_golden(name: str) -> None:
    expected = np.load(GOLDEN)[name]
    alpha = _session(name).run(None, {"image": golden_input(*SIZES[name])})[0]
    assert alpha.shape == (1, 1, *SIZES[name])
    # The portrait must give a real mask (person and background), or the test proves little.
    assert (expected > 0.9).mean() > 0.1 and (expected < 0.1).mean() > 0.1
    np.testing.assert_allclose(alpha, expected, rtol=0, atol=1e-3)
