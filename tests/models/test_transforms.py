import numpy as np

from rtseg.models.contract import ModelInfo
from rtseg.models.transforms import auto_ratio, model_input_size, to_model_input, upscale_alpha


def info(resize: str) -> ModelInfo:
    return ModelInfo("m", 8, 16, resize, "s", "l", "fp32", True)


def test_model_input_is_rgb_uint8_at_model_size():
    bgr = np.zeros((90, 160, 3), np.uint8)
    bgr[..., 0] = 255  # blue
    for mode in ("linear", "corners_linear"):
        tensor = to_model_input(bgr, info(mode))
        assert tensor.shape == (1, 8, 16, 3) and tensor.dtype == np.uint8
        assert (tensor[0, ..., 2] == 255).all() and (tensor[0, ..., 0] == 0).all()


def test_whole_frame_is_stretched_not_cropped():
    bgr = np.zeros((90, 160, 3), np.uint8)
    bgr[:, :80] = 255  # left half white
    tensor = to_model_input(bgr, info("corners_linear"))[0, ..., 0]
    assert (tensor[:, :7] == 255).all() and (tensor[:, 9:] == 0).all()


def test_upscale_alpha_to_frame_size():
    alpha = np.zeros((8, 16), np.float32)
    alpha[:, 8:] = 1
    big = upscale_alpha(alpha, 90, 160)
    assert big.shape == (90, 160)
    assert big[:, :70].max() == 0 and big[:, 90:].min() == 1


def test_a_network_of_any_size_sees_any_frame_at_320x180_s_area():
    any_size = ModelInfo("m", 0, 0, "linear", "s", "l", "fp32", True)
    assert auto_ratio(720, 1280) == 0.25
    assert model_input_size(any_size, 720, 1280) == (180, 320)
    assert model_input_size(any_size, 1080, 1920) == (180, 320)
    assert model_input_size(any_size, 240, 320) == (208, 277)  # 4:3, the same area
    assert model_input_size(any_size, 120, 160) == (120, 160)  # never up
    assert model_input_size(any_size, 720, 1280, ratio=0.5) == (360, 640)
