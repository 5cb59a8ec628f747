"""The benchmark table: one small model measured end to end."""

from __future__ import annotations

import pytest

pytest.importorskip("torch", reason="torch (the export extra) is not installed")

from export.bench import main


def test_bench_prints_a_markdown_row_per_model(tmp_path, capsys):
    out = tmp_path / "table.md"
    assert main(["--models", "unet@32x32", "--runs", "3", "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 3 and lines[2].startswith("| unet | 32x32 | 1.96 |")
    medians = [float(cell.split("/")[0]) for cell in lines[2].split("|")[-3:-1]]
    assert all(m > 0 for m in medians)
    assert capsys.readouterr().out.strip().splitlines() == lines
