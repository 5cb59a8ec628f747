"""The int8 forms of export/rvm_int8.py: the quantisation step on a tiny network with RVM's
signature (quantised nodes present, alpha near float's with the state carried), which blocks
stay in float, and the built int8 RVM against its float network on a real clip (skipped where
`make rvm RVM_INT8=1` has not built it)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from onnx import helper

from export import rvm_int8
from export.rvm_bench import session
from rtseg.models import registry
from tests.onnx_models import rvm_signature_model

# The tiny network's alpha (0.007 to 0.9999 over the frames) moves by at most this much
# between float and int8 (measured: 0.014 static, 0.009 dynamic; room for other CPUs' kernels).
TINY_TOLERANCE = 0.03


def frames(count: int = 6, seed: int = 0) -> list[np.ndarray]:
    """Smooth random images, [1,3,24,32] RGB 0..1: a gradient and a bright patch that moves."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(count):
        image = np.linspace(0, 1, 32, dtype=np.float32)[None, None, None].repeat(24, 2)
        image = np.repeat(image, 3, 1) * rng.uniform(0.3, 1.0, (1, 3, 1, 1)).astype(np.float32)
        image[..., 4:14, 2 + 3 * k : 12 + 3 * k] = 0.9
        out.append(image)
    return out


@pytest.fixture()
def tiny(tmp_path: Path) -> Path:
    return rvm_signature_model(tmp_path / "tiny.onnx")


def alpha_difference(float_model: Path, int8_model: Path) -> float:
    clip = frames()
    reference = rvm_int8.alphas(session(float_model, 1), clip)
    test = rvm_int8.alphas(session(int8_model, 1), clip)
    return max(float(np.abs(r - t).max()) for r, t in zip(reference, test, strict=True))


def test_static_int8_quantises_the_convolutions_and_stays_near_float(tiny, tmp_path):
    reader = rvm_int8.StateCarryingReader(tiny, [frames(4, seed=1), frames(4, seed=2)])
    out = rvm_int8.quantise_static(tiny, tmp_path / "int8.onnx", reader)
    ops = rvm_int8.quantised_ops(out)
    # Both convolutions get their weights and their input quantised.
    assert ops.get("QuantizeLinear", 0) >= 2 and ops.get("DequantizeLinear", 0) >= 4, ops
    assert rvm_int8.quantised_ops(tiny) == {}
    assert alpha_difference(tiny, out) <= TINY_TOLERANCE


def test_dynamic_int8_runs_integer_convolutions_near_float(tiny, tmp_path):
    out = rvm_int8.quantise_dynamic(tiny, tmp_path / "dynamic.onnx")
    assert rvm_int8.quantised_ops(out).get("ConvInteger", 0) == 2
    assert alpha_difference(tiny, out) <= TINY_TOLERANCE


def test_calibration_feeds_carry_the_float_state(tiny):
    """The second feed of a sequence holds the state the float model left after the first; a
    new sequence starts from zeros again."""
    first, second = frames(2, seed=3)
    reader = rvm_int8.StateCarryingReader(tiny, [[first, second], [first]])
    feeds = [reader.get_next() for _ in range(3)]
    assert reader.get_next() is None
    assert feeds[0]["r1i"].shape == (1, 1, 1, 1) and not feeds[0]["r1i"].any()
    (state,) = session(tiny, 1).run(["r1o"], feeds[0])
    np.testing.assert_array_equal(feeds[1]["r1i"], state)
    assert not feeds[2]["r1i"].any()


def conv(name: str, source: str = "x") -> helper.NodeProto:
    return helper.make_node("Conv", [source, "w"], ["y"], name=name)


