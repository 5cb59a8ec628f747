"""`rtseg bench`'s arguments: defaults worth quoting, and bad choices refused in one line."""

from __future__ import annotations

import sys

import pytest

from rtseg.bench.command import build_parser, settings_and_variants
from rtseg.bench.side_by_side import SLOW_MODEL, Settings, Variant
from rtseg.cli import main
from rtseg.models.registry import DEFAULT_MODEL


def test_no_arguments_measure_what_rtseg_run_does_on_the_sample_at_720p():
    settings, chosen = settings_and_variants(build_parser().parse_args([]))
    assert settings == Settings("file", "sample", frames=300, runs=200, fps=30.0, rounds=3)
    assert chosen == [Variant(DEFAULT_MODEL, "auto", None, "720", None)]


def test_overload_defaults_to_the_slow_model():
    _, chosen = settings_and_variants(build_parser().parse_args(["overload"]))
    assert [v.model for v in chosen] == [SLOW_MODEL]


def test_values_side_by_side_multiply():
    argv = ["live", "--model", "a", "b", "--threads", "1", "2", "--threads", "4", "--size", "360"]
    _, chosen = settings_and_variants(build_parser().parse_args(argv))
    assert [(v.model, v.threads) for v in chosen] == [(m, t) for m in ("a", "b") for t in (1, 2, 4)]


def one_line(argv: list[str], capsys) -> str:
    assert main(["bench", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rtseg: error: "), err
    return err[0]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["peer"], "python -m benchmarks peer"),
        (["quality"], "python -m benchmarks quality"),
        (["nonsense"], "unknown benchmark 'nonsense'"),
        (["file", "--source", "0"], "measure a camera with `live`"),
        (["engine", "--model", "no/such.onnx"], "no/such.onnx"),
    ],
)
def test_bad_choices_are_one_line(argv, says, capsys, tmp_path):
    assert says in one_line([*argv, "--quick", "--out", str(tmp_path)], capsys)
    assert not any(tmp_path.iterdir())  # nothing written


def test_plots_without_matplotlib_fail_before_measuring(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    line = one_line(["engine", "--plots", "--out", str(tmp_path / "out")], capsys)
    assert line.endswith("--plots needs the plots extra: pip install 'rtseg[plots]'")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv", [["--size", "big"], ["--threads", "0"], ["--device", "tpu"]])
def test_bad_values_are_refused_by_the_parser(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(["bench", *argv])
    assert info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err
