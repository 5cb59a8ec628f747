"""What a viewer can change while a job runs: the effect, the mask view, the model, and the
mask's grow, feather and smoothing strength (`rtseg.matte.tuning`).

The window's keys and the preview page's buttons and sliders all land here. The running
engine and the active effect change together under one lock, so a frame never sees an effect
the model cannot show (the classes effect needs a model with labels). A new model is built
off the caller's thread (`ModelSwitch`) and takes over between two frames, when the inference
stage calls `take_switch()`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from rtseg.errors import RtsegError
from rtseg.matte.effects import Effect, MaskView, NeedsForeground, NeedsLabels, parse_effect
from rtseg.matte.tuning import RANGES, Tuning
from rtseg.model_switch import ModelSwitch
from rtseg.models.contract import ModelInfo
from rtseg.models.engine import Engine
from rtseg.models.registry import RVM_HINT, resolve
from rtseg.models.registry import available as available_models
from rtseg.pipeline.pipeline import Pipeline
from rtseg.pipeline.stats import percentiles

log = logging.getLogger(__name__)

# What the window's `e` key steps through after the effect asked for.
CYCLE = ("blur", "color:#00b140", "mask")
# Window actions that step a mask setting: (setting, steps).
STEPS = {f"{name}{sign}": (name, 1 if sign == "+" else -1) for name in RANGES for sign in "+-"}


def refusal(info: ModelInfo, effect: Effect) -> str | None:
    """Why model `info` cannot run `effect`, or None when it can."""
    if isinstance(effect, NeedsLabels) and not info.has_labels:
        return (
            f"model {info.name} segments people only; the {effect.name} effect needs a "
            "semantic model exported with --labels (e.g. deeplabv3_*)"
        )
    if isinstance(effect, NeedsForeground) and info.foreground is None:
        return (
            f"model {info.name} gives no foreground colours; the {effect.name} output needs "
            f"a matting model that does; {RVM_HINT}"
        )
    return None


class LiveControls:
    """The active effect and engine of a job, and the keys and buttons that change them.

    `build(name)` makes an engine for a model switch, `release(engine)` closes one the job
    owns, and `on_swap()` runs after a switch (the job resets its masks: nothing of the old
    model carries over). `pipeline` is set once the job has built it (the HUD reads its stats).
    `tuning` holds the mask settings the postprocess stage applies and the sliders change.
    """

    def __init__(
        self,
        effect: Effect,
        engine: Engine,
        build: Callable[[str], Engine],
        release: Callable[[Engine], None],
        on_swap: Callable[[], None],
        tuning: Tuning | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self.tuning = tuning or Tuning()
        self.effects: list[Effect] = [effect]
        self.effects += [e for e in map(parse_effect, CYCLE) if e.name != effect.name]
        self.effect_index = 0
        self.pinned: list[Effect] = []  # outputs' own effects (`pin`), which keys don't change
        self.show_mask = False
        self._mask_view = MaskView()
        self._release = release
        self._on_swap = on_swap
        why = refusal(engine.info, effect)
        if why is not None:
            raise RtsegError(why)
        self.engine = engine
        self._name_classes(engine.info)
        self.switch = ModelSwitch(build, lambda new: self._refusal(new.info))
        self.pipeline: Pipeline | None = None

    @property
    def chosen(self) -> Effect:
        """The effect picked by the user (the first one, until a key or button changes it)."""
        return self.effects[self.effect_index]

    @property
    def effect(self) -> Effect:
        """What the next frame is drawn with: the chosen effect, or the mask view."""
        return self._mask_view if self.show_mask else self.chosen

    def pin(self, effect: Effect) -> Effect:
        """Take an output's own effect: refused now if the model cannot show it, and from
        then on checked at each model switch, given class names, and closed with the others.

        Raises:
            RtsegError: the running model cannot show `effect`.
        """
        why = refusal(self.engine.info, effect)
        if why is not None:
            raise RtsegError(why)
        self.pinned.append(effect)
        self._name_classes(self.engine.info)
        return effect

    def _refusal(self, info: ModelInfo) -> str | None:
        """Why model `info` cannot take over: the chosen effect's or a pinned one's reason."""
        reasons = (refusal(info, effect) for effect in (self.chosen, *self.pinned))
        return next((why for why in reasons if why is not None), None)

    def _name_classes(self, info: ModelInfo) -> None:
        for effect in (*self.effects, *self.pinned):
            if isinstance(effect, NeedsLabels) and info.has_labels:
                effect.class_names = info.class_names

    # -- the model ---------------------------------------------------------------------------
    def take_switch(self) -> Engine:
        """The engine for the next frame: a model built since the last frame takes over here."""
        new = self.switch.take()
        if new is not None:
            self._swap(new)
        return self.engine

    def _swap(self, new: Engine) -> None:
        with self._lock:
            why = self._refusal(new.info)  # the effect may have changed while it loaded
            if why is None:
                old, self.engine = self.engine, new
                self._name_classes(new.info)
        if why is not None:
            new.close()
            self.switch.status = why
            log.warning("%s", why)
            return
        self._on_swap()
        self._release(old)
        self.switch.status = f"running {new.info.name}"
        log.info("switched to model %s", new.info.name)

    def close(self) -> None:
        """Wait for a model still loading, then release it, the running engine and what the
        effects hold (a video background's capture)."""
        self.switch.close()
        self._release(self.engine)
        for effect in (*self.effects, *self.pinned):
            getattr(effect, "close", lambda: None)()

    # -- the preview page ----------------------------------------------------------------------
    def control(self, key: str, value: str | float) -> str:
        """Switch the effect or the model (the preview page's buttons), or set a mask setting
        (its sliders: "grow", "feather", "smooth"), while running.

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
                why = refusal(self.engine.info, self.effects[index])
                if why is None:
                    self.effect_index = index
            if why is not None:
                raise RtsegError(f"{why}; switch the model first")
            return f"effect {value}"
        if key == "model":
            resolve(str(value))  # an unknown name is refused at once
            return self.switch.request(str(value))
        if key in RANGES:
            return f"{key} {self.tuning.set(key, value):g}"
        raise RtsegError(f"unknown control {key!r}")

    def choices(self) -> dict[str, list[str]]:
        """The values each control takes, for the preview page's buttons."""
        return {
            "effect": [e.name for e in self.effects],
            "model": [m.name for m in available_models()],
        }

    def ranges(self) -> dict[str, tuple[float, float, float]]:
        """(low, high, step) of each mask setting, for the preview page's sliders."""
        return dict(RANGES)

    def live_stats(self) -> dict[str, Any]:
        """The running figures the preview page shows."""
        pipeline = self._running()
        stats, engine = pipeline.stats, self.engine
        return {
            "fps": round(stats.live_fps(), 1),
            "latency_ms": percentiles(stats.recent_latency_ms(300)),
            "drops": sum(pipeline.drops.values()),
            "provider": engine.provider,
            "model": engine.info.name,
            "effect": self.chosen.name,
            "switch": self.switch.status,
            **self.tuning.values(),
        }

    # -- the window ----------------------------------------------------------------------------
    def on_key(self, action: str) -> None:
        """A key pressed in the window: quit, the next effect, the mask view on/off, or a
        step of a mask setting ("grow+", "feather-"...)."""
        if action == "quit":
            self._running().stop()
        elif action == "effect":
            with self._lock:  # the next effect the running model can show
                count = len(self.effects)
                for step in range(1, count):
                    index = (self.effect_index + step) % count
                    if refusal(self.engine.info, self.effects[index]) is None:
                        self.effect_index = index
                        break
        elif action == "mask":
            self.show_mask = not self.show_mask
        elif action in STEPS:
            self.tuning.step(*STEPS[action])

    def hud_lines(self) -> list[str]:
        """Text for the window's heads-up display."""
        pipeline = self._running()
        stats = pipeline.stats
        drops = sum(pipeline.drops.values())
        lag = f"  mask lag {stats.mask_lag} frames" if stats.mask_lag else ""
        latency = percentiles(stats.recent_latency_ms(60))["p50"]
        return [
            f"{stats.live_fps():5.1f} fps  latency {latency:.0f} ms  drops {drops}{lag}",
            f"{self.engine.info.name} on {self.engine.provider.replace('ExecutionProvider', '')}",
            f"effect {self.chosen.name}  (e: next, m: mask, h: HUD, q: quit)",
            f"{self.tuning.describe()}  (g/G, f/F, s/S: less/more)",
        ]

    def _running(self) -> Pipeline:
        if self.pipeline is None:
            raise RtsegError("the job has no pipeline yet")
        return self.pipeline
