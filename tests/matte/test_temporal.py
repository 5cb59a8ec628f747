import itertools

import numpy as np
import pytest

from rtseg.errors import RtsegError
from rtseg.matte.temporal import TemporalSmoother


def mean_change(alphas: list[np.ndarray]) -> float:
    return float(np.mean([np.abs(b - a).mean() for a, b in itertools.pairwise(alphas)]))


def square(size: int, left: int, top: int = 20, side: int = 24) -> np.ndarray:
    mask = np.zeros((size, size), np.float32)
    mask[top : top + side, left : left + side] = 1.0
    return mask


def test_still_scene_with_noisy_masks_flickers_much_less():
    rng = np.random.default_rng(0)
    truth = square(64, 20)
    scene = (30 + 180 * truth).astype(np.float32)
    smoother = TemporalSmoother()
    raw, smoothed = [], []
    for _ in range(40):
        image = np.clip(scene + rng.normal(0, 2, scene.shape), 0, 255).astype(np.uint8)
        alpha = np.clip(truth + rng.normal(0, 0.2, truth.shape), 0, 1).astype(np.float32)
        raw.append(alpha)
        smoothed.append(smoother.update(image, alpha))

    assert mean_change(smoothed[5:]) <= 0.6 * mean_change(raw[5:])
    # Steadier, and still right: fewer pixels on the wrong side of 0.5, not more.
    raw_wrong = sum(((a > 0.5) != (truth > 0.5)).sum() for a in raw[5:])
    smoothed_wrong = sum(((a > 0.5) != (truth > 0.5)).sum() for a in smoothed[5:])
    assert smoothed_wrong < 0.5 * raw_wrong


def test_moving_edge_is_followed_within_one_frame():
    smoother = TemporalSmoother()
    for frame, left in enumerate(range(4, 36, 4)):
        truth = square(64, left)
        image = np.repeat((30 + 180 * truth).astype(np.uint8)[..., None], 3, axis=2)
        out = smoother.update(image, truth)
        wrong = ((out > 0.5) != (truth > 0.5)).sum()
        assert wrong == 0, f"frame {frame}: {wrong} pixels on the wrong side of the edge"


def test_alpha_jump_without_image_change_is_followed():
    image = np.full((32, 32), 100, np.uint8)
    smoother = TemporalSmoother()
    smoother.update(image, np.zeros((32, 32), np.float32))
    out = smoother.update(image, np.ones((32, 32), np.float32))
    np.testing.assert_allclose(out, 1.0)


def test_small_alpha_change_in_a_still_region_moves_by_still_weight():
    image = np.full((16, 16), 100, np.uint8)
    smoother = TemporalSmoother(strength=0.4)
    assert smoother.still_weight == pytest.approx(0.15**0.8)
    smoother.update(image, np.full((16, 16), 0.5, np.float32))
    out = smoother.update(image, np.full((16, 16), 0.6, np.float32))
    np.testing.assert_allclose(out, 0.5 + 0.1 * 0.15**0.8, atol=1e-6)


@pytest.mark.parametrize("strength", [0.0, 0.25, 0.5, 1.0])
def test_strength_sets_how_much_of_the_past_a_still_region_keeps(strength: float):
    """Strength 0 is off (the new alpha whole), the default 0.5 keeps 0.85 of the past, 1
    keeps 0.9775; a change between two frames takes effect on the next one."""
    image = np.full((16, 16), 100, np.uint8)
    smoother = TemporalSmoother()
    smoother.update(image, np.full((16, 16), 0.5, np.float32))
    smoother.strength = strength
    out = smoother.update(image, np.full((16, 16), 0.6, np.float32))
    kept = 1.0 - 0.15 ** (strength / 0.5)
    np.testing.assert_allclose(out, 0.6 - 0.1 * kept, atol=1e-6)


def test_reset_starts_a_new_stream():
    image = np.full((16, 16), 100, np.uint8)
    smoother = TemporalSmoother()
    smoother.update(image, np.full((16, 16), 0.2, np.float32))
    smoother.reset()
    out = smoother.update(image, np.full((16, 16), 0.7, np.float32))
    np.testing.assert_allclose(out, 0.7)


def test_image_at_frame_size_is_brought_to_alpha_size():
    smoother = TemporalSmoother()
    big = np.full((90, 160, 3), 80, np.uint8)
    alpha = np.full((16, 16), 0.4, np.float32)
    assert smoother.update(big, alpha).shape == (16, 16)
    assert smoother.update(big, alpha + 0.1).shape == (16, 16)


def test_output_is_not_aliased_to_internal_state():
    image = np.full((16, 16), 100, np.uint8)
    smoother = TemporalSmoother()
    first = smoother.update(image, np.full((16, 16), 0.5, np.float32))
    first[:] = 0.0
    out = smoother.update(image, np.full((16, 16), 0.5, np.float32))
    np.testing.assert_allclose(out, 0.5)


@pytest.mark.parametrize(
    ("image", "alpha"),
    [
        (np.zeros((8, 8), np.float32), np.zeros((8, 8), np.float32)),
        (np.zeros((8, 8, 4), np.uint8), np.zeros((8, 8), np.float32)),
        (np.zeros((8, 8), np.uint8), np.zeros((1, 8, 8), np.float32)),
    ],
)
def test_bad_inputs_are_refused(image, alpha):
    with pytest.raises(RtsegError, match="smoothing needs"):
        TemporalSmoother().update(image, alpha)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"strength": -0.1},
        {"strength": 1.5},
        {"motion_levels": (5.0, 5.0)},
        {"jump_levels": (0.5, 0.1)},
        {"window": 0},
    ],
)
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(RtsegError):
        TemporalSmoother(**kwargs)
