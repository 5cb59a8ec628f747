"""A contract model that is slow on purpose, for the overload benchmark and its tests.

A real ONNX graph (a chain of 3x3 convolutions at the input size), so the overload run
measures ONNX Runtime doing heavy work, not a sleep; `depth` and `channels` set its cost.
`python -m benchmarks.slow_model` rebuilds the one the package holds for `rtseg bench
overload` (an installed rtseg has no onnx to build it with).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rtseg.bench.side_by_side import SLOW_MODEL_PATH
from rtseg.errors import RtsegError
from rtseg.models.contract import ModelInfo, metadata_dict

# About 45 ms a frame on 2 cores of an AMD EPYC: slower than a 30 fps camera's period.
PACKAGED = {"size": 256, "channels": 16, "depth": 10}


def slow_model(path: Path, size: int = 128, channels: int = 32, depth: int = 8) -> Path:
    """Write a [1, size, size, 3] uint8 -> alpha model of `depth` convolutions; returns `path`."""
    try:
        import onnx  # not a runtime dependency: only this benchmark builds a model
        from onnx import TensorProto, helper, numpy_helper
    except ModuleNotFoundError:
        raise RtsegError(
            "the overload benchmark builds its slow model with onnx: pip install onnx, "
            "or pass --overload-model"
        ) from None
    rng = np.random.default_rng(0)
    nodes = [
        helper.make_node("Cast", ["image"], ["f"], to=TensorProto.FLOAT),
        helper.make_node("Transpose", ["f"], ["x0"], perm=[0, 3, 1, 2]),
    ]
    inits = []
    c_in = 3
    for i in range(depth):
        w = rng.normal(0, 0.05, (channels, c_in, 3, 3)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, f"w{i}"))
        nodes.append(helper.make_node("Conv", [f"x{i}", f"w{i}"], [f"c{i}"], pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"x{i + 1}"]))
        c_in = channels
    inits.append(numpy_helper.from_array(np.array([1], np.int64), "axes"))
    nodes += [
        helper.make_node("ReduceMean", [f"x{depth}", "axes"], ["m"], keepdims=1),
        helper.make_node("Sigmoid", ["m"], ["alpha"]),
    ]
    graph = helper.make_graph(
        nodes,
        "slow",
        [helper.make_tensor_value_info("image", TensorProto.UINT8, [1, size, size, 3])],
        [helper.make_tensor_value_info("alpha", TensorProto.FLOAT, [1, 1, size, size])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    info = ModelInfo(
        "slow_convs", size, size, "linear", "rtseg benchmarks", "Apache-2.0", "fp32", False
    )
    helper.set_model_props(model, metadata_dict(info))
    onnx.save(model, path)
    return path


def main() -> None:
    """Rebuild the slow model `rtseg bench overload` uses by default (rtseg/bench/)."""
    slow_model(SLOW_MODEL_PATH, **PACKAGED)


if __name__ == "__main__":
    main()
