"""Matting quality benchmark: is the refined, smoothed mask really better, and what does it cost?

On portraits with reference alphas: IoU at 0.5, boundary F-score (2-pixel tolerance) and mean
abs alpha error in a band around the edge, for the raw model, refined, and refined + smoothed.
On clips: flicker (mean abs frame-to-frame alpha change where the image barely changed) and lag
(where the cross-correlation between alpha change and image change peaks). Plus the cost of
each option on a 720p frame. Writes quality.json, quality.md and pictures.

    python -m benchmarks.quality --out DIR [--quick] [--model NAME_OR_PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from rtseg.compose import blend, blur_background
from rtseg.engine import Engine
from rtseg.errors import RtsegError
from rtseg.models import DEFAULT_MODEL, resolve
from rtseg.refine import EdgeRefiner
from rtseg.temporal import TemporalSmoother
from rtseg.transforms import to_model_input, upscale_alpha

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
VARIANTS = ("raw", "refined", "refined+smoothed")


# --- metrics ---------------------------------------------------------------------------------


def iou(alpha: np.ndarray, reference: np.ndarray, threshold: float = 0.5) -> float:
    """Intersection over union of the two masks cut at `threshold`; 1.0 when both are empty."""
    a, r = alpha >= threshold, reference >= threshold
    union = np.logical_or(a, r).sum()
    return float(np.logical_and(a, r).sum() / union) if union else 1.0


def _boundary(mask: np.ndarray) -> np.ndarray:
    """The mask's one-pixel inner contour."""
    m = mask.astype(np.uint8)
    return (m - cv2.erode(m, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE)) > 0


