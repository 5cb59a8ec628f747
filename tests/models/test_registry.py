"""Finding models by name, and what a name that is not installed says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import rtseg
from rtseg.models import registry


@pytest.fixture
def no_user_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RTSEG_MODELS", str(tmp_path / "models"))
    return tmp_path / "models"


def test_a_missing_rvm_says_how_to_get_it(no_user_models: Path) -> None:
    for name in ("rvm_mobilenetv3", "rvm_mobilenetv3_fp16"):
        with pytest.raises(rtseg.RtsegError) as raised:
            registry.resolve(name)
        message = str(raised.value)
        assert "`rtseg models fetch rvm`" in message and "`make rvm`" in message, message
        assert "selfie_general" in message  # what is there instead
    with pytest.raises(rtseg.RtsegError, match=r"^unknown model 'nope'"):
        registry.resolve("nope")


def test_a_segmenter_and_the_command_line_say_it_too(no_user_models: Path, tmp_path: Path):
    with pytest.raises(rtseg.RtsegError, match="rtseg models fetch rvm"):
        rtseg.Segmenter("rvm_mobilenetv3")
    done = subprocess.run(
        [sys.executable, "-m", "rtseg", "run", "--source", "sample", "--sink", "null",
         "--model", "rvm_mobilenetv3"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "rtseg models fetch rvm" in done.stderr
