"""Small ONNX models the tests build: a contract model that computes brightness, and broken ones.

The brightness model is real ONNX run by real ONNX Runtime; its alpha is predictable (bright
pixels are "person"), which lets pipeline tests check masks exactly.
"""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto, helper

from rtseg.models.contract import (
    CLASS_NAMES_KEY,
    FOREGROUND_KEY,
    STATE_KEY,
    ModelInfo,
    metadata_dict,
)

STATE_SHAPE = ["n", "c", "h", "w"]  # a recurrent state: zeros [1,1,1,1] first, then the real shape
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


def rvm_signature_model(path: Path, half: bool = False, meta: dict[str, str] | None = None) -> Path:
    """A tiny recurrent matting network with Robust Video Matting's ONNX release signature.

    `src` [1,3,H,W] (any size) is scaled by `downsample_ratio`; a 3x3 box filter of its
    brightness is blended into the state (r_o = (r_i + feature) / 2, zeros on the first
    frame), alpha is sigmoid(20 * (mean state - 0.25)) at the input's size, so grey pixels
    become "person" only after a few frames: the state really changes the output. The
    foreground is src with its blue channel halved. `half` makes src, states and outputs
    float16, as the release's fp16 file.
    """
    ftype = TensorProto.FLOAT16 if half else TensorProto.FLOAT
    states = [(f"r{i}i", f"r{i}o") for i in range(1, 5)]
    nodes = [
        helper.make_node("Cast", ["src"], ["x"], to=TensorProto.FLOAT),
        helper.make_node(
            "Concat", ["ones2", "downsample_ratio", "downsample_ratio"], ["scales"], axis=0
        ),
        helper.make_node("Resize", ["x", "", "scales"], ["small"], mode="linear"),
        helper.make_node("Conv", ["small", "box"], ["feat"], pads=[1, 1, 1, 1]),
        helper.make_node("Mul", ["feat", "half_"], ["feat_half"]),
    ]
    for state_in, state_out in states:
        nodes += [
            helper.make_node("Cast", [state_in], [f"{state_in}_f"], to=TensorProto.FLOAT),
            helper.make_node("Mul", [f"{state_in}_f", "half_"], [f"{state_in}_h"]),
            helper.make_node("Add", [f"{state_in}_h", "feat_half"], [f"{state_out}_f"]),
            helper.make_node("Cast", [f"{state_out}_f"], [state_out], to=ftype),
        ]
    nodes += [
        helper.make_node("Conv", ["r1o_f", "head", "bias"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["pha_small"]),
        helper.make_node("Shape", ["src"], ["src_shape"]),
        helper.make_node("Slice", ["src_shape", "two", "four"], ["hw"]),
        helper.make_node("Concat", ["one_one", "hw"], ["sizes"], axis=0),
        helper.make_node("Resize", ["pha_small", "", "", "sizes"], ["pha_f"], mode="linear"),
        helper.make_node("Cast", ["pha_f"], ["pha"], to=ftype),
        helper.make_node("Mul", ["x", "tint"], ["fgr_f"]),
        helper.make_node("Cast", ["fgr_f"], ["fgr"], to=ftype),
    ]
    image = ["batch", 3, "height", "width"]
    inputs = [helper.make_tensor_value_info("src", ftype, image)]
    inputs += [helper.make_tensor_value_info(i, ftype, STATE_SHAPE) for i, _ in states]
    inputs.append(helper.make_tensor_value_info("downsample_ratio", TensorProto.FLOAT, [1]))
    outputs = [
        helper.make_tensor_value_info("fgr", ftype, image),
        helper.make_tensor_value_info("pha", ftype, ["batch", 1, "height", "width"]),
    ]
    outputs += [helper.make_tensor_value_info(o, ftype, STATE_SHAPE) for _, o in states]
    inits = [
        helper.make_tensor("ones2", TensorProto.FLOAT, [2], [1.0, 1.0]),
        helper.make_tensor("box", TensorProto.FLOAT, [4, 3, 3, 3], [1 / 27] * 108),
        helper.make_tensor("half_", TensorProto.FLOAT, [], [0.5]),
        helper.make_tensor("head", TensorProto.FLOAT, [1, 4, 1, 1], [5.0] * 4),
        helper.make_tensor("bias", TensorProto.FLOAT, [1], [-5.0]),
        helper.make_tensor("two", TensorProto.INT64, [1], [2]),
        helper.make_tensor("four", TensorProto.INT64, [1], [4]),
        helper.make_tensor("one_one", TensorProto.INT64, [2], [1, 1]),
        helper.make_tensor("tint", TensorProto.FLOAT, [1, 3, 1, 1], [1.0, 1.0, 0.5]),
    ]
    graph = helper.make_graph(nodes, "rvm_like", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if meta:
        onnx.helper.set_model_props(model, meta)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def stateful_contract_model(path: Path, size: int = 32) -> Path:
    """An rtseg contract model declaring recurrent state and foreground in its metadata:
    alpha = (brightness + previous alpha) / 2 (zeros first), the state being alpha itself;
    the foreground is the input's colours."""
    nodes = [
        helper.make_node("Cast", ["image"], ["x"], to=TensorProto.FLOAT),
        helper.make_node("Div", ["x", "scale"], ["unit"]),
        helper.make_node("Transpose", ["unit"], ["fgr"], perm=[0, 3, 1, 2]),
        helper.make_node("ReduceMean", ["fgr", "axes"], ["m"], keepdims=1),
        helper.make_node("Add", ["m", "h_in"], ["s"]),
        helper.make_node("Mul", ["s", "half_"], ["alpha"]),
        helper.make_node("Identity", ["alpha"], ["h_out"]),
    ]
    side = [1, 1, size, size]
    graph = helper.make_graph(
        nodes,
        "stateful",
        [
            helper.make_tensor_value_info("image", TensorProto.UINT8, [1, size, size, 3]),
            helper.make_tensor_value_info("h_in", TensorProto.FLOAT, STATE_SHAPE),
        ],
        [
            helper.make_tensor_value_info("alpha", TensorProto.FLOAT, side),
            helper.make_tensor_value_info("fgr", TensorProto.FLOAT, [1, 3, size, size]),
            helper.make_tensor_value_info("h_out", TensorProto.FLOAT, side),
        ],
        [
            helper.make_tensor("axes", TensorProto.INT64, [1], [1]),
            helper.make_tensor("scale", TensorProto.FLOAT, [], [255.0]),
            helper.make_tensor("half_", TensorProto.FLOAT, [], [0.5]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    info = ModelInfo("stateful", size, size, "linear", "tests", "MIT", "fp32", True)
    props = metadata_dict(info) | {STATE_KEY: "h_in:h_out", FOREGROUND_KEY: "fgr"}
    onnx.helper.set_model_props(model, props)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path
