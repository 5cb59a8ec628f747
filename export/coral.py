"""Convert Coral's DeepLabV3-MobileNetV2 PASCAL VOC models (TFLite, uint8) into rtseg's contract.

The sources are `deeplabv3_mnv2_pascal_quant.tflite` and its depth-multiplier-0.5 variant
from google-coral/test_data (the TensorFlow DeepLab model zoo, Apache-2.0): 513x513 uint8 RGB
in, the 21 VOC classes' logits at 33x33, two bilinear resizes (align corners) to 513x513, and
an ArgMax. The graph is cut before the ArgMax and given the contract's outputs: `alpha`, the
person's probability from the upsampled logits (a softmax with soft edges, not a 0/1 mask;
`add_voc_head` says which softmax and why), and `labels`, the ArgMax as uint8. The class
names are PASCAL VOC's, in the order of the Coral labels file.

The graph stays quantised: tf2onnx writes the uint8 network as QuantizeLinear/
DequantizeLinear pairs around float ops, which ONNX Runtime's CPU provider runs as int8 kernels
(QLinearConv). Measured against the same graph with the weights folded to float (`--dequantize`,
tf2onnx's dequantize): 10-15% faster, 3.5x smaller, and much closer to LiteRT.
The network was trained with fake quantisation, so the float graph, which skips the rounding
and clipping of every activation, gives other labels (on the dog 93.6% of pixels agree with
LiteRT, against 99.4% for the int8 graph). docs/models.md has the figures and commands.

The network is fully convolutional, so a model can be re-exported at a smaller input (16k + 1
pixels, e.g. 257) by making the 33x33 image pooling global and the resizes' fixed scales
output sizes: `deeplabv3_mnv2_voc_257` keeps most of the P3M IoU at a quarter of the cost.

Run inside the conversion venv (export/requirements-selfie.txt):
    python -m export.coral --coral DIR --out rtseg/models
DIR holds the two .tflite files (sha256-checked against the pinned hashes). As with
export/selfie.py, a rebuild may lay the graph out differently with the same outputs
(tf2onnx's optimizer is not deterministic); tests/export/test_coral.py checks them.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from export import tflite
from export.families import PERSON_CLASS, VOC_CLASSES
from rtseg.models.contract import CLASS_NAMES_KEY, INPUT_NAME, LABELS_NAME, OUTPUT_NAME, ModelInfo

SOURCE = "google-coral/test_data (TensorFlow DeepLab model zoo)"
SOURCE_SIZE = 513
OUTPUT_STRIDE = 16
FULL = "deeplabv3_mnv2_pascal_quant.tflite"
DM05 = "deeplabv3_mnv2_dm05_pascal_quant.tflite"
TFLITE_SHA256 = {
    FULL: "350af47fd346ea6d74b58833a351f583ba860e9806ec5bd292ff8d8f1f249398",
    DM05: "0470d2a782aa54eeeb99d32e7b6b3fb7722905c7c4f5d26bd957ec861366d48b",
}


@dataclass(frozen=True)
class CoralModel:
    """One bundled model: its contract name, its source file and its (square) input size."""

    name: str
    tflite: str
    size: int = SOURCE_SIZE

    def info(self, precision: str = "int8") -> ModelInfo:
        return ModelInfo(
            name=self.name,
            height=self.size,
            width=self.size,
            resize="linear",
            source=f"{SOURCE}: {self.tflite}",
            license="Apache-2.0",
            precision=precision,
            trained=True,
            has_labels=True,
            class_names=VOC_CLASSES,
        )


MODELS = (
    CoralModel("deeplabv3_mnv2_voc", FULL),
    CoralModel("deeplabv3_mnv2_dm05_voc", DM05),
    CoralModel("deeplabv3_mnv2_voc_257", FULL, 257),
)


def verified_tflite(folder: Path, name: str) -> Path:
    """`folder/name`, once its sha256 is the pinned one."""
    path = folder / name
    digest = tflite.sha256(path)
    if digest != TFLITE_SHA256[name]:
        raise RuntimeError(f"{path}: sha256 {digest}, expected {TFLITE_SHA256[name]}")
    return path


def cut_before_argmax(graph: onnx.GraphProto) -> str:
    """Remove the graph's final ArgMax over the classes; return the logits tensor it read."""
    argmax = tflite.single(n for n in graph.node if n.op_type == "ArgMax")
    if argmax.output[0] != tflite.single(graph.output).name:
        raise RuntimeError("the ArgMax is not the graph's output")
    graph.node.remove(argmax)
    return argmax.input[0]


