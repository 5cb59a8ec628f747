"""Where a job's frames go, as objects: built in Python, or parsed from the CLI's `--sink`.

A destination names a sink; the job opens it, because opening needs what only the job knows
(the source's frame rate and audio, the effect, the job's options such as `overwrite` and
`crf`, which live in `JobConfig`). Any object with `write(frame)`, `close()` and `abort()`
is a sink too, and goes into `JobConfig.sinks` as it is.

Files and the virtual camera take an `effect` of their own (`VideoFile("blur.mp4",
effect="blur")`, or `--sink blur.mp4@blur` on the command line); the others show the run's
effect. Each frame is segmented once, whatever the number of outputs and effects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from rtseg.errors import RtsegError, speaking_cli
from rtseg.io.remote import Location, location, suffix
from rtseg.io.video_out import CONTAINERS
from rtseg.matte.effects import EFFECT_NAMES
from rtseg.pipeline.frame import Frame

if TYPE_CHECKING:
    from rtseg.matte.effects import Effect

SINK_HELP = (
    "window, null, virtualcam[:DEVICE], http[:PORT], a video file "
    f"({', '.join(sorted(CONTAINERS))}) or a directory for PNG frames; a file, directory or "
    "virtualcam followed by @EFFECT (e.g. out.mp4@blur:31, cutouts/@alpha) gets that effect "
    "instead of --effect"
)


@dataclass(frozen=True)
class VideoFile:
    """A video file, written complete or not at all, at the input's timestamps and with every
    audio track of the input (PyAV, see `rtseg.io.video_out`).

    Raises:
        RtsegError: the suffix names no container rtseg writes.
    """

    path: Path | str
    effect: str | Effect | None = None  # None: the run's effect

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", location(self.path))
        if suffix(self.path).lower() not in CONTAINERS:
            raise RtsegError(
                f"{self.path}: a video file is one of {', '.join(sorted(CONTAINERS))}; "
                "use a directory for PNG frames"
            )


@dataclass(frozen=True)
class ImageFolder:
    """A directory of PNG frames (frames from image files keep their file stem)."""

    path: Path | str
    effect: str | Effect | None = None  # None: the run's effect

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))


@dataclass(frozen=True)
class Window:
    """An OpenCV window with keys (q quit, e effect, m mask, h HUD); needs a display."""


@dataclass(frozen=True)
class Null:
    """Nowhere: for figures only (the stats still count every frame)."""


@dataclass(frozen=True)
class Preview:
    """The browser preview with live controls; where it listens is set in `JobConfig`."""

    port: int = 8080


@dataclass(frozen=True)
class VirtualCamera:
    """A virtual webcam for call apps (the `virtualcam` extra); `device` e.g. /dev/video10."""

    device: str | None = None
    effect: str | Effect | None = None  # None: the run's effect


class Callback:
    """A sink that hands every processed frame to `on_frame`, in order, in the sink thread.

    The frame carries its `image`, `alpha` (float32 at frame size), `labels`, `output` and
    timings; `on_frame` may replace `frame.output` for the sinks listed after it.
    """

    def __init__(self, on_frame: Callable[[Frame], None]) -> None:
        self.on_frame = on_frame

    def write(self, frame: Frame) -> None:
        """Hand `frame` to `on_frame`."""
        self.on_frame(frame)

    def close(self) -> None:
        """Nothing to finalise."""

    abort = close


Destination = VideoFile | ImageFolder | Window | Null | Preview | VirtualCamera


def split_effect(spec: str) -> tuple[str, str | None]:
    """`spec` without an `@EFFECT` ending, and that effect's spelling (None when it has none).

    The ending starts at the first `@` followed by an effect's name, so `out@2x.mp4` stays a
    path and `out.mp4@replace:bg@2x.jpg` keeps its background's `@`.
    """
    at = spec.find("@", 1)
    while at != -1:
        if spec[at + 1 :].partition(":")[0] in EFFECT_NAMES:
            return spec[:at], spec[at + 1 :]
        at = spec.find("@", at + 1)
    return spec, None


def parse_sink(spec: str) -> Destination:
    """The destination a `--sink` string names (see SINK_HELP)."""
    spec, effect = split_effect(spec)
    if effect is not None:
        target = parse_sink(spec)
        if not isinstance(target, VideoFile | ImageFolder | VirtualCamera):
            raise RtsegError(f"{spec} shows the run's effect; only files and virtualcam take @")
        return replace(target, effect=effect)
    kind, _, arg = spec.partition(":")
    if spec == "null":
        return Null()
    if spec == "window":
        return Window()
    if kind == "virtualcam":
        return VirtualCamera(arg or None)
    if kind == "http":
        if arg and not arg.isdecimal():
            raise RtsegError(f"http sink port must be a number, got {arg!r}")
        return Preview(int(arg)) if arg else Preview()
    return output_at(location(spec), f"use {SINK_HELP}" if speaking_cli() else "")


def output_at(path: Location, choices: str = "") -> VideoFile | ImageFolder:
    """The file output `path` names by its suffix: a video file, or a folder for PNG frames
    (a `Path` from Python is taken as it is, with no `@EFFECT` to parse)."""
    if suffix(path).lower() in CONTAINERS:
        return VideoFile(path)
    if suffix(path) == "":
        if isinstance(path, str):
            raise RtsegError(f"{path}: PNG frames go to a local folder; a URL takes a video file")
        return ImageFolder(path)
    choices = choices or (
        f"give a video file ({', '.join(sorted(CONTAINERS))}), a folder for PNG frames, or a "
        "destination object (rtseg.VideoFile, rtseg.Window()...)"
    )
    raise RtsegError(f"unknown output {str(path)!r}: {choices}")
