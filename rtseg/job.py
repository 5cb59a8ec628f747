"""One configured run: source, engine, effect and sinks wired into a pipeline.

The CLI, `make run` and the benchmarks all go through `Job`, so they measure and ship the
same code path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from rtseg.channels import Policy
from rtseg.effects import Effect, MaskView, parse_effect
from rtseg.engine import Engine
from rtseg.errors import RtsegError
from rtseg.frame import Frame
from rtseg.models import DEFAULT_MODEL, resolve
from rtseg.pipeline import Pipeline, Stage
from rtseg.sinks import (
    VIDEO_SUFFIXES,
    ImageSequenceSink,
    NullSink,
    Sink,
    VideoFileSink,
    WindowSink,
)
from rtseg.sources import Source, open_source
from rtseg.stats import Stats
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


class Job:
    """A pipeline ready to `run()`; closes what it opened if setting up fails half-way."""

    def __init__(self, config: JobConfig) -> None:
        self.config = config
        self.engine = Engine(resolve(config.model), config.device, config.threads)
        self.effects: list[Effect] = [parse_effect(config.effect)]
        self.effects += [parse_effect(e) for e in CYCLE if e != config.effect]
        self.effect_index = 0
        self.show_mask = False
        self.source: Source = open_source(
            config.source,
            realtime=config.realtime,
            width=config.width,
            height=config.height,
            fps=config.fps,
            mjpg=config.mjpg,
            max_frames=config.max_frames,
        )
        try:
            self.sinks = [self._open_sink(spec) for spec in config.sinks]
        except BaseException:
            self.source.close()
            raise
        policy = config.policy or (Policy.LATEST if self.source.live else Policy.BLOCK)
        stages = [
            Stage("preprocess", self._preprocess),
            Stage("infer", self._infer),
            Stage("postprocess", self._postprocess),
        ]
        self.pipeline = Pipeline(
            self.source, stages, self.sinks, policy, config.capacity, config.max_frames
        )

    # -- sinks ----------------------------------------------------------------------------
    def _open_sink(self, spec: str) -> Sink:
        if spec == "null":
            return NullSink()
        if spec == "window":
            return WindowSink(on_key=self._on_key, hud=self.hud_lines)
        path = Path(spec)
        if path.suffix.lower() in VIDEO_SUFFIXES:
            return VideoFileSink(path, self.source.fps, self.config.overwrite)
        if path.suffix == "":
            return ImageSequenceSink(path, self.config.overwrite)
        raise RtsegError(
            f"unknown sink {spec!r}: use window, null, a video file "
            f"({', '.join(sorted(VIDEO_SUFFIXES))}) or a directory for PNG frames"
        )

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
        return [
            f"{stats.live_fps():5.1f} fps  drops {drops}",
            f"{self.engine.info.name} on {self.engine.provider.replace('ExecutionProvider', '')}",
            f"effect {self.effects[self.effect_index].name}  (e: next, m: mask, h: HUD, q: quit)",
        ]

    # -- stages ---------------------------------------------------------------------------
    def _preprocess(self, frame: Frame) -> None:
        frame.tensor = to_model_input(frame.image, self.engine.info)

    def _infer(self, frame: Frame) -> None:
        frame.alpha, frame.labels = self.engine.run(frame.tensor)
        frame.mask_seq = frame.seq

    def _postprocess(self, frame: Frame) -> None:
        h, w = frame.image.shape[:2]
        frame.alpha = upscale_alpha(frame.alpha, h, w)
        effect = MaskView() if self.show_mask else self.effects[self.effect_index]
        frame.output = effect.apply(frame.image, frame.alpha)

    # -- running --------------------------------------------------------------------------
    def run(self) -> Stats:
        """Run to the end of the source (or a stop), then return the collected stats."""
        return self.pipeline.run()

    def summary(self) -> dict:
        """The stats as the `--stats-json` dict."""
        return self.pipeline.stats.summary(
            self.pipeline.drops, self.engine.providers, self.engine.info.name
        )
