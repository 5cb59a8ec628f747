"""Webcam features benchmark: `--people main`, `--auto-frame`, `--grow`, `--feather` and the
smoothing strength, on clips made from the shared data.

- accept: the figures the features are judged by. A second person (a P3M portrait with its
  matte) pasted into the doctor clip, moving in the background: the mean alpha over their
  region and over the clip's own person, with `--people all` and `main`; then each of the 15
  portraits in turn (30 frames each). The thoughtful clip
  shown at a quarter of a 1280x720 frame, centred at 0.69 of its width: where the person's
  centre comes out under `--auto-frame`, and how far it moves frame to frame. The doctor
  clip with `--grow 12`, `--grow -12` and `--feather 15`: mask area and the share of
  soft-edge pixels (alpha between 0.05 and 0.95) against none.
- flicker: flicker (mean abs frame-to-frame alpha change where the image stayed still) and
  lag (frames by which alpha change trails image change) of both clips at 1280x720 for each
  smoothing strength, through the mask path the jobs run (`balanced`).
- cost: each feature's live cost at 720p30: a paced 1280x720 camera stand-in (the doctor
  clip upscaled) through the live job, blur, null sink, with the feature off and on,
  alternated round after round; CPU ms per frame of the whole process, capture-to-sink p50.

    python -m benchmarks.webcam --out DIR [--quick] [--what accept flicker cost]
        [--pictures DOCS_DIR]

`--pictures` writes the before/after pictures of docs/webcam.md there.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import statistics
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

import rtseg
from benchmarks.composites import Portrait, background_for, composite, inset
from benchmarks.output import write_results
from benchmarks.quality import DATA, MaskPath, clip_figures, load_portraits, read_frames
from rtseg.bench.live import bench_live
from rtseg.bench.machine import machine_info
from rtseg.matte.quality import LEVELS
from rtseg.matte.roi import person_boxes
from rtseg.models.engine import Engine
from rtseg.models.registry import DEFAULT_MODEL, resolve

WHAT = ("accept", "flicker", "cost")
DOCTOR = DATA / "videos" / "doctor_960x540.mp4"
THOUGHTFUL = DATA / "videos" / "thoughtful_640x360.mp4"
PORTRAIT = "p_07141906"  # the second person pasted into the doctor clip
STRENGTHS = (0.0, 0.25, 0.5, 0.75, 1.0)
# What each cost row turns on, against the same run with it off.
FEATURES: dict[str, dict] = {
    "grow 12": {"grow": 12},
    "feather 15": {"feather": 15},
    "smoothing 0.5 (against 0)": {"smooth": 0.5},
    "people main": {"people": "main"},
    "auto-frame": {"auto_frame": True},
}
OFF: dict[str, dict] = {"smoothing 0.5 (against 0)": {"smooth": 0.0}}
FPS = 30.0


def timed(frames: list[np.ndarray]) -> Iterator[tuple[np.ndarray, float]]:
    """The frames with their times at `FPS`."""
    return ((image, i / FPS) for i, image in enumerate(frames))


def run_clip(frames: list[np.ndarray], **options) -> tuple[list, list, list]:
    """The alphas (float32), outputs and auto-frame crops (None without) of a file-mode run
    of `frames`, as `rtseg run` would make them."""
    alphas, outputs, crops = [], [], []

    def keep(frame: rtseg.Frame) -> None:
        alphas.append(frame.alpha)
        outputs.append(frame.output)
        crops.append(frame.mask.crop)

    rtseg.process_video(timed(frames), on_frame=keep, **options)
    return alphas, outputs, crops


def second_person(frames: list[np.ndarray], portrait: Portrait) -> list[tuple]:
    """Each frame with `portrait` pasted at half the frame's height, its centre swaying
    between 0.1 and 0.3 of the width over four seconds; (frame, the pasted person's alpha)."""
    clip = []
    for i, image in enumerate(frames):
        centre = 0.2 - 0.1 * np.cos(2 * np.pi * i / (4 * FPS))
        clip.append(composite(image, [(portrait, 0.5, float(centre))]))
    return clip


def region_mean(alphas: list[np.ndarray], regions: list[np.ndarray]) -> float:
    """Mean alpha over the True pixels of each frame's region."""
    return float(np.mean([a[r].mean() for a, r in zip(alphas, regions, strict=True)]))


def people_figures(frames: list[np.ndarray], portrait: Portrait) -> tuple[dict, dict]:
    """Mean alpha over the pasted person and over the clip's own person, for all and main;
    and the frames for the pictures."""
    own, _, _ = run_clip(frames)  # the clip alone: where its own person is
    pasted = second_person(frames, portrait)
    images = [p[0] for p in pasted]
    second = [p[1] >= 0.5 for p in pasted]
    main = [(a >= 0.5) & ~s for a, s in zip(own, second, strict=True)]
    figures, shown = {}, {}
    for people in ("all", "main"):
        alphas, outputs, _ = run_clip(images, people=people)
        figures[people] = {
            "second person": round(region_mean(alphas, second), 3),
            "main person": round(region_mean(alphas, main), 3),
        }
        shown[people] = outputs
    return figures, {"input": images, **shown}


def every_portrait(frames: list[np.ndarray], portraits: dict[str, Portrait]) -> dict:
    """`people_figures` with each portrait pasted in turn: how often the second person falls
    below 0.08 with `main`, and the spread."""
    rows = {name: people_figures(frames, p)[0] for name, p in portraits.items()}
    second = [r["main"]["second person"] for r in rows.values()]
    main = [r["main"]["main person"] for r in rows.values()]
    return {
        "portraits": len(rows),
        "second person below 0.08": sum(v < 0.08 for v in second),
        "second person, median": round(statistics.median(second), 3),
        "second person, with all, median": round(
            statistics.median(r["all"]["second person"] for r in rows.values()), 3
        ),
        "main person, min": round(min(main), 3),
        "each": rows,
    }


def box_centre(alpha: np.ndarray) -> tuple[float, float] | None:
    """The centre of the largest blob of alpha >= 0.5 (the person, not a stray speck), as
    shares of the width and height."""
    boxes = person_boxes(alpha)
    if not boxes:
        return None
    h, w = alpha.shape
    return (boxes[0].x0 + boxes[0].x1) / 2 / w, (boxes[0].y0 + boxes[0].y1) / 2 / h


def framing_figures(frames: list[np.ndarray], ground: np.ndarray) -> tuple[dict, dict]:
    """The thoughtful clip at a quarter of a 1280x720 frame at 0.69 of its width: the
    person's horizontal centre in the input and in the auto-framed output, and the crop's
    largest move from one frame to the next (its centre, in shares of the frame; its zoom)."""
    images = [inset(f, ground, 0.5, 0.69) for f in frames]
    plain, _, _ = run_clip(images)
    framed, outputs, crops = run_clip(images, auto_frame=True)
    before = [c[0] for c in map(box_centre, plain) if c]
    after = [c[0] for c in map(box_centre, framed) if c]
    centres = [((x0 + x1) / 2, (y0 + y1) / 2, 1 / (x1 - x0)) for x0, y0, x1, y1 in crops]
    steps = [[abs(b[i] - a[i]) for a, b in itertools.pairwise(centres)] for i in range(3)]
    figures = {
        "centre in": round(statistics.median(before), 3),
        "centre out": round(statistics.median(after), 3),
        "off centre out (max)": round(max(abs(x - 0.5) for x in after), 3),
        "off centre out (p90)": round(float(np.percentile([abs(x - 0.5) for x in after], 90)), 3),
        "zoom": round(statistics.median(c[2] for c in centres), 2),
        "crop move a frame, max (share of the frame)": round(max(max(steps[0]), max(steps[1])), 4),
        "zoom change a frame, max": round(max(steps[2]), 4),
    }
    return figures, {"input": images, "auto-frame": outputs}


def area(alpha: np.ndarray) -> float:
    return float(np.mean(alpha >= 0.5))


def soft_share(alpha: np.ndarray) -> float:
    return float(np.mean((alpha > 0.05) & (alpha < 0.95)))


def tuning_figures(frames: list[np.ndarray]) -> tuple[dict, dict]:
    """Mask area and soft-edge share with grow 12, grow -12 and feather 15, against none."""
    rows, shown = {}, {}
    for name, options in (("none", {}), ("grow 12", {"grow": 12}), ("grow -12", {"grow": -12}),
                          ("feather 15", {"feather": 15})):  # fmt: skip
        alphas, outputs, _ = run_clip(frames, effect="color:#00b140", **options)
        rows[name] = {
            "area": statistics.mean(map(area, alphas)),
            "soft": statistics.mean(map(soft_share, alphas)),
        }
        shown[name] = outputs
    base = rows["none"]
    figures = {
        name: {
            "area change": round(row["area"] / base["area"] - 1, 4),
            "soft-edge share": round(row["soft"], 4),
            "soft-edge ratio": round(row["soft"] / base["soft"], 2),
        }
        for name, row in rows.items()
    }
    return figures, shown


def flicker_figures(clips: dict[str, list[np.ndarray]]) -> dict:
    """Flicker and lag per smoothing strength, per clip, on the `balanced` mask path."""
    engine = Engine(resolve(DEFAULT_MODEL), "cpu", 1)
    try:
        out: dict = {}
        for strength in STRENGTHS:
            level = replace(LEVELS["balanced"], smooth=strength)
            out[f"{strength:g}"] = {}
            for name, frames in clips.items():
                path = MaskPath(engine, level)
                path.alpha(frames[0], new_stream=True)
                figures = clip_figures(frames[1:], (path.alpha(f) for f in frames[1:]))
                out[f"{strength:g}"][name] = {k: round(v, 5) for k, v in figures.items()}
        return out
    finally:
        engine.close()


def cost_figures(frames: int, rounds: int) -> dict:
    """CPU ms a frame and p50 latency at 720p30 with each feature off and on, alternated."""
    samples: dict[str, dict[str, list]] = {n: {"off": [], "on": []} for n in FEATURES}
    for _ in range(rounds):
        for name, options in FEATURES.items():
            for state, chosen in (("off", OFF.get(name, {})), ("on", options)):
                run = bench_live(str(DOCTOR), "720", DEFAULT_MODEL, FPS, frames, sink="null",
                                 options=chosen)  # fmt: skip
                samples[name][state].append(
                    (1e3 * run["cpu_s"] / run["frames_out"], run["latency_ms"]["p50"], run["drops"])
                )
    figures = {}
    for name, states in samples.items():
        row = {}
        for state, runs in states.items():
            row[f"cpu ms {state}"] = round(statistics.median(r[0] for r in runs), 2)
            row[f"p50 ms {state}"] = round(statistics.median(r[1] for r in runs), 1)
            row[f"drops {state}"] = int(statistics.median(r[2] for r in runs))
        row["cpu ms added"] = round(row["cpu ms on"] - row["cpu ms off"], 2)
        figures[name] = row
    return figures


def picture(path: Path, panels: list[tuple[str, np.ndarray]], width: int = 320) -> None:
    """Panels side by side, each `width` pixels wide under its label, as a small PNG."""
    tiles = []
    for label, image in panels:
        h = round(image.shape[0] * width / image.shape[1])
        tile = cv2.resize(image, (width, h), interpolation=cv2.INTER_AREA)
        strip = np.full((22, width, 3), 255, np.uint8)
        cv2.putText(strip, label, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1,
                    cv2.LINE_AA)  # fmt: skip
        tiles.append(np.vstack([strip, tile]))
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.hstack(tiles), [cv2.IMWRITE_PNG_COMPRESSION, 9])


