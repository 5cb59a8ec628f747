"""`rtseg.RunStats`: a finished run's figures as typed attributes, and their JSON form."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Percentiles:
    """Percentiles of a series of times, in milliseconds, over the run's last frames."""

    p50: float
    p95: float
    p99: float


@dataclass(frozen=True)
class RunStats:
    """What a run did: the figures `rtseg run` prints and `--stats-json` writes.

    Counts cover the whole run; percentiles cover its most recent 10,000 frames.
    """

    frames_in: int  # frames the source gave
    frames_out: int  # frames the outputs received
    frames_expected: int | None  # frames the input's index promised, where it says
    frames_lost: int  # frames promised or sent that could not be decoded
    drops: int  # frames dropped by the live channels, in all
    drops_by_channel: dict[str, int]  # the same, per channel
    mask_lag_max: int  # most frames a mask lagged its frame (newest-mask mode)
    elapsed_s: float  # from the first frame's capture to the end of the run
    fps_out: float  # frames_out / elapsed_s
    latency_ms: Percentiles  # capture to the last output, per frame
    stages: dict[str, Percentiles]  # time in each stage, per frame
    providers: list[str]  # the ONNX Runtime providers that ran the model
    model: str  # the model's name
    inference_threads: int | None = None  # ONNX Runtime intra-op threads of the model
    mask_age_frames: Percentiles | None = None  # frames between each frame and its mask's
    mask_every: int = 1  # the model ran on every Nth frame at the end (a live run raises it)
    # time of optional steps inside the stages (`people`, `auto-frame`, `grow/feather`), per
    # frame they ran on; empty when none ran
    steps: dict[str, Percentiles] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, summary: dict[str, Any]) -> RunStats:
        """The stats from their JSON form (`as_dict`, or a `--stats-json` file's content)."""
        return cls(
            **{
                **summary,
                "latency_ms": Percentiles(**summary["latency_ms"]),
                "stages": {name: Percentiles(**p) for name, p in summary["stages"].items()},
                "mask_age_frames": (
                    Percentiles(**summary["mask_age_frames"])
                    if summary.get("mask_age_frames") is not None
                    else None
                ),
                "steps": {n: Percentiles(**p) for n, p in summary.get("steps", {}).items()},
            }
        )

    def as_dict(self) -> dict[str, Any]:
        """The JSON form, as `--stats-json` writes it."""
        return asdict(self)
