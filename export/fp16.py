"""FP16 conversion of an exported contract model, keeping the accuracy-sensitive ops in FP32.

Ops kept in FP32, and why (measured on the families here with random and real inputs):
- Softmax, ReduceLogSumExp, Exp: the final probabilities are the model's output; the
  exponentials over 21 logits lose most to FP16 rounding exactly near alpha = 0.5, where the
  mask edge is, and a sum of exponentials overflows FP16 for large logits.
- Sigmoid: the same for the one-logit heads (U-Net).
- ReduceMean: the global-average-pooling branch of DeepLab's ASPP and LRASPP's attention sum
  thousands of activations; FP16 accumulation drifts and saturates for large inputs.
- Resize: its `scales`/`sizes` inputs must stay float32/int64 and its bilinear weights are
  FP32 in every kernel; casting it would only add a round trip.
The input stays uint8 and `alpha` float32 (`keep_io_types`), so the runtime never sees the
difference; FP16 pays on a GPU, while ONNX Runtime's CPU provider casts back to FP32.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import onnx
from onnxconverter_common import float16

from rtseg.models.contract import META_PREFIX

FP32_OPS = ("Softmax", "ReduceLogSumExp", "Exp", "Sigmoid", "ReduceMean", "Resize")


def to_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    """A float16 copy of `model` with uint8/float32 I/O and FP32_OPS left in float32."""
    block = sorted(set(float16.DEFAULT_OP_BLOCK_LIST) | set(FP32_OPS))
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    with warnings.catch_warnings():  # one warning per weight clamped to the fp16 range
        warnings.simplefilter("ignore", UserWarning)
        converted = float16.convert_float_to_float16(
            copy, keep_io_types=True, op_block_list=block, node_block_list=_casts_to_float(copy)
        )
    _keep_float_outputs(converted, [o.name for o in model.graph.output if _is_float(o)])
    return converted


def _is_float(value: onnx.ValueInfoProto) -> bool:
    return value.type.tensor_type.elem_type == onnx.TensorProto.FLOAT


def _keep_float_outputs(model: onnx.ModelProto, names: list[str]) -> None:
    """Make the float32 outputs float32 again where the converter retyped them.

    When a blocked op (Sigmoid) produces a graph output, the converter casts that output to
    fp16 despite `keep_io_types`; retarget that final cast, or add one.
    """
    graph = model.graph
    for output in graph.output:
        if output.name not in names or _is_float(output):
            continue
        producer = next(n for n in graph.node if output.name in n.output)
        if producer.op_type == "Cast":
            for attr in producer.attribute:
                if attr.name == "to":
                    attr.i = onnx.TensorProto.FLOAT
        else:
            half = output.name + "_fp16"
            producer.output[list(producer.output).index(output.name)] = half
            graph.node.append(
                onnx.helper.make_node("Cast", [half], [output.name], to=onnx.TensorProto.FLOAT)
            )
        output.type.tensor_type.elem_type = onnx.TensorProto.FLOAT


def _casts_to_float(model: onnx.ModelProto) -> list[str]:
    """Cast-to-float32 nodes (the uint8 input's): the converter retypes their outputs to fp16
    but not their `to` attribute, so they are kept in fp32 and followed by a cast to fp16.
    Blocking them by name, not the Cast op type, stops the converter from blocking the very
    casts it inserts (an endless loop)."""
    return [
        node.name
        for node in model.graph.node
        if node.op_type == "Cast"
        and any(a.name == "to" and a.i == onnx.TensorProto.FLOAT for a in node.attribute)
    ]


def convert_file(src: Path, dst: Path) -> None:
    """Write an fp16 copy of the fp32 contract model `src` to `dst`, metadata included."""
    model = to_fp16(onnx.load(str(src)))
    for prop in model.metadata_props:
        if prop.key == META_PREFIX + "precision":
            prop.value = "fp16"
    onnx.save(model, str(dst))
