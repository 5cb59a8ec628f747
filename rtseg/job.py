"""One configured run: source, engine, effect and sinks wired into a pipeline.

The CLI, `make run`, the batch workers and the benchmarks all go through `Job`, so they
measure and ship the same code path. A job owns what it opens: `close()` (or leaving its
`with` block, or the end of `run()`) releases all of it, and a job that fails half-way
through setting up releases what it had opened before the error reaches the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from rtseg.checks import check_count, check_rate, check_ratio
from rtseg.controls import LiveControls
from rtseg.errors import Closing, RtsegError
from rtseg.io.destinations import Destination, SinkContext, check_sink, parse_sink
from rtseg.io.location import Location
from rtseg.io.sources import open_source
from rtseg.io.video.reader import VideoReader
from rtseg.matte.effects import Effect, as_effect, draw
from rtseg.matte.frame_path import FramePath, build_frame_path
from rtseg.matte.people import check_people
from rtseg.matte.quality import quality_level
from rtseg.matte.tuning import check_setting
from rtseg.models.engine import Engine
from rtseg.models.registry import DEFAULT_MODEL, resolve
from rtseg.options import Device, QualityName
from rtseg.pipeline.channels import Policy
from rtseg.pipeline.frame import Frame, rate_time_base
from rtseg.pipeline.opencv_threads import one_opencv_thread
from rtseg.pipeline.pipeline import Pipeline
from rtseg.pipeline.ports import Sink, SinkWrapper, Source
from rtseg.pipeline.stats import Stats
from rtseg.stages import SegmentationStages


@dataclass
class JobConfig:
    """Everything `rtseg run` can be told; the defaults are the webcam blur job.

    `effect` and `sinks` take objects (`rtseg.Blur(31)`, `rtseg.VideoFile("out.mp4")`, any
    object with write/close/abort) or the CLI's strings ("blur:31", "out.mp4").
    """

    # camera index, file, URL, image, directory or "sample"; a Location is a file, folder or
    # object (a batch's input)
    source: str | int | Path | Location = "0"
    model: str | Path = DEFAULT_MODEL
    effect: str | Effect = "blur"
    sinks: list[str | Destination | Sink] = field(default_factory=lambda: ["window"])
    realtime: bool = False
    device: Device = "auto"
    threads: int | None = None
    overwrite: bool = False
    max_frames: int | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    mjpg: bool = False
    policy: Policy | None = None  # None: LATEST for live sources, BLOCK otherwise
    capacity: int = 4
    quality: QualityName | None = None  # fast, balanced or best; None: as default_level says
    refine: bool | None = None  # snap mask edges to the frame's edges; None: as quality says
    # motion-adaptive temporal smoothing strength, 0 (off) to 1; None: as quality says (0.5)
    smooth: float | None = None
    grow: int = 0  # pixels the final alpha grows by at the output's size; negative shrinks
    feather: int = 0  # pixels over which the final alpha's edges are softened
    people: str = "all"  # "main": only the main person stays in the mask (rtseg.matte.people)
    auto_frame: bool = False  # a crop that keeps the person centred (rtseg.matte.framing)
    mask_every: int = 1  # run the model on every Nth frame, reuse the mask in between
    # a matting model's (RVM's) downsample ratio: the share of the frame's size the network
    # sees; None: the frame brought to 320x180's area (0.25 at 720p)
    downsample_ratio: float | None = None
    sync: bool | None = None  # each frame waits for its own mask; None: for files, not live
    crf: int | None = None  # quality of .mp4/.mkv/.webm files; None: the codec's default
    deinterlace: bool = False  # interlaced video files through FFmpeg's bwdif
    preset: str | None = None  # x264 preset for .mp4/.mkv; None: rtseg's (video.writer)
    preview_host: str = "127.0.0.1"
    preview_remote: bool = False
    preview_token: str | None = None


def open_config_source(config: JobConfig) -> Source:
    """The source `config` names, opened with its capture settings."""
    return open_source(
        config.source if isinstance(config.source, Location) else str(config.source),
        realtime=config.realtime,
        width=config.width,
        height=config.height,
        fps=config.fps,
        mjpg=config.mjpg,
        max_frames=config.max_frames,
        deinterlace=config.deinterlace,
    )


# The whole-number settings of a job and their least values (None leaves each to its default).
COUNTS = (("mask_every", 1), ("capacity", 1), ("max_frames", 1), ("threads", 1), ("width", 1))
COUNTS += (("height", 1), ("crf", 0))


def validate_config(config: JobConfig) -> None:
    """Refuse settings no run can use, before anything is opened.

    Raises:
        RtsegError: a number out of range (a frame rate that is not above 0 or not finite,
            a ratio outside (0, 1]), an unknown quality level, an output spelled wrong, said
            in one line.
    """
    if config.quality is not None:
        quality_level(config.quality)
    check_people(config.people)
    for name in ("grow", "feather", "smooth"):
        if getattr(config, name) is not None:
            check_setting(name, getattr(config, name))
    for name, low in COUNTS:
        if getattr(config, name) is not None:
            check_count(name, getattr(config, name), low)
    if config.fps is not None:
        rate_time_base(check_rate("fps", config.fps))  # a rate too low for a time base, too
    if config.downsample_ratio is not None:
        check_ratio("downsample_ratio", config.downsample_ratio)
    for spec in config.sinks:
        if isinstance(spec, str):
            parse_sink(spec)


class _FromSeq(SinkWrapper):
    """Passes on the frames from `first` on to `sink`; the ones before it are dropped."""

    def __init__(self, sink: Sink, first: int) -> None:
        super().__init__(sink)
        self.first = first

    def write(self, frame: Frame) -> None:
        if frame.seq >= self.first:
            self.sink.write(frame)


class _OwnEffect(SinkWrapper):
    """Writes each frame drawn with an output's own `effect` instead of the run's: the mask
    is the one every output shares, so a frame is still segmented once."""

    def __init__(self, sink: Sink, effect: Effect) -> None:
        super().__init__(sink)
        self.effect = effect

    def write(self, frame: Frame) -> None:
        self.sink.write(replace(frame, output=draw(self.effect, frame)))


class Job(Closing):
    """A pipeline ready to `run()`, and the owner of everything it opened.

    Use it as a context manager, or call `close()`: a job that is never run still holds its
    source, its engine and its outputs' locks until then. `add_sink()` adds outputs before the
    run (progress bars, a batch's warm-up filter). If setting up fails half-way, what was
    already opened is closed before the error is raised: no lock, partial file or thread is
    left behind.
    """

    def __init__(
        self, config: JobConfig, source: Source | None = None, engine: Engine | None = None
    ) -> None:
        """Set up `config`; `source`, when given, replaces opening `config.source` (the
        benchmarks pass wrapped sources this way), and `engine` a model already loaded for
        `config.model`, which the job uses but leaves open (batch workers load it once and
        reuse it file after file)."""
        validate_config(config)
        self.config = config
        self._borrowed = engine
        self._started = False
        self._closed = False
        self.sinks: list[Sink] = []
        self.controls: LiveControls | None = None
        self.source: Source | None = source
        self._shared = True
        self.path: FramePath | None = None
        self.stages: SegmentationStages | None = None
        try:
            self._set_up(engine, source is None)
        except BaseException:
            self.close()
            raise

    def _set_up(self, engine: Engine | None, open_source_too: bool) -> None:
        config = self.config
        effect = as_effect(config.effect)
        if open_source_too:
            self.source = open_config_source(config)
        assert self.source is not None
        # a video's stages run beside the inference all the time; photos are mostly inference
        self._shared = not getattr(self.source, "stills", False)
        engine = engine or self._build_engine(config.model)
        try:
            self.controls = LiveControls(
                effect, engine, self._build_engine, self._release_engine, self._on_swap
            )
        except BaseException:
            self._release_engine(engine)
            raise
        for spec in config.sinks:
            self.add_sink(spec)
        live = self.source.live
        self.path = build_frame_path(
            quality=config.quality,
            live=live,
            stills=getattr(self.source, "stills", False),
            refine=config.refine,
            smooth=config.smooth,
            mask_every=config.mask_every,
            sync=config.sync,
            ratio=config.downsample_ratio,
            matting=self.engine.info.dynamic,  # a live switch to another model keeps these
            grow=config.grow,
            feather=config.feather,
            people=config.people,
            auto_frame=config.auto_frame,
        )
        self.controls.tuning = self.path.tuning
        self.stages = SegmentationStages(self.controls, self.path, live)
        policy = config.policy or (Policy.LATEST if live else Policy.BLOCK)
        self.pipeline = Pipeline(
            self.source,
            self.stages.stages(),
            self.sinks,
            policy,
            config.capacity,
            config.max_frames,
        )
        self.controls.pipeline = self.pipeline
        self.path.on_step = self.pipeline.stats.add_step

    @property
    def engine(self) -> Engine:
        """The engine running now (a live model switch replaces it between two frames)."""
        assert self.controls is not None, "the job failed to set up"
        return self.controls.engine

    # -- model ----------------------------------------------------------------------------
    def _build_engine(self, model: str | Path) -> Engine:
        # --threads, else the engine's own choice (`auto_threads`): one for the bundled models,
        # whose 2.5 ms a second thread's hand-offs would make 3.6 ms of CPU a frame on 2 cores
        # at 720p; for a matting network, which takes most of a frame's work, every core but
        # one on video (decoding, compositing and encoding have that one), every core on photos.
        config = self.config
        return Engine(resolve(str(model)), config.device, config.threads, shared=self._shared)

    def _release_engine(self, engine: Engine) -> None:
        if engine is not self._borrowed:
            engine.close()

    def _on_swap(self) -> None:
        if self.stages is not None:
            self.stages.restart()  # no mask or smoothing of the old model carries over

    # -- sinks ----------------------------------------------------------------------------
    def add_sink(self, spec: str | Destination | Sink, first_seq: int = 0) -> Sink:
        """Open one more output (a path, a destination or a sink object) before `run()`.

        Frames numbered below `first_seq` are processed but not written to it: a split
        segment's warm-up frames settle the masks and are dropped.

        Raises:
            RtsegError: the run has started, or the output cannot be opened (it exists
                without `overwrite`, cannot hold alpha, is the input itself...).
        """
        if self._started or self._closed:
            raise RtsegError("outputs can only be added before the job runs")
        sink = self._open_sink(spec)
        if first_seq:
            sink = _FromSeq(sink, first_seq)
        self.sinks.append(sink)
        return sink

    def _open_sink(self, spec: str | Destination | Sink) -> Sink:
        """The sink for `spec`: a destination opens its own, in this run's context, drawn
        with its own effect where it has one; a sink object is taken as it is."""
        assert self.controls is not None
        target = parse_sink(spec) if isinstance(spec, str) else spec
        if not isinstance(target, Destination):
            return check_sink(target)
        if target.effect is None:
            return target.open(self._sink_context(self.controls.chosen))
        effect = self.controls.pin(as_effect(target.effect))
        return _OwnEffect(target.open(self._sink_context(effect)), effect)

    def _sink_context(self, effect: Effect) -> SinkContext:
        """What an output of this run opens with, its frames drawn with `effect`."""
        assert self.source is not None
        config = self.config
        return SinkContext(
            fps=self.source.fps,
            effect=effect,
            input_path=getattr(self.source, "path", None),
            audio_from=self.source.path if isinstance(self.source, VideoReader) else None,
            overwrite=config.overwrite,
            realtime=config.realtime,
            crf=config.crf,
            preset=config.preset,
            preview_host=config.preview_host,
            preview_remote=config.preview_remote,
            preview_token=config.preview_token,
            controls=self.controls,
        )

    # -- running --------------------------------------------------------------------------
    def run(self) -> Stats:
        """Run to the end of the source, then close the job and return the collected stats.

        Raises:
            Stopped: the run ended before its source did (a signal, `abort()`, a stop of a
                file before its end); file outputs were kept under their partial names.
            RtsegError, StageError: what failed; outputs likewise kept as partial.
        """
        if self._started or self._closed:
            raise RtsegError("a job runs once; make a new Job for another run")
        self._started = True
        try:
            with one_opencv_thread():
                return self.pipeline.run()
        finally:
            self.close()

    def close(self, complete: bool = False) -> None:
        """Release everything the job opened; safe to call more than once.

        A job closed without having run finalises its outputs as not complete, which
        removes them when no frame was written (and keeps a partial one otherwise), unless
        `complete` says the caller fed every frame through the stages and sinks itself (the
        benchmarks' one-thread loops do).
        """
        if self._closed:
            return
        self._closed = True
        try:
            if not self._started:
                for sink in self.sinks:
                    if complete:
                        sink.close()
                    else:
                        sink.abort()
                if self.source is not None:
                    self.source.close()
        finally:
            if self.path is not None:
                self.path.close()
            if self.controls is not None:
                self.controls.close()

    def summary(self) -> dict:
        """The stats as the `--stats-json` dict."""
        engine = self.engine
        summary = self.pipeline.stats.summary(
            self.pipeline.drops, engine.providers, engine.info.name, engine.threads
        )
        assert self.path is not None
        summary["mask_every"] = self.path.masks.every  # raised by a live run that dropped frames
        return summary


def lost_frames_warning(source: object, summary: dict) -> str | None:
    """The warning for a run whose input lost frames (`Job.summary()`), or None: what
    `rtseg run` says, and a batch reports for the file."""
    if not summary["frames_lost"]:
        return None
    return (
        f"{source}: {summary['frames_lost']} of {summary['frames_expected']} frames could not "
        f"be decoded (a truncated or damaged file?); the output holds the other "
        f"{summary['frames_in']}"
    )
