"""The fixed sets of values rtseg's options take, as `Literal` types: a type checker (mypy,
pyright) catches `mode="stream"` before the program runs, and the runtime checks against the
same sets."""

from __future__ import annotations

from typing import Literal, get_args

# Where the model runs: "auto" tries TensorRT, then CUDA, then the CPU.
Device = Literal["auto", "cpu", "cuda", "tensorrt"]
# Mask quality for its cost (`rtseg run --quality`).
QualityName = Literal["fast", "balanced", "best"]
# The channel policy between stages: newest frame wins (live), or back-pressure (files).
PolicyName = Literal["latest", "block"]
# How a Segmenter is fed: separate images, a video's frames with times, or live frames.
Mode = Literal["image", "video", "live"]
# The channel order of images a program hands over.
ColorOrder = Literal["bgr", "rgb"]
# The alpha's type in a Segmentation: 0 to 1, or 0 to 255.
AlphaDtype = Literal["float32", "uint8"]

DEVICES: tuple[str, ...] = get_args(Device)
QUALITIES: tuple[str, ...] = get_args(QualityName)
POLICIES: tuple[str, ...] = get_args(PolicyName)
MODES: tuple[str, ...] = get_args(Mode)
COLORS: tuple[str, ...] = get_args(ColorOrder)
ALPHA_DTYPES: tuple[str, ...] = get_args(AlphaDtype)
