"""Where a job's frames go, as objects: built in Python, or parsed from the CLI's `--sink`.

A destination describes an output, and opens its own sink (`open(context)`) when a job
starts: the `SinkContext` carries what only the job knows (the source's frame rate, file
and audio, the effect, the job's options such as `overwrite` and `crf`, the live controls a
window or preview page reaches). A destination of the user's own subclasses `Destination`;
any object with `write(frame)`, `close()` and `abort()` is a sink too, and goes into
`JobConfig.sinks` as it is.

Files and the virtual camera take an `effect` of their own (`VideoFile("blur.mp4",
effect="blur")`, or `--sink blur.mp4@blur` on the command line); the others show the run's
effect. Each frame is segmented once, whatever the number of outputs and effects.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from rtseg.errors import RtsegError, speaking_cli
from rtseg.io import remote
from rtseg.io.location import Location
from rtseg.io.outputs import check_not_input, is_null_device
from rtseg.io.preview import HttpPreviewSink
from rtseg.io.sinks import ImageSequenceSink, NullSink, WindowSink
from rtseg.io.video.writer import CONTAINERS, VideoWriter, holds_alpha
from rtseg.io.virtualcam import VirtualCamSink
from rtseg.matte.effects import EFFECT_NAMES, Effect, GivesAlpha
from rtseg.pipeline.frame import Frame
from rtseg.pipeline.ports import Sink
from rtseg.redaction import redact

log = logging.getLogger(__name__)

SINK_HELP = (
    "window, null, virtualcam[:DEVICE], http[:PORT], a video file "
    f"({', '.join(sorted(CONTAINERS))}) or a directory for PNG frames; a file, directory or "
    "virtualcam followed by @EFFECT (e.g. out.mp4@blur:31, cutouts/@alpha) gets that effect "
    "instead of --effect; /dev/null discards the frames"
)


class Controls(Protocol):
    """What a window's keys and a preview page's buttons reach while a job runs (the job's
    `LiveControls`)."""

    def on_key(self, action: str) -> None:
        """A key pressed in the window."""
        ...

    def hud_lines(self) -> list[str]:
        """The window's heads-up display."""
        ...

    def live_stats(self) -> dict[str, Any]:
        """The figures the preview page shows."""
        ...

    def control(self, key: str, value: str) -> str:
        """A button pressed on the preview page; says what happened."""
        ...

    def choices(self) -> dict[str, list[str]]:
        """The values each of the preview page's controls takes."""
        ...


@dataclass(frozen=True)
class SinkContext:
    """What a destination needs of its run to open its sink; the job makes one per output."""

    fps: float  # the source's frame rate
    effect: Effect  # what this output's frames are drawn with
    input_path: Location | None = None  # the source's file or folder, which no output replaces
    audio_from: Location | None = None  # the video whose audio tracks a video output keeps
    overwrite: bool = False
    realtime: bool = False  # frames the pipeline cannot keep up with are dropped
    crf: int | None = None
    preset: str | None = None
    preview_host: str = "127.0.0.1"
    preview_remote: bool = False
    preview_token: str | None = None
    controls: Controls | None = None  # None: no keys or buttons (a job without live controls)


class Destination(ABC):
    """Where a job's frames go: a description that opens its own sink when the job starts.

    Subclass it for an output of your own: `open(context)` returns any object with
    `write(frame)`, `close()` and `abort()`. `effect`, where a destination has one, draws its
    frames with an effect of its own instead of the run's.
    """

    effect: str | Effect | None = None  # None: the run's effect

    @abstractmethod
    def open(self, context: SinkContext) -> Sink:
        """The sink that writes this destination's frames in the run `context` describes.

        Raises:
            RtsegError: the output cannot be opened (it exists without `overwrite`, cannot
                hold the effect's alpha, is the input itself...).
        """


