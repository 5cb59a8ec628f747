"""Grow, feather and smoothing strength: on drawn shapes, and on a real clip through the job."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import rtseg
from rtseg.errors import RtsegError
from rtseg.matte.tuning import Tuning, feather_alpha, grow_alpha
from tests.conftest import shared_file


def disc(radius: int, size: int = 200, dtype: type = np.float32) -> np.ndarray:
    image = np.zeros((size, size), np.uint8)
    cv2.circle(image, (size // 2, size // 2), radius, 255, -1, lineType=cv2.LINE_AA)
    return image if dtype == np.uint8 else image.astype(np.float32) / 255


def area(alpha: np.ndarray) -> float:
    """Pixels at or above half opacity."""
    half = 128 if alpha.dtype == np.uint8 else 0.5
    return float(np.count_nonzero(alpha >= half))


def soft_share(alpha: np.ndarray) -> float:
    """The share of pixels that are neither background nor solid (0.05 < alpha < 0.95)."""
    a = alpha.astype(np.float32) / (255 if alpha.dtype == np.uint8 else 1)
    return float(np.mean((a > 0.05) & (a < 0.95)))


@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
@pytest.mark.parametrize("pixels", [3, 12, 25])
def test_grow_and_shrink_move_the_edge_by_about_that_many_pixels_all_round(dtype, pixels):
    """The octagon reaches `pixels` along the axes and the diagonals alike: the disc's radius
    changes by that much (within 4%, an octagon against a circle), and the dtype is kept."""
    base = disc(50, dtype=dtype)
    for sign in (1, -1):
        out = grow_alpha(base, sign * pixels)
        assert out.dtype == base.dtype and out.shape == base.shape
        radius = np.sqrt(area(out) / np.pi)
        assert radius == pytest.approx(50 + sign * pixels, rel=0.04)
    assert grow_alpha(base, 0) is base


def test_feather_softens_the_edge_over_about_that_many_pixels():
    hard = np.zeros((100, 200), np.float32)
    hard[:, 100:] = 1.0
    for pixels in (4, 10, 15):
        row = feather_alpha(hard, pixels)[50]
        ramp = np.flatnonzero((row > 0.05) & (row < 0.95))
        assert abs(len(ramp) - 2 * pixels) <= 2  # soft from about -PX to +PX around the edge
        assert row[99] + row[100] == pytest.approx(1.0)  # centred on the edge: it stays put
        assert 0.3 < row[99] < 0.5 < row[100] < 0.7
    assert feather_alpha(hard, 0) is hard


def test_tuning_validates_steps_within_its_ranges_and_applies_in_order():
    tuning = Tuning(grow=4, feather=0)
    assert tuning.values() == {"grow": 4, "feather": 0, "smooth": 0.5}
    assert tuning.step("grow", -3) == -2  # steps of 2 px
    assert tuning.step("smooth", 1) == 0.6
    for _ in range(30):
        tuning.step("feather", 1)
    assert tuning.feather == 40  # clamped to the range
    for name, bad in (("grow", 41), ("grow", 2.5), ("feather", -1), ("smooth", 1.2),
                      ("grow", True), ("size", 1)):  # fmt: skip
        with pytest.raises(RtsegError, match=name):
            tuning.set(name, bad)
    # smoothing was on or off before it had a strength: True is the default, False off
    assert (tuning.set("smooth", False), tuning.set("smooth", True)) == (0.0, 0.5)
    tuning.set("smooth", 0.6)
    assert tuning.describe() == "grow -2 px  feather 40 px  smooth 0.6"
    tuning.set("feather", 0)
    alpha = disc(40)
    np.testing.assert_array_equal(tuning.apply(alpha), grow_alpha(alpha, -2))


def clip_alphas(path, frames: int, **options) -> list[np.ndarray]:
    alphas: list[np.ndarray] = []
    rtseg.process_video(
        path, max_frames=frames, on_frame=lambda f: alphas.append(f.alpha.copy()), **options
    )
    return alphas


def test_grow_shrink_and_feather_on_a_real_clip():
    """The issue's thresholds, at 960x540 through `process_video`: grow 12 adds more than 3%
    to the mask's area, grow -12 takes more than 3% away, feather 15 at least 1.5x the share
    of soft-edge pixels."""
    path = shared_file("videos/doctor_960x540.mp4")
    figures = {}
    for name, options in (("plain", {}), ("grow", {"grow": 12}), ("shrink", {"grow": -12}),
                          ("feather", {"feather": 15})):  # fmt: skip
        alphas = clip_alphas(path, 8, **options)[4:]
        figures[name] = (np.mean([area(a) for a in alphas]),
                         np.mean([soft_share(a) for a in alphas]))  # fmt: skip
    plain_area, plain_soft = figures["plain"]
    assert figures["grow"][0] > 1.03 * plain_area, figures
    assert figures["shrink"][0] < 0.97 * plain_area, figures
    assert figures["feather"][1] >= 1.5 * plain_soft, figures


def test_the_segmenter_takes_the_same_settings_and_changes_them_between_frames():
    image = cv2.imread(str(shared_file("portraits/p3m/original/p_015cd10e.jpg")))
    if image is None:
        pytest.skip("portrait p_015cd10e.jpg not readable")
    image = cv2.resize(image, (640, 640 * image.shape[0] // image.shape[1]))
    with rtseg.Segmenter(mode="video", grow=10) as segmenter:
        grown = segmenter.segment(image, time_s=0.0).alpha
        segmenter.tuning.set("grow", 0)
        plain = segmenter.segment(image, time_s=0.04).alpha
        assert segmenter.tuning.smooth == 0.5
    assert area(grown) > 1.03 * area(plain)
    with pytest.raises(RtsegError, match="feather must be in"):
        rtseg.Segmenter(feather=100)