def test_blocks_come_from_the_tf_paths_and_pick_what_stays_float():
    prefix = "StatefulPartitionedCall/matting_network_wrapper/StatefulPartitionedCall/"
    gru = conv(prefix + "recurrent_decoder/upsampling_block/conv_gru_1/conv2d_52/BiasAdd")
    renamed = conv("Conv__1434", prefix + "mobile_net_v3_encoder/inverted_residual_1/seq/Relu:0")
    late = conv(prefix + "mobile_net_v3_encoder/inverted_residual_11/seq/conv/BiasAdd")
    head = conv(prefix + "conv2d_62/BiasAdd_BiasAdd__161")
    assert rvm_int8.block_of(gru) == "recurrent_decoder/upsampling_block/conv_gru_1"
    assert rvm_int8.block_of(renamed) == "mobile_net_v3_encoder/inverted_residual_1"
    model = helper.make_model(helper.make_graph([gru, renamed, late, head], "g", [], []))
    assert rvm_int8.float_nodes(model, ["gru"]) == [gru.name]
    assert rvm_int8.float_nodes(model, ["early", "output"]) == [renamed.name, head.name]


def built(name: str) -> Path:
    path = registry.user_dir() / f"{name}.onnx"
    if not path.is_file():
        pytest.skip(f"no {path} (make rvm RVM_INT8=1 builds it)")
    return path


def test_built_int8_rvm_keeps_the_masks_of_float_on_a_real_clip():
    float_model, int8_model = built(rvm_int8.FLOAT_NAME), built(rvm_int8.INT8_NAME)
    if not rvm_int8.HELD_OUT_CLIP.is_file():
        pytest.skip(f"no {rvm_int8.HELD_OUT_CLIP} (the shared data)")
    assert rvm_int8.quantised_ops(int8_model).get("DequantizeLinear", 0) > 50
    clip = list(rvm_int8.nchw(rvm_int8.read_frames(rvm_int8.HELD_OUT_CLIP, 20, *rvm_int8.SIZE)))
    reference = rvm_int8.alphas(session(float_model, 2), clip)
    figures = rvm_int8.against_float(reference, rvm_int8.alphas(session(int8_model, 2), clip))
    assert figures["iou"] >= rvm_int8.MIN_MEAN_IOU, figures
    assert figures["iou_min"] >= rvm_int8.MIN_FRAME_IOU, figures
    assert figures["mean_abs"] <= rvm_int8.MAX_MEAN_ERROR, figures


def test_build_writes_the_int8_network_and_its_notice_beside_the_float_one(tmp_path, capsys):
    assert rvm_int8.main(["build", "--models", str(tmp_path)]) == 1  # no float network
    rvm_signature_model(tmp_path / f"{rvm_int8.FLOAT_NAME}.onnx")
    assert rvm_int8.main(["build", "--models", str(tmp_path)]) == 1  # no NOTICE beside it
    (tmp_path / f"{rvm_int8.FLOAT_NAME}.NOTICE").write_text("GPL-3.0 notice of the float file\n")
    missing = tmp_path / "none.mp4"
    assert rvm_int8.main(["build", "--models", str(tmp_path), "--clip", str(missing)]) == 1
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 3 and all(line.startswith("export.rvm_int8: ") for line in errors)
    assert not (tmp_path / f"{rvm_int8.INT8_NAME}.onnx").exists()

    clip = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for image in frames(8):
        writer.write(
            (image[0].transpose(1, 2, 0) * 255)
            .astype(np.uint8)[..., ::-1]
            .repeat(2, 0)
            .repeat(2, 1)
        )
    writer.release()
    argv = ["build", "--models", str(tmp_path), "--clip", str(clip), "--calibration-frames", "8"]
    assert rvm_int8.main(argv) == 0
    built = tmp_path / f"{rvm_int8.INT8_NAME}.onnx"
    assert rvm_int8.quantised_ops(built).get("DequantizeLinear", 0) >= 4
    notice = (tmp_path / f"{rvm_int8.INT8_NAME}.NOTICE").read_text()
    assert notice.startswith(f"{rvm_int8.INT8_NAME}.onnx: an int8 form")
    assert notice.endswith("GPL-3.0 notice of the float file\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [
            "clip.avi",
            *(
                f"{n}.{e}"
                for n in (rvm_int8.FLOAT_NAME, rvm_int8.INT8_NAME)
                for e in ("onnx", "NOTICE")
            ),
        ]
    )
