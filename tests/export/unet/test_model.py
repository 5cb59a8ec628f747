"""The U-Net: output shape, size, and reading its width back from a state_dict."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="torch (the export extra) is not installed")

from export.flops import count_params  # noqa: E402
from export.unet.model import UNet, width_of  # noqa: E402


def test_one_logit_per_input_pixel():
    assert UNet(8)(torch.zeros(2, 3, 48, 64)).shape == (2, 1, 48, 64)


def test_default_size_is_real_time_class():
    assert 1.5e6 < count_params(UNet()) < 2.5e6


def test_width_is_read_back_from_weights():
    assert width_of(UNet(12).state_dict()) == 12
