import cv2
import numpy as np
import pytest

from rtseg.errors import RtsegError
from rtseg.matte.compose import blend, blur_background


def blend_reference(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha.astype(np.float64)[..., None]
    return np.clip(np.rint(a * fg + (1.0 - a) * bg), 0, 255).astype(np.uint8)


def test_blend_matches_a_float_reference():
    rng = np.random.default_rng(0)
    fg = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    bg = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    alpha = rng.random((48, 64), dtype=np.float32)
    alpha[:4] = 0.0
    alpha[-4:] = 1.0

    got = blend(fg, bg, alpha).astype(int)
    expected = blend_reference(fg, bg, alpha).astype(int)
    assert np.abs(got - expected).max() <= 1
    assert np.abs(got - expected).mean() < 0.5
    # Where alpha is exactly 0 or 1 the result is exactly one of the images.
    np.testing.assert_array_equal(got[:4], bg[:4])
    np.testing.assert_array_equal(got[-4:], fg[-4:])


def bright_person_on_dark_background(height: int = 180, width: int = 320):
    """A bright block (the person) on a dark, textured background, and its exact alpha."""
    alpha = np.zeros((height, width), np.float32)
    alpha[40:, 120:200] = 1.0
    rng = np.random.default_rng(1)
    dark = rng.integers(10, 40, (height, width, 3), dtype=np.uint8)
    image = np.where(alpha[..., None] > 0, np.uint8(240), dark)
    return image, alpha


def test_blurred_background_next_to_the_person_stays_dark():
    image, alpha = bright_person_on_dark_background()
    out = blur_background(image, alpha, strength=15)

    # The background strip just left of the person, where a plain blur picks up the person.
    strip = (slice(60, 180), slice(108, 120))
    naive = cv2.GaussianBlur(image, (61, 61), 0)
    assert naive[strip].mean() > 80, "the test scene must make a plain blur leak"
    assert out[strip].mean() < 45
    # The person is kept as is.
    np.testing.assert_array_equal(out[alpha == 1.0], image[alpha == 1.0])


def test_background_is_really_blurred():
    image, alpha = bright_person_on_dark_background()
    out = blur_background(image, alpha, strength=15)
    far = (slice(0, 30), slice(0, 100))
    assert out[far].astype(float).std() < 0.3 * image[far].astype(float).std()
    assert abs(out[far].mean() - image[far].mean()) < 3


def test_frame_that_is_all_person_is_returned_unchanged():
    image, _ = bright_person_on_dark_background(64, 64)
    alpha = np.ones((64, 64), np.float32)
    np.testing.assert_array_equal(blur_background(image, alpha), image)


def test_odd_frame_sizes_work():
    image, alpha = bright_person_on_dark_background(67, 93)
    assert blur_background(image, alpha, strength=4).shape == (67, 93, 3)


@pytest.mark.parametrize(
    ("image", "alpha"),
    [
        (np.zeros((8, 8, 3), np.uint8), np.zeros((4, 4), np.float32)),
        (np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.float64)),
        (np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.float32)),
    ],
)
def test_bad_inputs_are_refused(image, alpha):
    with pytest.raises(RtsegError):
        blur_background(image, alpha)
    with pytest.raises(RtsegError):
        blend(image, image, alpha)


def test_blend_refuses_images_of_different_sizes():
    with pytest.raises(RtsegError, match="same size"):
        blend(
            np.zeros((8, 8, 3), np.uint8),
            np.zeros((8, 9, 3), np.uint8),
            np.zeros((8, 8), np.float32),
        )


def test_blend_takes_uint8_alpha_as_well_as_float():
    rng = np.random.default_rng(2)
    fg = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    bg = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    alpha8 = rng.integers(0, 256, (30, 40), dtype=np.uint8)
    alpha8[:3], alpha8[-3:] = 0, 255
    got = blend(fg, bg, alpha8).astype(int)
    expected = blend_reference(fg, bg, alpha8 / np.float32(255.0)).astype(int)
    assert np.abs(got - expected).max() <= 2
    np.testing.assert_array_equal(got[:3], bg[:3])
    np.testing.assert_array_equal(got[-3:], fg[-3:])
    out = blur_background(fg, alpha8)
    assert out.shape == fg.shape and np.array_equal(out[-3:], fg[-3:])


def test_blend_of_a_person_in_one_corner_is_the_background_elsewhere():
    rng = np.random.default_rng(4)
    fg = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    bg = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    alpha = np.zeros((60, 80), np.float32)
    alpha[35:50, 50:70] = rng.random((15, 20), dtype=np.float32)
    got = blend(fg, bg, alpha)
    outside = np.ones((60, 80), bool)
    outside[35:50, 50:70] = False
    np.testing.assert_array_equal(got[outside], bg[outside])
    expected = blend_reference(fg, bg, alpha).astype(int)
    assert np.abs(got.astype(int) - expected).max() <= 2
