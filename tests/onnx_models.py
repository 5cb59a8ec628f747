"""Small ONNX models the tests build: a contract model that computes brightness, and broken ones.

The brightness model is real ONNX run by real ONNX Runtime; its alpha is predictable (bright
pixels are "person"), which lets pipeline tests check masks exactly.
"""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto, helper

from rtseg.models.contract import CLASS_NAMES_KEY, ModelInfo, metadata_dict

PERSON = 15  # the VOC class id a labelled test model gives bright pixels
CLASS_NAMES = ("background", *(f"class{i}" for i in range(1, PERSON)), "person")


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
    labels: bool = False,
    name: str = "brightness",
) -> Path:
    """Write a model whose alpha is each pixel's mean channel value / 255.

    With `labels`, it is a semantic model too: class 15 ("person") where alpha > 0.5,
    background (0) elsewhere, with the class names in its metadata.
    """
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
    if labels:
        nodes += [
            helper.make_node("Greater", ["t", "half"], ["bright"]),
            helper.make_node("Where", ["bright", "person", "background"], ["ids"]),
            helper.make_node("Reshape", ["ids", "shape3"], ["labels"]),
        ]
        outputs.append(
            helper.make_tensor_value_info("labels", TensorProto.UINT8, [1, height, width])
        )
        inits += [
            helper.make_tensor("half", TensorProto.FLOAT, [], [0.5]),
            helper.make_tensor("person", TensorProto.UINT8, [], [PERSON]),
            helper.make_tensor("background", TensorProto.UINT8, [], [0]),
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
    info = ModelInfo(name, height, width, "linear", "tests", "MIT", "fp32", trained)
    props = metadata_dict(info) if meta is None else meta
    if labels:
        props = {**props, CLASS_NAMES_KEY: ",".join(CLASS_NAMES)}
    onnx.helper.set_model_props(model, props)
    onnx.save(model, path)
    return path


def _save_contract_model(path: Path, graph: onnx.GraphProto, precision: str = "fp32") -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    height, width = (d.dim_value for d in graph.input[0].type.tensor_type.shape.dim[1:3])
    info = ModelInfo(graph.name, height, width, "linear", "tests", "MIT", precision, True)
    onnx.helper.set_model_props(model, metadata_dict(info))
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def fp16_brightness_model(path: Path, height: int = 32, width: int = 32) -> Path:
    """The brightness model computed in float16: uint8 in, Cast to fp16, fp16 ops, fp32 out."""
    nodes = [
        helper.make_node("Cast", ["image"], ["x"], to=TensorProto.FLOAT16),
        helper.make_node("ReduceMean", ["x", "axes"], ["m"], keepdims=1),
        helper.make_node("Mul", ["m", "scale"], ["d"]),
        helper.make_node("Transpose", ["d"], ["t"], perm=[0, 3, 1, 2]),
        helper.make_node("Cast", ["t"], ["alpha"], to=TensorProto.FLOAT),
    ]
    graph = helper.make_graph(
        nodes,
        "brightness_fp16",
        [helper.make_tensor_value_info("image", TensorProto.UINT8, [1, height, width, 3])],
        [helper.make_tensor_value_info("alpha", TensorProto.FLOAT, [1, 1, height, width])],
        [
            helper.make_tensor("axes", TensorProto.INT64, [1], [3]),
            helper.make_tensor("scale", TensorProto.FLOAT16, [], [1 / 255]),
        ],
    )
    return _save_contract_model(path, graph, "fp16")


def failing_model(
    path: Path, height: int = 32, width: int = 32, threshold: int = 250, *, always: bool = False
) -> Path:
    """A contract model that runs on dark frames and fails inside ONNX Runtime on bright ones.

    The output's reshape target grows by one column when any pixel exceeds `threshold`, so
    the engine's warm-up on zeros passes and the failure happens mid-run, in the infer stage.
    With `always` it fails on every frame, the warm-up's too (as a GPU out of memory does
    when an engine is built): ONNX Runtime's own exception, not rtseg's.
    """
    nodes = [
        helper.make_node("Cast", ["image"], ["x"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["x", "axes"], ["m"], keepdims=1),
        helper.make_node("Div", ["m", "scale"], ["d"]),
        helper.make_node("Transpose", ["d"], ["t"], perm=[0, 3, 1, 2]),
        helper.make_node("ReduceMax", ["image"], ["peak"], keepdims=0),
        helper.make_node(
            "GreaterOrEqual" if always else "Greater", ["peak", "threshold"], ["bright"]
        ),
        helper.make_node("Cast", ["bright"], ["grow"], to=TensorProto.INT64),
        helper.make_node("Mul", ["grow", "last_axis"], ["extra"]),
        helper.make_node("Add", ["shape", "extra"], ["target"]),
        helper.make_node("Reshape", ["t", "target"], ["alpha"]),
    ]
    graph = helper.make_graph(
        nodes,
        "failing",
        [helper.make_tensor_value_info("image", TensorProto.UINT8, [1, height, width, 3])],
        [helper.make_tensor_value_info("alpha", TensorProto.FLOAT, [1, 1, height, width])],
        [
            helper.make_tensor("axes", TensorProto.INT64, [1], [3]),
            helper.make_tensor("scale", TensorProto.FLOAT, [], [255.0]),
            helper.make_tensor("threshold", TensorProto.UINT8, [], [0 if always else threshold]),
            helper.make_tensor("last_axis", TensorProto.INT64, [4], [0, 0, 0, 1]),
            helper.make_tensor("shape", TensorProto.INT64, [4], [1, 1, height, width]),
        ],
    )
    return _save_contract_model(path, graph)
