"""Convert MediaPipe's selfie segmenter (general and landscape) into rtseg's ONNX contract.

The source is the `mediapipe` wheel on PyPI, pinned by version and sha256. tf2onnx converts
the TFLite graph except for MediaPipe's custom `Convolution2DTransposeBias` (the last
upsampling layer), which is replaced here by a standard `ConvTranspose`; the graph is then
wrapped to take uint8 RGB and to give an NCHW alpha. tf2onnx's graph optimizer is not
deterministic, so a rebuild may lay the graph out differently with the same outputs
(tests/export/test_selfie.py checks them against the TFLite interpreter). tf2onnx logs the
custom op as unsupported: expected, it is replaced right after.

Run inside the conversion venv (export/requirements-selfie.txt):
    python -m export.selfie --out rtseg/models
"""

from __future__ import annotations

import argparse
import struct
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper
from tf2onnx.tflite import Model as TFLiteModel

from export import tflite
from export.tflite import single
from rtseg.models.contract import INPUT_NAME, OUTPUT_NAME, ModelInfo

WHEEL_VERSION = "0.10.14"
WHEEL_NAME = f"mediapipe-{WHEEL_VERSION}-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
WHEEL_SHA256 = "a807328339e7356fda0bb14df12fedbf1d33bdf81649c5f8666b0026b1cc30b4"
MODEL_DIR = "mediapipe/modules/selfie_segmentation"
TFLITE_CUSTOM_OP = "Convolution2DTransposeBias"
CUSTOM_OP = "TFL_" + TFLITE_CUSTOM_OP  # as tf2onnx leaves it in the graph
# TfLitePadding values in the custom op's options (a packed TfLiteTransposeConvParams).
PADDING_SAME, PADDING_VALID = 1, 2


@dataclass(frozen=True)
class SelfieModel:
    """One model of the wheel and the contract name it is bundled under."""

    name: str
    tflite: str
    height: int
    width: int

    def info(self) -> ModelInfo:
        return ModelInfo(
            name=self.name,
            height=self.height,
            width=self.width,
            resize="corners_linear",
            source=f"{WHEEL_NAME} ({MODEL_DIR}/{self.tflite})",
            license="Apache-2.0",
            precision="fp32",
            trained=True,
        )


MODELS = (
    SelfieModel("selfie_general", "selfie_segmentation.tflite", 256, 256),
    SelfieModel("selfie_landscape", "selfie_segmentation_landscape.tflite", 144, 256),
)


