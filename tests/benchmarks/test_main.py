import pytest

from benchmarks.__main__ import main


def test_quick_run_writes_json_markdown_and_plots(tiny_run):
    out, results = tiny_run
    for name in ("results.json", "results.md", "latency_cdf.png", "fps_by_resolution.png"):
        assert (out / name).stat().st_size > 0, name
    machine = results["machine"]
    assert machine["cores"] >= 1 and machine["onnxruntime"] and machine["providers_available"]
    assert "cpu" in machine and "gpus" in machine
    assert {"engine", "pipeline", "live", "overload", "matting", "targets"} <= results.keys()


def test_every_selected_case_ran(tiny_run):
    _, results = tiny_run
    assert [r["height"] for r in results["pipeline"]] == ["native", "240"]
    assert [r["size"] for r in results["pipeline"]] == ["160x120", "320x240"]
    assert [r["upscaled"] for r in results["pipeline"]] == [False, True]
    assert [r["fps_target"] for r in results["live"]] == [30.0, 60.0]
    assert all("error" not in r for r in results["engine"])


def test_file_mode_runs_every_frame_in_both_modes(tiny_run):
    _, results = tiny_run
    for row in results["pipeline"]:
        assert row["frames"] == row["sequential_frames"] == 5
        assert row["stages_ms"].keys() == {"capture", "preprocess", "infer", "postprocess", "sink"}
        assert row["bottleneck"] in row["stages_ms"]


def test_live_runs_count_every_frame_as_output_or_drop(tiny_run):
    _, results = tiny_run
    for run in [*results["live"], results["overload"]["run"]]:
        assert run["frames_in"] == 6
        assert run["frames_out"] + run["drops"] == run["frames_in"]
        assert len(run["samples_ms"]["capture->sink"]) == run["frames_out"]


@pytest.mark.parametrize("argv", [["nonsense"], ["--threads", "x"]])
def test_bad_arguments_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2


def test_missing_model_is_one_line_error(tmp_path, capsys):
    code = main(["engine", "--quick", "--no-bundled", "--models", str(tmp_path / "no.onnx")])
    assert code == 2
    assert "model file not found" in capsys.readouterr().err
