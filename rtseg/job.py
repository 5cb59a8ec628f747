"""One configured run: source, engine, effect and sinks wired into a pipeline.

The CLI, `make run` and the benchmarks all go through `Job`, so they measure and ship the
same code path.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from rtseg.errors import RtsegError
from rtseg.io import destinations, remote
from rtseg.io.destinations import SINK_HELP, Destination, parse_sink
from rtseg.io.outputs import check_not_input
from rtseg.io.sinks import ImageSequenceSink, NullSink, Sink, WindowSink
from rtseg.io.sources import ImageSource, Source, VideoSource, open_source
from rtseg.io.video_out import VideoFileSink, holds_alpha
from rtseg.matte.effects import (
    AlphaOut,
    Classes,
    Effect,
    MaskView,
    apply_effect,
    as_effect,
    parse_effect,
)
from rtseg.matte.foreground import foreground_at_frame_size
from rtseg.matte.masks import MaskSource
from rtseg.matte.quality import default_level, quality_level
from rtseg.model_switch import ModelSwitch
from rtseg.models.contract import ModelInfo
from rtseg.models.engine import Engine
from rtseg.models.registry import DEFAULT_MODEL, resolve
from rtseg.models.registry import available as available_models
from rtseg.models.transforms import to_model_input
from rtseg.pipeline.channels import Policy
from rtseg.pipeline.frame import Frame
from rtseg.pipeline.opencv_threads import one_opencv_thread
from rtseg.pipeline.pipeline import Pipeline, Stage
from rtseg.pipeline.stats import Stats, percentiles
from rtseg.segmenter import alpha_at_frame_size

log = logging.getLogger(__name__)

# What the window's `e` key steps through after the effect asked for.
CYCLE = ("blur", "color:#00b140", "mask")


@dataclass
class JobConfig:
    """Everything `rtseg run` can be told; the defaults are the webcam blur job.

    `effect` and `sinks` take objects (`rtseg.Blur(31)`, `rtseg.VideoFile("out.mp4")`, any
    object with write/close/abort) or the CLI's strings ("blur:31", "out.mp4").
    """

    source: str | int | Path = "0"  # camera index, file, URL, image, directory or "sample"
    model: str | Path = DEFAULT_MODEL
    effect: str | Effect = "blur"
    sinks: list[str | Destination | Sink] = field(default_factory=lambda: ["window"])
    realtime: bool = False
    device: str = "auto"
    threads: int | None = None
    overwrite: bool = False
    max_frames: int | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    mjpg: bool = False
    policy: Policy | None = None  # None: LATEST for live sources, BLOCK otherwise
    capacity: int = 4
    quality: str | None = None  # fast, balanced or best; None: by source kind (default_level)
    refine: bool | None = None  # snap mask edges to the frame's edges; None: as quality says
    smooth: bool | None = None  # motion-adaptive temporal smoothing; None: as quality says
    mask_every: int = 1  # run the model on every Nth frame, reuse the mask in between
    # a matting model's (RVM's) downsample ratio: the share of the frame's size the network
    # sees; None: RVM's rule, the frame's longer side brought to 480 px (0.375 at 720p)
    downsample_ratio: float | None = None
    sync: bool | None = None  # each frame waits for its own mask; None: for files, not live
    crf: int | None = None  # quality of .mp4/.mkv/.webm files; None: the codec's default
    deinterlace: bool = False  # interlaced video files through FFmpeg's bwdif
    preset: str | None = None  # x264 preset for .mp4/.mkv; None: rtseg's (see video_out)
    preview_host: str = "127.0.0.1"
    preview_remote: bool = False
    preview_token: str | None = None


def open_config_source(config: JobConfig) -> Source:
    """The source `config` names, opened with its capture settings."""
    return open_source(
        str(config.source),
        realtime=config.realtime,
        width=config.width,
        height=config.height,
        fps=config.fps,
        mjpg=config.mjpg,
        max_frames=config.max_frames,
        deinterlace=config.deinterlace,
    )


class Job:
    """A pipeline ready to `run()`; closes what it opened if setting up fails half-way."""

    def __init__(
        self, config: JobConfig, source: Source | None = None, engine: Engine | None = None
    ) -> None:
        """Set up `config`; `source`, when given, replaces opening `config.source` (the
        benchmarks pass wrapped sources this way), and `engine` a model already loaded for
        `config.model`, which the job uses but leaves open (batch workers load it once and
        reuse it file after file)."""
        self.config = config
        self._borrowed = engine
        # The active effect and the engine change together (live controls), under this lock.
        self._lock = threading.Lock()
        first = as_effect(config.effect)
        self.effects: list[Effect] = [first]
        self.effects += [e for e in map(parse_effect, CYCLE) if e.name != first.name]
        self.effect_index = 0
        self.show_mask = False
        self.engine = engine or self._build_engine(config.model)
        refusal = self._refusal(self.engine.info)
        if refusal is not None:
            self._close_engine(self.engine)
            raise RtsegError(refusal)
        self._name_classes(self.engine.info)
        self.switch = ModelSwitch(self._build_engine, lambda engine: self._refusal(engine.info))
        self.source: Source = source or open_config_source(config)
        self.sinks: list[Sink] = []
        try:
            for spec in config.sinks:
                self.sinks.append(self._open_sink(spec))
        except BaseException:
            for sink in self.sinks:  # release the outputs already claimed
                sink.abort()
            self.source.close()
            raise
        live = self.source.live
        images = isinstance(self.source, ImageSource)
        self.quality = quality_level(config.quality or default_level(live, images))
        self.refiner = self.quality.refiner(config.refine)
        smoother = self.quality.smoother(config.smooth)
        sync = config.sync if config.sync is not None else not live
        self.masks = MaskSource(
            sync=sync,
            every=config.mask_every,
            smoother=smoother,
            passes=self.quality.passes(config.downsample_ratio),
        )
        policy = config.policy or (Policy.LATEST if self.source.live else Policy.BLOCK)
        stages = [
            Stage("preprocess", self._preprocess),
            Stage("infer", self._infer),
            Stage("postprocess", self._postprocess),
        ]
        self.pipeline = Pipeline(
            self.source, stages, self.sinks, policy, config.capacity, config.max_frames
        )
        self._mask_view = MaskView()

    # -- model and effect ----------------------------------------------------------------
    def _build_engine(self, model: str | Path) -> Engine:
        # One intra-op thread unless --threads says otherwise: the bundled models take about
        # 2.5 ms, and a second thread's hand-offs cost 3.6 against 2.7 ms of CPU a frame on
        # 2 cores at 720p, while in file mode the other stages have the other core anyway.
        return Engine(resolve(str(model)), self.config.device, self.config.threads or 1)

    def _close_engine(self, engine: Engine) -> None:
        if engine is not self._borrowed:
            engine.close()

    def _refusal(self, info: ModelInfo, effect: Effect | None = None) -> str | None:
        """Why model `info` cannot run `effect` (the active one by default), or None."""
        effect = effect if effect is not None else self.effects[self.effect_index]
        if isinstance(effect, Classes) and not info.has_labels:
            return (
                f"model {info.name} segments people only; the classes effect needs a semantic "
                "model exported with --labels (e.g. deeplabv3_*)"
            )
        return None

    def _name_classes(self, info: ModelInfo) -> None:
        for effect in self.effects:
            if isinstance(effect, Classes) and info.has_labels:
                effect.class_names = info.class_names

    def _swap(self, new: Engine) -> None:
        """Put `new` in place of the running engine; the inference stage calls it between two
        frames, so no frame sees two models."""
        with self._lock:
            refusal = self._refusal(new.info)  # the effect may have changed while it loaded
            if refusal is None:
                old, self.engine = self.engine, new
                self._name_classes(new.info)
        if refusal is not None:
            new.close()
            self.switch.status = refusal
            log.warning("%s", refusal)
            return
        self.masks.reset()  # no mask or smoothing of the old model carries over
        self._close_engine(old)
        self.switch.status = f"running {new.info.name}"
        log.info("switched to model %s", new.info.name)

    # -- sinks ----------------------------------------------------------------------------
    def _open_sink(self, spec: str | Destination | Sink) -> Sink:
        target = parse_sink(spec) if isinstance(spec, str) else spec
        if isinstance(target, destinations.Null):
            return NullSink()
        if isinstance(target, destinations.Window):
            return WindowSink(on_key=self._on_key, hud=self.hud_lines)
        if isinstance(target, destinations.VirtualCamera):
            from rtseg.io.virtualcam import VirtualCamSink

            return VirtualCamSink(self.source.fps, device=target.device)
        if isinstance(target, destinations.Preview):
            return self._open_preview(target.port)
        if isinstance(target, destinations.VideoFile) and isinstance(target.path, str):
            return remote.staged_output(target.path, self.config.overwrite, self._open_video_file)
        if isinstance(target, destinations.VideoFile | destinations.ImageFolder):
            check_not_input(Path(target.path), getattr(self.source, "path", None))
        if isinstance(target, destinations.VideoFile):
            return self._open_video_file(Path(target.path))
        if isinstance(target, destinations.ImageFolder):
            return ImageSequenceSink(Path(target.path), self.config.overwrite)
        if not all(callable(getattr(target, m, None)) for m in ("write", "close", "abort")):
            raise RtsegError(
                f"{target!r} is not a sink: {SINK_HELP}, or an object with write, close and abort"
            )
        return target

    def _open_video_file(self, path: Path) -> Sink:
        if isinstance(self.effects[0], AlphaOut) and not holds_alpha(path):
            raise RtsegError(f"{path.suffix} cannot hold alpha; use .webm, .mov or a directory")
        if self.config.realtime:
            log.info(
                "--realtime into %s: frames the pipeline cannot keep up with are dropped; "
                "the others keep their times, so the file keeps the input's length and audio",
                path,
            )
        return VideoFileSink(
            path,
            self.source.fps,
            crf=self.config.crf,
            preset=self.config.preset,
            audio_from=self.source.path if isinstance(self.source, VideoSource) else None,
            overwrite=self.config.overwrite,
        )

    def _open_preview(self, port: int) -> Sink:
        from rtseg.io.preview import HttpPreviewSink

        sink = HttpPreviewSink(
            port,
            host=self.config.preview_host,
            allow_remote=self.config.preview_remote,
            token=self.config.preview_token,
            stats=self.live_stats,
            on_control=self.control,
            choices={
                "effect": [e.name for e in self.effects],
                "model": [m.name for m in available_models()],
            },
        )
        log.info("preview at %s", sink.url)
        return sink

    def live_stats(self) -> dict:
        """The running figures the preview page shows."""
        stats = self.pipeline.stats
        engine = self.engine
        return {
            "fps": round(stats.live_fps(), 1),
            "latency_ms": percentiles(stats.recent_latency_ms(300)),
            "drops": sum(self.pipeline.drops.values()),
            "provider": engine.provider,
            "model": engine.info.name,
            "effect": self.effects[self.effect_index].name,
            "switch": self.switch.status,
        }

    def control(self, key: str, value: str) -> str:
        """Switch the effect or the model while running (the preview page's buttons).

        A model is built off the caller's thread and takes over between two frames.

        Returns:
            What happened, e.g. "switching to selfie_landscape".

        Raises:
            RtsegError: an unknown setting or value, or one that does not fit: the classes
                effect needs a model with labels, and a model without them is refused while
                the classes effect is on.
        """
        if key == "effect":
            names = [e.name for e in self.effects]
            if value not in names:
                raise RtsegError(f"unknown effect {value!r}")
            index = names.index(value)
            with self._lock:
                refusal = self._refusal(self.engine.info, self.effects[index])
                if refusal is None:
                    self.effect_index = index
            if refusal is not None:
                raise RtsegError(f"{refusal}; switch the model first")
            return f"effect {value}"
        if key == "model":
            resolve(value)  # an unknown name is refused at once
            return self.switch.request(value)
        raise RtsegError(f"unknown control {key!r}")

    def _on_key(self, action: str) -> None:
        if action == "quit":
            self.pipeline.stop()
        elif action == "effect":
            with self._lock:  # the next effect the running model can show
                count = len(self.effects)
                for step in range(1, count):
                    index = (self.effect_index + step) % count
                    if self._refusal(self.engine.info, self.effects[index]) is None:
                        self.effect_index = index
                        break
        elif action == "mask":
            self.show_mask = not self.show_mask

    def hud_lines(self) -> list[str]:
        """Text for the window's heads-up display."""
        stats = self.pipeline.stats
        drops = sum(self.pipeline.drops.values())
        lag = f"  mask lag {stats.mask_lag} frames" if stats.mask_lag else ""
        latency = percentiles(stats.recent_latency_ms(60))["p50"]
        return [
            f"{stats.live_fps():5.1f} fps  latency {latency:.0f} ms  drops {drops}{lag}",
            f"{self.engine.info.name} on {self.engine.provider.replace('ExecutionProvider', '')}",
            f"effect {self.effects[self.effect_index].name}  (e: next, m: mask, h: HUD, q: quit)",
        ]

    # -- stages ---------------------------------------------------------------------------
    def _preprocess(self, frame: Frame) -> None:
        info = self.engine.info
        frame.tensor = to_model_input(frame.image, info, self.config.downsample_ratio)
        frame.tensor_info = info

    def _infer(self, frame: Frame) -> None:
        new = self.switch.take()  # a model switched to from the preview, built meanwhile
        if new is not None:
            self._swap(new)
        engine = self.engine
        if frame.tensor_info is not engine.info:  # made for the model before the switch
            self._preprocess(frame)
        photo = frame.name is not None
        mask = self.masks.mask_for(
            engine, frame.tensor, frame.seq, frame.image, new_stream=photo, still=photo
        )
        frame.alpha, frame.labels, frame.mask_seq, frame.zoomed, frame.fgr = mask

    def _postprocess(self, frame: Frame) -> None:
        frame.alpha = alpha_at_frame_size(frame.image, frame.alpha, self.refiner, frame.zoomed)
        if frame.input_alpha is not None:
            frame.alpha = frame.alpha * frame.input_alpha
        if frame.fgr is not None:
            frame.fgr = foreground_at_frame_size(frame.image, frame.fgr)
        effect = self._mask_view if self.show_mask else self.effects[self.effect_index]
        if isinstance(effect, Classes):
            # A frame inferred just before a switch to a labelled model has no labels yet.
            labels = frame.labels
            frame.output = frame.image if labels is None else effect.paint(frame.image, labels)
        else:
            frame.output = apply_effect(effect, frame.image, frame.alpha, frame.fgr)

    # -- running --------------------------------------------------------------------------
    def run(self) -> Stats:
        """Run to the end of the source (or a stop), then return the collected stats."""
        try:
            with one_opencv_thread():
                return self.pipeline.run()
        finally:
            self.masks.close()
            self.switch.close()
            self._close_engine(self.engine)
            for effect in self.effects:  # e.g. a video background's capture
                getattr(effect, "close", lambda: None)()

    def summary(self) -> dict:
        """The stats as the `--stats-json` dict."""
        return self.pipeline.stats.summary(
            self.pipeline.drops, self.engine.providers, self.engine.info.name
        )
