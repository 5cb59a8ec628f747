"""What each `--quality` level turns on: test-time flip, zoom on the person, edge refinement,
temporal smoothing. The levels were chosen by measurement (`python -m benchmarks.quality`,
docs/quality.md) so that each is the best mask found for its cost.
"""

from __future__ import annotations

from dataclasses import dataclass

from rtseg.errors import RtsegError
from rtseg.matte.passes import Passes
from rtseg.matte.refine import EdgeRefiner
from rtseg.matte.roi import RoiSettings
from rtseg.matte.temporal import DEFAULT_STRENGTH, TemporalSmoother
from rtseg.models.transforms import Ratio, RatioRule, long_side_ratio


@dataclass(frozen=True)
class Quality:
    """One combination of the mask options.

    refine_short_side: the guided filter's working short side (see `EdgeRefiner`), or None
        for no refinement (a bilinear upscale).
    coarse_short_side: its working short side for masks without a zoomed pass (None: the
        same).
    matting_ratio: the rule sizing a matting model's input for a frame or crop (None: its
        area brought to 320x180's, `rtseg.models.transforms.auto_ratio`).
    """

    flip: bool
    zoom: RoiSettings | None
    refine_short_side: int | None
    smooth: float = DEFAULT_STRENGTH  # temporal smoothing strength, 0 (off) to 1
    canvas_long: int = 640
    coarse_short_side: int | None = None
    matting_ratio: RatioRule | None = None

    def ratio(self, asked: float | None = None) -> Ratio:
        """What sizes a matting model's input: `asked` (`--downsample-ratio`), else the
        level's rule (None: `rtseg.models.transforms.auto_ratio`)."""
        return self.matting_ratio if asked is None else asked

    def passes(self, ratio: float | None = None) -> Passes:
        """The passes of this level; `ratio`: a matting model's downsample ratio (None: the
        level's rule, see `ratio`)."""
        return Passes(self.flip, self.zoom, self.canvas_long, self.ratio(ratio))

    def refiner(self, wanted: bool | None = None) -> EdgeRefiner | None:
        """The level's edge refinement; `wanted` (`--refine`/`--no-refine`) turns it on or
        off. On is the level's own refinement, at its working sizes: a refiner built apart
        from the level would fit zoomed masks at the wrong size and blur their detail."""
        if wanted is False or (wanted is None and self.refine_short_side is None):
            return None
        if self.refine_short_side is None:  # a level without refinement, turned on
            return EdgeRefiner()
        return EdgeRefiner(
            work_short_side=self.refine_short_side, coarse_short_side=self.coarse_short_side
        )

    def smoother(self, strength: float | None = None) -> TemporalSmoother:
        """The level's temporal smoothing at `strength` (`--smooth`; None: the level's).
        Strength 0 keeps a smoother that passes alpha through, so a viewer can turn it on
        while running."""
        return TemporalSmoother(self.smooth if strength is None else strength)


# Measured with `python -m benchmarks.quality` (docs/quality.md): the zoom lifts IoU
# and boundary F on every set and lowers flicker on the clips; the flip adds IoU and boundary F
# on stills but makes the mask flicker more on clips, which smoothing does not hide; the guided
# filter at a 360-pixel working size keeps the zoomed detail (at 180 it blurred it away on the
# composites), while a whole-frame mask has no such detail: fitted at 180 with half the
# radius it scores the same or better everywhere (P3M boundary F 0.642 against 0.633, flicker
# on the close-ups 0.00119 and 0.00049 against 0.00118 and 0.00048) and refines a 720p frame
# in 1.7 ms instead of 3.2.
LEVELS: dict[str, Quality] = {
    "fast": Quality(flip=False, zoom=None, refine_short_side=180),
    "balanced": Quality(
        flip=False, zoom=RoiSettings(margin=0.3), refine_short_side=360, coarse_short_side=180
    ),
    "best": Quality(
        flip=True, zoom=RoiSettings(margin=0.2), refine_short_side=360, coarse_short_side=180
    ),
}


# A matting model (RVM: any input size, recurrent) at the same level names, measured with
# the sweep in docs/matting.md ("Defaults"): its network costs 10-30x the bundled model's, so
# every pass counts. The flip doubled the passes for no better mask (P3M boundary F 0.753
# against 0.750). A zoomed crop takes the person's own shape and, on video, the whole frame's
# pixel count (`auto_ratio`): it costs no more than a whole-frame pass and sees the person
# larger, which kept flicker at or below the 480-px default's (0.00042 / 0.00028 on the two
# clips against 0.00043 / 0.00030) at 1.1x the cost of no zoom; one crop holds everybody, so
# a frame is one pass however many people it shows. Photos get a crop with its longer side at
# 384 px (`long_side_ratio`), which the portraits' boundary F and small people needed.
_MATTING_ZOOM = RoiSettings(margin=0.3, together=True)
MATTING_LEVELS: dict[str, Quality] = {
    "fast": Quality(flip=False, zoom=None, refine_short_side=180),
    "balanced": Quality(
        flip=False, zoom=_MATTING_ZOOM, refine_short_side=360, coarse_short_side=180
    ),
    "best": Quality(
        flip=False,
        zoom=_MATTING_ZOOM,
        refine_short_side=360,
        coarse_short_side=180,
        matting_ratio=long_side_ratio,
    ),
}


def default_level(live: bool, images: bool) -> str:
    """The level a source gets unless told: photos the best masks, video files the best
    masks that don't flicker more, a live camera the cheapest, which keeps it within the live
    CPU budget (on a 720p close-up the other levels cost 1.3x and 1.8x its mask CPU time)."""
    if live:
        return "fast"
    return "best" if images else "balanced"


def quality_level(name: str, matting: bool = False) -> Quality:
    """The level called `name` (a matting model's with `matting`: a network of any input
    size), or a clear error."""
    if name not in LEVELS:
        raise RtsegError(f"unknown quality {name!r}; choose one of {', '.join(LEVELS)}")
    return (MATTING_LEVELS if matting else LEVELS)[name]
