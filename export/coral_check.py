"""How close a converted DeepLabV3 (export/coral.py) is to the LiteRT interpreter's own output.

For each image: the share of pixels whose ONNX `labels` equal LiteRT's ArgMax, and the IoU of
the ONNX `alpha > 0.5` with LiteRT's person class; then both pooled over all the images. The
images are stretched to the model's input as the runtime does (cv2.resize, INTER_LINEAR).
`--builtin` compares LiteRT with itself instead: its built-in CPU kernels against its default
XNNPACK ones, to see how much rounding alone moves this network's answers.
Runs in the conversion venv (export/requirements-selfie.txt):

    python -m export.coral_check --tflite SOURCE.tflite MODEL.onnx IMAGE...
    python -m export.coral_check --tflite SOURCE.tflite --builtin IMAGE...
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import tensorflow as tf

from export.coral import SOURCE_SIZE
from export.families import PERSON_CLASS


@dataclass(frozen=True)
class Agreement:
    """Pixel counts behind the two parity figures, so that images can be pooled."""

    same_label: int
    pixels: int
    person_both: int
    person_either: int

    @property
    def labels(self) -> float:
        return self.same_label / self.pixels

    @property
    def person_iou(self) -> float:
        return self.person_both / self.person_either if self.person_either else 1.0

    def __add__(self, other: Agreement) -> Agreement:
        return Agreement(
            self.same_label + other.same_label,
            self.pixels + other.pixels,
            self.person_both + other.person_both,
            self.person_either + other.person_either,
        )


def model_input(path: Path, size: int) -> np.ndarray:
    """An image file as the runtime feeds a `linear` model: stretched, RGB, [1, size, size, 3]."""
    bgr = cv2.imread(str(path))
    if bgr is None:
        raise FileNotFoundError(path)
    small = cv2.resize(bgr, (size, size), interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(small, cv2.COLOR_BGR2RGB)[np.newaxis]


def litert_labels(tflite_path: Path, image: np.ndarray, builtin: bool = False) -> np.ndarray:
    """The TFLite model's ArgMax [H, W] from LiteRT's default interpreter (XNNPACK on CPU), or
    with `builtin` from its built-in kernels alone."""
    resolver = tf.lite.experimental.OpResolverType
    interpreter = tf.lite.Interpreter(
        model_path=str(tflite_path),
        experimental_op_resolver_type=(
            resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES if builtin else resolver.AUTO
        ),
    )
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], image)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0]


def agreement(alpha: np.ndarray, labels: np.ndarray, reference: np.ndarray) -> Agreement:
    """Compare one ONNX output (alpha [H, W], labels [H, W]) with LiteRT's labels [H, W]."""
    mask = alpha > 0.5
    person = reference == PERSON_CLASS
    return Agreement(
        int((labels == reference).sum()),
        reference.size,
        int((mask & person).sum()),
        int((mask | person).sum()),
    )


def compare(onnx_path: Path, tflite_path: Path, images: list[Path]) -> dict[str, Agreement]:
    """Per-image agreement of an ONNX model with LiteRT, on the CPU provider's defaults."""
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    size = session.get_inputs()[0].shape[1]
    found = {}
    for path in images:
        image = model_input(path, size)
        alpha, labels = session.run(None, {"image": image})
        found[path.name] = agreement(alpha[0, 0], labels[0], litert_labels(tflite_path, image))
    return found


def builtin_vs_xnnpack(tflite_path: Path, images: list[Path]) -> dict[str, Agreement]:
    """Per-image agreement of LiteRT's built-in kernels with its default XNNPACK ones."""
    found = {}
    for path in images:
        image = model_input(path, SOURCE_SIZE)
        builtin = litert_labels(tflite_path, image, builtin=True)
        alpha = (builtin == PERSON_CLASS).astype(np.float32)
        found[path.name] = agreement(alpha, builtin, litert_labels(tflite_path, image))
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tflite", type=Path, required=True, help="the source .tflite file")
    parser.add_argument("--builtin", action="store_true", help="LiteRT's own kernels, no ONNX")
    parser.add_argument("paths", type=Path, nargs="+", help="[MODEL.onnx] IMAGE...")
    args = parser.parse_args(argv)
    if args.builtin:
        found = builtin_vs_xnnpack(args.tflite, args.paths)
    else:
        found = compare(args.paths[0], args.tflite, args.paths[1:])
    print("| image | labels agree | person IoU |\n|---|---|---|")
    for name, a in found.items():
        print(f"| {name} | {a.labels:.4f} | {a.person_iou:.4f} |")
    pooled = sum(found.values(), Agreement(0, 0, 0, 0))
    print(f"| pooled | {pooled.labels:.4f} | {pooled.person_iou:.4f} |")


if __name__ == "__main__":
    main()
