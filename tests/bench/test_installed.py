"""`rtseg bench` as a user runs it: the wheel installed into a fresh venv, run from a folder
that is not the checkout, each mode writing JSON, Markdown and one HTML report."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.wheel import build_wheel, clean_env, install_into_venv

CHROMIUM = shutil.which("chromium")
TINY = ["--quick", "--size", "96", "--frames", "4", "--rounds", "2"]


@pytest.fixture(scope="module")
def bin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheel = build_wheel(tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("wheel"))
    return install_into_venv(wheel, tmp_path_factory.mktemp("venv"))


def bench(bin_dir: Path, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """The installed console script, `rtseg bench ARGS`, in `cwd`."""
    return subprocess.run(
        [str(bin_dir / "rtseg"), "bench", *args],
        capture_output=True, text=True, timeout=300, cwd=cwd, env=clean_env(**env),
    )  # fmt: skip


def results(out: Path, mode: str) -> dict:
    return json.loads((out / f"{mode}.json").read_text())


def test_the_venv_runs_the_installed_copy_not_the_checkout(bin_dir: Path, tmp_path: Path):
    where = subprocess.run(
        [str(bin_dir / "python"), "-c", "import rtseg.bench, sys; print(rtseg.bench.__file__); "
         "import importlib.util as u; print(u.find_spec('benchmarks'))"],
        capture_output=True, text=True, cwd=tmp_path, env=clean_env(), check=True,
    ).stdout.split()  # fmt: skip
    assert Path(where[0]).is_relative_to(bin_dir.parent), where
    assert where[1] == "None"  # the repository's benchmarks are not importable


@pytest.mark.parametrize("mode", ["engine", "file", "live", "overload"])
def test_each_mode_writes_percentiles_from_outside_the_checkout(bin_dir, tmp_path, mode):
    done = bench(bin_dir, tmp_path, mode, *TINY, "--threads", "1", "--out", "out")
    assert done.returncode == 0, done.stderr[-3000:]
    data = results(tmp_path / "out", mode)
    (row,) = data["variants"]
    lat = row["latency_ms"]
    samples = row["samples_ms"]["latency"]
    assert lat["n"] == len(samples) == row["frames"] > 0
    want = np.percentile(samples, (50, 95, 99))
    assert [lat["p50"], lat["p95"], lat["p99"]] == pytest.approx(want, abs=0.01)
    assert row["command"].startswith(f"rtseg bench {mode} ") and row["command"] in done.stdout
    if mode != "engine":
        assert row["size"].endswith("x96")
        assert {"preprocess", "infer", "postprocess", "sink"} <= row["stages_ms"].keys()
    if mode in ("live", "overload"):  # every frame is written or dropped, and counted
        assert row["frames"] + row["drops"] == row["frames_in"] == 4
        table = (tmp_path / "out" / f"{mode}.md").read_text()
        assert f"| {row['drops']} of 4 |" in table
    if mode == "live":
        lag = row["mask_lag_max"]
        assert f"| {lag} frame{'' if lag == 1 else 's'} |" in table
    if mode == "overload":
        assert row["model"] == "slow_convs" and row["check"]["queues_bounded"]
    machine = data["machine"]
    assert machine["cores"] >= 1 and machine["onnxruntime"] and machine["providers_available"]
    assert len(machine["load_average_end"]) == 3
    assert (tmp_path / "out" / f"{mode}.html").stat().st_size > 0


def test_two_models_side_by_side_in_one_table(bin_dir: Path, tmp_path: Path):
    models = ["selfie_general", "selfie_landscape"]
    done = bench(bin_dir, tmp_path, "engine", *TINY, "--rounds", "3", "--model", *models)
    assert done.returncode == 0, done.stderr[-3000:]
    data = results(tmp_path / "bench-results", "engine")
    assert [r["model"] for r in data["variants"]] == models
    assert [r["size"] for r in data["variants"]] == ["256x256", "256x144"]
    assert all(r["frames"] == 10 and len(r["fps_by_round"]) == 3 for r in data["variants"])
    # alternated: the progress lines visit both in every round, each round starting one later
    order = re.findall(r"round \d/3: (\w+)", done.stderr)
    assert order == [*models, *models[::-1], *models]
    table = (tmp_path / "bench-results" / "engine.md").read_text().split("\n\n")
    (summary,) = [t for t in table if t.startswith("| variant | model | provider")]
    assert [line.split(" | ")[1] for line in summary.splitlines()[2:]] == models


def test_a_provider_that_fell_back_is_flagged(bin_dir: Path, tmp_path: Path):
    # CUDA asked for with no GPU visible: ONNX Runtime runs the CPU instead, and says so only
    # in its log; the table must not pass the CPU's figures off as the GPU's.
    done = bench(
        bin_dir, tmp_path, "engine", *TINY, "--device", "cpu", "cuda", CUDA_VISIBLE_DEVICES=""
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = tmp_path / "bench-results"
    cpu, cuda = results(out, "engine")["variants"]
    assert (cpu["fell_back"], cuda["fell_back"]) == (False, True)
    assert cuda["provider"] == "CPUExecutionProvider"
    flagged = [line for line in (out / "engine.md").read_text().splitlines() if "FELL BACK" in line]
    assert len(flagged) == 1 and flagged[0].startswith("| cuda |")
    assert "warning: cuda: cuda was asked for" in done.stdout
    assert "FELL BACK TO CPU" in (out / "engine.html").read_text()


def test_without_plots_no_matplotlib_and_no_onnx_is_needed(bin_dir: Path, tmp_path: Path):
    # both made unimportable, as in an installation without the plots extra
    for name in ("matplotlib", "onnx"):
        (tmp_path / "block" / name).mkdir(parents=True)
        (tmp_path / "block" / name / "__init__.py").write_text(
            f'raise ModuleNotFoundError("No module named {name!r}", name={name!r})\n'
        )
    block = str(tmp_path / "block")
    done = bench(bin_dir, tmp_path, "overload", *TINY, PYTHONPATH=block)
    assert done.returncode == 0, done.stderr[-3000:]
    page = (tmp_path / "bench-results" / "overload.html").read_text()
    assert "Plots need the plots extra" in page and "<img" not in page
    asked = bench(bin_dir, tmp_path, "engine", "--plots", PYTHONPATH=block)
    assert asked.returncode == 2 and "Traceback" not in asked.stderr
    assert asked.stderr.strip() == "rtseg: error: --plots needs the plots extra: " + (
        "pip install 'rtseg[plots]'"
    )


def blue_pixels(png: Path) -> int:
    """Pixels of matplotlib's first line colour (#1f77b4); the page itself uses none."""
    image = cv2.imread(str(png))
    return int(np.all(np.abs(image.astype(int) - (180, 119, 31)) < 12, axis=2).sum())


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_the_html_report_shows_its_plots_in_a_browser(bin_dir: Path, tmp_path: Path):
    done = bench(bin_dir, tmp_path, "live", *TINY, "--threads", "1", "2", "--plots")
    assert done.returncode == 0, done.stderr[-3000:]
    out = tmp_path / "bench-results"
    page = out / "live.html"
    assert {p.name for p in out.glob("*.png")} == {"live-latency.png", "live-stages.png"}
    # self-contained: the page alone, moved away from the PNGs, still has them
    alone = tmp_path / "alone" / "report.html"
    alone.parent.mkdir()
    shutil.move(page, alone)
    shutil.rmtree(out)
    shots = {}
    for name, html in (("plots", alone), ("tables", None)):
        if html is None:  # the same page with its images taken out, to compare against
            html = alone.with_name("tables.html")
            html.write_text(re.sub(r"<img [^>]*>", "", alone.read_text()))
        shots[name] = tmp_path / f"{name}.png"
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,2400",
                 f"--screenshot={shots[name]}"]  # fmt: skip
        shot = subprocess.run(
            [CHROMIUM, *flags, html.as_uri()], capture_output=True, text=True, timeout=120
        )
        assert shot.returncode == 0, shot.stderr[-2000:]
    assert blue_pixels(shots["tables"]) == 0
    assert blue_pixels(shots["plots"]) > 500  # the CDF lines were drawn on the screen
    text = alone.read_text()
    assert text.count('src="data:image/png;base64,') == 2
    assert "<td>1 thread</td>" in text and "<td>2 threads</td>" in text
