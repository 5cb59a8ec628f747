"""`rtseg.process_video`: the job `rtseg run` runs, called from Python."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from rtseg.io.destinations import Callback, Destination, Null, parse_sink
from rtseg.io.frame_stamps import frame_count
from rtseg.io.sources import IterableSource
from rtseg.job import Job, JobConfig
from rtseg.matte.effects import Effect
from rtseg.models.registry import DEFAULT_MODEL
from rtseg.pipeline.frame import Frame
from rtseg.pipeline.ports import Sink
from rtseg.pipeline.progress import Progress, ProgressSink
from rtseg.pipeline.run_stats import RunStats

Target = str | Path | Destination | Sink

# JobConfig fields that process_video takes as arguments of its own.
_OWN = {"source", "model", "effect", "sinks"}


def _sink(target: Target) -> str | Destination | Sink:
    return parse_sink(str(target)) if isinstance(target, str | Path) else target


def process_video(
    source: str | int | Path | Iterable,
    target: Target | Sequence[Target] | None = None,
    *,
    model: str | Path = DEFAULT_MODEL,
    effect: str | Effect = "blur",
    on_frame: Callable[[Frame], None] | None = None,
    progress: bool | Callable[[int, int | None], None] = False,
    **options: Any,
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
            write/close/abort, or a list of them; None with `on_frame` for frames only.
        model: a name from `rtseg models` or a path to a contract `.onnx` file.
        effect: an effect object (`rtseg.Blur(31)`, `rtseg.Replace("beach.jpg")`,
            `rtseg.Color("#00b140")`...) or its CLI spelling ("blur:31").
        on_frame: called with every processed frame (`frame.image`, `frame.alpha`,
            `frame.output`...) in order, before `target` writes it; it may replace
            `frame.output`.
        progress: True for the progress bar `rtseg run` shows (frames, fps, ETA; a plain
            line every few seconds when stderr is no terminal), or a function called with
            (frames written, frames expected or None) every half second and at the end.
        **options: any other `JobConfig` field, e.g. `overwrite=True`, `max_frames=100`,
            `device="cpu"`, `refine=False`, `crf=18`.

    Returns:
        The run's figures (`stats.frames_out`, `stats.fps_out`, `stats.latency_ms.p99`...);
        `stats.as_dict()` is what `--stats-json` writes.

    Raises:
        TypeError: an option that is no `JobConfig` field.
        RtsegError: bad input, a missing model, an output that exists (without
            `overwrite=True`) or can't be written; the message says which.
        StageError: an unexpected failure inside the pipeline; its cause is attached.
        Stopped: the run ended before its source did (Ctrl-C, or SIGTERM where the program
            routes it to `Job.pipeline.interrupt`; a window closed with `q` on a file);
            file outputs are kept under a `.partial` name, and the message says how many
            frames were written.
    """
    allowed = [f.name for f in fields(JobConfig) if f.name not in _OWN]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(f"process_video() got unknown options {unknown}; it takes {allowed}")
    if target is None:
        targets = []
    else:
        targets = list(target) if isinstance(target, list | tuple) else [target]
    sinks: list[str | Destination | Sink] = [Callback(on_frame)] if on_frame else []
    sinks += [_sink(t) for t in targets]
    bar = None
    if progress:
        total = _expected_frames(source, options.get("max_frames"))
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
        given = IterableSource(source, options.get("fps"), options.get("realtime", False))
        source = "<frames>"
    config = JobConfig(
        source=source, model=model, effect=effect, sinks=sinks or [Null()], **options
    )
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
