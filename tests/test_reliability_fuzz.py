"""Issue 6, fuzzing: any input gives a result or a clear error, never a hang or another type."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtseg import cli
from rtseg.errors import RtsegError
from rtseg.io.sources import ImageSource
from rtseg.models.contract import ContractError, ModelInfo, TensorSpec, check

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


@pytest.mark.timeout(120)
@FUZZ
@given(
    inputs=st.lists(specs, max_size=3),
    outputs=st.lists(specs, max_size=3),
    meta=st.dictionaries(meta_keys, meta_values),
)
def test_contract_check_gives_model_info_or_a_contract_error(inputs, outputs, meta):
    try:
        info = check(inputs, outputs, meta)
    except ContractError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert isinstance(info, ModelInfo)


FLAGS = ["run", "models", "--source", "--model", "--effect", "--sink", "--realtime", "--policy",
         "--device", "--threads", "--stats-json", "--overwrite", "--max-frames", "--width",
         "--height", "--fps", "--mjpg", "-q", "--help", "-h"]  # fmt: skip
tokens = st.one_of(st.sampled_from(FLAGS), st.text(max_size=8), st.integers(-5, 99).map(str))


@pytest.mark.timeout(120)
@FUZZ
@given(argv=st.lists(tokens, max_size=8))
def test_argument_parsing_gives_a_namespace_or_a_usage_exit(argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            args = cli.build_parser().parse_args(argv)
        except SystemExit as exc:
            assert exc.code in (0, 2)
            return
    assert args.command in ("run", "models")


@pytest.mark.timeout(180)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    extra=st.lists(tokens, max_size=6),
    source=st.sampled_from(["missing.mp4", "/", "99", "/dev/video77", "x://y"]),
)
def test_main_exits_with_a_code_and_never_a_traceback(extra, source, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    argv = ["run", "--source", source, "--model", str(folder / "no.onnx"), *extra,
            "--sink", "null", "--max-frames", "2"]  # fmt: skip
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = cli.main(argv)
        except SystemExit as exc:
            code = exc.code
    assert code in (0, 1, 2)
    assert "Traceback" not in err.getvalue()
