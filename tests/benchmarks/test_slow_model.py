"""The slow model the package ships for `rtseg bench overload` is what its generator makes."""

from __future__ import annotations

from benchmarks.slow_model import PACKAGED, slow_model
from rtseg.bench.side_by_side import SLOW_MODEL_PATH
from rtseg.models.engine import load_session


def test_the_packaged_slow_model_is_the_generators_output(tmp_path):
    made = slow_model(tmp_path / "slow_convs.onnx", **PACKAGED)
    assert made.read_bytes() == SLOW_MODEL_PATH.read_bytes()


def test_it_follows_the_model_contract():
    session, info = load_session(SLOW_MODEL_PATH, ["CPUExecutionProvider"])
    assert (info.name, info.height, info.width, info.trained) == ("slow_convs", 256, 256, False)
    assert [i.name for i in session.get_inputs()] == ["image"]
