"""Real media for the file tests: clips built by FFmpeg (imageio-ffmpeg's binary) and
measured with PyAV: per-frame timestamps, audio, sample aspect ratio, and a sync marker."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()

# The sync marker: one white frame and a 1 kHz beep, both at MARKER_S, in a dark, silent clip.
MARKER_S = 1.0
BEEP_S = 0.1
# Frame numbers are burnt in as a strip of NUMBER_BITS boxes along the bottom edge, white
# for a 1 bit (least significant on the left), on black, so they survive any codec and the
# test model's coarse mask (12-pixel boxes at 96 wide).
NUMBER_BITS = 8


def ffmpeg_output(*args: str) -> bytes:
    """Run FFmpeg quietly, overwriting outputs; its stdout, or a failure with its errors."""
    done = subprocess.run(
        [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def ffmpeg(*args: str) -> None:
    """Run FFmpeg quietly, overwriting outputs (see `ffmpeg_output`)."""
    ffmpeg_output(*args)


def marker_clip(
    path: Path,
    *,
    seconds: float = 2.0,
    fps: int = 30,
    size: tuple[int, int] = (96, 64),
    video_delay_s: float = 0.0,
    audio: str | None = "aac",
    vf: str = "",
    video: tuple[str, ...] = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
    streamed: bool = False,
    numbered: bool = False,
) -> Path:
    """A dark clip with one white frame at MARKER_S and a beep at MARKER_S in its audio.

    `video_delay_s` starts the video stream that much after the audio (a trimmed clip's
    start offset); both markers stay at MARKER_S on the file's clock. `vf` is appended to
    the video filters (e.g. a `select` that makes the frame rate variable). `streamed`
    writes the file as a pipe would, with no duration or index in its header. `numbered`
    burns each frame's number in (read back by `frame_numbers`).
    """
    w, h = size
    white = f"between(t,{MARKER_S - video_delay_s - 0.001},{MARKER_S - video_delay_s + 0.5 / fps})"
    chain = (
        f"color=c=0x202020:size={w}x{h}:rate={fps}:duration={seconds - video_delay_s},"
        f"drawbox=enable='{white}':color=white:t=fill"
    )
    if numbered:
        chain += "," + _number_strip(w, h)
    args = ["-f", "lavfi", "-i", chain + (f",{vf}" if vf else "")]
    if audio is not None:
        beep = f"sin(2*PI*1000*t)*between(t,{MARKER_S},{MARKER_S + BEEP_S})*0.8"
        args += ["-f", "lavfi", "-i", f"aevalsrc='{beep}':s=48000:d={seconds}"]
        args += ["-map", "0:v", "-map", "1:a", "-c:a", audio]
    args += [*video, "-fps_mode", "passthrough"]
    if streamed:
        args += ["-f", path.suffix.lstrip(".").replace("mkv", "matroska"), "pipe:1"]
        path.write_bytes(ffmpeg_output(*args))
    else:
        ffmpeg(*args, str(path))
    if video_delay_s:  # shift the video stream's timestamps after the audio's
        shifted = path.with_name(f"shifted-{path.name}")
        ffmpeg(
            "-itsoffset", str(video_delay_s), "-i", str(path), "-i", str(path),
            "-map", "0:v", "-map", "1:a", "-c", "copy", str(shifted),
        )  # fmt: skip
        shifted.replace(path)
    return path


def _number_strip(width: int, height: int) -> str:
    """Filters that draw the frame number `n` as NUMBER_BITS boxes along the bottom edge."""
    box_w, box_h = width // NUMBER_BITS, max(4, height // 8)
    y = height - box_h
    boxes = [f"drawbox=x=0:y={y}:w={width}:h={box_h}:color=black:t=fill"]
    boxes += [
        f"drawbox=enable='mod(floor(n/{2**bit}),2)':x={bit * box_w}:y={y}:w={box_w}:h={box_h}"
        ":color=white:t=fill"
        for bit in range(NUMBER_BITS)
    ]
    return ",".join(boxes)


def read_number(image: np.ndarray) -> int:
    """The frame number `marker_clip(numbered=True)` burnt into a grey or BGR image."""
    grey = image if image.ndim == 2 else image.mean(axis=2)
    height, width = grey.shape
    box_w, box_h = width // NUMBER_BITS, max(4, height // 8)
    row = grey[height - box_h // 2]
    bits = [row[bit * box_w + box_w // 2] > 128 for bit in range(NUMBER_BITS)]
    return sum(1 << bit for bit, on in enumerate(bits) if on)


def frame_numbers(path: Path) -> list[int]:
    """The burnt-in number of every decoded frame, in presentation order."""
    with av.open(str(path)) as container:
        return [read_number(f.to_ndarray(format="gray")) for f in container.decode(video=0)]


def frame_times(path: Path) -> list[float]:
    """Presentation time (s) of every decoded frame of the first video stream."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [float(f.pts * f.time_base) for f in container.decode(stream)]


