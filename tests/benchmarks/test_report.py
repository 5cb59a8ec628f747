import json

from benchmarks.report import main, render


def test_report_names_the_machine_and_has_every_section(tiny_run):
    _, results = tiny_run
    text = render(results)
    assert text.startswith("## Performance")
    assert results["machine"]["cpu"] in text
    for heading in ("### Engine", "### File mode", "### Live mode", "### Overload"):
        assert heading in text
    assert "320x240 (upscaled)" in text


def test_report_command_reads_a_results_file(tiny_run, capsys):
    out, results = tiny_run
    assert main([str(out / "results.json"), "--heading", "## Speed"]) == 0
    assert capsys.readouterr().out == render(results, "## Speed")


def test_report_of_an_unreadable_file_fails_cleanly(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main([str(bad)]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_engine_errors_are_listed_not_dropped(tiny_run):
    _, results = tiny_run
    results = json.loads(json.dumps(results))
    results["engine"].append({"model_file": "x.onnx", "device": "tensorrt", "error": "no libs"})
    assert "x.onnx on tensorrt: no libs" in render(results)