def _distance_to(points: np.ndarray) -> np.ndarray:
    """Euclidean distance of every pixel to the nearest True pixel of `points`."""
    return cv2.distanceTransform((~points).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def boundary_fscore(alpha: np.ndarray, reference: np.ndarray, tolerance: float = 2.0) -> float:
    """F-score of the mask contours (at 0.5): a contour pixel counts as right when the other
    contour passes within `tolerance` pixels. Unlike IoU it only looks at the edge."""
    a, r = _boundary(alpha >= 0.5), _boundary(reference >= 0.5)
    if not a.any() and not r.any():
        return 1.0
    if not a.any() or not r.any():
        return 0.0
    precision = float((_distance_to(r)[a] <= tolerance).mean())
    recall = float((_distance_to(a)[r] <= tolerance).mean())
    total = precision + recall
    return 2.0 * precision * recall / total if total else 0.0


def edge_band_error(alpha: np.ndarray, reference: np.ndarray, width: int = 10) -> float:
    """Mean abs alpha error within `width` pixels of the reference edge and in its soft parts
    (hair); away from the edge every method is right and would only dilute the figure."""
    r = (reference >= 0.5).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    band = cv2.dilate(r, kernel) != cv2.erode(r, kernel)
    band |= (reference > 0.02) & (reference < 0.98)
    return float(np.abs(alpha - reference)[band].mean()) if band.any() else 0.0


@dataclass(frozen=True)
class FrameChange:
    """How much one frame differs from the one before, in the image and in alpha."""

    image_change: float  # mean abs grey-level change (0..255)
    alpha_change: float  # mean abs alpha change
    still_alpha_sum: float  # summed abs alpha change over the pixels whose image barely changed
    still_pixels: int


def frame_change(
    prev_gray: np.ndarray,
    gray: np.ndarray,
    prev_alpha: np.ndarray,
    alpha: np.ndarray,
    still_level: float = 2.0,
) -> FrameChange:
    """Changes between two consecutive frames; "still" pixels changed by < `still_level` grey
    levels (after a 3x3 average, which keeps sensor and codec noise from counting as motion)."""
    image_diff = cv2.absdiff(gray, prev_gray)
    alpha_diff = np.abs(alpha - prev_alpha)
    still = cv2.blur(image_diff.astype(np.float32), (3, 3)) < still_level
    return FrameChange(
        image_change=float(image_diff.mean()),
        alpha_change=float(alpha_diff.mean()),
        still_alpha_sum=float(alpha_diff[still].sum()),
        still_pixels=int(still.sum()),
    )


def flicker(changes: Sequence[FrameChange]) -> float:
    """Mean abs frame-to-frame alpha change over all still pixels of a clip."""
    pixels = sum(c.still_pixels for c in changes)
    return sum(c.still_alpha_sum for c in changes) / pixels if pixels else 0.0


def lag(changes: Sequence[FrameChange], max_lag: int = 5) -> float:
    """Frames by which alpha change trails image change: the peak of their normalised
    cross-correlation, refined to a fraction of a frame by a parabola through the peak.
    Positive means the mask follows the picture late."""
    x = np.array([c.image_change for c in changes], np.float64)
    y = np.array([c.alpha_change for c in changes], np.float64)
    if len(x) <= 2 * max_lag + 2 or x.std() == 0 or y.std() == 0:
        return float("nan")
    x = (x - x.mean()) / x.std()
    y = (y - y.mean()) / y.std()
    n = len(x)
    shifts = range(-max_lag, max_lag + 1)
    # Shift k pairs the image change at t with the alpha change at t + k.
    corr = np.array(
        [np.mean(x[: n - k] * y[k:]) if k >= 0 else np.mean(x[-k:] * y[: n + k]) for k in shifts]
    )
    i = int(np.argmax(corr))
    offset = 0.0
    if 0 < i < len(corr) - 1:
        left, mid, right = corr[i - 1], corr[i], corr[i + 1]
        curve = left - 2 * mid + right
        offset = 0.5 * (left - right) / curve if curve < 0 else 0.0
    return float(shifts[i] + offset)


# --- the benchmark ---------------------------------------------------------------------------


@dataclass
class Options:
    """The quality options under test, as the pipeline would configure them."""

    refiner: EdgeRefiner
    smoother: TemporalSmoother


def fit_long_side(image: np.ndarray, long_side: int) -> np.ndarray:
    """Scale down so the longer side is `long_side` (portraits come at 1-2k pixels)."""
    h, w = image.shape[:2]
    scale = long_side / max(h, w)
    if scale >= 1.0:
        return image
    size = (round(w * scale), round(h * scale))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def portrait_alphas(
    engine: Engine, options: Options, image: np.ndarray, still_frames: int, seed: int
) -> dict[str, np.ndarray]:
    """The raw, refined and refined + smoothed alpha of one portrait.

    Smoothing needs a stream: the portrait is shown as a still clip of `still_frames` frames
    with camera-like noise (sigma 3 grey levels), and the last frame is scored.
    """
    h, w = image.shape[:2]
    small = engine.infer(to_model_input(image, engine.info))
    rng = np.random.default_rng(seed)
    options.smoother.reset()
    for _ in range(still_frames):
        noisy = cv2.add(image, rng.normal(0, 3, image.shape), dtype=cv2.CV_8U)
        tensor = to_model_input(noisy, engine.info)
        smoothed = options.smoother.update(tensor[0], engine.infer(tensor))
    return {
        "raw": upscale_alpha(small, h, w),
        "refined": options.refiner.refine(image, small),
        "refined+smoothed": options.refiner.refine(noisy, smoothed),
    }


def score(alpha: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    return {
        "iou": iou(alpha, reference),
        "boundary_f": boundary_fscore(alpha, reference),
        "edge_mae": edge_band_error(alpha, reference),
    }


def bench_portraits(
    engine: Engine, options: Options, folder: Path, limit: int | None, out: Path, pictures: int
) -> dict:
    originals = sorted((folder / "original").glob("*.jpg"))[:limit]
    per_image: dict[str, dict[str, dict[str, float]]] = {}
    for index, path in enumerate(originals):
        image = fit_long_side(cv2.imread(str(path)), 1280)
        ref_path = folder / "alpha_pred" / f"{path.stem}.png"
        reference = cv2.imread(str(ref_path), cv2.IMREAD_GRAYSCALE)
        h, w = image.shape[:2]
        reference = cv2.resize(reference, (w, h), interpolation=cv2.INTER_AREA)
        reference = reference.astype(np.float32) / 255.0
        alphas = portrait_alphas(engine, options, image, still_frames=5, seed=index)
        per_image[path.stem] = {name: score(a, reference) for name, a in alphas.items()}
        if index < pictures:
            cv2.imwrite(str(out / f"portrait_{path.stem}.png"), portrait_picture(image, alphas))
    mean = {
        v: {m: float(np.mean([s[v][m] for s in per_image.values()])) for m in score_names()}
        for v in VARIANTS
    }
    return {"images": len(per_image), "long_side": 1280, "mean": mean, "per_image": per_image}


def score_names() -> tuple[str, ...]:
    return ("iou", "boundary_f", "edge_mae")


def portrait_picture(image: np.ndarray, alphas: dict[str, np.ndarray]) -> np.ndarray:
    """Input | raw alpha | refined alpha | plain blur (leaks) | foreground-aware blur."""
    raw, refined = alphas["raw"], alphas["refined"]
    small = cv2.resize(image, (image.shape[1] // 4, image.shape[0] // 4), cv2.INTER_AREA)
    plain_bg = cv2.resize(
        cv2.GaussianBlur(small, (21, 21), 0), image.shape[1::-1], interpolation=cv2.INTER_LINEAR
    )
    panels = [
        image,
        _grey(raw),
        _grey(refined),
        blend(image, plain_bg, refined),
        blur_background(image, refined),
    ]
    names = ("input", "raw alpha", "refined alpha", "plain blur", "foreground-aware blur")
    return np.hstack([_label(_fit_height(p, 360), n) for p, n in zip(panels, names, strict=True)])


def _grey(alpha: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.convertScaleAbs(alpha, alpha=255.0), cv2.COLOR_GRAY2BGR)


def _label(image: np.ndarray, text: str) -> np.ndarray:
    """`text` in the top-left corner, white on a dark outline so it reads on any picture."""
    out = image.copy()
    for colour, thickness in (((0, 0, 0), 3), ((255, 255, 255), 1)):
        cv2.putText(out, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, thickness)
    return out


def _fit_height(image: np.ndarray, height: int) -> np.ndarray:
    h, w = image.shape[:2]
    return cv2.resize(image, (round(w * height / h), height), interpolation=cv2.INTER_AREA)


def read_frames(path: Path, limit: int | None) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames: list[np.ndarray] = []
    try:
        while limit is None or len(frames) < limit:
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(frame)
    finally:
        capture.release()
    if not frames:
        raise RtsegError(f"cannot read any frame from {path}")
    return frames


def bench_clip(
    engine: Engine, options: Options, path: Path, limit: int | None, out: Path, strip: bool
) -> dict:
    """Flicker and lag of each variant over one clip, every frame inferred in order."""
    frames = read_frames(path, limit)
    options.smoother.reset()
    changes: dict[str, list[FrameChange]] = {v: [] for v in VARIANTS}
    previous: tuple[np.ndarray, dict[str, np.ndarray]] | None = None
    thumbs: list[list[np.ndarray]] = []
    every = max(1, len(frames) // 8)
    for index, frame in enumerate(frames):
        h, w = frame.shape[:2]
        tensor = to_model_input(frame, engine.info)
        small = engine.infer(tensor)
        smoothed = options.smoother.update(tensor[0], small)
        alphas = {
            "raw": upscale_alpha(small, h, w),
            "refined": options.refiner.refine(frame, small),
            "refined+smoothed": options.refiner.refine(frame, smoothed),
        }
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        if previous is not None:
            prev_gray, prev_alphas = previous
            for v in VARIANTS:
                changes[v].append(frame_change(prev_gray, gray, prev_alphas[v], alphas[v]))
        previous = (gray, alphas)
        if strip and index % every == 0 and len(thumbs) < 8:
            thumbs.append([frame, _grey(alphas["raw"]), _grey(alphas["refined+smoothed"])])
    if strip and thumbs:
        names = ("frame", "raw", "refined+smoothed")
        rows = []
        for row, name in enumerate(names):
            cells = [_fit_height(t[row], 120) for t in thumbs]
            rows.append(np.hstack([_label(cells[0], name), *cells[1:]]))
        cv2.imwrite(str(out / f"strip_{path.stem}.png"), np.vstack(rows))
    return {
        "frames": len(frames),
        "size": f"{frames[0].shape[1]}x{frames[0].shape[0]}",
        "flicker": {v: flicker(changes[v]) for v in VARIANTS},
        "lag_frames": {v: lag(changes[v]) for v in VARIANTS},
    }


def time_steps(steps: dict[str, Callable[[], object]], runs: int) -> dict[str, dict[str, float]]:
    """Median wall and CPU ms of each step, OpenCV on one thread (the pipeline gives each
    stage a thread of its own). Steps take turns, so a burst of load from other processes
    hits all of them alike; CPU time leaves out the time spent waiting for a core."""
    wall: dict[str, list[float]] = {name: [] for name in steps}
    cpu: dict[str, list[float]] = {name: [] for name in steps}
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        for _ in range(runs):
            for name, fn in steps.items():
                w0, c0 = time.perf_counter(), time.thread_time()
                fn()
                cpu[name].append(time.thread_time() - c0)
                wall[name].append(time.perf_counter() - w0)
    finally:
        cv2.setNumThreads(threads)
    return {
        name: {"wall": float(np.median(wall[name]) * 1e3), "cpu": float(np.median(cpu[name]) * 1e3)}
        for name in steps
    }


def bench_latency(engine: Engine, options: Options, frame: np.ndarray, runs: int) -> dict:
    """Cost per 720p frame of each step (the frame is upscaled to 1280x720 if smaller)."""
    frame = cv2.resize(frame, (1280, 720), interpolation=cv2.INTER_LINEAR)
    tensor = to_model_input(frame, engine.info)
    small = engine.infer(tensor)
    alpha = upscale_alpha(small, 720, 1280)
    black = np.zeros_like(frame)
    options.smoother.reset()
    options.smoother.update(tensor[0], small)
    steps: dict[str, Callable[[], object]] = {
        "upscale (raw)": lambda: upscale_alpha(small, 720, 1280),
        "refine (includes the upscale)": lambda: options.refiner.refine(frame, small),
        "smooth (model size)": lambda: options.smoother.update(tensor[0], small),
        "blur_background": lambda: blur_background(frame, alpha),
        "blend": lambda: blend(frame, black, alpha),
        "cv2.blendLinear (for comparison)": lambda: cv2.blendLinear(frame, black, alpha, 1 - alpha),
    }
    ms = time_steps(steps, runs)
    ms["refine + smooth, added over raw"] = {
        key: ms["refine (includes the upscale)"][key]
        + ms["smooth (model size)"][key]
        - ms["upscale (raw)"][key]
        for key in ("wall", "cpu")
    }
    return {"runs": runs, "ms": ms, "load_average": os.getloadavg()[0]}


def markdown(result: dict) -> str:
    lines = [f"# Matting quality: {result['model']}", ""]
    portraits = result.get("portraits")
    if portraits:
        lines += [
            f"Portraits: {portraits['images']} (P3M, long side {portraits['long_side']} px), "
            "against P3M-Net reference mattes.",
            "",
            "| variant | IoU@0.5 | boundary F (2 px) | edge-band MAE |",
            "|---|---|---|---|",
        ]
        for v in VARIANTS:
            m = portraits["mean"][v]
            lines.append(f"| {v} | {m['iou']:.4f} | {m['boundary_f']:.4f} | {m['edge_mae']:.4f} |")
        lines.append("")
    for name, clip in result.get("clips", {}).items():
        lines += [
            f"Clip {name} ({clip['size']}, {clip['frames']} frames):",
            "",
            "| variant | flicker (mean abs alpha change, still pixels) | lag (frames) |",
            "|---|---|---|",
        ]
        for v in VARIANTS:
            lines.append(f"| {v} | {clip['flicker'][v]:.5f} | {clip['lag_frames'][v]:+.2f} |")
        lines.append("")
    latency = result["latency"]
    lines += [
        f"Cost per 1280x720 frame, OpenCV on one thread (median of {latency['runs']} runs, "
        f"load average {latency['load_average']:.1f}; on a busy machine both figures run high):",
        "",
        "| step | wall ms | CPU ms |",
        "|---|---|---|",
    ]
    lines += [
        f"| {name} | {ms['wall']:.2f} | {ms['cpu']:.2f} |" for name, ms in latency["ms"].items()
    ]
    lines += ["", *(f"- {note}" for note in result["notes"])]
    return "\n".join(lines) + "\n"


def run(out: Path, quick: bool, model: str, data: Path = DATA) -> dict:
    """Run the benchmark, write quality.json, quality.md and pictures into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    engine = Engine(resolve(model), device="cpu", threads=2)
    options = Options(EdgeRefiner(), TemporalSmoother())
    notes: list[str] = []
    result: dict = {"model": engine.info.name, "quick": quick, "notes": notes}
    portraits = data / "portraits" / "p3m"
    if (portraits / "original").is_dir():
        result["portraits"] = bench_portraits(
            engine, options, portraits, 2 if quick else None, out, pictures=1 if quick else 3
        )
    else:
        notes.append(f"portraits skipped: {portraits} not found")
    videos = sorted((data / "videos").glob("*.mp4"))
    if not videos:
        notes.append(f"clips skipped: no .mp4 under {data / 'videos'}")
    clips = {}
    for i, video in enumerate(videos[:1] if quick else videos):
        clips[video.stem] = bench_clip(
            engine, options, video, 12 if quick else None, out, strip=i == 0
        )
    result["clips"] = clips
    frame = read_frames(videos[0], 1)[0] if videos else _synthetic_frame()
    result["latency"] = bench_latency(engine, options, frame, 10 if quick else 200)
    notes.append("720p cost measured on a clip frame upscaled to 1280x720")
    (out / "quality.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "quality.md").write_text(markdown(result))
    return result


def _synthetic_frame() -> np.ndarray:
    frame = np.full((720, 1280, 3), 40, np.uint8)
    cv2.circle(frame, (640, 400), 250, (200, 180, 170), -1)
    return frame


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="folder for JSON, table, PNGs")
    parser.add_argument("--quick", action="store_true", help="a tiny run, for tests")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="model name or .onnx path")
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    args = parser.parse_args(argv)
    try:
        result = run(args.out, args.quick, args.model, args.data)
    except RtsegError as exc:
        parser.exit(2, f"error: {exc}\n")
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
