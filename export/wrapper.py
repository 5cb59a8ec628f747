"""The contract wrapper: uint8 NHWC RGB in, person `alpha` (and optional VOC `labels`) out.

Normalisation lives in the graph so the runtime hands the model raw frames (less host work,
a 4x smaller upload to a GPU) and never needs to know how a model was trained.
"""

from __future__ import annotations

import torch
from torch import nn

from export.families import HEAD_BINARY, HEAD_VOC21, PERSON_CLASS

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def normalize(x01: torch.Tensor) -> torch.Tensor:
    """ImageNet mean/std normalisation of NCHW RGB in [0, 1]; training uses the same."""
    mean = torch.tensor(IMAGENET_MEAN, dtype=x01.dtype, device=x01.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=x01.dtype, device=x01.device).view(1, 3, 1, 1)
    return (x01 - mean) / std


def logits_of(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Raw logits of a torchvision segmentation model (dict output) or a plain network."""
    out = net(x)
    return out["out"] if isinstance(out, dict) else out


class ContractWrapper(nn.Module):
    """Wrap `net` so its graph follows the rtseg contract."""

    def __init__(self, net: nn.Module, head: str, labels: bool = False) -> None:
        super().__init__()
        if head not in (HEAD_VOC21, HEAD_BINARY):
            raise ValueError(f"unknown head {head!r}")
        if labels and head != HEAD_VOC21:
            raise ValueError("labels exist only for the 21-class VOC heads")
        self.net = net
        self.head = head
        self.labels = labels

    def forward(self, image: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        x = normalize(image.permute(0, 3, 1, 2).float() / 255.0)
        logits = logits_of(self.net, x)
        if self.head == HEAD_BINARY:
            return torch.sigmoid(logits)
        # The person's softmax probability, exp(l_person - logsumexp(l)): the same number as
        # softmax(logits)[person]. ONNX Runtime's Softmax over the class axis of NCHW took
        # 44 ms of LR-ASPP at 256x256 on the 2-core reference machine, this 22 ms in all
        # (a channels-last softmax measured 41 ms).
        person = logits[:, PERSON_CLASS : PERSON_CLASS + 1]
        alpha = torch.exp(person - torch.logsumexp(logits, dim=1, keepdim=True))
        if not self.labels:
            return alpha
        return alpha, torch.argmax(logits, dim=1).to(torch.uint8)
