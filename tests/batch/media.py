"""Clips the batch tests make with FFmpeg (video with audio), and what they measure on outputs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import numpy as np

from rtseg.ffmpeg import find_ffmpeg

FPS = 25


def make_clip(
    path: Path, seconds: float, size: str = "160x120", noise: bool = False, audio: bool = True
) -> Path:
    """An H.264 clip of moving test patterns, with a sine tone as long as the video.

    `noise` adds fresh grain to every frame, so a mask that is not smoothed the same way as
    in a single run (a seam) shows at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    video = f"testsrc2=size={size}:rate={FPS}:duration={seconds}"
    cmd = [find_ffmpeg(), "-loglevel", "error", "-y", "-f", "lavfi", "-i", video]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    if noise:
        cmd += ["-vf", "noise=alls=40:allf=t"]
    cmd += ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "50"]
    cmd += ["-c:a", "aac"] if audio else []
    subprocess.run([*cmd, str(path)], check=True, timeout=60)
    return path


def video_frames(path: Path) -> list[np.ndarray]:
    """Every decoded frame, BGR."""
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


def frame_times(path: Path) -> list[float]:
    """Each decoded frame's presentation time in seconds."""
    with av.open(str(path)) as container:
        return [float(f.time) for f in container.decode(video=0)]


def audio_seconds(path: Path) -> float:
    """Duration of the first audio track, by decoding every sample (0 without audio)."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return 0.0
        stream = container.streams.audio[0]
        samples = sum(f.samples for f in container.decode(stream))
        return samples / stream.rate


def make_fading_clip(path: Path, frames: int, size: tuple[int, int] = (160, 120)) -> Path:
    """A still, textured scene whose brightness climbs and falls by 1.5 grey levels a frame,
    with a tone. The change per frame stays under the smoother's motion threshold, so the
    smoothed mask trails the raw one by several levels: a segment that started smoothing
    from nothing would not trail, and its first frames would differ from a single run's."""
    w, h = size
    texture = np.random.default_rng(0).integers(0, 60, (h, w, 3), dtype=np.uint8)
    seconds = frames / FPS
    cmd = [
        find_ffmpeg(), "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-framerate", str(FPS),
        "-i", "pipe:0", "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
        "-c:v", "libx264", "-crf", "4", "-pix_fmt", "yuv444p", "-g", "50", "-c:a", "aac",
        str(path),
    ]  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    ramp = [40 + 1.5 * min(i % 200, 200 - i % 200) for i in range(frames)]
    raw = b"".join((texture + np.uint8(round(level))).tobytes() for level in ramp)
    subprocess.run(cmd, input=raw, check=True, timeout=60)
    return path
