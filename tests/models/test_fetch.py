"""`rtseg models fetch rvm` against an HTTP server on 127.0.0.1 that serves files with the
signature of RVM's ONNX release (built here at test time: tiny real networks, and the
converted RVM model with its fp16 conversion when `make rvm` has built one)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import onnx
import pytest

from rtseg.cli import main
from rtseg.errors import RtsegError
from rtseg.models import registry
from rtseg.models.engine import Engine
from rtseg.models.fetch import RELEASE_FILES, fetch_rvm, release_url
from tests.onnx_models import rvm_signature_model

FP32, FP16 = RELEASE_FILES[False], RELEASE_FILES[True]
SELFIE = registry.BUNDLED_DIR / "selfie_general.onnx"


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the folder; `/short/NAME` sends NAME announcing more bytes than it sends."""

    def do_GET(self) -> None:
        if self.path.startswith("/short/"):
            body = (Path(self.directory) / self.path.removeprefix("/short/")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body) + 1000))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, *args) -> None:
        pass


@contextmanager
def serving(folder: Path) -> Iterator[str]:
    handler = functools.partial(Handler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def served(tmp_path: Path) -> Path:
    folder = tmp_path / "release"
    folder.mkdir()
    rvm_signature_model(folder / FP32)
    rvm_signature_model(folder / FP16, half=True)
    (folder / "selfie.onnx").write_bytes(SELFIE.read_bytes())
    return folder


@pytest.fixture
def user_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "user models"
    monkeypatch.setenv("RTSEG_MODELS", str(folder))
    return folder


def test_the_release_url_is_rvm_s_own_release() -> None:
    assert release_url().startswith("https://github.com/PeterL1n/RobustVideoMatting/releases/")
    assert release_url().endswith("/rvm_mobilenetv3_fp32.onnx")
    assert release_url(fp16=True).endswith("/rvm_mobilenetv3_fp16.onnx")


@pytest.mark.parametrize("fp16", [False, True])
def test_fetch_installs_the_checked_file_with_its_licence(
    served: Path, user_models: Path, capsys: pytest.CaptureFixture[str], fp16: bool
) -> None:
    name = RELEASE_FILES[fp16]
    with serving(served) as base:
        args = ["models", "fetch", "rvm", "--url", f"{base}/{name}"] + (["--fp16"] if fp16 else [])
        assert main(args) == 0
    out = capsys.readouterr().out
    installed = user_models / name
    assert installed.read_bytes() == (served / name).read_bytes()
    sha = hashlib.sha256(installed.read_bytes()).hexdigest()
    notice = installed.with_suffix(".NOTICE").read_text()
    for text in (notice, out):
        assert "GPL-3.0" in text and sha in text and "RobustVideoMatting" in text
    listed = {e.name: e for e in registry.available()}
    assert not listed[installed.stem].bundled
    assert [p.name for p in user_models.iterdir() if "partial" in p.name] == []


@pytest.mark.parametrize(
    ("path", "fp16", "says"),
    [
        (FP32, True, "is the fp32 release file; fp16 was asked for"),
        (FP16, False, "is the fp16 release file; fp32 was asked for"),
        ("selfie.onnx", False, "not Robust Video Matting's release signature"),
        ("missing.onnx", False, "could not download"),
        (f"short/{FP32}", False, "stopped after"),
    ],
)
def test_a_file_that_is_not_what_was_asked_for_installs_nothing(
    served: Path,
    user_models: Path,
    capsys: pytest.CaptureFixture[str],
    path: str,
    fp16: bool,
    says: str,
) -> None:
    with serving(served) as base:
        args = ["models", "fetch", "rvm", "--url", f"{base}/{path}"] + (["--fp16"] if fp16 else [])
        assert main(args) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 2  # the "downloading" line and the error
    assert not user_models.exists() or list(user_models.iterdir()) == []


def test_an_installed_model_is_kept_unless_overwrite(served: Path, user_models: Path) -> None:
    with serving(served) as base:
        first = fetch_rvm(url=f"{base}/{FP32}")
        before = first.path.read_bytes()
        with pytest.raises(Exception, match="exists; pass overwrite=True"):
            fetch_rvm(url=f"{base}/{FP32}")
        (served / FP32).write_bytes((served / FP16).read_bytes())  # another file, same name
        with pytest.raises(Exception, match="fp16 release file"):
            fetch_rvm(url=f"{base}/{FP32}", overwrite=True)
        assert first.path.read_bytes() == before  # a refused download replaced nothing


def converted_rvm(name: str) -> Path:
    """A model `make rvm` built into the user's own model directory, if there is one."""
    path = registry.user_dir() / f"{name}.onnx"
    if not path.is_file():
        pytest.skip(f"no converted RVM model at {path} (make rvm builds one)")
    return path


def test_fetch_takes_the_converted_model_in_the_release_s_fp32_and_fp16_forms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from onnxconverter_common import float16

    folder = tmp_path / "release"
    folder.mkdir()
    model = onnx.load(converted_rvm("rvm_mobilenetv3"))
    del model.metadata_props[:]  # the release files carry no rtseg metadata
    onnx.save(model, folder / FP32)
    # onnxconverter-common does not convert inside If branches: the variant without them.
    model = onnx.load(converted_rvm("rvm_mobilenetv3_r1"))
    del model.metadata_props[:]
    half = float16.convert_float_to_float16(model, keep_io_types=False)
    ratio = next(i for i in half.graph.input if i.name == "downsample_ratio")
    ratio.type.tensor_type.elem_type = onnx.TensorProto.FLOAT  # as in the release's fp16 file
    for node in half.graph.node:
        node.input[:] = ["downsample_ratio_fp16" if i == ratio.name else i for i in node.input]
    cast = onnx.helper.make_node(
        "Cast", [ratio.name], ["downsample_ratio_fp16"], to=onnx.TensorProto.FLOAT16
    )
    half.graph.node.insert(0, cast)
    onnx.save(half, folder / FP16)
    monkeypatch.setenv("RTSEG_MODELS", str(tmp_path / "user"))
    with serving(folder) as base:
        full = fetch_rvm(url=f"{base}/{FP32}")
        small = fetch_rvm(fp16=True, url=f"{base}/{FP16}")
    assert full.info.rvm and not full.info.half and full.info.license == "GPL-3.0"
    assert small.info.rvm and small.info.half
    frame = np.random.default_rng(0).integers(0, 256, (1, 72, 128, 3), dtype=np.uint8)
    alphas = [Engine(f.path, "cpu", 1).run(frame).alpha for f in (full, small)]
    assert np.abs(alphas[0] - alphas[1]).max() < 0.05  # fp16 rounding, not another network


def test_offline_the_error_names_models_add(user_models: Path) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on: as good as offline
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RtsegError, match=r"could not download .*`rtseg models add FILE`"):
        fetch_rvm(url=f"http://127.0.0.1:{port}/{FP32}")
    assert not user_models.exists() or list(user_models.iterdir()) == []
