"""Mask quality benchmark: each `--quality` level against the plain selfie model and against
MediaPipe's own masks, with what each costs.

Sets: the P3M portraits against their reference mattes; composites of those portraits pasted
small into wide person-free backgrounds (one person, two people; the ground truth is exact);
the shared clips for flicker (mean abs frame-to-frame alpha change where the image barely
changed) and lag (frames by which alpha change trails image change). Cost: CPU and wall ms of
the whole mask path (model input, passes, smoothing, refinement or upscale) per frame of the
first clip scaled to 1280x720, ONNX Runtime and OpenCV on one thread each. Writes
quality.json and quality.md; `--picture` draws the mask edges of one composite.

    python -m benchmarks.quality --out DIR [--quick] [--mediapipe-python PATH] [--picture PNG]
        [--compare]

MediaPipe's column needs a Python with mediapipe==0.10.14 (export/requirements-mediapipe.txt),
given by --mediapipe-python or $RTSEG_MEDIAPIPE_PYTHON; without one the table says so and
leaves the column out.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from benchmarks.composites import Portrait, background_for, inset, make_sets
from benchmarks.output import write_results
from rtseg.errors import RtsegError
from rtseg.matte.frame_path import FramePath
from rtseg.matte.masks import MaskSource
from rtseg.matte.quality import LEVELS, Quality
from rtseg.matte.roi import RoiSettings
from rtseg.models.engine import Engine
from rtseg.models.registry import DEFAULT_MODEL, resolve

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MEDIAPIPE = "mediapipe"
PLAIN = "plain model"
# The plain selfie model as MediaPipe runs it: one whole-frame pass, bilinear upscale.
ROWS: dict[str, Quality] = {
    PLAIN: Quality(flip=False, zoom=None, refine_short_side=None, smooth=0.0),
    **LEVELS,
}
SMALL = 0.45  # a clip's height in the 720p frame it is inset into, for the zoom to engage
# With --compare: the choices behind the levels, each changed alone.
COMPARE: dict[str, Quality] = {
    "fast + flip": Quality(flip=True, zoom=None, refine_short_side=180),
    "balanced, one crop for all": Quality(False, RoiSettings(together=True), 360),
    "balanced, filter at 1/4 size": Quality(False, RoiSettings(), 180),
    "balanced, filter at 1/2 size unzoomed too": Quality(False, RoiSettings(), 360),
    "balanced, no filter": Quality(False, RoiSettings(), None),
}
MEDIAPIPE_SCRIPT = Path(__file__).with_name("mediapipe_masks.py")


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


# --- masks from rtseg ------------------------------------------------------------------------


@dataclass
class MaskPath:
    """The pipeline's frame path for one quality setting (`FramePath`, as `Job` runs it in
    sync mode): model input, passes, smoothing, then refinement or upscale."""

    engine: Engine
    quality: Quality

    def __post_init__(self) -> None:
        q = self.quality
        self.path = FramePath(q, q.refiner(), MaskSource(sync=True, passes=q.passes()))
        self.state = self.path.new_stream()
        self.seq = 0

    def alpha(self, image: np.ndarray, new_stream: bool = False) -> np.ndarray:
        """Alpha at the frame's size; `new_stream` for an image unrelated to the last."""
        if new_stream:
            self.state.restart()
        matte = self.path.segment(self.engine, image, self.seq, self.state)
        self.seq += 1
        return matte.alpha


def score(alpha: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    return {"iou": iou(alpha, reference), "boundary_f": boundary_fscore(alpha, reference)}


def mean_scores(scores: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.mean([s[k] for s in scores])) for k in scores[0]}


def fit_long_side(image: np.ndarray, long_side: int) -> np.ndarray:
    """Scale down so the longer side is `long_side` (portraits come at 1-2k pixels)."""
    h, w = image.shape[:2]
    scale = long_side / max(h, w)
    if scale >= 1.0:
        return image
    size = (round(w * scale), round(h * scale))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def load_portraits(folder: Path, limit: int | None) -> list[Portrait]:
    """The P3M portraits at long side 1280 with their mattes (float32 in [0, 1])."""
    portraits = []
    for path in sorted((folder / "original").glob("*.jpg"))[:limit]:
        image = fit_long_side(cv2.imread(str(path)), 1280)
        matte = cv2.imread(str(folder / "alpha_pred" / f"{path.stem}.png"), cv2.IMREAD_GRAYSCALE)
        matte = cv2.resize(matte, image.shape[1::-1], interpolation=cv2.INTER_AREA)
        portraits.append(Portrait(image, matte.astype(np.float32) / 255.0))
    return portraits


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


