"""The shared TFLite toolchain's NOTICE handling: each converter rewrites only its own section.

Runs in the conversion venv (export/requirements-selfie.txt), which has tensorflow.
"""

from __future__ import annotations

from pathlib import Path

import pytest

tflite = pytest.importorskip("export.tflite", reason="the conversion toolchain is not installed")


def test_a_section_is_replaced_and_the_others_kept(tmp_path: Path) -> None:
    notice = tmp_path / "NOTICE"
    tflite.write_notice_section(notice, "selfie.onnx:\nold selfie text\n")
    tflite.write_notice_section(notice, "deeplab.onnx:\ndeeplab text\n")
    tflite.write_notice_section(notice, "selfie.onnx:\nnew selfie text\n")
    text = notice.read_text()
    assert text.count(tflite.NOTICE_RULE) == 1
    assert "new selfie text" in text and "deeplab text" in text
    assert "old selfie text" not in text


def test_the_bundled_notice_round_trips(tmp_path: Path) -> None:
    """Rewriting a section with its own text leaves the bundled NOTICE byte for byte as it is."""
    bundled = Path(__file__).resolve().parents[2] / "rtseg" / "models" / "NOTICE"
    notice = tmp_path / "NOTICE"
    notice.write_text(bundled.read_text())
    for section in bundled.read_text().split(tflite.NOTICE_RULE + "\n"):
        tflite.write_notice_section(notice, section)
    assert notice.read_text() == bundled.read_text()
