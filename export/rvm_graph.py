"""Graph surgery on the converted RVM graph, for speed, with onnx's own tools.

Each pass keeps the network's arithmetic (same weights, same ops up to rounding); what they
remove is what the conversion added around it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper


def subgraphs(graph: onnx.GraphProto):
    """Every graph nested in `graph`'s nodes (If branches), at any depth."""
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield attr.g
                yield from subgraphs(attr.g)


def rename_in_subgraphs(graph: onnx.GraphProto, mapping: dict[str, str]) -> None:
    """Point the nested graphs' uses of outer names at new names."""
    for sub in subgraphs(graph):
        for node in sub.node:
            node.input[:] = [mapping.get(i, i) for i in node.input]


def _constants(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    found = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute[0].name == "value":
            found[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    return found


def clamps_to_clip(graph: onnx.GraphProto) -> int:
    """Min(x, hi) followed by Max(., lo) with scalar bounds becomes one Clip(x, lo, hi).

    TensorFlow's clip_by_value arrives as the pair; at 720p the two passes over the frame cost
    more than the one Clip. Returns how many pairs were fused.
    """
    consts = _constants(graph)
    users: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            users[name] = users.get(name, 0) + 1
    producer = {o: n for n in graph.node for o in n.output}
    fused = 0
    for outer in list(graph.node):
        if outer.op_type not in ("Max", "Min") or len(outer.input) != 2:
            continue
        inner = producer.get(outer.input[0])
        if inner is None or {inner.op_type, outer.op_type} != {"Max", "Min"}:
            continue
        if len(inner.input) != 2 or users.get(inner.output[0], 0) != 1:
            continue
        bounds = [consts.get(inner.input[1]), consts.get(outer.input[1])]
        if any(b is None or b.size != 1 for b in bounds):
            continue
        lo, hi = bounds if inner.op_type == "Max" else bounds[::-1]
        if float(lo.item()) > float(hi.item()):
            continue  # not a clamp
        names = [f"{outer.name}_lo", f"{outer.name}_hi"]
        for name, value in zip(names, (lo, hi), strict=True):
            graph.initializer.append(
                numpy_helper.from_array(value.reshape(()).astype(np.float32), name)
            )
        clip = helper.make_node(
            "Clip", [inner.input[0], *names], list(outer.output), name=outer.name + "_clip"
        )
        at = list(graph.node).index(outer)
        graph.node.remove(outer)
        graph.node.remove(inner)
        graph.node.insert(at - 1, clip)
        fused += 1
    return fused


def _scalar(consts: dict[str, np.ndarray], name: str) -> float | None:
    value = consts.get(name)
    return float(value.item()) if value is not None and value.size == 1 else None


def _close(value: float | None, want: float) -> bool:
    return value is not None and abs(value - want) < 1e-6


def hard_activations(graph: onnx.GraphProto) -> tuple[int, int]:
    """MobileNetV3's hard-swish and hard-sigmoid, spelt out as Add 3, Clip 0..6, Mul 1/6
    (and Mul x), become HardSwish / HardSigmoid(1/6, 1/2) nodes.

    Spelt out, each activation takes the tensor out of ONNX Runtime's blocked (NCHWc) layout
    and back; as one node it is fused into the convolution before it. The same function:
    relu6(x + 3) / 6 == clip(x / 6 + 1/2, 0, 1). Returns (hard-swishes, hard-sigmoids).
    """
    consts = _constants(graph)
    producer = {o: n for n in graph.node for o in n.output}
    users: dict[str, int] = {o.name: 1 for o in graph.output}
    for node in graph.node:
        for name in node.input:
            users[name] = users.get(name, 0) + 1

    def relu6_plus_3(name: str) -> str | None:
        """x, if `name` is clip(x + 3, 0, 6) read by one node."""
        clip = producer.get(name)
        if clip is None or clip.op_type != "Clip" or len(clip.input) != 3:
            return None
        if (_scalar(consts, clip.input[1]), _scalar(consts, clip.input[2])) != (0.0, 6.0):
            return None
        add = producer.get(clip.input[0])
        if add is None or add.op_type != "Add" or users.get(add.output[0]) != 1:
            return None
        three = [i for i in add.input if _scalar(consts, i) == 3.0]
        return next(i for i in add.input if i != three[0]) if len(three) == 1 else None

    def sixth_of(name: str) -> str | None:
        """x, if `name` is x * (1/6)."""
        mul = producer.get(name)
        if mul is None or mul.op_type != "Mul":
            return None
        sixth = [i for i in mul.input if _close(_scalar(consts, i), 1 / 6)]
        return next(i for i in mul.input if i != sixth[0]) if len(sixth) == 1 else None

    def replace(old: list[str], new: onnx.NodeProto) -> None:
        at = min(k for k, n in enumerate(graph.node) if n.output[0] in old)
        kept = [n for n in graph.node if n.output[0] not in old]
        del graph.node[:]
        graph.node.extend(kept[:at])
        graph.node.append(new)
        graph.node.extend(kept[at:])

    swishes = sigmoids = 0
    for node in list(graph.node):
        if node.op_type != "Mul" or len(node.input) != 2:
            continue
        a, b = node.input
        for first, second in ((a, b), (b, a)):
            x = relu6_plus_3(first)
            if x is None:
                continue
            clip = producer[first]
            chain = [producer[clip.input[0]].output[0], first, node.output[0]]
            if sixth_of(second) == x and users.get(second) == 1:
                replace([*chain, second], helper.make_node("HardSwish", [x], list(node.output)))
                swishes += 1
            elif _close(_scalar(consts, second), 1 / 6):
                hard = helper.make_node(
                    "HardSigmoid", [x], list(node.output), alpha=1 / 6, beta=0.5
                )
                replace(chain, hard)
                sigmoids += 1
            break
    return swishes, sigmoids


def expand_before_transpose(graph: onnx.GraphProto) -> int:
    """Transpose(x, p) -> Expand(., shape) becomes Expand(x, shape permuted back) -> Transpose.

    The recurrent states enter the graph NCHW, are transposed to NHWC and broadcast to the
    feature map's shape (TF's BroadcastTo); with the Transpose after the Expand it can travel
    on and cancel against the one in front of the next convolution. Returns how many moved.
    """
    producer = {o: n for n in graph.node for o in n.output}
    moved = 0
    for expand in list(graph.node):
        if expand.op_type != "Expand":
            continue
        transpose = producer.get(expand.input[0])
        if transpose is None or transpose.op_type != "Transpose":
            continue
        perm = list(next(a.ints for a in transpose.attribute if a.name == "perm"))
        back = [perm.index(k) for k in range(len(perm))]
        base = expand.name or expand.output[0]
        indices, shape, out = f"{base}_unperm", f"{base}_shape_nchw", f"{base}_nchw"
        graph.initializer.append(numpy_helper.from_array(np.array(back, np.int64), indices))
        at = list(graph.node).index(expand)
        graph.node.insert(
            at, helper.make_node("Gather", [expand.input[1], indices], [shape], axis=0)
        )
        new_expand = helper.make_node("Expand", [transpose.input[0], shape], [out], name=base)
        graph.node.insert(at + 1, new_expand)
        after = helper.make_node(
            "Transpose", [out], list(expand.output), perm=perm, name=base + "_t"
        )
        graph.node.insert(at + 2, after)
        graph.node.remove(expand)
        moved += 1
    return moved


def _perm(node: onnx.NodeProto) -> list[int]:
    return list(next(a.ints for a in node.attribute if a.name == "perm"))


def transposes_through_if(graph: onnx.GraphProto) -> int:
    """Move the layout change at an `If`'s boundary to the side where it cancels.

    The TF.js graph's two `If`s (downsample or not, refine or not) take and give NHWC tensors,
    so each branch ends in a Transpose and the main graph transposes back. For an output that
    the main graph transposes by q, every branch gets a Transpose by q at its end and the main
    graph the inverse (which then cancels against q); an output a branch makes by Transpose p
    gets the inverse of p in the branches and p outside. ONNX Runtime's transpose optimizer
    then removes the pairs on both sides. Returns how many outputs were rewritten.
    """
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    moved = 0
    for node in list(graph.node):
        if node.op_type != "If":
            continue
        branches = [a.g for a in node.attribute if a.type == onnx.AttributeProto.GRAPH]
        for index, out in enumerate(node.output):
            after = [c for c in consumers.get(out, []) if c.op_type == "Transpose"]
            if after:
                inner = _perm(after[0])
            else:
                made = [n for b in branches for n in b.node if n.output[0] == b.output[index].name]
                made = [n for n in made if n.op_type == "Transpose"]
                if not made:
                    continue
                inner = [_perm(made[0]).index(k) for k in range(len(_perm(made[0])))]
            outer = [inner.index(k) for k in range(len(inner))]
            for branch in branches:
                value = branch.output[index]
                moved_name = f"{value.name}_t"
                branch.node.append(
                    helper.make_node("Transpose", [value.name], [moved_name], perm=inner)
                )
                value.name = moved_name
                value.type.tensor_type.ClearField("shape")
            hidden = f"{out}_before_t"
            node.output[index] = hidden
            at = list(graph.node).index(node) + 1
            graph.node.insert(at, helper.make_node("Transpose", [hidden], [out], perm=outer))
            moved += 1
    return moved


def evaluate(
    model: onnx.ModelProto, names: list[str], height: int, width: int, ratio: float
) -> dict[str, np.ndarray]:
    """Values of main-graph tensors for a random first frame (zero state), by ONNX Runtime."""
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    del probe.graph.output[:]
    probe.graph.output.extend(onnx.ValueInfoProto(name=n) for n in names)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    session = ort.InferenceSession(probe.SerializeToString(), options, ["CPUExecutionProvider"])
    zeros = np.zeros((1, 1, 1, 1), np.float32)
    feed = {i.name: zeros for i in session.get_inputs()}
    feed["src"] = np.random.default_rng(0).random((1, 3, height, width), dtype=np.float32)
    feed["downsample_ratio"] = np.array([ratio], np.float32)
    feed = {i.name: feed[i.name] for i in session.get_inputs()}
    return dict(zip(names, session.run(names, feed), strict=True))


# The frame size at which values that do not depend on it (the If conditions) are worked out.
PROBE = (90, 160)


def pad_concat_convs(graph: onnx.GraphProto, multiple: int = 16) -> int:
    """Give convolutions over a concatenation a channel count the blocked kernels take.

    The decoder convolves concat(upsampled features, skip features, 3-channel image): 171,
    107, 59 and 35 channels, which ONNX Runtime's NCHWc kernels refuse, so those four ran on
    the slow generic path. A zero-padded last input and zero weights for the new channels
    give the same sums. Returns how many convolutions were padded.
    """
    consts = {t.name: t for t in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}
    users: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            users[name] = users.get(name, 0) + 1
    padded = 0
    for conv in list(graph.node):
        if conv.op_type != "Conv" or conv.input[1] not in consts:
            continue
        if any(a.name == "group" and a.i != 1 for a in conv.attribute):
            continue
        weights = numpy_helper.to_array(consts[conv.input[1]])
        channels = weights.shape[1]
        concat = producer.get(conv.input[0])
        if channels % multiple == 0 or concat is None or concat.op_type != "Concat":
            continue
        if users.get(conv.input[0], 0) != 1 or next(a.i for a in concat.attribute) not in (1, -3):
            continue
        extra = -channels % multiple
        last = concat.input[-1]
        pad_name, pads = f"{last}_pad{extra}", f"{conv.name}_channel_pads"
        graph.initializer.append(
            numpy_helper.from_array(np.array([0, 0, 0, 0, 0, extra, 0, 0], np.int64), pads)
        )
        graph.node.insert(
            list(graph.node).index(concat), helper.make_node("Pad", [last, pads], [pad_name])
        )
        concat.input[-1] = pad_name
        wider = np.concatenate(
            [weights, np.zeros((weights.shape[0], extra, *weights.shape[2:]), weights.dtype)], 1
        )
        consts[conv.input[1]].CopyFrom(numpy_helper.from_array(wider, conv.input[1]))
        padded += 1
    return padded


def drop_unused(graph: onnx.GraphProto) -> None:
    """Remove nodes and initializers nothing reads (what the other passes left behind)."""
    needed = {o.name for o in graph.output}
    for sub in subgraphs(graph):
        needed |= {i for n in sub.node for i in n.input}
    keep = []
    for node in reversed(graph.node):
        if any(o in needed for o in node.output):
            keep.append(node)
            needed |= set(node.input)
    del graph.node[:]
    graph.node.extend(reversed(keep))
    live = [t for t in graph.initializer if t.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(live)


def fix_ratio(model: onnx.ModelProto, ratio: float) -> int:
    """Make `downsample_ratio` a constant and keep only the `If` branches that ratio takes.

    The input stays declared (the release signature), but its value is no longer read.
    At 1.0 the graph neither resizes the frame nor refines; below 1.0 both always run.
    Returns how many `If` nodes were inlined.
    """
    graph = model.graph
    ifs = [n for n in graph.node if n.op_type == "If"]
    conditions = evaluate(model, [n.input[0] for n in ifs], *PROBE, ratio)
    scalar = next(n for n in graph.node if n.input and n.input[0] == "downsample_ratio")
    value = np.array(ratio, np.float32)
    constant = helper.make_node(
        "Constant", [], list(scalar.output), value=numpy_helper.from_array(value)
    )
    graph.node.insert(list(graph.node).index(scalar), constant)
    graph.node.remove(scalar)
    for node in ifs:
        taken = "then_branch" if bool(conditions[node.input[0]]) else "else_branch"
        branch = next(a.g for a in node.attribute if a.name == taken)
        at = list(graph.node).index(node)
        inlined = list(branch.node) + [
            helper.make_node("Identity", [inner.name], [outer])
            for inner, outer in zip(branch.output, node.output, strict=True)
        ]
        graph.node.remove(node)
        for k, inner in enumerate(inlined):
            graph.node.insert(at + k, inner)
        graph.initializer.extend(branch.initializer)
    return len(ifs)


def ort_rewrite(model: onnx.ModelProto) -> onnx.ModelProto:
    """ONNX Runtime's portable graph optimisations, saved: its transpose optimizer cancels the
    layout changes the other passes brought together, and constants are folded. Only the
    basic level, whose output is plain ONNX (the higher ones write CPU-specific kernels)."""
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(Path(tmp) / "basic.onnx")
        options.log_severity_level = 3
        ort.InferenceSession(model.SerializeToString(), options, ["CPUExecutionProvider"])
        rewritten = onnx.load(options.optimized_model_filepath)
    used = {n.domain for n in rewritten.graph.node} | {""}
    for sub in subgraphs(rewritten.graph):
        used |= {n.domain for n in sub.node}
    kept = [o for o in rewritten.opset_import if o.domain in used]
    del rewritten.opset_import[:]
    rewritten.opset_import.extend(kept)  # ONNX Runtime lists every domain it knows
    return rewritten


def optimise(model: onnx.ModelProto, ratio: float | None = None) -> onnx.ModelProto:
    """All passes; with `ratio`, the ratio is fixed and the `If`s are gone."""
    if ratio is not None:
        fix_ratio(model, ratio)
    clamps_to_clip(model.graph)
    hard_activations(model.graph)
    expand_before_transpose(model.graph)
    transposes_through_if(model.graph)
    drop_unused(model.graph)
    model = ort_rewrite(model)
    pad_concat_convs(model.graph)
    drop_unused(model.graph)
    return model
