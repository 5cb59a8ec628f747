"""`python -m export`: the families table, and one-line errors with a non-zero exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="torch (the export extra) is not installed")

from export.__main__ import main
from export.families import FAMILIES
from export.parity import contract_info, open_session

ROOT = Path(__file__).resolve().parents[2]


def test_list_shows_every_family_and_its_options(capsys):
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    for name in FAMILIES:
        assert name in out
    assert "default|none|PATH" in out and "none|PATH" in out and "fp32|fp16" in out
    assert "export.selfie" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nope", "-o", "x.onnx"], "unknown model family"),
        (["unet"], "give a family NAME and -o"),
        (["unet", "--size", "big", "-o", "x.onnx"], "--size"),
        (["unet", "--weights", "missing.pt", "-o", "x.onnx"], "weights file not found"),
    ],
)
def test_expected_failures_print_one_line(capsys, argv, message):
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_the_module_entry_point_exports_fp16_and_fails_without_a_traceback(tmp_path):
    out = tmp_path / "unet16.onnx"
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "export",
            "unet",
            "--weights",
            "none",
            "--precision",
            "fp16",
            "--size",
            "32x48",
            "-o",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert ok.returncode == 0, ok.stderr
    assert "random weights" in ok.stdout
    info = contract_info(open_session(out))
    assert (info.precision, info.input_size, info.trained) == ("fp16", "32x48", False)
    bad = subprocess.run(
        [sys.executable, "-m", "export", "unet", "--size", "30x30", "-o", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr and bad.stderr.count("\n") == 1
