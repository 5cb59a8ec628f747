"""The int8 variant tool on a tiny network with RVM's signature (no GPL weights)."""

from __future__ import annotations

import numpy as np
import onnx

from export import rvm_int8
from tests.conftest import write_clip
from tests.onnx_models import rvm_signature_model


def test_the_convolutions_are_quantised_and_compared_with_the_float_network(tmp_path):
    model = rvm_signature_model(tmp_path / "rvm_like.onnx")
    clip = rvm_int8.frames(write_clip(tmp_path / "clip.mp4", frames=6), 6, (64, 48))
    assert len(clip) == 6 and clip[0].shape == (1, 3, 48, 64) and clip[0].dtype == np.float32
    out = tmp_path / "int8.onnx"
    rvm_int8.quantise(model, out, clip, "all")
    ops = {n.op_type for n in onnx.load(str(out)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops  # the box filter's Conv is int8 now
    result = rvm_int8.compare(model, out, clip, runs=2)
    assert 0.0 < result["alpha_max"] < 0.2 and result["iou_min"] > 0.9
    assert result["float_ms"] > 0 and result["int8_ms"] > 0
    # the encoder part: this network has no encoder, so nothing is quantised
    rvm_int8.quantise(model, tmp_path / "none.onnx", clip, "encoder")
    none = {n.op_type for n in onnx.load(str(tmp_path / "none.onnx")).graph.node}
    assert "QuantizeLinear" not in none
