"""The TFLite -> ONNX toolchain the bundled-model converters share (selfie.py, coral.py).

tf2onnx reads the TFLite flatbuffer; these helpers give the result the rtseg contract's I/O and
metadata, check it, and keep one NOTICE for every bundled file. Runs in the conversion venv
(export/requirements-selfie.txt): tensorflow and tf2onnx pin versions the runtime's onnx can't
live with.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

import onnx
import tensorflow as tf
import tf2onnx
from onnx import helper

from rtseg.models.contract import INPUT_NAME, ModelInfo, metadata_dict

OPSET = 17
NOTICE_RULE = "=" * 72  # separates the sections of rtseg/models/NOTICE, one per converter
T = TypeVar("T")


def convert(tflite_path: Path, dequantize: bool = False) -> onnx.ModelProto:
    """tf2onnx's conversion of one TFLite file, at the toolchain's opset.

    `dequantize` folds an int8/uint8 graph's weights to float and drops the activations'
    quantize/dequantize pairs (tf2onnx's `--dequantize`, which its Python API only reaches
    through the graph-level calls used here).
    """
    if not dequantize:
        model, _ = tf2onnx.convert.from_tflite(str(tflite_path), opset=OPSET)
        return model
    with tf.device("/cpu:0"), tf.Graph().as_default():
        graph = tf2onnx.tfonnx.process_tf_graph(
            None, opset=OPSET, tflite_path=str(tflite_path), dequantize=True
        )
        graph = tf2onnx.optimizer.optimize_graph(graph)
        return graph.make_model(f"converted from {tflite_path.name}")


def finish_contract(
    model: onnx.ModelProto,
    info: ModelInfo,
    outputs: list[onnx.ValueInfoProto],
    extra_meta: dict[str, str] | None = None,
) -> onnx.ModelProto:
    """Declare the uint8 `image` input and `outputs`, write the contract metadata, check it all.

    The graph's nodes must already read `image` (uint8 [1, H, W, 3] RGB) and compute the
    tensors `outputs` names; whatever the converter declared before is replaced.
    """
    graph = model.graph
    del graph.input[:]
    shape_in = [1, info.height, info.width, 3]
    graph.input.append(helper.make_tensor_value_info(INPUT_NAME, onnx.TensorProto.UINT8, shape_in))
    del graph.output[:]
    graph.output.extend(outputs)
    del graph.value_info[:]
    drop_unused_initializers(graph)
    graph.name = info.name
    helper.set_model_props(model, {**metadata_dict(info), **(extra_meta or {})})
    model = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    onnx.checker.check_model(model, full_check=True)
    return model


def rename_tensor(graph: onnx.GraphProto, old: str, new: str) -> None:
    """Every node that reads or writes `old` now reads or writes `new`."""
    for node in graph.node:
        node.input[:] = [new if name == old else name for name in node.input]
        node.output[:] = [new if name == old else name for name in node.output]


def sha256(path: Path) -> str:
    """Hex sha256 of a file, for the NOTICE."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def toolchain_line() -> str:
    """What converted the files, for the NOTICE."""
    return (
        f"Converted with tf2onnx {tf2onnx.__version__} (ONNX opset {OPSET}), "
        f"tensorflow {tf.__version__}, onnx {onnx.__version__}:"
    )


def write_notice_section(notice: Path, text: str) -> None:
    """Put `text` into the NOTICE as its own section, replacing the one with the same first line.

    Each converter owns one section, so rebuilding one set of models keeps the others' notices.
    """
    title = text.splitlines()[0]
    sections = notice.read_text().split(NOTICE_RULE + "\n") if notice.exists() else []
    kept = [s for s in sections if s.strip() and s.splitlines()[0] != title]
    merged = sorted([*kept, text.rstrip("\n") + "\n"])
    notice.write_text((NOTICE_RULE + "\n").join(merged))


def single(items: Iterable[T]) -> T:
    """The one item of `items`; anything else means the graph is not the one expected."""
    found = list(items)
    if len(found) != 1:
        raise RuntimeError(f"expected exactly one, found {len(found)}: {found}")
    return found[0]


def drop_unused_initializers(graph: onnx.GraphProto) -> None:
    """Remove weights no node reads any more (after a rewrite cut them loose)."""
    used = {name for node in graph.node for name in node.input}
    for init in [t for t in graph.initializer if t.name not in used]:
        graph.initializer.remove(init)