# alpha = sigmoid(k * margin): with k = 1 the inside of people came out grey (P3M portraits:
# 27% of the person under 0.9, mean 0.90 inside, about 0.7 on patterned clothes). Measured with
# `python -m benchmarks.deeplab_alpha` over k in 1..4 and offsets 0..3 on the 15 P3M portraits:
# k = 3 puts 15% of the person under 0.9 and lowers the mean abs error against the mattes from
# 0.056 to 0.045, with the error in the band around the edges unchanged (0.316 against 0.315)
# and the 0.5 level where it was (IoU 0.867, boundary F 0.209 against 0.208 upscaled). An
# offset solidified more (inside 0.93-0.98) but moved the edge outwards: boundary F 0.21 fell
# to 0.04-0.19. The bundled files carry it (`make models` writes it).
ALPHA_TEMPERATURE = 3.0


def add_voc_head(graph: onnx.GraphProto, logits: str) -> None:
    """From NCHW class logits, compute the contract's `alpha` [1,1,H,W] and `labels` [1,H,W].

    alpha is the softmax of the person's logit against its strongest rival class's,
    sigmoid(l_person - max_{c != person} l_c): a probability with soft edges whose 0.5 level
    is exactly where the ArgMax turns to or from person. The softmax over all 21 classes was
    measured too: where several classes compete (a portrait half read as "dog"), its 0.5 mask
    lost up to half the ArgMax's person (IoU 0.50 on one P3M portrait), it scored lower
    against the P3M mattes, and its ReduceLogSumExp took a third of the model's time.

    The margin is scaled by `ALPHA_TEMPERATURE` first, which leaves the 0.5 level where it is
    (see there).
    """
    bounds = {
        "below_start": [0],
        "person_start": [PERSON_CLASS],
        "person_end": [PERSON_CLASS + 1],
        "above_end": [len(VOC_CLASSES)],
        "class_axis": [1],
    }
    graph.initializer.extend(
        numpy_helper.from_array(np.array(v, np.int64), name) for name, v in bounds.items()
    )
    graph.initializer.append(
        numpy_helper.from_array(np.array(ALPHA_TEMPERATURE, np.float32), "alpha_temperature")
    )
    graph.node.extend(
        [
            helper.make_node(
                "Slice", [logits, "person_start", "person_end", "class_axis"], ["person_logit"]
            ),
            helper.make_node(
                "Slice", [logits, "below_start", "person_start", "class_axis"], ["below"]
            ),
            helper.make_node("Slice", [logits, "person_end", "above_end", "class_axis"], ["above"]),
            helper.make_node("ReduceMax", ["below"], ["below_max"], axes=[1], keepdims=1),
            helper.make_node("ReduceMax", ["above"], ["above_max"], axes=[1], keepdims=1),
            helper.make_node("Max", ["below_max", "above_max"], ["rival_logit"]),
            helper.make_node("Sub", ["person_logit", "rival_logit"], ["person_margin"]),
            helper.make_node("Mul", ["person_margin", "alpha_temperature"], ["sharp_margin"]),
            helper.make_node("Sigmoid", ["sharp_margin"], [OUTPUT_NAME]),
            helper.make_node("ArgMax", [logits], ["class_id"], axis=1, keepdims=0),
            helper.make_node("Cast", ["class_id"], [LABELS_NAME], to=onnx.TensorProto.UINT8),
        ]
    )


