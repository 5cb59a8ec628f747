"""The real RVM network, where the user has installed it (`make rvm` or `rtseg models fetch
rvm`): its weights are GPL-3.0 and never part of the project, so without it these skip."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import rtseg
from rtseg.errors import RtsegError
from rtseg.models.registry import resolve

PORTRAIT = Path(rtseg.__file__).parent / "data" / "grace_hopper.jpg"


@pytest.fixture(scope="module")
def rvm() -> Path:
    try:
        return resolve("rvm_mobilenetv3")
    except RtsegError:
        pytest.skip("rvm_mobilenetv3 is not installed (make rvm, or rtseg models fetch rvm)")


def test_rvm_mattes_the_portrait_where_the_bundled_model_finds_the_person(rvm: Path) -> None:
    image = cv2.imread(str(PORTRAIT))
    with rtseg.Segmenter(rvm, device="cpu", threads=2) as matting:
        found = matting.segment(image)
    with rtseg.Segmenter(device="cpu") as plain:
        reference = plain.segment(image).alpha >= 0.5
    person = found.alpha >= 0.5
    assert (person & reference).sum() / (person | reference).sum() > 0.85
    assert found.fgr.shape == image.shape and found.fgr.dtype == np.uint8
    assert ((found.alpha > 0.05) & (found.alpha < 0.95)).mean() < 0.1  # soft edges only


def test_rvm_s_state_moves_on_in_video_mode_and_reset_starts_it_afresh(rvm: Path) -> None:
    image = cv2.resize(cv2.imread(str(PORTRAIT)), (320, 400))
    with rtseg.Segmenter(rvm, device="cpu", mode="video", refine=False, threads=2) as video:
        first = video.segment(image, time_s=0.0).alpha
        second = video.segment(image, time_s=0.04).alpha
        video.reset()
        again = video.segment(image, time_s=0.0).alpha
    assert np.abs(second - first).max() > 1e-3  # the state changed the second frame's alpha
    np.testing.assert_allclose(again, first, atol=1e-5)
