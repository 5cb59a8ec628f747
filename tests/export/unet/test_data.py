"""Training data: the images/ + masks/ layout, frames from video and folders, augmentation."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from export.unet.data import augment, fit, load_labelled, read_frames
from rtseg.errors import RtsegError
from tests.export.unet.conftest import write_clip, write_labelled


def test_labelled_pairs_load_as_rgb_and_unit_alpha(tmp_path):
    write_labelled(tmp_path, 3, (40, 30))
    (tmp_path / "masks" / "001.png").rename(tmp_path / "masks" / "001_matte.png")
    samples = load_labelled(tmp_path)
    assert len(samples) == 3
    rgb, alpha = samples[1]
    assert rgb.shape == (40, 30, 3) and rgb.dtype == np.uint8
    assert alpha.dtype == np.float32 and alpha.max() == 1.0 and alpha.min() == 0.0
    assert rgb[alpha > 0.5, 0].mean() > rgb[alpha < 0.5, 0].mean()  # warm person, cool room


def test_missing_masks_and_folders_are_refused(tmp_path):
    with pytest.raises(RtsegError, match="images/ and masks/"):
        load_labelled(tmp_path)
    write_labelled(tmp_path, 2, (20, 20))
    (tmp_path / "masks" / "000.png").unlink()
    with pytest.raises(RtsegError, match="no mask for 000"):
        load_labelled(tmp_path)


def test_frames_come_from_a_real_video_and_from_a_folder(tmp_path):
    write_clip(tmp_path / "clip.mp4", 12, (48, 64))
    frames = read_frames(tmp_path / "clip.mp4", every=3)
    assert len(frames) == 4 and frames[0].shape == (48, 64, 3)
    folder = tmp_path / "frames"
    folder.mkdir()
    for k, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{k}.png"), frame)
    assert len(read_frames(folder, limit=3)) == 3
    with pytest.raises(RtsegError, match="not found"):
        read_frames(tmp_path / "nothing.mp4")


def test_augmentation_keeps_image_and_alpha_aligned():
    rng = np.random.default_rng(0)
    rgb = np.zeros((50, 40, 3), np.uint8)
    rgb[10:30, 5:20] = 255
    alpha = (rgb[..., 0] > 0).astype(np.float32)
    for _ in range(10):
        aug_rgb, aug_alpha = augment((rgb, alpha), (32, 32), rng)
        assert aug_rgb.shape == (32, 32, 3) and aug_alpha.shape == (32, 32)
        bright = aug_rgb.mean(axis=2) > 100
        assert np.mean(bright == (aug_alpha > 0.5)) > 0.95
    assert fit((rgb, alpha), (32, 32))[0].shape == (32, 32, 3)
