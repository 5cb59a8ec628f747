"""Parameter and FLOP counts of a network, for choosing a model by cost.

FLOPs come from torch's own `FlopCounterMode` (torch.utils.flop_counter), which counts a
multiply-add as 2 FLOPs for convolutions and matrix products and ignores element-wise ops;
that is the usual "GFLOPs" of papers that count 2 per MAC.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def count_flops(net: nn.Module, size: tuple[int, int]) -> int:
    """FLOPs of one forward pass of `net` on a [1, 3, H, W] input."""
    x = torch.zeros(1, 3, *size)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net.eval()(x)
    return int(counter.get_total_flops())
