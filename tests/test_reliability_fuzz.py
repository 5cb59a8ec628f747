"""Issue 6, fuzzing: any input gives a result or a clear error, never a hang or another type."""

from __future__ import annotations

import contextlib
import io
import os
import re
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rtseg import cli
from rtseg.errors import RtsegError
from rtseg.io.sources import ImageSource
from rtseg.job import validate_config
from rtseg.models.contract import (
    REQUIRED_META,
    ContractError,
    ModelInfo,
    TensorSpec,
    check,
    metadata_dict,
)
from tests.conftest import write_clip
from tests.onnx_models import brightness_model, failing_model

FUZZ = settings(
    max_examples=40,
    deadline=2000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.timeout(120)
@FUZZ
@given(
    files=st.lists(
        st.tuples(st.sampled_from([".png", ".jpg", ".bmp", ".tif"]), st.binary(max_size=2048)),
        min_size=1,
        max_size=4,
    ),
    header=st.booleans(),
)
def test_image_sequence_reader_on_random_bytes(tmp_path_factory, files, header):
    folder = tmp_path_factory.mktemp("imgs")
    magic = {".png": b"\x89PNG\r\n\x1a\n", ".jpg": b"\xff\xd8\xff", ".bmp": b"BM", ".tif": b"II*\0"}
    for i, (suffix, data) in enumerate(files):
        (folder / f"{i}{suffix}").write_bytes((magic[suffix] if header else b"") + data)
    try:
        source = ImageSource(str(folder))
        while (frame := source.read()) is not None:
            assert frame.image.dtype.name == "uint8" and frame.image.shape[2] == 3
        source.close()
    except RtsegError as exc:
        assert "\n" not in str(exc) and Path(str(folder)).name in str(exc)


dims = st.one_of(st.integers(-2, 600), st.none(), st.text(max_size=3))
specs = st.builds(
    TensorSpec,
    st.sampled_from(["image", "alpha", "labels", "x", ""]),
    st.sampled_from(["tensor(uint8)", "tensor(float)", "tensor(float16)", "tensor(int64)"]),
    st.lists(dims, max_size=5).map(tuple),
)
meta_keys = st.sampled_from(
    ["rtseg.contract", "rtseg.name", "rtseg.input_size", "rtseg.resize", "rtseg.source",
     "rtseg.license", "rtseg.precision", "rtseg.trained", "other"]
)  # fmt: skip
meta_values = st.one_of(
    st.text(max_size=12), st.sampled_from(["1", "256x256", "linear", "fp16", "true", "false"])
)

Contract = tuple[list[TensorSpec], list[TensorSpec], dict[str, str]]


def _set_meta(key: str, value: str):
    return lambda i, o, m: (i, o, {**m, key: value})


def _drop_meta(key: str):
    return lambda i, o, m: (i, o, {k: v for k, v in m.items() if k != key})


def _input(**change):
    return lambda i, o, m: ([replace(i[0], **change)], o, m)


def _alpha(**change):
    return lambda i, o, m: (i, [replace(o[0], **change), *o[1:]], m)


def _add_output(name: str, kind: str):
    return lambda i, o, m: (i, [*o, TensorSpec(name, kind, o[0].shape[1:])], m)


# Changes to a valid model, and whether each breaks the contract.
CHANGES = {
    **{f"no {k}": (_drop_meta(f"rtseg.{k}"), True) for k in REQUIRED_META},
    "contract 2": (_set_meta("rtseg.contract", "2"), True),
    "size 0x5": (_set_meta("rtseg.input_size", "0x5"), True),
    "size of another model": (_set_meta("rtseg.input_size", "601x601"), True),  # sizes: 1-600
    "resize cubic": (_set_meta("rtseg.resize", "cubic"), True),
    "precision fp64": (_set_meta("rtseg.precision", "fp64"), True),
    "trained maybe": (_set_meta("rtseg.trained", "maybe"), True),
    "float input": (_input(type="tensor(float)"), True),
    "input named pixels": (_input(name="pixels"), True),
    "rank-3 input": (_input(shape=(1, 24, 3)), True),
    "dynamic height": (_input(shape=(1, None, 32, 3)), True),
    "four channels": (_input(shape=(1, 24, 32, 4)), True),
    "alpha a column wider": (
        lambda i, o, m: (i, [replace(o[0], shape=(*o[0].shape[:3], o[0].shape[3] + 1))], m),
        True,
    ),
    "float64 alpha": (_alpha(type="tensor(double)"), True),
    "alpha named mask": (_alpha(name="mask"), True),
    "an extra output": (_add_output("extra", "tensor(float)"), True),
    "float labels": (_add_output("labels", "tensor(float)"), True),
    # harmless: an unknown metadata key, a name, the labels output, the other resize
    "another key": (_set_meta("other", "x"), False),
    "another name": (_set_meta("rtseg.name", "renamed"), False),
    "labels": (_add_output("labels", "tensor(uint8)"), False),
    "corners resize": (_set_meta("rtseg.resize", "corners_linear"), False),
    "fp16 label": (_set_meta("rtseg.precision", "fp16"), False),
}


def valid_contract(height: int, width: int) -> Contract:
    info = ModelInfo("m", height, width, "linear", "tests", "MIT", "fp32", True)
    image = TensorSpec("image", "tensor(uint8)", (1, height, width, 3))
    alpha = TensorSpec("alpha", "tensor(float)", (1, 1, height, width))
    return [image], [alpha], metadata_dict(info)


def changed(height: int, width: int, changes: list[str]) -> tuple[Contract, bool]:
    """A valid model of that size with `changes` made to it, and whether they break it."""
    contract = valid_contract(height, width)
    for name in changes:
        contract = CHANGES[name][0](*contract)
    return contract, any(CHANGES[name][1] for name in changes)


random_models = st.tuples(
    st.tuples(
        st.lists(specs, max_size=3),
        st.lists(specs, max_size=3),
        st.dictionaries(meta_keys, meta_values),
    ),
    st.none(),  # no oracle: the checker may refuse or accept them
)
HARMLESS = sorted(name for name, (_, breaks) in CHANGES.items() if not breaks)
changed_models = st.builds(
    changed,
    st.integers(1, 600),
    st.integers(1, 600),
    st.tuples(  # any one change, and up to two harmless ones beside it
        st.sampled_from(sorted(CHANGES)), st.lists(st.sampled_from(HARMLESS), max_size=2)
    ).map(lambda pair: sorted({pair[0], *pair[1]})),
)


@pytest.mark.timeout(120)
@settings(FUZZ, max_examples=300)  # no model is loaded: 300 take about a second
@given(model=st.one_of(random_models, changed_models))
def test_contract_check_gives_model_info_or_a_contract_error(model):
    """Random specs, and valid models changed in one or two ways: a one-line ContractError
    (for a changed model exactly when a change breaks the contract) or, where the model is
    accepted, a ModelInfo that describes a model keeping the contract."""
    (inputs, outputs, meta), breaks = model
    try:
        info = check(inputs, outputs, meta)
    except ContractError as exc:
        assert str(exc) and "\n" not in str(exc)
        assert breaks is not False, f"a model keeping the contract was refused: {exc}"
    else:
        assert breaks is not True, "a model breaking the contract was accepted"
        assert_keeps_the_contract(info, inputs, outputs, meta)


def assert_keeps_the_contract(info: ModelInfo, inputs, outputs, meta) -> None:
    """What an accepted model must be, whatever the checker's own code says."""
    (image,) = inputs
    assert (image.name, image.type, image.shape) == (
        "image", "tensor(uint8)", (1, info.height, info.width, 3)
    )  # fmt: skip
    assert meta["rtseg.input_size"].lower().replace(" ", "") == f"{info.height}x{info.width}"
    assert (outputs[0].name, outputs[0].type) == ("alpha", "tensor(float)")
    assert outputs[0].shape == (1, 1, info.height, info.width)
    assert info.has_labels == (len(outputs) == 2)
    assert [(o.name, o.type) for o in outputs[1:]] in ([], [("labels", "tensor(uint8)")])
    assert (info.name, info.resize, info.precision) == (
        meta["rtseg.name"], meta["rtseg.resize"], meta["rtseg.precision"]
    )  # fmt: skip
    assert meta["rtseg.contract"] == "1" and info.trained == (meta["rtseg.trained"] == "true")


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_each_breach_of_the_contract_is_refused_and_nothing_else(change: str) -> None:
    (inputs, outputs, meta), breaks = changed(24, 32, [change])
    if breaks:
        with pytest.raises(ContractError):
            check(inputs, outputs, meta)
    else:
        assert_keeps_the_contract(check(inputs, outputs, meta), inputs, outputs, meta)


FLAGS = ["run", "models", "batch", "--source", "--model", "--effect", "--sink", "--realtime",
         "--policy", "--device", "--threads", "--stats-json", "--overwrite", "--max-frames",
         "--width", "--height", "--fps", "--mjpg", "--quality", "--refine", "--mask-every",
         "--crf", "--preset", "--out", "--split", "--workers", "-q", "--help", "-h"]  # fmt: skip
# Digits of any script: str.isdigit() says yes to all, int() takes the decimal ones ("٣")
# and refuses the others ("²", "①").
NOT_DECIMAL = [c for c in map(chr, range(0x3000)) if c.isdigit() and not c.isdecimal()]
numerals = st.text(
    st.one_of(st.sampled_from(NOT_DECIMAL), st.characters(categories=("Nd",))),
    min_size=1,
    max_size=3,
)
tokens = st.one_of(st.sampled_from(FLAGS), st.text(max_size=8), st.integers(-5, 99).map(str))
# How the values rtseg parses itself begin, to be completed at random.
SPELLINGS = {
    "--effect": ["blur", "blur:", "color:#", "replace:", "mask", "alpha", "classes", ""],
    "--sink": ["http:", "virtualcam:", "s3://b/", "out.mp4", "out", "null", "window", ""],
    "--source": ["sample", "0", "/dev/video", "x://", ""],
    "--model": ["selfie_general", "x.onnx", ""],
}
value = st.one_of(st.text(max_size=4), numerals, st.integers(-5, 99).map(str))
options = st.one_of(
    *(
        st.tuples(st.just(flag), st.tuples(st.sampled_from(starts), value).map("".join))
        for flag, starts in SPELLINGS.items()
    ),
    st.tuples(st.sampled_from(["--max-frames", "--fps", "--mask-every", "--crf"]), value),
    st.tuples(st.just("--fps"), st.floats().map(repr)),  # inf, nan, 1e-300...
    st.tuples(st.just("--sink"), st.integers(0, 10**6).map(lambda port: f"http:{port}")),
)
# `rtseg run` with options whose values are fuzzed, beside wholly random command lines.
run_lines = st.lists(options, max_size=4).map(
    lambda pairs: ["run", *(word for pair in pairs for word in pair)]
)


@pytest.mark.timeout(120)
@settings(FUZZ, max_examples=300)
@given(argv=st.one_of(st.lists(tokens, max_size=8), run_lines))
@example(argv=["run", "--sink", "http:²"])  # found by it: int() refused what isdigit() took
@example(argv=["run", "--effect", "blur:፩"])
@example(argv=["run", "--fps", "inf"])  # found by it: OverflowError, ZeroDivisionError and
@example(argv=["run", "--fps", "1e-300"])  # the server's OverflowError on an unusable port
@example(argv=["run", "--sink", "http:99999"])
def test_argument_parsing_gives_a_namespace_or_a_usage_exit(argv):
    """Any command line is a usage exit (status 2 with an error line, or 0 for --help), or
    arguments that become the job they describe and pass its checks, or one line saying
    what is wrong with them: nothing is left to fail later with another exception."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            args = cli.build_parser().parse_args(argv)
        except SystemExit as exc:
            assert exc.code in (0, 2)
            if exc.code == 2:
                assert ": error: " in err.getvalue().strip().split("\n")[-1]
            return
    assert args.command in ("run", "models", "batch")
    if args.command != "run":
        return
    try:
        config = cli.config_from_args(args)
        validate_config(config)  # what a job checks before it opens anything
    except RtsegError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert (config.source, config.max_frames, config.quality) == (
        args.source, args.max_frames, args.quality
    )  # fmt: skip
    assert len(config.sinks) == len(args.sinks or ["window"])


@contextlib.contextmanager
def inside(folder: Path):
    """Run with `folder` as the working directory and TensorRT's engine cache: whatever file
    a random command line names is written there."""
    cwd, cache = os.getcwd(), os.environ.get("RTSEG_TRT_CACHE")
    os.chdir(folder)
    os.environ["RTSEG_TRT_CACHE"] = str(folder / "trt")
    try:
        yield
    finally:
        os.chdir(cwd)
        if cache is None:
            os.environ.pop("RTSEG_TRT_CACHE", None)
        else:
            os.environ["RTSEG_TRT_CACHE"] = cache


def cli_inputs(folder: Path) -> dict[str, str]:
    """A clip, an image folder and models (working, failing on load, missing) in `folder`."""
    write_clip(folder / "clip.mp4", frames=4, size=(64, 48))
    (folder / "frames").mkdir()
    for name in ("a.png", "b.jpg"):
        cv2.imwrite(str(folder / "frames" / name), np.full((48, 64, 3), 200, np.uint8))
    return {
        "model": str(brightness_model(folder / "bright.onnx")),
        "fails": str(failing_model(folder / "fails.onnx", always=True)),
        "missing": str(folder / "no.onnx"),
    }


@pytest.mark.timeout(300)
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    extra=st.lists(tokens, max_size=6),
    source=st.sampled_from(
        ["sample", "clip.mp4", "frames", "missing.mp4", "/", "99", "/dev/video77", "x://y"]
    ),
    model=st.sampled_from(["model", "model", "fails", "missing"]),
)
@example(extra=["--source", "²"], source="sample", model="model")  # int() refused it
@example(extra=[], source="sample", model="fails")  # ONNX Runtime's error on its warm-up
@example(extra=["--fps", "inf"], source="sample", model="model")  # OverflowError
@example(extra=["--fps", "1e-300"], source="sample", model="model")  # ZeroDivisionError
@example(extra=["--sink", "http:99999"], source="sample", model="model")  # the bind's
def test_main_exits_with_a_code_and_never_a_traceback(extra, source, model, tmp_path_factory):
    """Command lines that reach the source, the model and the outputs (a working model, one
    that fails on load, a missing one): each run ends well or with one error line."""
    folder = tmp_path_factory.mktemp("cli")
    models = cli_inputs(folder)
    argv = ["run", "--source", source, *extra, "--model", models[model], "--sink", "null",
            "--max-frames", "2", "--width", "64", "--height", "48"]  # fmt: skip
    err = io.StringIO()
    with inside(folder), contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse's usage exit, or --help
            code = exc.code
    assert code in (0, 2), err.getvalue()
    if code == 2:
        assert re.match(r"rtseg( run)?: error: ", err.getvalue().strip().split("\n")[-1])
    assert "Traceback" not in err.getvalue()
