"""The installable package: what the wheel holds, and what an installed `rtseg` needs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import rtseg
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built offline from a copy of the checkout (the checkout itself stays clean)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("rtseg", "export", "benchmarks", "tests"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "-q", "-w", str(out), str(src)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    (path,) = out.glob("rtseg-*.whl")
    return path


def test_the_wheel_holds_rtseg_only(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = f"rtseg-{rtseg.__version__}.dist-info/"
    assert all(n.startswith(("rtseg/", dist_info)) for n in names), [
        n for n in names if not n.startswith(("rtseg/", dist_info))
    ]
    for needed in (
        "rtseg/__init__.py",
        "rtseg/py.typed",
        "rtseg/io/video_out.py",
        "rtseg/matte/refine.py",
        "rtseg/models/engine.py",
        "rtseg/pipeline/pipeline.py",
        "rtseg/batch/runner.py",
        "rtseg/models/selfie_general.onnx",
        "rtseg/models/selfie_landscape.onnx",
        "rtseg/models/NOTICE",
        "rtseg/data/grace_hopper.jpg",
        "rtseg/data/NOTICE",
    ):
        assert needed in names
    assert not [n for n in names if n.endswith((".npz", ".pyc"))]


def test_the_wheel_names_one_version_and_keeps_plotting_optional(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    meta = Parser().parsestr(archive.read(f"rtseg-{rtseg.__version__}.dist-info/METADATA").decode())
    assert meta["Version"] == rtseg.__version__  # the one version, read from rtseg/__init__.py
    requires = [r.replace('"', "'") for r in meta.get_all("Requires-Dist")]
    runtime = [r for r in requires if "extra ==" not in r]
    assert not [r for r in runtime if r.startswith(("matplotlib", "torch", "onnx ", "onnx>"))]
    assert any(r.startswith("matplotlib") and "extra == 'plots'" in r for r in requires)
    scripts = archive.read(f"rtseg-{rtseg.__version__}.dist-info/entry_points.txt").decode()
    assert "rtseg = rtseg.cli:main" in scripts


def run_installed(site: Path, *args: str) -> subprocess.CompletedProcess:
    """`python -m rtseg ARGS` as installed from the wheel into `site`: `-S` keeps out the
    site hooks (an editable install of the checkout would map `benchmarks` back in), and the
    dependencies come from this interpreter's site-packages."""
    deps = sysconfig.get_paths()["purelib"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), deps])}
    return subprocess.run(
        [sys.executable, "-S", "-m", "rtseg", *args],
        capture_output=True, text=True, timeout=120, cwd=site, env=env,
    )  # fmt: skip


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rtseg: error: "), result.stderr
    return lines[0]


def test_installed_bench_outside_a_checkout_says_what_it_needs(wheel: Path, tmp_path: Path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    line = one_error_line(run_installed(site, "bench", "--quick"))
    assert "source checkout" in line and "python -m benchmarks" in line
    # and the runtime itself works from the wheel's files alone: the bundled models are there
    listed = run_installed(site, "models")
    assert listed.returncode == 0, listed.stderr
    assert "selfie_general" in listed.stdout and "bundled" in listed.stdout


def test_bench_without_onnx_says_what_it_needs(tmp_path: Path) -> None:
    # onnx made unimportable, as in an installation without it; the bench needs it only to
    # build the overload benchmark's slow model.
    blocker = tmp_path / "blocker" / "onnx"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'onnx'\", name='onnx')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker.parent), str(ROOT)])}
    result = subprocess.run(
        [sys.executable, "-m", "rtseg", "bench", "overload", "--quick",
         "--videos", "sample", "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "pip install onnx" in errors[0], result.stderr
