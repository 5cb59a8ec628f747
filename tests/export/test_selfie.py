"""Parity of the bundled selfie models (and a fresh conversion) with MediaPipe's TFLite files.

Runs in the conversion venv (export/requirements-selfie.txt) with RTSEG_MEDIAPIPE_WHEEL
pointing at the pinned mediapipe wheel; the TFLite interpreter's XNNPACK delegate runs
MediaPipe's custom transposed convolution, so it is an independent reference for the
ConvTranspose that replaces it. RTSEG_WRITE_GOLDEN=1 rewrites tests/data/selfie_golden.npz.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

tf = pytest.importorskip("tensorflow", reason="the conversion toolchain is not installed")
selfie = pytest.importorskip("export.selfie", reason="the conversion toolchain is not installed")

import onnx  # noqa: E402

from tests.models.test_bundled import GOLDEN, MODELS_DIR, golden_input  # noqa: E402
from tests.models.test_transforms_mediapipe import to_model_input  # noqa: E402

PORTRAITS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "portraits" / "p3m"
SPECS = {spec.name: spec for spec in selfie.MODELS}
TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def tflite_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheel = os.environ.get("RTSEG_MEDIAPIPE_WHEEL")
    if not wheel:
        pytest.skip("set RTSEG_MEDIAPIPE_WHEEL to the mediapipe 0.10.14 wheel (pip download)")
    dest = tmp_path_factory.mktemp("tflite")
    for spec in selfie.MODELS:
        selfie.extract_tflite(selfie.verified_wheel(Path(wheel)), spec, dest)
    return dest


def _tflite(tflite_dir: Path, name: str, image: np.ndarray) -> np.ndarray:
    """MediaPipe's model on a uint8 [1, h, w, 3] RGB image, as the contract's [1, 1, h, w]."""
    interpreter = tf.lite.Interpreter(model_path=str(tflite_dir / SPECS[name].tflite))
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], image / np.float32(255))
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[..., 0][:, None]


def _onnx(model: bytes, image: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    return session.run(None, {"image": image})[0]


def _made_images(height: int, width: int) -> list[np.ndarray]:
    """Inputs that need no data folder: a portrait, noise, and flat and ramp frames."""
    rng = np.random.default_rng(7)
    ramp = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    return [
        golden_input(height, width),
        rng.integers(0, 256, (1, height, width, 3), dtype=np.uint8),
        np.full((1, height, width, 3), 128, np.uint8),
        np.broadcast_to(ramp, (1, height, width, 3)).astype(np.uint8),
    ]


def _portraits(height: int, width: int) -> list[np.ndarray]:
    files = sorted((PORTRAITS / "original").glob("*.jpg"))
    if not files:
        pytest.skip(f"no portraits under {PORTRAITS} (the shared test data)")
    return [to_model_input(cv2.imread(str(f)), height, width) for f in files]


@pytest.mark.parametrize("name", SPECS)
@pytest.mark.parametrize("images", [_made_images, _portraits], ids=["made", "p3m"])
def test_bundled_model_matches_tflite(tflite_dir: Path, name: str, images) -> None:
    model = (MODELS_DIR / f"{name}.onnx").read_bytes()
    for image in images(SPECS[name].height, SPECS[name].width):
        np.testing.assert_allclose(
            _onnx(model, image), _tflite(tflite_dir, name, image), rtol=0, atol=TOLERANCE
        )


def test_fresh_conversion_matches_tflite(tflite_dir: Path) -> None:
    spec = SPECS["selfie_landscape"]
    model = selfie.convert(tflite_dir / spec.tflite, spec.info())
    assert {node.op_type for node in model.graph.node} <= {
        schema.name for schema in onnx.defs.get_all_schemas()
    }
    image = golden_input(spec.height, spec.width)
    got = _onnx(model.SerializeToString(), image)
    np.testing.assert_allclose(got, _tflite(tflite_dir, spec.name, image), rtol=0, atol=TOLERANCE)


def test_golden_is_the_tflite_output(tflite_dir: Path) -> None:
    outputs = {
        name: _tflite(tflite_dir, name, golden_input(spec.height, spec.width))
        for name, spec in SPECS.items()
    }
    if os.environ.get("RTSEG_WRITE_GOLDEN") == "1":
        np.savez_compressed(GOLDEN, **outputs)
    golden = np.load(GOLDEN)
    for name, output in outputs.items():
        np.testing.assert_allclose(golden[name], output, rtol=0, atol=1e-6)
