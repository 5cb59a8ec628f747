"""Clips the batch tests make (video with a tone as audio), beside `tests.media`'s."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import numpy as np

from tests.media import FFMPEG, ffmpeg

FPS = 25


def make_clip(path: Path, seconds: float, size: str = "160x120", audio: bool = True) -> Path:
    """An H.264 clip of moving test patterns, with a sine tone as long as the video."""
    path.parent.mkdir(parents=True, exist_ok=True)
    args = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={FPS}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac"]
    ffmpeg(*args, "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "50", str(path))
    return path


def make_fading_clip(path: Path, frames: int, size: tuple[int, int] = (160, 120)) -> Path:
    """A still, textured scene whose brightness climbs and falls by 1.5 grey levels a frame,
    with a tone. The change per frame stays under the smoother's motion threshold, so the
    smoothed mask trails the raw one by several levels: a segment that started smoothing
    from nothing would not trail, and its first frames would differ from a single run's."""
    w, h = size
    texture = np.random.default_rng(0).integers(0, 60, (h, w, 3), dtype=np.uint8)
    cmd = [
        FFMPEG, "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-framerate", str(FPS),
        "-i", "pipe:0", "-f", "lavfi", "-i", f"sine=frequency=440:duration={frames / FPS}",
        "-c:v", "libx264", "-crf", "4", "-pix_fmt", "yuv444p", "-g", "50", "-c:a", "aac",
        str(path),
    ]  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    ramp = [40 + 1.5 * min(i % 200, 200 - i % 200) for i in range(frames)]
    raw = b"".join((texture + np.uint8(round(level))).tobytes() for level in ramp)
    subprocess.run(cmd, input=raw, check=True, timeout=60)
    return path


def video_frames(path: Path) -> list[np.ndarray]:
    """Every decoded frame, BGR."""
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


def make_noise_clip(path: Path, seconds: float, size: str = "640x480") -> Path:
    """A lossless H.264 clip of random pixels and no audio: large for its length (about
    12 MB a second at 640x480), for tests that need a big object or a long upload."""
    path.parent.mkdir(parents=True, exist_ok=True)
    noise = f"nullsrc=s={size}:r={FPS}:d={seconds},geq=lum=random(1)*255:cb=128:cr=128"
    ffmpeg("-f", "lavfi", "-i", noise, "-c:v", "libx264", "-crf", "0", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p", str(path))  # fmt: skip
    return path
