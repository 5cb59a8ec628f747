"""`python -m export.unet`: train from a folder, distil, then export the checkpoint."""

from __future__ import annotations

import pytest

pytest.importorskip("torch", reason="torch (the export extra) is not installed")

from export.onnx_export import export
from export.unet.__main__ import main
from tests.export.unet.conftest import write_clip, write_labelled, write_red_teacher


def test_train_writes_checkpoints_that_export_to_the_contract(tmp_path, capsys):
    write_labelled(tmp_path / "data", 6, (40, 40))
    argv = [
        "train",
        "--data",
        str(tmp_path / "data"),
        "--out",
        str(tmp_path / "run"),
        "--size",
        "32x32",
        "--epochs",
        "2",
        "--batch",
        "4",
        "--width",
        "4",
        "--holdout",
        "3",
    ]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "epoch 2/2" in captured.err and "loss" in captured.err and "val iou" in captured.err
    assert "trained on 4 samples (2 held back)" in captured.out
    result = export("unet", tmp_path / "u.onnx", str(tmp_path / "run" / "best.pt"), size=(32, 32))
    assert result.info.trained and result.info.source.endswith("best.pt")


def test_distillation_from_a_clip(tmp_path, capsys):
    write_red_teacher(tmp_path / "t.onnx", (32, 32))
    write_clip(tmp_path / "clip.mp4", 8, (32, 48))
    argv = [
        "train",
        "--teacher",
        str(tmp_path / "t.onnx"),
        "--frames",
        str(tmp_path / "clip.mp4"),
        "--every",
        "2",
        "--out",
        str(tmp_path / "run"),
        "--size",
        "32x32",
        "--epochs",
        "1",
        "--width",
        "4",
    ]
    assert main(argv) == 0
    assert "trained on 4 samples" in capsys.readouterr().out
    assert (tmp_path / "run" / "last.pt").is_file()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train"], "either --data"),
        (["train", "--teacher", "t.onnx"], "needs both"),
        (["train", "--data", "d", "--size", "30x30"], "multiples of 16"),
        (["info", "--size", "40x40"], "multiples of 16"),
    ],
)
def test_bad_arguments_print_one_line(capsys, argv, message):
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_info_reports_parameters_and_flops(capsys):
    assert main(["info", "--size", "64x64", "--width", "8"]) == 0
    out = capsys.readouterr().out
    assert "M parameters" in out and "GFLOPs at 64x64" in out