def download_wheel(dest: Path) -> Path:
    """Fetch the pinned wheel with pip (whatever Python runs this) and check its sha256."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
         "--platform", "manylinux2014_x86_64", "--python-version", "3.11",
         "--implementation", "cp", "--abi", "cp311",
         f"mediapipe=={WHEEL_VERSION}", "--dest", str(dest)],
        check=True,
    )  # fmt: skip
    return verified_wheel(dest / WHEEL_NAME)


def verified_wheel(wheel: Path) -> Path:
    """`wheel`, once its sha256 is the pinned one."""
    digest = tflite.sha256(wheel)
    if digest != WHEEL_SHA256:
        raise RuntimeError(f"{wheel}: sha256 {digest}, expected {WHEEL_SHA256}")
    return wheel


def extract_tflite(wheel: Path, spec: SelfieModel, dest: Path) -> Path:
    """Copy one model out of the wheel into `dest`."""
    with zipfile.ZipFile(wheel) as archive:
        path = dest / spec.tflite
        path.write_bytes(archive.read(f"{MODEL_DIR}/{spec.tflite}"))
    return path


def transpose_conv_options(tflite_path: Path) -> tuple[int, int, int]:
    """(padding, stride_h, stride_w) of the one Convolution2DTransposeBias op in the file.

    tf2onnx cannot read these options, so they are taken from the flatbuffer itself.
    """
    model = TFLiteModel.Model.GetRootAsModel(tflite_path.read_bytes(), 0)
    graph = model.Subgraphs(0)
    found = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        if model.OperatorCodes(op.OpcodeIndex()).CustomCode() == TFLITE_CUSTOM_OP.encode():
            padding, stride_w, stride_h = struct.unpack("<3i", op.CustomOptionsAsNumpy().tobytes())
            found.append((padding, stride_h, stride_w))
    if len(found) != 1:
        raise RuntimeError(
            f"{tflite_path.name}: expected one {TFLITE_CUSTOM_OP}, found {len(found)}"
        )
    return found[0]


def replace_transpose_conv(graph: onnx.GraphProto, options: tuple[int, int, int]) -> None:
    """Swap tf2onnx's leftover custom node for ConvTranspose, in NCHW, ending in the output.

    The custom node reads NHWC (behind a Transpose from NCHW) with an OHWI kernel [1, kh, kw, C]
    and one bias; ConvTranspose reads the NCHW tensor directly with the kernel as [C, 1, kh, kw].
    With kernel == stride, SAME and VALID padding both mean no padding.
    """
    padding, stride_h, stride_w = options
    node = single(n for n in graph.node if n.op_type == CUSTOM_OP)
    to_nhwc = single(n for n in graph.node if node.input[0] in n.output)
    perm = [list(a.ints) for a in to_nhwc.attribute if a.name == "perm"]
    if to_nhwc.op_type != "Transpose" or perm != [[0, 2, 3, 1]]:
        raise RuntimeError(f"{CUSTOM_OP} is not fed by an NCHW->NHWC Transpose")
    inits = {t.name: t for t in graph.initializer}
    kernel = numpy_helper.to_array(inits[node.input[1]])
    _, kh, kw, _ = kernel.shape
    no_padding = (kh, kw) == (stride_h, stride_w) and padding in (PADDING_SAME, PADDING_VALID)
    if kernel.shape[0] != 1 or not no_padding:
        raise RuntimeError(f"unexpected {CUSTOM_OP}: kernel {kernel.shape}, options {options}")
    weight = numpy_helper.from_array(
        np.ascontiguousarray(kernel.transpose(3, 0, 1, 2)), node.input[1] + "_oihw"
    )
    graph.initializer.append(weight)
    deconv = helper.make_node(
        "ConvTranspose",
        [to_nhwc.input[0], weight.name, node.input[2]],
        list(node.output),
        name=node.name,
        kernel_shape=[kh, kw],
        strides=[stride_h, stride_w],
        pads=[0, 0, 0, 0],
    )
    sigmoid = single(n for n in graph.node if node.output[0] in n.input)
    if sigmoid.op_type != "Sigmoid" or sigmoid.output[0] != graph.output[0].name:
        raise RuntimeError(f"{CUSTOM_OP} must feed only the final Sigmoid")
    index = list(graph.node).index(node)
    graph.node.remove(node)
    graph.node.insert(index, deconv)
    if not any(to_nhwc.output[0] in n.input for n in graph.node):
        graph.node.remove(to_nhwc)
    tflite.drop_unused_initializers(graph)


def wrap_contract(model: onnx.ModelProto, info: ModelInfo) -> onnx.ModelProto:
    """Give the graph the contract's I/O: uint8 NHWC RGB in, float [1, 1, H, W] alpha out."""
    graph = model.graph
    source_input = single(graph.input)
    source_output = single(graph.output)
    graph.node.insert(
        0, helper.make_node("Cast", [INPUT_NAME], ["image_float"], "Cast_image", to=1)
    )
    graph.node.insert(
        1, helper.make_node("Div", ["image_float", "u8_scale"], [source_input.name], "Div_image")
    )
    graph.initializer.append(numpy_helper.from_array(np.array(255.0, np.float32), "u8_scale"))
    tflite.rename_tensor(graph, source_output.name, OUTPUT_NAME)
    shape_out = [1, 1, info.height, info.width]
    alpha = helper.make_tensor_value_info(OUTPUT_NAME, onnx.TensorProto.FLOAT, shape_out)
    return tflite.finish_contract(model, info, [alpha])


def convert(tflite_path: Path, info: ModelInfo) -> onnx.ModelProto:
    """One tflite file to one contract ONNX model."""
    model = tflite.convert(tflite_path)
    replace_transpose_conv(model.graph, transpose_conv_options(tflite_path))
    return wrap_contract(model, info)


def notice(wheel_sha256: str, tflite_sha256: dict[str, str]) -> str:
    """The licence notice bundled beside the converted files."""
    lines = [
        "selfie_general.onnx and selfie_landscape.onnx are MediaPipe's selfie segmentation",
        "models, converted to ONNX and wrapped into rtseg's model contract (uint8 RGB input,",
        "NCHW alpha output); the custom Convolution2DTransposeBias layer was rewritten as a",
        "standard ConvTranspose with the same weights. No weights were retrained or changed.",
        "",
        "Copyright The MediaPipe Authors.",
        "Licensed under the Apache License, Version 2.0:",
        "https://www.apache.org/licenses/LICENSE-2.0",
        "",
        f"Source: {WHEEL_NAME} (PyPI)",
        f"  sha256 {wheel_sha256}",
    ]
    lines += [f"  {MODEL_DIR}/{name} sha256 {digest}" for name, digest in tflite_sha256.items()]
    lines += ["", tflite.toolchain_line(), "  python -m export.selfie --out rtseg/models", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the .onnx and NOTICE")
    parser.add_argument("--wheel", type=Path, help=f"a local {WHEEL_NAME} instead of pip download")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = verified_wheel(args.wheel) if args.wheel else download_wheel(Path(tmp))
        digests = {}
        for spec in MODELS:
            path = extract_tflite(wheel, spec, Path(tmp))
            digests[spec.tflite] = tflite.sha256(path)
            onnx.save_model(convert(path, spec.info()), args.out / f"{spec.name}.onnx")
            print(f"wrote {args.out / spec.name}.onnx")
    tflite.write_notice_section(args.out / "NOTICE", notice(WHEEL_SHA256, digests))
    print(f"wrote {args.out / 'NOTICE'}")


if __name__ == "__main__":
    main()
