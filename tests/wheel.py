"""The package as a user gets it: a wheel built from the checkout, installed into a fresh venv."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

from tests.conftest import ROOT


def build_wheel(src: Path, out: Path) -> Path:
    """A wheel built offline from a copy of the checkout in `src` (the checkout stays clean)."""
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("rtseg", "export", "benchmarks", "tests"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "-q", "-w", str(out), str(src)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    (path,) = out.glob("rtseg-*.whl")
    return path


def install_into_venv(wheel: Path, home: Path) -> Path:
    """A fresh venv (no system site-packages) at `home` with `wheel` installed; returns its
    bin folder. The dependencies come from this interpreter's site-packages through a .pth
    line: a path there is added to sys.path, but the .pth files inside it (an editable install
    mapping the checkout back in) are not run."""
    venv.create(home, with_pip=False)
    python = home / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site, "dependencies.pth").write_text("\n".join(sorted(deps)) + "\n")
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "-q", str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-3000:]
    return home / "bin"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without PYTHONPATH (the checkout on it would hide the installed copy)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return env | extra
