"""Several variants (models, devices, thread counts, sizes) measured in one run, alternated.

Each variant's frames or runs are split into rounds, and every round visits every variant in
a rotated order, so a drift of the machine (another job starting, the CPU's clock changing)
hits all of them alike instead of the one that happened to run last. A round's samples are
pooled per variant, then summarised.
"""

from __future__ import annotations

import itertools
import shlex
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rtseg.bench.engine import time_engine
from rtseg.bench.file import file_config, pipeline_run, target_size
from rtseg.bench.live import bench_live, overload_check
from rtseg.bench.timing import process_cpu_s, rounded, summarize
from rtseg.models.engine import WARMUP_SIZE, Engine
from rtseg.models.registry import resolve
from rtseg.models.transforms import model_input_size

MODES = ("engine", "file", "live", "overload")
# A chain of convolutions slower than a camera's frame period, made by benchmarks/slow_model.py:
# the overload benchmark's default model.
SLOW_MODEL = "slow_convs"
SLOW_MODEL_PATH = Path(__file__).with_name("slow_convs.onnx")


def model_path(model: str) -> str:
    """The model to open for `model`: the slow model by its name, else as `rtseg run` reads it."""
    return str(SLOW_MODEL_PATH) if model == SLOW_MODEL else model


@dataclass(frozen=True)
class Variant:
    """One configuration to measure; None leaves a setting at `rtseg run`'s default."""

    model: str
    device: str = "auto"
    threads: int | None = None
    size: str = "720"  # a frame height such as 720, or `native`
    io_binding: bool | None = None  # engine only: None binds on a GPU, not on the CPU


@dataclass(frozen=True)
class Settings:
    """What every variant of one run shares."""

    mode: str
    source: str = "sample"
    frames: int = 300  # file, live, overload: frames per variant, over all rounds
    runs: int = 200  # engine: runs per variant, over all rounds
    fps: float = 30.0  # live, overload: the paced source's rate
    rounds: int = 3


def variants(
    models: list[str],
    devices: list[str],
    threads: list[int | None],
    sizes: list[str],
    io_bindings: list[bool | None],
) -> list[Variant]:
    """Every combination, in the order given (models vary slowest)."""
    return [
        Variant(*combo) for combo in itertools.product(models, devices, threads, sizes, io_bindings)
    ]


def label(variant: Variant, varied: set[str]) -> str:
    """A short name for the table: the settings that differ between the run's variants."""
    parts = {
        "model": Path(variant.model).name,
        "device": variant.device,
        "threads": threads_label(variant.threads),
        "size": f"{variant.size}p" if variant.size.isdecimal() else variant.size,
        "io_binding": "bound" if variant.io_binding else "unbound",
    }
    shown = [parts[k] for k in parts if k in varied] or [parts["model"]]
    return " · ".join(shown)


def threads_label(threads: int | None) -> str:
    if threads is None:
        return "default threads"
    return f"{threads} thread" + ("s" if threads > 1 else "")


def varied_fields(chosen: list[Variant]) -> set[str]:
    """The settings that take more than one value among `chosen`."""
    fields = ("model", "device", "threads", "size", "io_binding")
    return {f for f in fields if len({getattr(v, f) for v in chosen}) > 1}


def command(variant: Variant, settings: Settings) -> str:
    """The `rtseg bench` line that measures `variant` alone, with the same settings."""
    args = ["rtseg", "bench", settings.mode, "--model", variant.model, "--device", variant.device]
    if variant.threads is not None:
        args += ["--threads", str(variant.threads)]
    if settings.mode == "engine":
        if variant.io_binding is not None:
            args += ["--io-binding", "yes" if variant.io_binding else "no"]
        args += ["--runs", str(settings.runs)]
    else:
        args += ["--source", settings.source, "--size", variant.size]
        args += ["--frames", str(settings.frames)]
    if settings.mode in ("live", "overload"):
        args += ["--fps", f"{settings.fps:g}"]
    if settings.mode == "engine" and variant.size != "720":
        args += ["--size", variant.size]
    return shlex.join(args)


def schedule(count: int, rounds: int) -> Iterator[tuple[int, int]]:
    """(round, variant index) pairs: every round visits every variant, starting one later."""
    for r in range(rounds):
        for i in range(count):
            yield r, (r + i) % count


