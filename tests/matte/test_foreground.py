import cv2
import numpy as np

from rtseg.matte.foreground import foreground_at_frame_size


def test_a_foreground_equal_to_the_frame_gives_the_frame_back_at_full_detail():
    image = np.random.default_rng(0).integers(0, 256, (72, 128, 3), np.uint8)
    small = cv2.resize(image, (64, 36), interpolation=cv2.INTER_AREA)
    fgr = cv2.cvtColor(small, cv2.COLOR_BGR2RGB).astype(np.float32) / 255
    np.testing.assert_array_equal(foreground_at_frame_size(image, fgr), image)


def test_a_low_resolution_correction_moves_the_frame_s_colours():
    image = np.full((72, 128, 3), (200, 100, 50), np.uint8)  # BGR
    fgr = np.empty((36, 64, 3), np.float32)
    fgr[:] = (50 / 255, 100 / 255, 100 / 255)  # RGB: the blue the old background added is gone
    out = foreground_at_frame_size(image, fgr)
    assert out.shape == image.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[30, 60], [100, 100, 50])


def test_a_foreground_at_the_frame_s_size_is_taken_as_it_is():
    image = np.zeros((8, 8, 3), np.uint8)
    fgr = np.full((8, 8, 3), 0.5, np.float32)
    fgr[..., 0] = 1.0
    np.testing.assert_array_equal(foreground_at_frame_size(image, fgr)[0, 0], [128, 128, 255])
