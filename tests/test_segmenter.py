"""`rtseg.Segmenter`: the mask `rtseg run` gives, one image at a time."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import rtseg
from rtseg.errors import RtsegError
from tests.onnx_models import PERSON, brightness_model, rvm_signature_model

PORTRAIT = Path(rtseg.__file__).parent / "data" / "grace_hopper.jpg"


def test_the_mask_is_the_one_a_job_gives_the_same_image() -> None:
    from_job = []
    rtseg.process_video(PORTRAIT, on_frame=lambda frame: from_job.append(frame.alpha))
    image = cv2.imread(str(PORTRAIT))
    with rtseg.Segmenter(device="cpu") as segmenter:
        result = segmenter.segment(image)
    assert result.model == "selfie_general" and result.provider == "CPUExecutionProvider"
    assert result.alpha.dtype == np.float32 and result.alpha.shape == image.shape[:2]
    assert result.alpha.min() >= 0.0 and result.alpha.max() <= 1.0
    assert result.labels is None
    np.testing.assert_allclose(result.alpha, from_job[0], atol=1e-6)


def test_refine_on_is_the_quality_level_s_own_refinement() -> None:
    image = cv2.imread(str(PORTRAIT))
    alphas = []
    for refine in (None, True):
        with rtseg.Segmenter(device="cpu", quality="best", refine=refine) as segmenter:
            alphas.append(segmenter.segment(image).alpha)
    np.testing.assert_array_equal(alphas[1], alphas[0])


def test_labels_come_at_the_image_size_for_a_semantic_model(tmp_path: Path) -> None:
    model = brightness_model(tmp_path / "voc.onnx", 16, 16, labels=True, name="voc_test")
    image = np.zeros((48, 64, 3), np.uint8)
    image[:, 32:] = 255
    with rtseg.Segmenter(model, device="cpu") as segmenter:
        result = segmenter.segment(image)
    assert result.model == "voc_test" and result.labels.shape == (48, 64)
    assert (result.labels[:, 32:] == PERSON).all() and (result.labels[:, :32] == 0).all()


def grey(level: int) -> np.ndarray:
    return np.full((32, 32, 3), level, np.uint8)


def test_video_mode_smooths_across_calls_and_reset_starts_afresh(bright_model: Path) -> None:
    with rtseg.Segmenter(bright_model, device="cpu", refine=False) as still:
        still.segment(grey(100))
        plain = still.segment(grey(103)).alpha
    np.testing.assert_allclose(plain, 103 / 255, atol=1e-6)  # no memory between images
    with rtseg.Segmenter(bright_model, device="cpu", refine=False, video=True) as video:
        video.segment(grey(100))
        smoothed = video.segment(grey(103)).alpha
        assert 100 / 255 < smoothed.mean() < 102 / 255  # held towards the previous frame
        video.reset()
        np.testing.assert_allclose(video.segment(grey(103)).alpha, 103 / 255, atol=1e-6)


def test_bad_images_and_a_closed_segmenter_are_refused(bright_model: Path) -> None:
    segmenter = rtseg.Segmenter(bright_model, device="cpu")
    with pytest.raises(RtsegError, match="BGR uint8"):
        segmenter.segment(np.zeros((32, 32), np.uint8))
    with pytest.raises(RtsegError, match="BGR uint8"):
        segmenter.segment(np.zeros((32, 32, 3), np.float32))
    segmenter.close()
    with pytest.raises(RtsegError, match="closed"):
        segmenter.segment(grey(0))


def test_an_unknown_model_is_refused() -> None:
    with pytest.raises(RtsegError, match="unknown model 'nope'"):
        rtseg.Segmenter("nope")


def test_a_matting_model_s_foreground_comes_at_the_image_size(tmp_path: Path) -> None:
    model = rvm_signature_model(tmp_path / "rvm_like.onnx")
    image = np.full((72, 128, 3), 200, np.uint8)
    with rtseg.Segmenter(model, device="cpu", downsample_ratio=0.5) as segmenter:
        first, again = segmenter.segment(image), segmenter.segment(image)
    assert first.fgr.shape == image.shape and first.fgr.dtype == np.uint8
    np.testing.assert_allclose(first.fgr[36, 64], [100, 200, 200], atol=2)  # blue halved
    np.testing.assert_array_equal(first.alpha, again.alpha)  # each image on its own
    with rtseg.Segmenter(bright_model_path(tmp_path), device="cpu") as plain:
        assert plain.segment(image).fgr is None


def bright_model_path(tmp_path: Path) -> Path:
    return brightness_model(tmp_path / "b.onnx")