def shares(total: int, rounds: int) -> list[int]:
    """`total` split into `rounds` nearly equal whole parts (none empty)."""
    rounds = max(1, min(rounds, total))
    return [total // rounds + (1 if r < total % rounds else 0) for r in range(rounds)]


class EngineRounds:
    """The engine benchmark: one session per variant, opened before the first round, so every
    round times a warm engine; inputs are random frames at the model's size."""

    def __init__(self, chosen: list[Variant]) -> None:
        self.engines: list[Engine] = []
        try:
            for v in chosen:
                self.engines.append(
                    Engine(
                        resolve(model_path(v.model)),
                        v.device,
                        v.threads,
                        10,
                        io_binding=v.io_binding,
                    )
                )
        except BaseException:
            self.close()
            raise

    def measure(self, index: int, variant: Variant, count: int) -> dict:
        engine = self.engines[index]
        size = fed_size(engine, variant.size)
        cpu0, wall0 = process_cpu_s(), time.perf_counter()
        samples = time_engine(engine, count, seed=index, size=size)
        cpu, wall = process_cpu_s() - cpu0, time.perf_counter() - wall0
        return {
            "model": engine.info.name,
            "precision": engine.info.precision + (" (TensorRT fp16)" if engine.fp16 else ""),
            "io_binding": engine.io_binding,
            "provider": engine.provider,
            "fell_back": engine.fell_back,
            "input_size": input_size(engine, size),
            "frames": len(samples),
            "cpu_s": cpu,
            "cpu_wall_s": wall,  # the CPU's share counts the warm pass over the inputs too
            "wall_s": sum(samples) / 1000,
            "latency": samples,
            "stages": {},
        }

    def close(self) -> None:
        for engine in self.engines:
            engine.close()


def fed_size(engine: Engine, height: str) -> tuple[int, int] | None:
    """(h, w) of what `rtseg run` feeds a model of any input size (RVM) for a 16:9 frame
    `height` high: the frame shrunk by RVM's ratio rule; None for a fixed-size model, or for
    `native` (the engine's warm-up size)."""
    if not engine.info.dynamic or height == "native":
        return None
    h = int(height)
    return model_input_size(engine.info, h, 2 * round(h * 16 / 9 / 2))


def input_size(engine: Engine, size: tuple[int, int] | None) -> str:
    """The frame the model was timed on, width x height like the other modes' sizes."""
    if size is None:
        size = WARMUP_SIZE if engine.info.dynamic else (engine.info.height, engine.info.width)
    return f"{size[1]}x{size[0]}"


def measure_file(settings: Settings, variant: Variant, count: int) -> dict:
    size = target_size(settings.source, variant.size)
    config = file_config(
        settings.source, model_path(variant.model), count, variant.device, variant.threads
    )
    run = pipeline_run(config, size)
    return run | {"size": f"{size[0]}x{size[1]}"}


def measure_live(settings: Settings, variant: Variant, count: int) -> dict:
    overload = settings.mode == "overload"
    run = bench_live(
        settings.source,
        variant.size,
        model_path(variant.model),
        settings.fps,
        count,
        variant.device,
        variant.threads,
        sync=overload,
    )
    return {
        "model": run["model"],
        "provider": run["provider"],
        "fell_back": run["fell_back"],
        "size": run["size"],
        "frames": run["frames_out"],
        "frames_in": run["frames_in"],
        "drops": run["drops"],
        "mask_lag_max": run["mask_lag_max"],
        "high_water": max(run["high_water"].values()),
        "cpu_s": run["cpu_s"],
        "wall_s": run["wall_s"],
        "latency": run["samples_ms"]["capture->sink"],
        "stages": {k: v for k, v in run["samples_ms"].items() if k != "capture->sink"},
    }


def pool(variant: Variant, settings: Settings, parts: list[dict], varied: set[str]) -> dict:
    """One variant's rounds as one result: percentiles over every sample of every round."""
    latency = [x for p in parts for x in p["latency"]]
    stage_names = list(parts[0]["stages"])
    stages = {name: [x for p in parts for x in p["stages"][name]] for name in stage_names}
    frames = sum(p["frames"] for p in parts)
    wall = sum(p["wall_s"] for p in parts)
    cpu_wall = sum(p.get("cpu_wall_s", p["wall_s"]) for p in parts)
    first = parts[0]
    row = {
        "label": label(variant, varied),
        "model": first["model"],
        "model_arg": variant.model,
        "device": variant.device,
        "provider": first["provider"],
        "fell_back": any(p["fell_back"] for p in parts),
        "threads": variant.threads,
        "size": first.get("size") or first.get("input_size"),
        "frames": frames,
        "fps": round(frames / wall, 2) if wall else 0.0,
        "fps_by_round": [
            round(p["frames"] / p["wall_s"], 2) if p["wall_s"] else 0.0 for p in parts
        ],
        "cpu_share": round(sum(p["cpu_s"] for p in parts) / cpu_wall, 3) if cpu_wall else 0.0,
        "latency_ms": summarize(latency),
        "stages_ms": {name: summarize(ms) for name, ms in stages.items()},
        "command": command(variant, settings),
        "samples_ms": {"latency": rounded(latency), **{n: rounded(s) for n, s in stages.items()}},
    }
    if settings.mode == "engine":
        row |= {"io_binding": first["io_binding"], "precision": first["precision"]}
    if settings.mode in ("live", "overload"):
        row |= {
            "frames_in": sum(p["frames_in"] for p in parts),
            "drops": sum(p["drops"] for p in parts),
            "mask_lag_max": max(p["mask_lag_max"] for p in parts),
            "max_high_water": max(p["high_water"] for p in parts),
        }
    if settings.mode == "overload":
        row["check"] = overload_check(
            {
                "fps_target": settings.fps,
                "stages_ms": row["stages_ms"],
                "latency_ms": row["latency_ms"],
                "high_water": {"largest": row["max_high_water"]},
                "drops": row["drops"],
            }
        )
    return row


def run_variants(
    settings: Settings, chosen: list[Variant], say: Callable[[str], None] = lambda _: None
) -> list[dict]:
    """Measure every variant, alternated over `settings.rounds` rounds; one result each."""
    varied = varied_fields(chosen)
    total = settings.runs if settings.mode == "engine" else settings.frames
    counts = shares(total, settings.rounds)
    parts: list[list[dict]] = [[] for _ in chosen]
    engines = EngineRounds(chosen) if settings.mode == "engine" else None
    try:
        for r, i in schedule(len(chosen), len(counts)):
            variant = chosen[i]
            say(f"{settings.mode}: round {r + 1}/{len(counts)}: {label(variant, varied)}")
            if engines is not None:
                parts[i].append(engines.measure(i, variant, counts[r]))
            elif settings.mode == "file":
                parts[i].append(measure_file(settings, variant, counts[r]))
            else:
                parts[i].append(measure_live(settings, variant, counts[r]))
    finally:
        if engines is not None:
            engines.close()
    return [pool(v, settings, p, varied) for v, p in zip(chosen, parts, strict=True)]
