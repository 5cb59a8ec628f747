"""A compact 4-level U-Net for portrait segmentation, sized for real-time CPU use.

Bilinear upsampling (not transposed convolutions) keeps the decoder light and free of
checkerboard artefacts; with the default width of 16 the network has about 2M parameters.
"""

from __future__ import annotations

import torch
from torch import nn

DEFAULT_WIDTH = 16
LEVELS = 4  # down-sampling steps: inputs must be multiples of 2**LEVELS


def _double_conv(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """NCHW normalised RGB in, one person logit per pixel out, at the input size."""

    def __init__(self, width: int = DEFAULT_WIDTH) -> None:
        super().__init__()
        widths = [width * 2**i for i in range(LEVELS + 1)]
        self.down = nn.ModuleList([_double_conv(3, widths[0])])
        self.down.extend(_double_conv(widths[i], widths[i + 1]) for i in range(LEVELS))
        self.up = nn.ModuleList(
            _double_conv(widths[i + 1] + widths[i], widths[i]) for i in reversed(range(LEVELS))
        )
        self.pool = nn.MaxPool2d(2)
        self.upsample = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.head = nn.Conv2d(widths[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else self.pool(x))
            skips.append(x)
        skips.pop()
        for block in self.up:
            x = block(torch.cat([self.upsample(x), skips.pop()], dim=1))
        return self.head(x)


def width_of(state: dict[str, torch.Tensor]) -> int:
    """The `width` a U-Net state_dict was trained with (its first convolution's filters)."""
    first = state.get("down.0.0.weight")
    return int(first.shape[0]) if first is not None else DEFAULT_WIDTH