def table(rows: dict[str, dict], first: str) -> str:
    """A Markdown table: one row per key of `rows`, one column per figure."""
    columns = list(next(iter(rows.values())))
    lines = [f"| {first} | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    lines += [f"| {k} | " + " | ".join(str(v) for v in r.values()) + " |" for k, r in rows.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    parser.add_argument("--what", nargs="*", default=list(WHAT), choices=WHAT)
    parser.add_argument("--quick", action="store_true", help="few frames and one round")
    parser.add_argument("--frames", type=int, default=90, help="clip frames (quick: 20)")
    parser.add_argument("--rounds", type=int, default=3, help="cost rounds (quick: 1)")
    parser.add_argument("--pictures", type=Path, help="write the docs' pictures here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    frames = 20 if args.quick else args.frames
    rounds = 1 if args.quick else args.rounds
    if not DOCTOR.exists():
        print(f"the shared clips are missing ({DATA}); see the shared data README")
        return 2
    doctor = read_frames(DOCTOR, frames)
    result: dict = {"machine": machine_info(), "frames": frames}
    markdown = ""
    if "accept" in args.what:
        names = sorted((DATA / "portraits" / "p3m" / "original").glob("*.jpg"))
        loaded = load_portraits(DATA / "portraits" / "p3m", None)
        portraits = {name.stem: p for name, p in zip(names, loaded, strict=True)}
        people, people_shown = people_figures(doctor, portraits[PORTRAIT])
        sweep = every_portrait(doctor[:30], portraits)
        ground = background_for(loaded)
        framing, framing_shown = framing_figures(read_frames(THOUGHTFUL, frames), ground)
        tuning, tuning_shown = tuning_figures(doctor)
        result["accept"] = {"people": people, "auto-frame": framing, "tuning": tuning}
        result["accept"]["people, every portrait"] = sweep
        markdown += "### --people\n\n" + table(people, "people")
        summary = {k: v for k, v in sweep.items() if k != "each"}
        markdown += "\nEvery portrait in turn, 30 frames:\n\n" + table({"": summary}, "")
        markdown += "\n### --auto-frame\n\n" + table({"thoughtful at 0.69": framing}, "clip")
        markdown += "\n### --grow, --feather\n\n" + table(tuning, "setting")
        if args.pictures is not None:
            i = len(doctor) // 2
            picture(args.pictures / "webcam-people.png", [
                ("input", people_shown["input"][i]), ("--people all", people_shown["all"][i]),
                ("--people main", people_shown["main"][i])])  # fmt: skip
            picture(args.pictures / "webcam-auto-frame.png", [
                ("input", framing_shown["input"][i]),
                ("--auto-frame", framing_shown["auto-frame"][i])])  # fmt: skip
            picture(
                args.pictures / "webcam-grow-feather.png",
                [(name, tuning_shown[name][i]) for name in tuning_shown],
                width=240,
            )
    if "flicker" in args.what:
        clips = {"doctor": doctor, "thoughtful": read_frames(THOUGHTFUL, frames)}
        clips = {k: [cv2.resize(f, (1280, 720)) for f in v] for k, v in clips.items()}
        result["flicker"] = flicker_figures(clips)
        rows = {s: {f"{k} {m}": v[k][m] for k in clips for m in ("flicker", "lag")}
                for s, v in result["flicker"].items()}  # fmt: skip
        markdown += "\n### Smoothing strength\n\n" + table(rows, "strength")
    if "cost" in args.what:
        result["cost"] = cost_figures(90 if args.quick else 300, rounds)
        markdown += "\n### Live cost at 720p30\n\n" + table(result["cost"], "feature")
    write_results(args.out, "webcam", result, markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
