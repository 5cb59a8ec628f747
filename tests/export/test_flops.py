"""Parameter and FLOP counts, checked against a convolution counted by hand."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="torch (the export extra) is not installed")

from export.flops import count_flops, count_params  # noqa: E402


def test_a_convolution_costs_two_flops_per_multiply_add():
    conv = torch.nn.Conv2d(3, 8, 3, padding=1)
    assert count_params(conv) == 8 * 3 * 9 + 8
    assert count_flops(conv, (10, 12)) == 2 * 8 * 3 * 9 * 10 * 12
