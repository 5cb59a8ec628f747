"""Train the portrait U-Net on (image, alpha) samples, with checkpoints and progress reports.

The same loop serves labelled portraits and distillation: a teacher's soft alpha is just a
target, and binary cross-entropy accepts soft targets, so the U-Net learns the teacher's
confidence as well as its mask.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from export.unet.data import Sample, augment, fit
from export.unet.model import DEFAULT_WIDTH, UNet
from export.wrapper import normalize


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one run; `out` is where checkpoints go (None: keep none)."""

    size: tuple[int, int] = (256, 256)
    epochs: int = 30
    batch: int = 8
    lr: float = 2e-3
    width: int = DEFAULT_WIDTH
    seed: int = 0
    out: Path | None = None


@dataclass(frozen=True)
class Progress:
    """One report: the epoch, the step within it, the running loss and IoU of the epoch."""

    epoch: int
    epochs: int
    step: int
    steps: int
    loss: float
    iou: float
    val_iou: float | None = None  # set on the last report of an epoch with held-back samples


@dataclass
class TrainResult:
    """The trained model and the mean loss / IoU of every epoch."""

    model: UNet
    losses: list[float] = field(default_factory=list)
    ious: list[float] = field(default_factory=list)
    val_ious: list[float] = field(default_factory=list)


def to_batch(samples: list[Sample]) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised NCHW images and N1HW alpha targets."""
    rgb = torch.from_numpy(np.stack([s[0] for s in samples])).permute(0, 3, 1, 2).float() / 255
    alpha = torch.from_numpy(np.stack([s[1] for s in samples]))[:, None]
    return normalize(rgb), alpha.float()


def loss_fn(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy for every pixel plus soft Dice for the mask as a whole (thin limbs)."""
    bce = F.binary_cross_entropy_with_logits(logits, target)
    prob = torch.sigmoid(logits)
    inter = (prob * target).sum(dim=(1, 2, 3))
    total = prob.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3))
    dice = 1 - (2 * inter + 1) / (total + 1)
    return bce + dice.mean()


def batch_iou(pred: torch.Tensor, target: torch.Tensor) -> float:
    """IoU at 0.5 over a whole batch (empty against empty counts as perfect)."""
    p, t = pred > 0.5, target > 0.5
    union = (p | t).sum().item()
    return (p & t).sum().item() / union if union else 1.0


@torch.no_grad()
def evaluate(model: nn.Module, samples: list[Sample], size: tuple[int, int]) -> float:
    """IoU at 0.5 of the model's masks against the samples' alphas, over all pixels."""
    model.eval()
    inter = union = 0
    for start in range(0, len(samples), 16):
        x, target = to_batch([fit(s, size) for s in samples[start : start + 16]])
        p, t = torch.sigmoid(model(x)) > 0.5, target > 0.5
        inter += (p & t).sum().item()
        union += (p | t).sum().item()
    return inter / union if union else 1.0


def train(
    samples: list[Sample],
    config: TrainConfig,
    val: list[Sample] | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> TrainResult:
    """Train a fresh U-Net; writes `last.pt` every epoch and `best.pt` when it improves."""
    if not samples:
        raise ValueError("no training samples")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = UNet(config.width)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-4)
    steps = -(-len(samples) // config.batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=config.lr, total_steps=config.epochs * steps
    )
    result = TrainResult(model)
    best = -1.0
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = rng.permutation(len(samples))
        losses, ious = [], []
        for step in range(steps):
            chosen = order[step * config.batch : (step + 1) * config.batch]
            x, target = to_batch([augment(samples[i], config.size, rng) for i in chosen])
            logits = model(x)
            loss = loss_fn(logits, target)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(loss.item())
            ious.append(batch_iou(torch.sigmoid(logits.detach()), target))
            report = Progress(epoch, config.epochs, step + 1, steps, _mean(losses), _mean(ious))
            if progress and step + 1 < steps:
                progress(report)
        val_iou = evaluate(model, val, config.size) if val else None
        result.losses.append(_mean(losses))
        result.ious.append(_mean(ious))
        if val_iou is not None:
            result.val_ious.append(val_iou)
        if progress:
            progress(Progress(epoch, config.epochs, steps, steps, report.loss, report.iou, val_iou))
        score = val_iou if val_iou is not None else result.ious[-1]
        if config.out is not None:
            _save(model, config, epoch, result, config.out / "last.pt")
            if score > best:
                _save(model, config, epoch, result, config.out / "best.pt")
        best = max(best, score)
    model.eval()
    return result


def _mean(values: list[float]) -> float:
    return float(sum(values) / len(values))


def _save(model: UNet, config: TrainConfig, epoch: int, result: TrainResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "model": model.state_dict(),
            "width": config.width,
            "size": list(config.size),
            "epoch": epoch,
            "loss": result.losses[-1],
            "iou": result.val_ious[-1] if result.val_ious else result.ious[-1],
        },
        path,
    )
