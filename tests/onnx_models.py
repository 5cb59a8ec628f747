"""Small ONNX models the tests build: a contract model that computes brightness, and broken ones.

The brightness model is real ONNX run by real ONNX Runtime; its alpha is predictable (bright
pixels are "person"), which lets pipeline tests check masks exactly.
"""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto, helper

from rtseg.contract import ModelInfo, metadata_dict


def brightness_model(
    path: Path,
    height: int = 32,
    width: int = 32,
    *,
    input_name: str = "image",
    input_type: int = TensorProto.UINT8,
    output_name: str = "alpha",
    extra_output: str | None = None,
    rank4: bool = True,
    meta: dict[str, str] | None = None,
    trained: bool = True,
) -> Path:
    """Write a model whose alpha is each pixel's mean channel value / 255."""
    nodes = [
        helper.make_node("Cast", [input_name], ["x"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["x", "axes"], ["m"], keepdims=1),
        helper.make_node("Div", ["m", "scale"], ["d"]),
        helper.make_node("Transpose", ["d"], ["t"], perm=[0, 3, 1, 2]),
    ]
    out_shape = [1, 1, height, width]
    if rank4:
        nodes.append(helper.make_node("Identity", ["t"], [output_name]))
    else:
        nodes.append(helper.make_node("Reshape", ["t", "shape3"], [output_name]))
        out_shape = [1, height, width]
    outputs = [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, out_shape)]
    if extra_output:
        nodes.append(helper.make_node("Identity", ["t"], [extra_output]))
        outputs.append(helper.make_tensor_value_info(extra_output, TensorProto.FLOAT, out_shape))
    inits = [
        helper.make_tensor("axes", TensorProto.INT64, [1], [3]),
        helper.make_tensor("scale", TensorProto.FLOAT, [], [255.0]),
        helper.make_tensor("shape3", TensorProto.INT64, [3], [1, height, width]),
    ]
    graph = helper.make_graph(
        nodes,
        "brightness",
        [helper.make_tensor_value_info(input_name, input_type, [1, height, width, 3])],
        outputs,
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    info = ModelInfo("brightness", height, width, "linear", "tests", "MIT", "fp32", trained)
    props = metadata_dict(info) if meta is None else meta
    onnx.helper.set_model_props(model, props)
    onnx.save(model, path)
    return path
