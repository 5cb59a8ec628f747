"""How DeepLab's person alpha is calibrated: the temperature on the logit margin.

The bundled DeepLab models give alpha = sigmoid(k * (l_person - max other)). With k = 1 the
inside of a person comes out grey (about 0.7 on patterned clothes), and on photos of several
people a large share of all pixels is semi-transparent, so a blur leaks into the person. This
measures, for each k, against the P3M portraits' mattes: the mean alpha inside the person
(matte 1, eroded by 5% of the image's short side), the share of person pixels under 0.9,
the mean abs alpha error, the mean abs error in a band around the edge (matte between 0.05 and
0.95, dilated: the softness that should stay), IoU at 0.5 and boundary F; and on the shared
animal photos (no person) the largest alpha, which a higher k must not raise. k only scales the
margin, so the 0.5 level at the model's size, where the ArgMax turns to person, does not move:
IoU and boundary F (of the bilinearly upscaled alpha) stay within a thousandth.

    python -m benchmarks.deeplab_alpha [--model deeplabv3_mnv2_voc] [--quick]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import onnx
from onnx import numpy_helper

from benchmarks.quality import DATA, boundary_fscore, iou, load_portraits
from rtseg.models.engine import Engine
from rtseg.models.registry import resolve
from rtseg.models.transforms import to_model_input, upscale_alpha

TEMPERATURES = (1.0, 2.0, 3.0, 4.0)
OFFSETS = (0.0, 1.0, 2.0, 3.0)
_EPS = 1e-7


def built_in_temperature(path: Path) -> float:
    """The k the model file already applies (`export.coral.ALPHA_TEMPERATURE`; 1 before it)."""
    for tensor in onnx.load(path).graph.initializer:
        if tensor.name == "alpha_temperature":
            return float(numpy_helper.to_array(tensor))
    return 1.0


def margin(alpha: np.ndarray, temperature_in_model: float) -> np.ndarray:
    """The logit margin l_person - max other that gave `alpha` (float32 sigmoid output)."""
    a = np.clip(alpha.astype(np.float64), _EPS, 1.0 - _EPS)
    return np.log(a / (1.0 - a)) / temperature_in_model


def calibrated(m: np.ndarray, k: float, b: float = 0.0) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-(k * m + b)))).astype(np.float32)


def measure(model: str, quick: bool) -> list[dict]:
    engine = Engine(resolve(model), device="cpu", threads=1)
    built_in = built_in_temperature(engine.path)
    portraits = load_portraits(DATA / "portraits" / "p3m", 3 if quick else None)
    margins = []
    for p in portraits:
        small = engine.run(to_model_input(p.image, engine.info)).alpha
        margins.append(margin(small, built_in))
    animals = []
    for name in ("dog", "bird"):
        path = DATA / "images" / f"{name}_segmentation.png"
        if path.exists():
            image = cv2.imread(str(path))
            animals.append(margin(engine.run(to_model_input(image, engine.info)).alpha, built_in))
    rows = []
    for k, b in ((k, b) for k in TEMPERATURES for b in OFFSETS):
        inside, grey_share, mae, edge_mae, ious, bfs = [], [], [], [], [], []
        for p, m in zip(portraits, margins, strict=True):
            h, w = p.matte.shape
            alpha = upscale_alpha(calibrated(m, k, b), h, w)
            side = max(3, round(0.05 * min(h, w)))
            core = cv2.erode((p.matte >= 0.99).astype(np.uint8), np.ones((side, side), np.uint8))
            core = core > 0
            soft = (p.matte > 0.05) & (p.matte < 0.95)
            band = cv2.dilate(soft.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
            inside.append(float(alpha[core].mean()))
            grey_share.append(float((alpha[p.matte >= 0.5] < 0.9).mean()))
            error = np.abs(alpha - p.matte)
            mae.append(float(error.mean()))
            edge_mae.append(float(error[band].mean()))
            ious.append(iou(alpha, p.matte))
            bfs.append(boundary_fscore(alpha, p.matte))
        rows.append(
            {
                "k": k,
                "b": b,
                "inside": float(np.mean(inside)),
                "inside_min": float(np.min(inside)),
                "grey_share": float(np.mean(grey_share)),
                "mae": float(np.mean(mae)),
                "edge_mae": float(np.mean(edge_mae)),
                "iou": float(np.mean(ious)),
                "boundary_f": float(np.mean(bfs)),
                "animals_max": max((float(calibrated(m, k, b).max()) for m in animals), default=0),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="deeplabv3_mnv2_voc")
    parser.add_argument("--quick", action="store_true", help="3 portraits")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    rows = measure(args.model, args.quick)
    print(f"{args.model}, P3M portraits (mean over portraits), shared animal photos")
    print(
        "| k | b | inside mean (min) | person < 0.9 | MAE | MAE near edges | IoU | boundary F "
        "| animals max |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['k']:g} | {r['b']:g} | {r['inside']:.3f} ({r['inside_min']:.3f}) "
            f"| {r['grey_share']:.3f} "
            f"| {r['mae']:.4f} | {r['edge_mae']:.4f} | {r['iou']:.3f} | {r['boundary_f']:.3f} "
            f"| {r['animals_max']:.3f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
