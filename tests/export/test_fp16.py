"""FP16 conversion keeps the contract's I/O types and the listed ops in float32."""

from __future__ import annotations

import onnx
import pytest

pytest.importorskip("torch", reason="torch (the export extra) is not installed")

from export.fp16 import FP32_OPS, convert_file
from export.onnx_export import export
from export.parity import contract_info, open_session


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fp16")
    export("unet", folder / "fp32.onnx", "none", size=(32, 32))
    convert_file(folder / "fp32.onnx", folder / "fp16.onnx")
    return folder / "fp32.onnx", folder / "fp16.onnx"


def _types(model: onnx.ModelProto) -> dict[str, int]:
    inferred = onnx.shape_inference.infer_shapes(model).graph
    values = [*inferred.value_info, *inferred.input, *inferred.output]
    return {v.name: v.type.tensor_type.elem_type for v in values}


def test_io_types_and_metadata_stay_contract(pair):
    info = contract_info(open_session(pair[1]))
    assert info.precision == "fp16" and info.name == "unet"


def test_weights_are_halved_but_blocked_ops_run_in_float32(pair):
    model = onnx.load(str(pair[1]))
    halves = [t for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT16]
    assert len(halves) > 10
    types = _types(model)
    blocked = [n for n in model.graph.node if n.op_type in FP32_OPS]
    assert blocked
    for node in blocked:
        assert types[node.input[0]] == onnx.TensorProto.FLOAT, node.name
    assert pair[1].stat().st_size < 0.6 * pair[0].stat().st_size