def frame_brightness(path: Path) -> list[tuple[float, float]]:
    """(time s, mean luma) of every decoded frame."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [
            (float(f.pts * f.time_base), float(f.to_ndarray(format="gray").mean()))
            for f in container.decode(stream)
        ]


def audio_tracks(path: Path) -> list[str]:
    """Codec names of the audio streams, in order."""
    with av.open(str(path)) as container:
        return [s.codec_context.codec.canonical_name for s in container.streams.audio]


def audio_signal(path: Path, track: int = 0) -> tuple[np.ndarray, float]:
    """One audio track as mono float samples, and the time (s) of its first sample."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[track]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=48000)
        chunks, start = [], None
        for frame in container.decode(stream):
            if start is None and frame.pts is not None:
                start = float(frame.pts * frame.time_base)
            chunks += [f.to_ndarray().ravel() for f in resampler.resample(frame)]
        chunks += [f.to_ndarray().ravel() for f in resampler.resample(None)]
    return np.concatenate(chunks), start or 0.0


def beep_time(path: Path, track: int = 0) -> float:
    """When the beep starts in a track (s on the file's clock)."""
    samples, start = audio_signal(path, track)
    loud = np.flatnonzero(np.abs(samples) > 0.3)
    assert len(loud), f"no beep in audio track {track} of {path}"
    return start + loud[0] / 48000


def flash_time(path: Path) -> float:
    """When the white frame is shown (s on the file's clock)."""
    times = frame_brightness(path)
    t, luma = max(times, key=lambda tl: tl[1])
    assert luma > 150, f"no white frame in {path}"
    return t


def audio_seconds(path: Path, track: int = 0) -> float:
    """Length of an audio track, by decoding every sample."""
    samples, _ = audio_signal(path, track)
    return len(samples) / 48000


def sample_aspect_ratio(path: Path) -> Fraction | None:
    """The video stream's sample aspect ratio as the container reports it."""
    with av.open(str(path)) as container:
        sar = container.streams.video[0].sample_aspect_ratio
        return Fraction(sar) if sar else None


# Luma weights (Kr, Kb) of the matrices a file can name (FFmpeg's AVColorSpace values).
MATRICES = {1: (0.2126, 0.0722), 5: (0.299, 0.114), 6: (0.299, 0.114), 9: (0.2627, 0.0593)}
BT709, UNSPECIFIED = 1, 2


def tagged_bgr(frame: av.VideoFrame) -> np.ndarray:
    """A decoded frame as float BGR in 0-255, converted with the matrix and range its file
    names, as a player does: an untagged frame of HD size is read as BT.709, a smaller one as
    BT.601."""
    space = frame.colorspace
    if space not in MATRICES:
        assert space == UNSPECIFIED, f"unexpected colour matrix {space}"
        space = BT709 if frame.height >= 720 else 6
    kr, kb = MATRICES[space]
    yuv = frame.reformat(format="yuv444p").to_ndarray().astype(np.float64)
    y, u, v = yuv[0], yuv[1], yuv[2]
    if frame.color_range == 2:  # full ("JPEG") range
        y, u, v = y / 255, (u - 128) / 255, (v - 128) / 255
    else:
        y, u, v = (y - 16) / 219, (u - 128) / 224, (v - 128) / 224
    r = y + 2 * (1 - kr) * v
    b = y + 2 * (1 - kb) * u
    g = (y - kr * r - kb * b) / (1 - kr - kb)
    return np.clip(np.dstack([b, g, r]) * 255, 0, 255)


def timed_clip(path: Path, images: list[np.ndarray], times_s: list[float]) -> Path:
    """An H.264 file of BGR `images` shown at `times_s` (millisecond clock): gaps and
    variable frame rates as the times say."""
    height, width = images[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = stream.codec_context.time_base = Fraction(1, 1000)
        stream.options = {"crf": "12", "preset": "ultrafast"}
        for image, time_s in zip(images, times_s, strict=True):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts, frame.time_base = round(time_s * 1000), Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path