def clip_figures(frames: list[np.ndarray], alphas: Iterator[np.ndarray]) -> dict[str, float]:
    """Flicker and lag of a clip's alphas (one per frame, at the frame's size)."""
    changes: list[FrameChange] = []
    previous: tuple[np.ndarray, np.ndarray] | None = None
    for frame, alpha in zip(frames, alphas, strict=True):
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        if previous is not None:
            changes.append(frame_change(previous[0], gray, previous[1], alpha))
        previous = (gray, alpha)
    return {"flicker": flicker(changes), "lag": lag(changes)}


def cost(path: MaskPath, frames: list[np.ndarray]) -> dict[str, list[float]]:
    """Median and p90 ms (wall, CPU) of the mask path per frame, frames in order."""
    path.alpha(frames[0], new_stream=True)
    wall, cpu = [], []
    for frame in frames:
        w0, c0 = time.perf_counter(), time.process_time()
        path.alpha(frame)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return {
        key: [float(np.median(v) * 1e3), float(np.percentile(v, 90) * 1e3)]
        for key, v in (("wall", wall), ("cpu", cpu))
    }


# --- masks from MediaPipe --------------------------------------------------------------------


def mediapipe_python(given: str | None) -> str | None:
    """The interpreter that has mediapipe: --mediapipe-python, $RTSEG_MEDIAPIPE_PYTHON, or this
    one if it can import mediapipe."""
    candidate = given or os.environ.get("RTSEG_MEDIAPIPE_PYTHON") or sys.executable
    probe = [candidate, "-c", "import mediapipe"]
    try:
        ok = subprocess.run(probe, capture_output=True, timeout=120).returncode == 0
    except OSError:
        ok = False
    return candidate if ok else None


def read_mask(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED).astype(np.float32) / 65535.0


class MediaPipeRun:
    """MediaPipe's masks for the benchmark's images and clips, made in one run of its own
    interpreter (mediapipe_masks.py) and read back."""

    def __init__(
        self,
        python: str,
        images: dict[str, list[np.ndarray]],
        clips: dict[str, list[np.ndarray]],
        cost: list | None,
    ) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="rtseg-mp-"))
        job: dict = {"images": [], "videos": [], "cost": cost}
        for kind, named in (("images", images), ("clips", clips)):
            for name, items in named.items():
                folder = self.dir / "in" / kind / name
                folder.mkdir(parents=True)
                for i, image in enumerate(items):
                    cv2.imwrite(
                        str(folder / f"{i:06d}.png"), image, [cv2.IMWRITE_PNG_COMPRESSION, 1]
                    )
                out = self.dir / "out" / kind / name
                if kind == "clips":
                    job["videos"].append([str(folder), str(out), None])
                else:
                    job["images"] += [
                        [str(folder / f"{i:06d}.png"), str(out / f"{i:06d}.png")]
                        for i in range(len(items))
                    ]
        (self.dir / "job.json").write_text(json.dumps(job))
        result = self.dir / "result.json"
        subprocess.run([python, str(MEDIAPIPE_SCRIPT), str(self.dir / "job.json"), str(result)],
                       check=True)  # fmt: skip
        self.result = json.loads(result.read_text())

    def image(self, name: str, index: int) -> np.ndarray:
        return read_mask(self.dir / "out" / "images" / name / f"{index:06d}.png")

    def clip(self, name: str) -> Iterator[np.ndarray]:
        for path in sorted((self.dir / "out" / "clips" / name).glob("*.png")):
            yield read_mask(path)


# --- the benchmark ---------------------------------------------------------------------------


