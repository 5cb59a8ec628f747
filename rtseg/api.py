"""`rtseg.process_video`: the job `rtseg run` runs, called from Python."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from rtseg.errors import RtsegError
from rtseg.io.destinations import Callback, Destination, output_at, parse_sink
from rtseg.io.location import Location
from rtseg.io.sources import IterableSource
from rtseg.io.video.frame_stamps import frame_count
from rtseg.job import Job, JobConfig
from rtseg.matte.effects import Effect
from rtseg.models.registry import DEFAULT_MODEL
from rtseg.options import POLICIES, Device, PolicyName, QualityName
from rtseg.pipeline.channels import Policy
from rtseg.pipeline.frame import Frame
from rtseg.pipeline.ports import Sink
from rtseg.pipeline.progress import Progress, ProgressSink
from rtseg.pipeline.run_stats import RunStats

Target = str | Path | Destination | Sink
# The JobConfig fields process_video takes as keyword arguments of the same name (the others
# it builds: the source, model, effect and sinks).
JOB_OPTIONS = [
    f.name for f in fields(JobConfig) if f.name not in {"source", "model", "effect", "sinks"}
]
# What process_video reads: a path or URL, a camera index, or frames from Python.
SourceLike = str | int | Path | Iterable[Any]


def _sink(target: Target) -> str | Destination | Sink:
    """A target as a sink: a Path names a file or folder as it is (no `@EFFECT` or `null`
    parsing, which is the CLI's), a str is the CLI's spelling, an object is used as given."""
    if isinstance(target, Path):
        return output_at(Location.of(target))
    return parse_sink(target) if isinstance(target, str) else target


def process_video(
    source: SourceLike,
    target: Target | Sequence[Target] | None = None,
    *,
    model: str | Path = DEFAULT_MODEL,
    effect: str | Effect = "blur",
    on_frame: Callable[[Frame], None] | None = None,
    progress: bool | Callable[[int, int | None], None] = False,
    overwrite: bool = False,
    max_frames: int | None = None,
    fps: float | None = None,
    realtime: bool = False,
    device: Device = "auto",
    threads: int | None = None,
    quality: QualityName | None = None,
    refine: bool | None = None,
    smooth: float | None = None,
    grow: int = 0,
    feather: int = 0,
    people: str = "all",
    auto_frame: bool = False,
    mask_every: int = 1,
    sync: bool | None = None,
    downsample_ratio: float | None = None,
    crf: int | None = None,
    preset: str | None = None,
    deinterlace: bool = False,
    policy: PolicyName | Policy | None = None,
    capacity: int = 4,
    width: int | None = None,
    height: int | None = None,
    mjpg: bool = False,
    preview_host: str = "127.0.0.1",
    preview_remote: bool = False,
    preview_token: str | None = None,
) -> RunStats:
    """Segment a video (or camera, images, `"sample"`) and write the result where `target` says.

    The same `Job` as `rtseg run`: a file keeps every frame in order with its timestamps and
    audio, and an output is written complete or not at all.

    Args:
        source: a video file or URL, an image or a directory of images, a camera index,
            "sample" (the built-in moving scene), or frames from Python: any iterable of BGR
            uint8 images (give `fps=`), of `(image, time_s)` pairs, or what `read_video`
            yields. Frames with times are written at those times.
        target: where the frames go: a path ("out.mp4", or a directory for PNG frames), a
            destination object (`rtseg.VideoFile`, `rtseg.Window()`...), any object with
            write/close/abort, or a list of them. It may be left out only with `on_frame`.
        model: a name from `rtseg models` or a path to a contract `.onnx` file.
        effect: an effect object (`rtseg.Blur(31)`, `rtseg.Replace("beach.jpg")`,
            `rtseg.Color("#00b140")`...) or its CLI spelling ("blur:31").
        on_frame: called with every processed frame (`frame.image`, `frame.alpha`,
            `frame.output`...) in order, before `target` writes it; it may replace
            `frame.output`.
        progress: True for the progress bar `rtseg run` shows (frames, fps, ETA; a plain
            line every few seconds when stderr is no terminal), or a function called with
            (frames written, frames expected or None) every half second and at the end.
        overwrite: replace an output that exists (otherwise refused before any work).
        max_frames: stop after this many frames (the outputs are complete).
        fps: the frame rate of frames from Python that carry no time (needed for them), or
            a camera's capture rate; above 0 and finite.
        realtime: play a file at its own times through frame-dropping channels, as live.
        device: "auto" (TensorRT, then CUDA, then CPU), "cpu", "cuda" or "tensorrt".
        threads: ONNX Runtime intra-op threads (default: its own choice).
        quality: "fast", "balanced" or "best" (default: "best" for images, "balanced" for
            video files, "fast" for live sources).
        refine: snap mask edges to the frame's edges (default: as `quality` says).
        smooth: strength of the motion-adaptive temporal smoothing of the mask, 0 (off) to
            1 (default: as `quality` says, 0.5); True and False are 0.5 and off.
        grow: pixels the final alpha grows by at the output's size (negative: shrinks),
            -40 to 40.
        feather: pixels over which the final alpha's edges are softened, 0 to 40.
        people: "main" keeps only the main person in the mask, "all" everyone (see
            docs/webcam.md).
        auto_frame: the output is a crop of the input, at its size, that keeps the person
            centred with headroom.
        mask_every: run the model on every Nth frame and reuse its mask in between.
        sync: each frame waits for its own mask (default: for files, not for live sources).
        downsample_ratio: for a matting model (RVM), the share of the frame's size the
            network sees, in (0, 1] (default: video frames brought to 320x180's area, 0.25
            at 720p; photos to 384 px on their longer side).
        crf: the quality of `.mp4`, `.mkv` and `.webm` outputs (lower is better).
        preset: an x264 preset for `.mp4`/`.mkv` outputs, e.g. "medium".
        deinterlace: deinterlace interlaced video files (FFmpeg's bwdif).
        policy: the channels' policy, "latest" or "block" (default: "latest" for live
            sources, "block" for files).
        capacity: frames each channel holds.
        width: a camera's capture width.
        height: a camera's capture height.
        mjpg: ask a camera for MJPG.
        preview_host: where an `rtseg.Preview()` output listens.
        preview_remote: let `preview_host` be other than loopback (needs `preview_token`).
        preview_token: the token every preview request must carry.

    Returns:
        The run's figures (`stats.frames_out`, `stats.fps_out`, `stats.latency_ms.p99`...);
        `stats.as_dict()` is what `--stats-json` writes.

    Raises:
        RtsegError: bad input (an empty frame source, `fps` not above 0, no target), a
            missing model, an output that exists (without `overwrite=True`) or can't be
            written; the message says which. Its subclass `StageError` is an unexpected
            failure inside the pipeline (a frame source that raised), its cause attached.
        Stopped: the run ended before its source did (Ctrl-C, or SIGTERM where the program
            routes it to `Job.pipeline.interrupt`; a window closed with `q` on a file);
            file outputs are kept under a `.partial` name, and the message says how many
            frames were written. It is a `KeyboardInterrupt`, not an `Exception`.
    """
    given_args = dict(locals())  # the JobConfig fields among them go into the config as given
    if target is None:
        targets: list[Target] = []
    elif isinstance(target, str | Path) or not isinstance(target, Sequence):
        targets = [target]
    else:
        targets = list(target)
    if not targets and on_frame is None:
        raise RtsegError(
            "process_video() needs a target (a path, rtseg.VideoFile(...), rtseg.Null() for "
            "figures only...) or on_frame="
        )
    sinks: list[str | Destination | Sink] = [Callback(on_frame)] if on_frame else []
    sinks += [_sink(t) for t in targets]
    options = {name: given_args[name] for name in JOB_OPTIONS}
    if isinstance(policy, str):
        if policy not in POLICIES:
            raise RtsegError(f"unknown policy {policy!r}; choose one of {', '.join(POLICIES)}")
        options["policy"] = Policy(policy)
    bar = None
    if progress:
        total = _expected_frames(source, max_frames)
        if callable(progress):
            done = [0]

            def count(n: int) -> None:
                done[0] += n
                progress(done[0], total)

            sinks.append(ProgressSink(count))
        else:
            bar = Progress(total)
            sinks.append(ProgressSink(bar.frames))
    given = None
    if not isinstance(source, str | int | Path):
        given = IterableSource(source, fps, realtime)
        source = "<frames>"
    config = JobConfig(source=source, model=model, effect=effect, sinks=sinks, **options)
    try:
        with Job(config, source=given) as job:
            job.run()
    finally:
        if bar is not None:
            bar.close()
    return RunStats.from_dict(job.summary())


def _expected_frames(source: object, max_frames: int | None) -> int | None:
    """How many frames a run of `source` will write, where that can be known up front."""
    path = Path(source) if isinstance(source, str | Path) else None
    total = frame_count(path) if path is not None and path.exists() else None
    if total is None:
        return max_frames
    return min(total, max_frames or total)
