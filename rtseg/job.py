"""One configured run: source, engine, effect and sinks wired into a pipeline.

The CLI, `make run` and the benchmarks all go through `Job`, so they measure and ship the
same code path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from rtseg.channels import Policy
from rtseg.effects import AlphaOut, Classes, Effect, MaskView, parse_effect
from rtseg.engine import Engine
from rtseg.errors import RtsegError
from rtseg.ffmpeg import CONTAINERS, FfmpegVideoSink, has_ffmpeg, holds_alpha
from rtseg.frame import Frame
from rtseg.masks import MaskSource
from rtseg.models import DEFAULT_MODEL, resolve
from rtseg.models import available as available_models
from rtseg.pipeline import Pipeline, Stage
from rtseg.refine import EdgeRefiner
from rtseg.sinks import (
    ImageSequenceSink,
    NullSink,
    Sink,
    VideoFileSink,
    WindowSink,
)
from rtseg.sources import Source, open_source
from rtseg.stats import Stats, percentiles
from rtseg.temporal import TemporalSmoother
from rtseg.transforms import to_model_input, upscale_alpha

log = logging.getLogger(__name__)

# What the window's `e` key steps through after the effect asked for.
CYCLE = ("blur", "color:#00b140", "mask")


@dataclass
class JobConfig:
    """Everything `rtseg run` can be told; the defaults are the webcam blur job."""

    source: str = "0"
    model: str = DEFAULT_MODEL
    effect: str = "blur"
    sinks: list[str] = field(default_factory=lambda: ["window"])
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
    refine: bool = True  # snap mask edges to the frame's edges (guided filter)
    smooth: bool = True  # motion-adaptive temporal smoothing of the mask
    mask_every: int = 1  # run the model on every Nth frame, reuse the mask in between
    sync: bool | None = None  # each frame waits for its own mask; None: for files, not live
    crf: int | None = None  # FFmpeg quality for video files; None: the codec's default
    preview_host: str = "127.0.0.1"
    preview_remote: bool = False
    preview_token: str | None = None


def open_config_source(config: JobConfig) -> Source:
    """The source `config` names, opened with its capture settings."""
    return open_source(
        config.source,
        realtime=config.realtime,
        width=config.width,
        height=config.height,
        fps=config.fps,
        mjpg=config.mjpg,
        max_frames=config.max_frames,
    )


class Job:
    """A pipeline ready to `run()`; closes what it opened if setting up fails half-way."""

    def __init__(
        self, config: JobConfig, source: Source | None = None, engine: Engine | None = None
    ) -> None:
        """Set up `config`; `source`, when given, replaces opening `config.source` (the
        benchmarks pass wrapped sources this way), and `engine` a model already loaded for
        `config.model` (batch workers load it once and reuse it file after file)."""
        self.config = config
        self.engine = engine or Engine(resolve(config.model), config.device, config.threads)
        first = parse_effect(config.effect)
        if isinstance(first, Classes):
            if not self.engine.info.has_labels:
                raise RtsegError(
                    f"model {self.engine.info.name} segments people only; --effect classes "
                    "needs a semantic model exported with --labels (e.g. deeplabv3_*)"
                )
            first = Classes(self.engine.info.class_names)
        self.effects: list[Effect] = [first]
        self.effects += [parse_effect(e) for e in CYCLE if e != config.effect]
        self.effect_index = 0
        self.show_mask = False
        self.source: Source = source or open_config_source(config)
        try:
            self.sinks = [self._open_sink(spec) for spec in config.sinks]
        except BaseException:
            self.source.close()
            raise
        self.refiner = EdgeRefiner() if config.refine else None
        sync = config.sync if config.sync is not None else not self.source.live
        smoother = TemporalSmoother() if config.smooth else None
        self.masks = MaskSource(sync=sync, every=config.mask_every, smoother=smoother)
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

    # -- sinks ----------------------------------------------------------------------------
    def _open_sink(self, spec: str) -> Sink:
        kind, _, arg = spec.partition(":")
        if spec == "null":
            return NullSink()
        if spec == "window":
            return WindowSink(on_key=self._on_key, hud=self.hud_lines)
        if kind == "virtualcam":
            from rtseg.virtualcam import VirtualCamSink

            return VirtualCamSink(self.source.fps, device=arg or None)
        if kind == "http":
            return self._open_preview(arg)
        path = Path(spec)
        if path.suffix.lower() in CONTAINERS:
            return self._open_video_file(path)
        if path.suffix == "":
            return ImageSequenceSink(path, self.config.overwrite)
        raise RtsegError(
            f"unknown sink {spec!r}: use window, null, virtualcam[:DEVICE], http[:PORT], "
            f"a video file ({', '.join(sorted(CONTAINERS))}) or a directory for PNG frames"
        )

    def _open_video_file(self, path: Path) -> Sink:
        wants_alpha = isinstance(self.effects[0], AlphaOut)
        if not has_ffmpeg():
            if wants_alpha or path.suffix.lower() != ".mp4":
                raise RtsegError(f"writing {path.suffix} needs FFmpeg: pip install imageio-ffmpeg")
            log.warning("FFmpeg not found: writing %s with OpenCV's mp4v, without audio", path)
            return VideoFileSink(path, self.source.fps, self.config.overwrite)
        if wants_alpha and not holds_alpha(path):
            raise RtsegError(f"{path.suffix} cannot hold alpha; use .webm, .mov or a directory")
        audio = getattr(self.source, "path", None)
        return FfmpegVideoSink(
            path,
            self.source.fps,
            crf=self.config.crf,
            audio_from=audio,
            overwrite=self.config.overwrite,
        )

    def _open_preview(self, port: str) -> Sink:
        from rtseg.preview import HttpPreviewSink

        if port and not port.isdigit():
            raise RtsegError(f"http sink port must be a number, got {port!r}")
        sink = HttpPreviewSink(
            int(port or 8080),
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
        return {
            "fps": round(stats.live_fps(), 1),
            "latency_ms": percentiles(stats.latency_ms[-300:]),
            "drops": sum(self.pipeline.drops.values()),
            "provider": self.engine.provider,
            "model": self.engine.info.name,
            "effect": self.effects[self.effect_index].name,
        }

    def control(self, key: str, value: str) -> None:
        """Switch the effect or the model while running (from the preview page)."""
        if key == "effect":
            names = [e.name for e in self.effects]
            if value not in names:
                raise RtsegError(f"unknown effect {value!r}")
            self.effect_index = names.index(value)
        elif key == "model":
            self.engine = Engine(resolve(value), self.config.device, self.config.threads)
        else:
            raise RtsegError(f"unknown control {key!r}")

    def _on_key(self, action: str) -> None:
        if action == "quit":
            self.pipeline.stop()
        elif action == "effect":
            self.effect_index = (self.effect_index + 1) % len(self.effects)
        elif action == "mask":
            self.show_mask = not self.show_mask

    def hud_lines(self) -> list[str]:
        """Text for the window's heads-up display."""
        stats = self.pipeline.stats
        drops = sum(self.pipeline.drops.values())
        lag = f"  mask lag {stats.mask_lag} frames" if stats.mask_lag else ""
        latency = percentiles(stats.latency_ms[-60:])["p50"]
        return [
            f"{stats.live_fps():5.1f} fps  latency {latency:.0f} ms  drops {drops}{lag}",
            f"{self.engine.info.name} on {self.engine.provider.replace('ExecutionProvider', '')}",
            f"effect {self.effects[self.effect_index].name}  (e: next, m: mask, h: HUD, q: quit)",
        ]

    # -- stages ---------------------------------------------------------------------------
    def _preprocess(self, frame: Frame) -> None:
        frame.tensor = to_model_input(frame.image, self.engine.info)

    def _infer(self, frame: Frame) -> None:
        engine = self.engine  # the preview page may swap it between two frames
        if frame.tensor.shape[1:3] != (engine.info.height, engine.info.width):
            frame.tensor = to_model_input(frame.image, engine.info)
        frame.alpha, frame.labels, frame.mask_seq = self.masks.mask_for(
            engine, frame.tensor, frame.seq
        )

    def _postprocess(self, frame: Frame) -> None:
        h, w = frame.image.shape[:2]
        if self.refiner is not None:
            frame.alpha = self.refiner.refine(frame.image, frame.alpha)
        else:
            frame.alpha = upscale_alpha(frame.alpha, h, w)
        effect = self._mask_view if self.show_mask else self.effects[self.effect_index]
        if isinstance(effect, Classes) and frame.labels is not None:
            frame.output = effect.paint(frame.image, frame.labels)
        else:
            frame.output = effect.apply(frame.image, frame.alpha)

    # -- running --------------------------------------------------------------------------
    def run(self) -> Stats:
        """Run to the end of the source (or a stop), then return the collected stats."""
        try:
            return self.pipeline.run()
        finally:
            self.masks.close()

    def summary(self) -> dict:
        """The stats as the `--stats-json` dict."""
        return self.pipeline.stats.summary(
            self.pipeline.drops, self.engine.providers, self.engine.info.name
        )
