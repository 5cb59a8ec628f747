"""export/rvm.py: what it refuses before converting, and the names it builds. (The conversion
itself needs the toolchain venv; `make rvm` runs it, and test_rvm_graph / test_rvm_parity
check what it built.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from export import rvm

SHARED_RVM = Path(__file__).resolve().parents[2].parent / "shared" / "models" / "rvm"


def test_variant_names_say_the_fixed_ratio() -> None:
    assert rvm.variant_name(None) == "rvm_mobilenetv3"
    assert rvm.variant_name(1.0) == "rvm_mobilenetv3_r1"
    assert rvm.variant_name(0.25) == "rvm_mobilenetv3_r025"
    assert rvm.variant_name(0.375) == "rvm_mobilenetv3_r0375"


def test_a_folder_without_the_graph_is_refused(tmp_path: Path) -> None:
    with pytest.raises(rvm.SourceError, match=r"rvm\.json not found"):
        rvm.check_source(tmp_path)


def test_other_files_than_the_pinned_ones_are_refused(tmp_path: Path) -> None:
    (tmp_path / "rvm.json").write_text("{}")
    (tmp_path / "rvm.bin").write_bytes(b"\0")
    with pytest.raises(rvm.SourceError, match="not the expected file"):
        rvm.check_source(tmp_path)


def test_make_rvm_says_what_is_wrong_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert rvm.main(["--rvm", str(tmp_path), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "rvm.json not found" in err
    assert not (tmp_path / "out").exists()


def test_the_shared_graph_is_the_pinned_one() -> None:
    if not (SHARED_RVM / "rvm.json").is_file():
        pytest.skip(f"{SHARED_RVM} is absent (../shared)")
    rvm.check_source(SHARED_RVM)