@dataclass(frozen=True)
class VideoFile(Destination):
    """A video file, written complete or not at all, at the input's timestamps and with every
    audio track of the input (PyAV, see `rtseg.io.video.writer`).

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

    def open(self, context: SinkContext) -> Sink:
        """A `VideoWriter`, or for a storage URL one that uploads the file when complete."""
        # a batch does again what did not finish; a run keeps it unless overwriting
        replace_partial = self.replace_partial or context.overwrite
        if self.path.is_remote:
            # The staging file is rtseg's own: a complete one left by a failed upload is
            # replaced (the object is what counts), once the file is locked.
            return remote.staged_output(
                self.path,
                context.overwrite,
                lambda local: self._writer(local, context, True, replace_partial),
            )
        check_not_input(self.path.path, context.input_path)
        return self._writer(self.path.path, context, context.overwrite, replace_partial)

    @staticmethod
    def _writer(
        path: Path, context: SinkContext, overwrite: bool, replace_partial: bool
    ) -> VideoWriter:
        if isinstance(context.effect, GivesAlpha) and not holds_alpha(path):
            raise RtsegError(f"{path.suffix} cannot hold alpha; use .webm, .mov or a directory")
        if context.realtime:
            log.info(
                "--realtime into %s: frames the pipeline cannot keep up with are dropped; "
                "the others keep their times, so the file keeps the input's length and audio",
                path,
            )
        return VideoWriter(
            path,
            fps=context.fps,
            crf=context.crf,
            preset=context.preset,
            audio_from=context.audio_from,
            overwrite=overwrite,
            replace_partial=replace_partial,
        )


@dataclass(frozen=True)
class ImageFolder(Destination):
    """A directory of PNG frames (frames from image files keep their file stem);
    `replace_partial` as for `VideoFile`."""

    path: Location | Path | str
    effect: str | Effect | None = None  # None: the run's effect
    replace_partial: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Location.of(self.path).path)

    def open(self, context: SinkContext) -> Sink:
        """An `ImageSequenceSink` into the folder."""
        check_not_input(self.path, context.input_path)
        return ImageSequenceSink(
            self.path, context.overwrite, self.replace_partial or context.overwrite
        )


@dataclass(frozen=True)
class Window(Destination):
    """An OpenCV window with keys (q quit, e effect, m mask, h HUD); needs a display."""

    def open(self, context: SinkContext) -> Sink:
        """A `WindowSink` whose keys and heads-up display are the run's live controls."""
        controls = context.controls
        if controls is None:
            return WindowSink()
        return WindowSink(on_key=controls.on_key, hud=controls.hud_lines)


@dataclass(frozen=True)
class Null(Destination):
    """Nowhere: for figures only (the stats still count every frame)."""

    def open(self, context: SinkContext) -> Sink:
        """A sink that drops every frame."""
        return NullSink()


@dataclass(frozen=True)
class Preview(Destination):
    """The browser preview with live controls; where it listens is set in `JobConfig`."""

    port: int = 8080

    def open(self, context: SinkContext) -> Sink:
        """The preview's server, listening where the context says, its buttons wired to the
        run's live controls."""
        controls = context.controls
        sink = HttpPreviewSink(
            self.port,
            host=context.preview_host,
            allow_remote=context.preview_remote,
            token=context.preview_token,
            stats=controls.live_stats if controls else None,
            on_control=controls.control if controls else None,
            choices=controls.choices() if controls else None,
            ranges=controls.ranges() if controls else None,
        )
        log.info("preview at %s", redact(sink.url))  # the token: the user has it
        return sink


@dataclass(frozen=True)
class VirtualCamera(Destination):
    """A virtual webcam for call apps (the `virtualcam` extra); `device` e.g. /dev/video10."""

    device: str | None = None
    effect: str | Effect | None = None  # None: the run's effect

    def open(self, context: SinkContext) -> Sink:
        """A `VirtualCamSink` at the source's frame rate."""
        return VirtualCamSink(context.fps, device=self.device)


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


def check_sink(target: object) -> Sink:
    """`target` itself, when it is a sink (an object with write, close and abort).

    Raises:
        RtsegError: it is not, said with what a sink can be.
    """
    if not all(callable(getattr(target, m, None)) for m in ("write", "close", "abort")):
        raise RtsegError(
            f"{target!r} is not a sink: {SINK_HELP}, or an object with write, close and abort"
        )
    return target  # type: ignore[return-value]


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
        if arg and not (arg.isdecimal() and int(arg) <= 65535):
            raise RtsegError(f"http sink port must be a number from 0 to 65535, got {arg!r}")
        return Preview(int(arg)) if arg else Preview()
    return output_at(Location.of(spec), f"use {SINK_HELP}" if speaking_cli() else "")


def output_at(path: Location, choices: str = "") -> Destination:
    """The file output `path` names by its suffix: a video file, a folder for PNG frames, or
    the null device (a `Path` from Python is taken as it is, with no `@EFFECT` to parse)."""
    if not path.is_remote and is_null_device(path.path):
        return Null()
    if path.suffix.lower() in CONTAINERS:
        return VideoFile(path)
    if path.suffix == "":
        if path.is_remote:
            raise RtsegError(f"{path}: PNG frames go to a local folder; a URL takes a video file")
        return ImageFolder(path)
    choices = choices or (
        f"give a video file ({', '.join(sorted(CONTAINERS))}), a folder for PNG frames, or a "
        "destination object (rtseg.VideoFile, rtseg.Window()...)"
    )
    raise RtsegError(f"unknown output {str(path)!r}: {choices}")
