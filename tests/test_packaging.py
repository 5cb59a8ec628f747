"""The installable package: what the wheel holds, and what an installed `rtseg` needs."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import rtseg
from tests.wheel import build_wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("wheel"))


def test_the_wheel_holds_rtseg_only(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = f"rtseg-{rtseg.__version__}.dist-info/"
    assert all(n.startswith(("rtseg/", dist_info)) for n in names), [
        n for n in names if not n.startswith(("rtseg/", dist_info))
    ]
    for needed in (
        "rtseg/__init__.py",
        "rtseg/py.typed",
        "rtseg/io/video/writer.py",
        "rtseg/matte/refine.py",
        "rtseg/models/engine.py",
        "rtseg/pipeline/pipeline.py",
        "rtseg/batch/runner.py",
        "rtseg/bench/command.py",
        "rtseg/bench/slow_convs.onnx",
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


def test_installed_runtime_runs_from_the_wheel_alone(wheel: Path, tmp_path: Path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    # the bundled models are there
    listed = run_installed(site, "models")
    assert listed.returncode == 0, listed.stderr
    assert "selfie_general" in listed.stdout and "bundled" in listed.stdout
    # the repository's comparisons are not, and `rtseg bench` says where they are
    line = one_error_line(run_installed(site, "bench", "peer"))
    assert "source repository" in line and "python -m benchmarks peer" in line
