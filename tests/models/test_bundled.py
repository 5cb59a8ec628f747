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

from rtseg.job import Job, JobConfig
from rtseg.matte.effects import voc_palette
from rtseg.models.contract import TensorSpec, check
from tests.conftest import decode_frames, shared_file

MODELS_DIR = Path(__file__).resolve().parents[2] / "rtseg" / "models"
GOLDEN = Path(__file__).resolve().parents[1] / "data" / "selfie_golden.npz"
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


# --- DeepLabV3-MobileNetV2 (VOC), converted from Coral's TFLite files by export/coral.py ---

DEEPLAB_GOLDEN = Path(__file__).resolve().parents[1] / "data" / "deeplab_golden.npz"
DEEPLAB = {"deeplabv3_mnv2_voc": 513, "deeplabv3_mnv2_dm05_voc": 513, "deeplabv3_mnv2_voc_257": 257}
GOLDEN_STEP = 4  # the golden label maps keep every 4th pixel of LiteRT's 513x513 ArgMax
PERSON = 15


def square_input(size: int, bgr: np.ndarray | None = None) -> np.ndarray:
    """An RGB [1, size, size, 3] input made without resampling OpenCV versions could disagree on.

    Grace Hopper's portrait (or `bgr`) is cropped and edge-padded to `size` (513), or to
    2 x `size` and halved by an exact 2x2 average (257).
    """
    if bgr is None:
        bgr = cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    factor = 1 if size > 300 else 2
    side = factor * size
    crop = bgr[:side, :side]
    crop = cv2.copyMakeBorder(
        crop, 0, side - crop.shape[0], 0, side - crop.shape[1], cv2.BORDER_REPLICATE
    )
    if factor > 1:
        crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(crop[..., ::-1])[None]


