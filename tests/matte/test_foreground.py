import cv2
import numpy as np

from rtseg.matte.foreground import foreground_at_frame_size


def test_a_foreground_equal_to_the_frame_gives_the_frame_back_at_full_detail():
    image = np.random.default_rng(0).integers(0, 256, (72, 128, 3), np.uint8)
    small = cv2.resize(image, (64, 36), interpolation=cv2.INTER_AREA)
    fgr = cv2.cvtColor(small, cv2.COLOR_BGR2RGB).astype(np.float32) / 255
    alpha = np.zeros((72, 128), np.float32)
    np.testing.assert_array_equal(foreground_at_frame_size(image, fgr, alpha), image)


def test_the_correction_counts_where_the_person_is_transparent_only():
    image = np.full((72, 128, 3), (200, 100, 50), np.uint8)  # BGR
    fgr = np.empty((36, 64, 3), np.float32)
    fgr[:] = (50 / 255, 100 / 255, 100 / 255)  # RGB: the blue the old background added is gone
    alpha = np.zeros((72, 128), np.uint8)
    alpha[:, 64:] = 255  # solid on the right
    alpha[:, 40:64] = 128  # half transparent in between
    out = foreground_at_frame_size(image, fgr, alpha)
    assert out.shape == image.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[30, 10], [100, 100, 50])  # transparent: the model's
    np.testing.assert_array_equal(out[30, 100], image[30, 100])  # solid: the frame's
    np.testing.assert_allclose(out[30, 50], [150, 100, 50], atol=1)  # halfway


def test_a_foreground_at_the_frame_s_size_is_taken_as_it_is_where_transparent():
    image = np.zeros((8, 8, 3), np.uint8)
    fgr = np.full((8, 8, 3), 0.5, np.float32)
    fgr[..., 0] = 1.0
    alpha = np.zeros((8, 8), np.float32)
    np.testing.assert_array_equal(
        foreground_at_frame_size(image, fgr, alpha)[0, 0], [128, 128, 255]
    )


def test_fixed_point_weighting_stays_within_two_grey_levels_of_the_float_arithmetic():
    rng = np.random.default_rng(1)
    image = cv2.resize(rng.integers(0, 256, (18, 32, 3), np.uint8), (128, 72))
    fgr = rng.random((36, 64, 3), np.float32)
    alpha = cv2.resize(rng.random((9, 16), np.float32), (128, 72))
    small = cv2.resize(image, (64, 36), interpolation=cv2.INTER_AREA).astype(np.float32)
    correction = cv2.resize(fgr[..., ::-1] * 255 - small, (128, 72))
    exact = image + correction * (1 - alpha)[..., None]
    out = foreground_at_frame_size(image, fgr, alpha).astype(np.float32)
    assert np.abs(out - np.clip(exact, 0, 255)).max() <= 2.0
