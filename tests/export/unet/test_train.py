"""U-Net training and distillation on data the tests make: the model must actually learn."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch (the export extra) is not installed")

from export.unet.data import label_with_teacher, load_labelled, read_frames  # noqa: E402
from export.unet.model import UNet  # noqa: E402
from export.unet.train import TrainConfig, evaluate, loss_fn, train  # noqa: E402
from tests.export.unet.conftest import (  # noqa: E402
    portrait,
    write_clip,
    write_labelled,
    write_red_teacher,
)

SIZE = (64, 64)


def _untrained_iou(samples, width: int) -> float:
    torch.manual_seed(0)
    return evaluate(UNet(width), samples, SIZE)


def test_training_lowers_the_loss_and_beats_the_untrained_model(tmp_path):
    write_labelled(tmp_path / "data", 24, (80, 72))
    samples = load_labelled(tmp_path / "data")
    config = TrainConfig(size=SIZE, epochs=8, batch=8, lr=5e-3, width=8, out=tmp_path / "ckpt")
    reports = []
    result = train(samples, config, progress=reports.append)
    assert result.losses[-1] < 0.7 * result.losses[0]
    trained = evaluate(result.model, samples, SIZE)
    assert trained > _untrained_iou(samples, 8) + 0.2
    assert trained > 0.7
    assert {"last.pt", "best.pt"} <= {p.name for p in (tmp_path / "ckpt").iterdir()}
    assert reports[-1].epoch == 8 and reports[-1].step == reports[-1].steps


def test_distillation_matches_the_teacher_on_held_back_frames(tmp_path):
    write_red_teacher(tmp_path / "teacher.onnx", SIZE)
    write_clip(tmp_path / "clip.mp4", 40, (72, 96))
    samples = label_with_teacher(tmp_path / "teacher.onnx", read_frames(tmp_path / "clip.mp4"))
    assert len(samples) == 40
    held = samples[3::4]
    fit = [s for k, s in enumerate(samples) if k % 4 != 3]
    config = TrainConfig(size=SIZE, epochs=6, batch=6, lr=5e-3, width=8)
    result = train(fit, config, val=held)
    assert result.val_ious[-1] > _untrained_iou(held, 8) + 0.2
    assert result.val_ious[-1] > 0.7


def test_loss_is_lowest_for_the_right_answer():
    target = torch.from_numpy(portrait(np.random.default_rng(0), SIZE)[1]).float()[None, None]
    right = loss_fn((target * 2 - 1) * 10, target)
    wrong = loss_fn((1 - target * 2) * 10, target)
    assert right < 0.05 < wrong


def test_training_without_samples_is_refused():
    with pytest.raises(ValueError, match="no training samples"):
        train([], TrainConfig(size=SIZE, epochs=1))
