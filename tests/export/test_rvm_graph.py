"""The graph passes of export/rvm_graph.py: each on a small graph of the shape it rewrites
(results unchanged, the pattern gone), and all of them on the RVM models `make rvm` built
(the optimised files against tf2onnx's unoptimised conversion, when present)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from export import rvm_graph
from rtseg.models import registry

RNG = np.random.default_rng(0)


def model_of(nodes, inputs, consts: dict[str, np.ndarray]) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, k) for k, v in consts.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def run(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(["y"], feeds)[0]


def ops(model: onnx.ModelProto) -> list[str]:
    return [n.op_type for n in model.graph.node]


def rewritten(model: onnx.ModelProto, rewrite) -> onnx.ModelProto:
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    rewrite(copy.graph)
    rvm_graph.drop_unused(copy.graph)
    return copy


def f32(value) -> np.ndarray:
    return np.array(value, np.float32)


def test_a_min_max_clamp_becomes_one_clip() -> None:
    nodes = [
        helper.make_node("Min", ["x", "one"], ["m"]),
        helper.make_node("Max", ["m", "zero"], ["y"]),
    ]
    model = model_of(nodes, {"x": [2, 50]}, {"one": f32(1), "zero": f32(0)})
    x = {"x": RNG.normal(0, 2, (2, 50)).astype(np.float32)}
    after = rewritten(model, rvm_graph.clamps_to_clip)
    assert ops(after) == ["Clip"]
    assert np.array_equal(run(after, x), run(model, x))


def test_a_max_min_pair_that_is_no_clamp_is_kept() -> None:
    nodes = [
        helper.make_node("Max", ["x", "one"], ["m"]),
        helper.make_node("Min", ["m", "zero"], ["y"]),
    ]
    model = model_of(nodes, {"x": [4]}, {"one": f32(1), "zero": f32(0)})
    assert ops(rewritten(model, rvm_graph.clamps_to_clip)) == ["Max", "Min"]


def test_spelt_out_hard_swish_and_hard_sigmoid_become_single_nodes() -> None:
    consts = {"three": f32(3), "zero": f32(0), "six": f32(6), "sixth": f32(1 / 6)}
    nodes = [
        # MobileNetV3's hard-swish as tf2onnx writes it: (x / 6) * relu6(x + 3)
        helper.make_node("Mul", ["x", "sixth"], ["x6"]),
        helper.make_node("Add", ["x", "three"], ["a"]),
        helper.make_node("Clip", ["a", "zero", "six"], ["c"]),
        helper.make_node("Mul", ["x6", "c"], ["swish"]),
        # its squeeze-excitation gate: relu6(s + 3) * (1 / 6)
        helper.make_node("Add", ["swish", "three"], ["a2"]),
        helper.make_node("Clip", ["a2", "zero", "six"], ["c2"]),
        helper.make_node("Mul", ["sixth", "c2"], ["gate"]),
        helper.make_node("Mul", ["swish", "gate"], ["y"]),
    ]
    model = model_of(nodes, {"x": [1, 4, 8, 8]}, consts)
    x = {"x": RNG.normal(0, 4, (1, 4, 8, 8)).astype(np.float32)}
    counts = []
    after = rewritten(model, lambda g: counts.append(rvm_graph.hard_activations(g)))
    assert counts == [(1, 1)]
    assert ops(after) == ["HardSwish", "HardSigmoid", "Mul"]
    np.testing.assert_allclose(run(after, x), run(model, x), atol=1e-6)


def test_a_convolution_over_a_concatenation_gets_whole_channel_blocks() -> None:
    weights = RNG.normal(0, 1, (8, 13, 3, 3)).astype(np.float32)
    nodes = [
        helper.make_node("Concat", ["a", "b"], ["cat"], axis=1),
        helper.make_node("Conv", ["cat", "w"], ["y"], pads=[1, 1, 1, 1]),
    ]
    model = model_of(nodes, {"a": [1, 10, 9, 7], "b": [1, 3, 9, 7]}, {"w": weights})
    feeds = {
        "a": RNG.random((1, 10, 9, 7), np.float32),
        "b": RNG.random((1, 3, 9, 7), np.float32),
    }
    after = rewritten(model, rvm_graph.pad_concat_convs)
    assert ops(after) == ["Pad", "Concat", "Conv"]
    assert after.graph.initializer[0].dims[1] == 16
    np.testing.assert_allclose(run(after, feeds), run(model, feeds), atol=1e-5)


def built(name: str) -> onnx.ModelProto:
    path = registry.user_dir() / name
    if not path.is_file():
        pytest.skip(f"no {path} (make rvm builds it)")
    return path


def rvm_outputs(path, src: np.ndarray, ratio: float, frames: int = 2) -> list[np.ndarray]:
    """fgr and pha (NCHW) of the last of `frames` runs on `src`, the state carried."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    nhwc = session.get_inputs()[0].shape[-1] == 3
    state = [np.zeros((1, 1, 1, 1), np.float32)] * 4
    for _ in range(frames):
        feed = dict(zip(("r1i", "r2i", "r3i", "r4i"), state, strict=True))
        feed["src"] = src.transpose(0, 2, 3, 1) if nhwc else src
        feed["downsample_ratio"] = np.array(ratio if nhwc else [ratio], np.float32)
        fgr, pha, *state = session.run(["fgr", "pha", "r1o", "r2o", "r3o", "r4o"], feed)
    if nhwc:
        fgr, pha = fgr.transpose(0, 3, 1, 2), pha.transpose(0, 3, 1, 2)
    return [fgr, pha]


@pytest.mark.parametrize(
    ("name", "ratio"),
    [
        ("rvm_mobilenetv3.onnx", 1.0),
        ("rvm_mobilenetv3.onnx", 0.5),
        ("rvm_mobilenetv3.onnx", 0.25),
        ("rvm_mobilenetv3_r1.onnx", 1.0),
        ("rvm_mobilenetv3_r025.onnx", 0.25),
    ],
)
def test_the_optimised_models_give_the_converted_graph_s_results(name: str, ratio: float) -> None:
    baseline = built("rvm-baseline/rvm_mobilenetv3_as_converted.onnx")
    optimised = built(name)
    src = RNG.random((1, 3, 99, 141), np.float32)  # odd sizes: the crops and the resizes
    for got, want in zip(
        rvm_outputs(optimised, src, ratio), rvm_outputs(baseline, src, ratio), strict=True
    ):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=1e-4)