def set_input_size(model: onnx.ModelProto, size: int) -> onnx.ModelProto:
    """The same network for a size x size input (size = 16k + 1, as DeepLab's 513).

    Only two things in the graph know the input size: the image-pooling branch's AveragePool
    over the whole 33x33 feature map (made global here) and the bilinear Resizes' fixed scales
    (turned into output sizes: the feature map's, or the input's for the last one).
    """
    if size < OUTPUT_STRIDE + 1 or (size - 1) % OUTPUT_STRIDE:
        raise ValueError(f"size must be 16k + 1 (e.g. 257, 321, 513), got {size}")
    shapes = {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in onnx.shape_inference.infer_shapes(model).graph.value_info
    }
    features = (SOURCE_SIZE - 1) // OUTPUT_STRIDE + 1
    new_side = {SOURCE_SIZE: size, features: (size - 1) // OUTPUT_STRIDE + 1}
    graph = model.graph
    for index, node in enumerate(list(graph.node)):
        if node.op_type == "AveragePool":
            graph.node.remove(node)
            pool = helper.make_node("GlobalAveragePool", node.input, node.output, node.name)
            graph.node.insert(index, pool)
        elif node.op_type == "Resize":
            batch, channels, height, width = shapes[node.output[0]]
            if height != width or height not in new_side:
                raise RuntimeError(f"unexpected Resize to {height}x{width} in {node.name}")
            sizes = numpy_helper.from_array(
                np.array([batch, channels, new_side[height], new_side[width]], np.int64),
                f"{node.name}_sizes",
            )
            graph.initializer.append(sizes)
            node.input[:] = [node.input[0], "", "", sizes.name]
    tflite.drop_unused_initializers(graph)
    return model


def convert(tflite_path: Path, spec: CoralModel, dequantize: bool = False) -> onnx.ModelProto:
    """One Coral .tflite file to one contract ONNX model: int8 QDQ, or float if `dequantize`
    (for the comparison in the module docstring)."""
    model = tflite.convert(tflite_path, dequantize=dequantize)
    if spec.size != SOURCE_SIZE:
        model = set_input_size(model, spec.size)
    graph = model.graph
    tflite.rename_tensor(graph, tflite.single(graph.input).name, INPUT_NAME)
    add_voc_head(graph, cut_before_argmax(graph))
    info = spec.info("fp32" if dequantize else "int8")
    side = [info.height, info.width]
    outputs = [
        helper.make_tensor_value_info(OUTPUT_NAME, onnx.TensorProto.FLOAT, [1, 1, *side]),
        helper.make_tensor_value_info(LABELS_NAME, onnx.TensorProto.UINT8, [1, *side]),
    ]
    return tflite.finish_contract(
        model, info, outputs, {CLASS_NAMES_KEY: ",".join(info.class_names)}
    )


def notice(specs: tuple[CoralModel, ...]) -> str:
    """This converter's section of rtseg/models/NOTICE."""
    files = ", ".join(f"{spec.name}.onnx" for spec in specs)
    lines = [
        f"{files}:",
        "DeepLabV3 with a MobileNetV2 backbone (depth multipliers 1.0 and 0.5), trained on",
        "PASCAL VOC 2012 (21 classes), as quantised by the TensorFlow DeepLab model zoo and",
        "published by the Coral project. Converted to ONNX (quantised, as QDQ), cut before the",
        "final ArgMax and given rtseg's contract outputs (the person's probability and the",
        "class map); deeplabv3_mnv2_voc_257 is the same network for a 257x257 input. No",
        "weights were retrained or changed.",
        "",
        "Copyright The TensorFlow Authors (tensorflow/models, DeepLab).",
        "Licensed under the Apache License, Version 2.0:",
        "https://www.apache.org/licenses/LICENSE-2.0",
        "",
        f"Source: {SOURCE}, https://github.com/google-coral/test_data",
    ]
    lines += [f"  {name} sha256 {digest}" for name, digest in TFLITE_SHA256.items()]
    command = "  python -m export.coral --coral DIR --out rtseg/models"
    lines += ["", tflite.toolchain_line(), command]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coral", type=Path, required=True, help=f"folder with {FULL}, {DM05}")
    parser.add_argument("--out", type=Path, required=True, help="folder for the .onnx and NOTICE")
    parser.add_argument(
        "--dequantize", action="store_true", help="float weights instead of int8 (to compare)"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for spec in MODELS:
        model = convert(verified_tflite(args.coral, spec.tflite), spec, args.dequantize)
        onnx.save_model(model, args.out / f"{spec.name}.onnx")
        print(f"wrote {args.out / spec.name}.onnx")
    tflite.write_notice_section(args.out / "NOTICE", notice(MODELS))
    print(f"wrote {args.out / 'NOTICE'}")


if __name__ == "__main__":
    main()
