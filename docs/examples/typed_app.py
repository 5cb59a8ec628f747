"""A small app on rtseg's public API, typed: it blurs the background of a video file and
cuts the person out of a photo into a PNG with alpha.

    python docs/examples/typed_app.py talk.mp4 portrait.jpg out/

`make test` checks it with mypy, as a type checker sees rtseg installed; a misspelt option
(`mode="stream"`, `max_frame=`) fails that check before the app runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2

import rtseg


def blur_video(source: Path, out: Path, model: str, frames: int | None) -> rtseg.RunStats:
    """Every frame of `source` with a blurred background, audio kept, into `out`."""
    return rtseg.process_video(
        source,
        out,
        model=model,
        effect=rtseg.Blur(31),
        quality="balanced",
        device="cpu",
        max_frames=frames,
        overwrite=True,
    )


def cut_out(photo: Path, out: Path, model: str) -> float:
    """The person in `photo` as a BGRA PNG; returns the share of the photo they cover."""
    image = cv2.imread(str(photo))
    if image is None:
        raise SystemExit(f"cannot read {photo}")
    with rtseg.Segmenter(model, "cpu", mode="image", color="bgr", quality="best") as segmenter:
        result: rtseg.Segmentation = segmenter.segment(image)
    cv2.imwrite(str(out), result.cutout())
    return float((result.alpha > 0.5).mean())


def main(argv: list[str]) -> int:
    video, photo, folder = (Path(a) for a in argv[:3])
    model = argv[3] if len(argv) > 3 else "selfie_general"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        stats = blur_video(video, folder / "blurred.mp4", model, frames=None)
        share = cut_out(photo, folder / "cutout.png", model)
    except rtseg.RtsegError as exc:  # one family: a bad input, a missing model, a failed stage
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{stats.frames_out} frames, p50 {stats.latency_ms.p50} ms; person: {share:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
