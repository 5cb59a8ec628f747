"""Labelled portraits, a hand-built contract teacher and a short clip, all made by the tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper

from rtseg.models.contract import ModelInfo, metadata_dict


def portrait(rng: np.random.Generator, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A warm head-and-shoulders shape on a cool textured background, and its 0/1 mask."""
    height, width = size
    mask = np.zeros(size, np.uint8)
    cx = int(width * rng.uniform(0.3, 0.7))
    cv2.ellipse(mask, (cx, height // 3), (width // 7, height // 5), 0, 0, 360, 1, -1)
    cv2.ellipse(mask, (cx, height), (width // 3, height // 3), 0, 180, 360, 1, -1)
    bg = rng.uniform([0, 40, 120], [60, 140, 255], size=(1, 1, 3))
    fg = rng.uniform([150, 40, 0], [255, 140, 90], size=(1, 1, 3))
    image = np.where(mask[..., None] > 0, fg, bg) + rng.normal(0, 15, (*size, 3))
    return np.clip(image, 0, 255).astype(np.uint8), mask


def write_labelled(root: Path, count: int, size: tuple[int, int], seed: int = 0) -> None:
    """The EG1800 layout: root/images/NAME.jpg and root/masks/NAME.png (0/255)."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for k in range(count):
        image, mask = portrait(rng, size)
        cv2.imwrite(str(root / "images" / f"{k:03d}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(root / "masks" / f"{k:03d}.png"), mask * 255)


def write_clip(path: Path, frames: int, size: tuple[int, int], seed: int = 0) -> None:
    """An mp4 of a warm shape drifting across a cool background."""
    rng = np.random.default_rng(seed)
    height, width = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (width, height))
    assert writer.isOpened()
    try:
        for k in range(frames):
            image = np.empty((height, width, 3), np.float32)
            image[:] = (40 + 20 * np.sin(k / 5), 90, 200)
            cx = int(width * (0.2 + 0.6 * k / frames))
            cv2.ellipse(
                image, (cx, height // 3), (width // 8, height // 5), 0, 0, 360, (220, 90, 40), -1
            )
            cv2.ellipse(
                image, (cx, height), (width // 4, height // 3), 0, 180, 360, (200, 80, 60), -1
            )
            image = np.clip(image + rng.normal(0, 10, image.shape), 0, 255).astype(np.uint8)
            writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()


def write_red_teacher(path: Path, size: tuple[int, int]) -> None:
    """A contract model that calls warm pixels "person": sigmoid((R - B) / 16 - 2)."""
    height, width = size
    nodes = [
        helper.make_node("Cast", ["image"], ["f"], to=TensorProto.FLOAT),
        helper.make_node("Transpose", ["f"], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["nchw", "w", "b"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["alpha"]),
    ]
    weights = [
        helper.make_tensor("w", TensorProto.FLOAT, [1, 3, 1, 1], [1 / 16, 0.0, -1 / 16]),
        helper.make_tensor("b", TensorProto.FLOAT, [1], [-2.0]),
    ]
    graph = helper.make_graph(
        nodes,
        "red_teacher",
        [helper.make_tensor_value_info("image", TensorProto.UINT8, [1, height, width, 3])],
        [helper.make_tensor_value_info("alpha", TensorProto.FLOAT, [1, 1, height, width])],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
    info = ModelInfo("red", height, width, "linear", "test", "Apache-2.0", "fp32", True)
    helper.set_model_props(model, metadata_dict(info))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
