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

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from rtseg.errors import RtsegError
from rtseg.io.location import Location
from rtseg.io.video_out import CONTAINERS
from rtseg.matte.effects import EFFECT_NAMES
from rtseg.pipeline.frame import Frame

if TYPE_CHECKING:
    from rtseg.matte.effects import Effect

SINK_HELP = (
    "window, null, virtualcam[:DEVICE], http[:PORT], a video file "
    f"({', '.join(sorted(CONTAINERS))}) or a directory for PNG frames; a file, directory or "
    "virtualcam followed by @EFFECT (e.g. out.mp4@blur:31, cutouts/@alpha) gets that effect "
    "instead of --effect; /dev/null discards the frames"
)


@dataclass(frozen=True)
class VideoFile:
    """A video file, written complete or not at all, at the input's timestamps and with every
    audio track of the input (PyAV, see `rtseg.io.video_out`).

    `replace_partial` replaces the partial output an earlier run left even without
    `overwrite` (a batch does again what did not finish); else only `overwrite` does.

    Raises:
        RtsegError: the suffix names no container rtseg writes.
    """

    path: Location | Path | str
    effect: str | Effect | None = None  # None: the run's effect
    replace_partial: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Location.of(self.path))
        if self.path.suffix.lower() not in CONTAINERS:
            raise RtsegError(
                f"{self.path}: a video file is one of {', '.join(sorted(CONTAINERS))}; "
                "use a directory for PNG frames"
            )


@dataclass(frozen=True)
class ImageFolder:
    """A directory of PNG frames (frames from image files keep their file stem);
    `replace_partial` as for `VideoFile`."""

    path: Location | Path | str
    effect: str | Effect | None = None  # None: the run's effect
    replace_partial: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Location.of(self.path).path)


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
    path = Location.of(spec)
    if not path.is_remote and _is_null_device(path.path):
        return Null()
    if path.suffix.lower() in CONTAINERS:
        return VideoFile(path)
    if path.suffix == "":
        if path.is_remote:
            raise RtsegError(f"{path}: PNG frames go to a local folder; a URL takes a video file")
        return ImageFolder(path)
    raise RtsegError(f"unknown sink {str(path)!r}: use {SINK_HELP}")


def _is_null_device(path: Path) -> bool:
    """Whether `path` is the null device (`/dev/null`, or a node of that device), which
    takes any output and keeps nothing."""
    try:
        mode, device = path.stat(), os.stat(os.devnull)
    except (OSError, ValueError):
        return False
    return stat.S_ISCHR(mode.st_mode) and mode.st_rdev == device.st_rdev