def dog_input() -> np.ndarray:
    """The shared data's dog, stretched to 513x513 as the runtime does (skips when absent)."""
    dog = cv2.imread(str(shared_file("images/dog_segmentation.png")))
    return cv2.cvtColor(
        cv2.resize(dog, (513, 513), interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB
    )[None]


def _deeplab_run(name: str, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """alpha and labels [H, W], sampled on the golden's grid (every 4th pixel of 513)."""
    alpha, labels = _session(name).run(None, {"image": image})
    step = GOLDEN_STEP * DEEPLAB[name] // 513
    return alpha[0, 0, ::step, ::step], labels[0, ::step, ::step]


def _person_iou(alpha: np.ndarray, reference_labels: np.ndarray) -> float:
    mask, person = alpha > 0.5, reference_labels == PERSON
    return float((mask & person).sum() / (mask | person).sum())


@pytest.mark.parametrize("name", DEEPLAB)
def test_deeplab_follows_the_contract(name: str) -> None:
    session = _session(name)
    meta = session.get_modelmeta().custom_metadata_map
    info = check(_specs(session.get_inputs()), _specs(session.get_outputs()), meta)
    assert (info.name, info.height, info.width) == (name, DEEPLAB[name], DEEPLAB[name])
    assert (info.resize, info.license, info.precision, info.trained) == (
        "linear",
        "Apache-2.0",
        "int8",
        True,
    )
    assert info.has_labels and len(info.class_names) == 21
    assert (info.class_names[PERSON], info.class_names[12], info.class_names[3]) == (
        "person",
        "dog",
        "bird",
    )
    assert (MODELS_DIR / f"{name}.onnx").stat().st_size < 3_000_000


def test_notice_names_the_deeplab_source_and_hashes() -> None:
    text = (MODELS_DIR / "NOTICE").read_text()
    assert "google-coral/test_data" in text
    for digest in (
        "350af47fd346ea6d74b58833a351f583ba860e9806ec5bd292ff8d8f1f249398",
        "0470d2a782aa54eeeb99d32e7b6b3fb7722905c7c4f5d26bd957ec861366d48b",
    ):
        assert digest in text


@pytest.mark.parametrize("name", ["deeplabv3_mnv2_voc", "deeplabv3_mnv2_dm05_voc"])
def test_deeplab_matches_litert_golden_on_a_portrait(name: str) -> None:
    expected = np.load(DEEPLAB_GOLDEN)[f"{name}/grace"]
    # A real portrait: the golden must hold person and background, or the test proves little.
    assert 0.2 < (expected == PERSON).mean() < 0.8
    alpha, labels = _deeplab_run(name, square_input(513))
    assert (labels == expected).mean() >= 0.99
    assert _person_iou(alpha, expected) >= 0.99


def test_deeplab_alpha_is_a_soft_probability() -> None:
    """Not a 0/1 mask: edges fade through intermediate values (refinement and blending need it)."""
    alpha, labels = _session("deeplabv3_mnv2_voc").run(None, {"image": square_input(513)})
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0
    assert ((alpha > 0.1) & (alpha < 0.9)).mean() > 0.02
    assert len(np.unique(alpha)) > 50
    # The 0.5 level is the ArgMax's person boundary (up to ties at exactly 0.5).
    assert ((alpha[0, 0] > 0.5) == (labels[0] == PERSON)).mean() > 0.999


def test_deeplab_257_keeps_the_person_of_the_513_model() -> None:
    """The re-export at 257x257 sees the person LiteRT's 513x513 model sees (coarser edges)."""
    expected = np.load(DEEPLAB_GOLDEN)["deeplabv3_mnv2_voc/grace"]
    alpha, labels = _deeplab_run("deeplabv3_mnv2_voc_257", square_input(257))
    assert (labels == expected).mean() >= 0.9
    assert _person_iou(alpha, expected) >= 0.85


@pytest.mark.parametrize("name", ["deeplabv3_mnv2_voc", "deeplabv3_mnv2_dm05_voc"])
def test_deeplab_sees_the_dog(name: str) -> None:
    expected = np.load(DEEPLAB_GOLDEN)[f"{name}/dog"]
    alpha, labels = _deeplab_run(name, dog_input())
    assert (expected == 12).mean() > 0.3  # LiteRT's own answer: mostly dog
    assert (labels == expected).mean() >= 0.99
    assert (alpha < 0.5).all()  # no person in the picture


@pytest.mark.parametrize("kind", ["image", "video"])
def test_deeplab_classes_paint_the_dog_in_the_dog_colour(tmp_path: Path, kind: str) -> None:
    """`--effect classes` end to end: the dog's pixels come out in the VOC dog colour."""
    dog = cv2.imread(str(shared_file("images/dog_segmentation.png")))
    if kind == "image":
        source, sink = shared_file("images/dog_segmentation.png"), tmp_path / "out"
    else:
        source, sink = tmp_path / "dog.mp4", tmp_path / "out.mp4"
        writer = cv2.VideoWriter(str(source), cv2.VideoWriter.fourcc(*"mp4v"), 10.0, (128, 128))
        for _ in range(6):
            writer.write(dog)
        writer.release()
    Job(
        JobConfig(
            source=str(source), model="deeplabv3_mnv2_voc", effect="classes", sinks=[str(sink)]
        )
    ).run()
    frames = (
        [cv2.imread(str(p)) for p in sink.glob("*.png")] if kind == "image" else decode_frames(sink)
    )
    assert frames
    expected = np.load(DEEPLAB_GOLDEN)["deeplabv3_mnv2_voc/dog"]
    is_dog = cv2.resize(expected, (128, 128), interpolation=cv2.INTER_NEAREST) == 12
    is_dog = cv2.erode(is_dog.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0  # away from edges
    dog_bgr = voc_palette()[12][::-1].astype(np.float32)
    painted = 0.4 * dog.astype(np.float32) + 0.6 * dog_bgr
    tolerance = 3 if kind == "image" else 24  # mp4 keeps colours only roughly
    for frame in frames:
        error = np.abs(frame.astype(np.float32) - painted)[is_dog & ~_legend_area(frame.shape)]
        assert np.median(error) <= tolerance


def _legend_area(shape: tuple[int, ...]) -> np.ndarray:
    area = np.zeros(shape[:2], bool)
    area[:40, :] = True  # one legend row for "dog" (and one spare)
    return area