def run(
    out: Path,
    quick: bool,
    model: str,
    data: Path = DATA,
    mediapipe: str | None = None,
    picture: Path | None = None,
    compare: bool = False,
) -> dict:
    """Run the benchmark, write quality.json and quality.md into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    cv2.setNumThreads(1)
    engine = Engine(resolve(model), device="cpu", threads=1)
    notes: list[str] = []
    rows = {**ROWS, **(COMPARE if compare else {})}
    result: dict = {"model": engine.info.name, "quick": quick, "notes": notes, "rows": list(rows)}
    portraits = load_portraits(data / "portraits" / "p3m", 2 if quick else None)
    sets: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    if portraits:
        sets["P3M"] = [(p.image, p.matte) for p in portraits]
        sets.update({k: v[:2] if quick else v for k, v in make_sets(portraits).items()})
    else:
        notes.append(f"portraits skipped: none under {data / 'portraits' / 'p3m'}")
    clips = sorted((data / "videos").glob("*.mp4"))[: 1 if quick else None]
    if not clips:
        notes.append(f"clips skipped: no .mp4 under {data / 'videos'}")
    limit = 12 if quick else None
    ground = background_for(portraits)
    frames: dict[str, list[np.ndarray]] = {}
    for clip in clips:
        frames[clip.stem] = read_frames(clip, limit)
        small = [inset(f, ground, SMALL, 0.6) for f in frames[clip.stem]]
        frames[f"{clip.stem} small"] = small
    cost_frames = 5 if quick else 150
    costs: dict[str, list[np.ndarray]] = {}
    if clips:
        first = read_frames(clips[0], cost_frames)
        costs["close-up"] = [cv2.resize(f, (1280, 720)) for f in first]
        costs["small"] = [inset(f, ground, SMALL, 0.6) for f in first]
    mp_run = None
    python = mediapipe_python(mediapipe)
    if python is None:
        notes.append(
            "MediaPipe column skipped: no Python with mediapipe==0.10.14 found "
            "(pass --mediapipe-python or set RTSEG_MEDIAPIPE_PYTHON)"
        )
    else:
        images = {name: [image for image, _ in items] for name, items in sets.items()}
        spec = [str(clips[0]), cost_frames, 1280, 720] if clips else None
        mp_run = MediaPipeRun(python, images, frames, spec)
        result["mediapipe"] = mp_run.result["mediapipe"]
    table: dict[str, dict] = {}
    for row, quality in rows.items():
        figures: dict = {"sets": {}, "clips": {}, "cost_ms": {}}
        for name, items in sets.items():
            path = MaskPath(engine, quality)
            scores = [score(path.alpha(image, new_stream=True), truth) for image, truth in items]
            figures["sets"][name] = mean_scores(scores)
        for name, clip_frames in frames.items():
            path = MaskPath(engine, quality)
            alphas = (path.alpha(f) for f in clip_frames)
            figures["clips"][name] = clip_figures(clip_frames, alphas)
        for name, hd in costs.items():
            figures["cost_ms"][name] = cost(MaskPath(engine, quality), hd)
        table[row] = figures
    if mp_run is not None:
        figures = {"sets": {}, "clips": {}, "cost_ms": {}}
        for name, items in sets.items():
            scores = [score(mp_run.image(name, i), truth) for i, (_, truth) in enumerate(items)]
            figures["sets"][name] = mean_scores(scores)
        for name, clip_frames in frames.items():
            figures["clips"][name] = clip_figures(clip_frames, mp_run.clip(name))
        if "cost_ms" in mp_run.result:
            # MediaPipe's cost does not depend on where the person is
            figures["cost_ms"] = dict.fromkeys(costs, mp_run.result["cost_ms"])
        table = {MEDIAPIPE: figures, **table}
    result["table"] = table
    if picture is not None and "one person" in sets:
        shown = 0  # the smallest person, where zoom matters most
        image, truth = sets["one person"][shown]
        masks = {row: MaskPath(engine, q).alpha(image, new_stream=True) for row, q in ROWS.items()}
        if mp_run is not None:
            masks = {MEDIAPIPE: mp_run.image("one person", shown), **masks}
        picture.parent.mkdir(parents=True, exist_ok=True)
        save_small_png(edge_picture(image, truth, masks), picture)
    if clips:
        notes.append(
            f"cost on the first {cost_frames} frames of {clips[0].name}: close-up, scaled to "
            f"1280x720; small, scaled to {SMALL:.0%} of the height of a 1280x720 background"
        )
        notes.append(f"clips marked small: the clip scaled to {SMALL:.0%} of a 1280x720 frame")
    write_results(out, "quality", result, markdown(result))
    return result


EDGE_COLOURS = {  # BGR
    MEDIAPIPE: (255, 0, 255),
    PLAIN: (0, 0, 255),
    "fast": (0, 200, 255),
    "balanced": (0, 255, 0),
    "best": (255, 255, 0),
}


def edge_picture(
    image: np.ndarray, truth: np.ndarray, masks: dict[str, np.ndarray], height: int = 300
) -> np.ndarray:
    """One panel per mask: the person's region of the frame, scaled to `height`, with the true
    edge in white and the mask's edge (alpha 0.5) in colour, labelled."""
    ys, xs = np.nonzero(truth > 0.5)
    pad = 12
    y0, y1 = max(ys.min() - pad, 0), min(ys.max() + pad, image.shape[0])
    x0, x1 = max(xs.min() - pad, 0), min(xs.max() + pad, image.shape[1])
    size = (round((x1 - x0) * height / (y1 - y0)), height)
    panels = []
    for name, alpha in masks.items():
        panel = cv2.resize(image[y0:y1, x0:x1], size, interpolation=cv2.INTER_LINEAR)
        panel = cv2.cvtColor(cv2.cvtColor(panel, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        own = EDGE_COLOURS.get(name, (0, 0, 255))
        for mask, colour in ((truth, (255, 255, 255)), (alpha, own)):
            scaled = cv2.resize(mask[y0:y1, x0:x1], size, interpolation=cv2.INTER_LINEAR)
            edge = (scaled >= 0.5).astype(np.uint8)
            contours, _ = cv2.findContours(edge, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
            cv2.drawContours(panel, contours, -1, colour, 1)
        panels.append(_label(panel, name))
    return np.hstack(panels)


def save_small_png(image: np.ndarray, path: Path) -> None:
    """The grey picture with its coloured edges as a palette PNG (greys and the edge colours
    exactly), a tenth of the full-colour file, for the docs."""
    from PIL import Image  # Pillow comes with matplotlib, the benchmarks' plotting extra

    colours = [(v, v, v) for v in range(0, 256, 2)] + [(255, 255, 255)]
    colours += [(r, g, b) for b, g, r in EDGE_COLOURS.values()]
    palette = Image.new("P", (1, 1))
    palette.putpalette([c for rgb in colours for c in rgb] + [0] * 3 * (256 - len(colours)))
    rgb = Image.fromarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    rgb.quantize(palette=palette, dither=Image.Dither.NONE).save(path, optimize=True)


def _label(image: np.ndarray, text: str) -> np.ndarray:
    """`text` in the top-left corner, white on a dark outline so it reads on any picture."""
    out = image.copy()
    for colour, thickness in (((0, 0, 0), 3), ((255, 255, 255), 1)):
        cv2.putText(out, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, thickness)
    return out


def markdown(result: dict) -> str:
    """The table: IoU and boundary F per set, flicker per clip, ms per 720p frame."""
    table = result["table"]
    first = next(iter(table.values()))
    sets, clips = list(first["sets"]), list(first["clips"])
    head = ["masks"]
    for name in sets:
        head += [f"{name} IoU", f"{name} boundary F"]
    head += [f"flicker {c}" for c in clips]
    head += ["lag (frames)"] if clips else []
    costs = list(first["cost_ms"])
    head += [f"ms per 720p frame, {c}: CPU (wall)" for c in costs]
    lines = [f"# Mask quality: {result['model']}", ""]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row, figures in table.items():
        cells = [row]
        for s in sets:
            m = figures["sets"][s]
            cells += [f"{m['iou']:.3f}", f"{m['boundary_f']:.3f}"]
        cells += [f"{figures['clips'][c]['flicker']:.5f}" for c in clips]
        if clips:
            cells.append(" / ".join(f"{figures['clips'][c]['lag']:+.2f}" for c in clips))
        for name in costs:
            c = figures["cost_ms"].get(name)
            cells.append(f"{c['cpu'][0]:.1f} ({c['wall'][0]:.1f})" if c else "-")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", *(f"- {note}" for note in result["notes"])]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="folder for JSON and table")
    parser.add_argument("--quick", action="store_true", help="a tiny run, for tests")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="model name or .onnx path")
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--mediapipe-python", help="a Python that has mediapipe==0.10.14")
    parser.add_argument("--picture", type=Path, help="write the mask-edge picture here (PNG)")
    parser.add_argument(
        "--compare", action="store_true", help="also the variants the levels were chosen over"
    )
    args = parser.parse_args(argv)
    try:
        result = run(
            args.out,
            args.quick,
            args.model,
            args.data,
            args.mediapipe_python,
            args.picture,
            args.compare,
        )
    except RtsegError as exc:
        parser.exit(2, f"error: {exc}\n")
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
