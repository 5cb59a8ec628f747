"""What a type checker sees of rtseg: the typed example app passes mypy, and misspelt options
(a mode that does not exist, a keyword process_video does not take) fail it."""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import ROOT, decode_frames

APP = ROOT / "docs" / "examples" / "typed_app.py"

pytest.importorskip("mypy", reason="mypy comes with the dev extra")


def mypy(
    app: Path, cwd: Path, python: Path | None = None, path: Path | None = ROOT
) -> tuple[int, str]:
    """mypy on `app` as a user runs it: from `cwd`, rtseg found on `path` (MYPYPATH) or in the
    environment of `python`; errors inside rtseg itself are not the app's and stay silent."""
    env = {k: v for k, v in os.environ.items() if k not in ("MYPYPATH", "PYTHONPATH")}
    if path is not None:
        env["MYPYPATH"] = str(path)
    command = [sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", os.devnull]
    command += ["--follow-imports=silent", "--no-error-summary", str(app)]
    if python is not None:
        command += ["--python-executable", str(python)]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout + done.stderr


def test_the_example_app_type_checks(tmp_path: Path) -> None:
    status, said = mypy(APP, tmp_path)
    assert status == 0, said


# (what the app says, a misspelling of it, what mypy says of the misspelling)
MISSPELT = [
    ('mode="image"', 'mode="stream"', 'Argument "mode" to "Segmenter" has incompatible type'),
    ('color="bgr"', 'color="BGR"', 'Argument "color" to "Segmenter" has incompatible type'),
    ("max_frames=frames", "max_frame=frames", 'Unexpected keyword argument "max_frame"'),
    ('quality="balanced"', 'quality="balance"', 'Argument "quality" to "process_video"'),
    ('device="cpu",\n        max', 'device="gpu",\n        max', 'Argument "device" to'),
]


def test_a_misspelt_option_fails_the_check(tmp_path: Path) -> None:
    text = APP.read_text()
    for i, (right, wrong, _) in enumerate(MISSPELT):
        assert text.count(right) == 1, right
        (tmp_path / f"app{i}.py").write_text(text.replace(right, wrong))
    status, said = mypy(tmp_path, tmp_path)  # one run checks every variant
    assert status == 1, said
    for i, (_, _, error) in enumerate(MISSPELT):
        errors = [
            line
            for line in said.splitlines()
            if line.startswith(f"app{i}.py:") and ": error:" in line
        ]
        assert len(errors) == 1 and error in errors[0], said


def test_the_example_app_runs(tmp_path: Path, clip: Path, bright_model: Path) -> None:
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), np.full((48, 64, 3), 200, np.uint8))
    app = runpy.run_path(str(APP))
    assert app["main"]([str(clip), str(photo), str(tmp_path / "out"), str(bright_model)]) == 0
    assert len(decode_frames(tmp_path / "out" / "blurred.mp4")) == 24
    cutout = cv2.imread(str(tmp_path / "out" / "cutout.png"), cv2.IMREAD_UNCHANGED)
    assert cutout.shape == (48, 64, 4)


@pytest.mark.parametrize(("mode", "visible"), [("compat", True), (None, False)])
def test_an_editable_install_in_compat_mode_is_what_mypy_sees(
    tmp_path: Path, mode: str | None, visible: bool
) -> None:
    """`make` installs rtseg editable in setuptools' compat mode: mypy finds the package
    through it, where the default mode's import hook hides it."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "rtseg", src / "rtseg", ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # pip and setuptools from the environment running the tests, rtseg into the new one
    tools = sysconfig.get_paths()["purelib"]
    installed = subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
          *(["--config-settings", f"editable_mode={mode}"] if mode else []), "-e", str(src)],
        env={**os.environ, "PYTHONPATH": tools}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-2000:]
    _, said = mypy(APP, tmp_path, python=python, path=None)
    assert ('module named "rtseg"' not in said) == visible, said
