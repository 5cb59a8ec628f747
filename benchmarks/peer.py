"""rtseg against its peer, MediaPipe's own loop (`benchmarks/mediapipe_loop.py`), in one run.

Both read the same clip: a shared clip upscaled to the benchmark's height and encoded once
(near-lossless H.264) before the runs, so both decode a real file of that size; results say it
was upscaled. File mode: fps of each (their ratio) and the size of each output (rtseg's mp4 vs
the peer's `mp4v`), over rounds that alternate the three file runs (rtseg's default, rtseg
`fast`, the peer) so that a slow minute on a shared machine hits them alike; each is shown by
its median run, and each round's own ratio is kept. Live: frames released at a camera's rate
into a null sink, CPU share of each (user + system CPU time over wall time; 1.0 is one core
busy), p99 and drops.

The peer runs with the Python of MediaPipe's own venv (`make peer-venv` builds .venv-mediapipe;
mediapipe pins protobuf and numpy versions the runtime's venv can't share). Without it the
peer half is skipped with the reason, and rtseg's half still runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import av
import cv2

from rtseg.bench.file import native_size
from rtseg.bench.jobs import open_job
from rtseg.bench.live import bench_live
from rtseg.bench.sources import scaled_size
from rtseg.bench.timing import process_cpu_s, summarize
from rtseg.errors import RtsegError
from rtseg.job import JobConfig
from rtseg.pipeline.channels import Policy

ROOT = Path(__file__).resolve().parents[1]
LOOP = Path(__file__).with_name("mediapipe_loop.py")
PEER_VENV = ROOT / ".venv-mediapipe"
PEER_TIMEOUT_S = 600


def peer_python(explicit: str | None = None) -> tuple[Path | None, str]:
    """The peer's interpreter and "", or None and why it can't run.

    `explicit` (`--peer-python`), else $RTSEG_PEER_PYTHON, else .venv-mediapipe.
    """
    chosen = explicit or os.environ.get("RTSEG_PEER_PYTHON")
    path = Path(chosen) if chosen else PEER_VENV / "bin" / "python"
    if not path.is_file():
        return None, f"MediaPipe peer not installed ({path} missing; run `make peer-venv`)"
    probe = subprocess.run(
        [str(path), "-c", "import mediapipe"], capture_output=True, text=True, timeout=120
    )
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        return None, f"MediaPipe peer not installed in {path}: {last}"
    return path, ""


def make_clip(source: str, height: int | None, frames: int, out: Path) -> dict:
    """`source`'s first `frames` frames at `height` (None: its own), near-lossless H.264."""
    w, h = native_size(source)
    size = scaled_size(w, h, height or h)
    count = 0
    with av.open(source) as src, av.open(str(out), "w") as dst:
        rate = src.streams.video[0].average_rate
        stream = dst.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {"crf": "12", "preset": "veryfast"}
        for frame in src.decode(video=0):
            if count == frames:
                break
            image = cv2.resize(frame.to_ndarray(format="bgr24"), size)  # INTER_LINEAR
            dst.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
            count += 1
        dst.mux(stream.encode())
    if count == 0:
        raise RtsegError(f"cannot decode {source} as video")
    return {
        "from": Path(source).name,
        "from_size": f"{w}x{h}",
        "size": f"{size[0]}x{size[1]}",
        "upscaled": size[1] > h,
        "frames": count,
    }


def rtseg_file(
    clip: Path, out: Path, model: str, frames: int, threads: int | None, quality: str | None = None
) -> dict:
    """rtseg's file mode on `clip` (default blur, .mp4): fps, bytes, CPU per frame by stage.

    `quality` None is the files' default level (`rtseg.matte.quality.default_level`)."""
    config = JobConfig(
        source=str(clip),
        model=model,
        quality=quality,
        effect="blur",
        sinks=[str(out)],
        device="cpu",
        threads=threads,
        overwrite=True,
        max_frames=frames,
        policy=Policy.BLOCK,
    )
    job = open_job(config, lambda inner: inner)
    wall0, cpu0 = time.perf_counter(), process_cpu_s()
    stats = job.run()  # includes closing the file: the encoder's tail and the mux
    wall, cpu = time.perf_counter() - wall0, process_cpu_s() - cpu0
    n = stats.frames_out
    threads_cpu = {name: summarize(ms) for name, ms in stats.cpu_ms.items()}
    own = sum(threads_cpu[s]["mean"] for s in ("preprocess", "infer", "postprocess"))
    return {
        "frames": n,
        "seconds": round(wall, 3),
        "fps": round(n / wall, 2) if wall else 0.0,
        "cpu_ms_per_frame": round(1000 * cpu / max(n, 1), 2),
        "bytes": out.stat().st_size,
        "thread_cpu_ms": threads_cpu,
        "own_cpu_ms": round(own, 2),
        "opencv_threads": cv2.getNumThreads(),
    }


def run_peer(python: Path, args: list[str]) -> dict:
    """One run of the MediaPipe loop; its last stdout line is its JSON result."""
    done = subprocess.run(
        [str(python), str(LOOP), *args], capture_output=True, text=True, timeout=PEER_TIMEOUT_S
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RtsegError(f"the MediaPipe peer failed: {last}")
    return json.loads(lines[-1])


def median_run(runs: list[dict]) -> dict:
    """The run with the median fps (the lower middle one of an even count), with every run's
    fps beside it."""
    ordered = sorted(runs, key=lambda r: r["fps"])
    return ordered[(len(ordered) - 1) // 2] | {"fps_runs": [r["fps"] for r in runs]}


def bench_peer(
    source: str,
    height: int | None,
    model: str,
    frames: int,
    live_frames: int,
    fps: float,
    python: str | None = None,
    threads: int | None = None,
    rounds: int = 3,
) -> dict:
    """File and live runs of rtseg and the MediaPipe loop on the same clip, side by side;
    the file runs `rounds` times each, alternated."""
    peer, why = peer_python(python)
    result: dict = {"peer_skipped": why} if peer is None else {"peer_python": str(peer)}
    with tempfile.TemporaryDirectory(prefix="rtseg-peer-") as tmp:
        clip = Path(tmp) / "clip.mp4"
        result["input"] = make_clip(source, height, frames, clip)
        runs: dict[str, list[dict]] = {"rtseg_file": [], "rtseg_file_fast": [], "peer_file": []}
        for _ in range(rounds):
            out = Path(tmp) / "rtseg.mp4"
            runs["rtseg_file"].append(rtseg_file(clip, out, model, frames, threads))
            # The files' default level zooms on the person; `fast` is the plain whole-frame
            # pass that MediaPipe's loop also does, so both are shown beside the peer.
            runs["rtseg_file_fast"].append(
                rtseg_file(clip, out, model, frames, threads, quality="fast")
            )
            if peer is not None:
                peer_out = Path(tmp) / "peer.mp4"
                runs["peer_file"].append(
                    run_peer(peer, [str(clip), "--output", str(peer_out), "--frames", str(frames)])
                )
        result |= {name: median_run(done) for name, done in runs.items() if done}
        live = bench_live(str(clip), "native", model, fps, live_frames, "cpu", threads, "null")
        result["rtseg_live"] = {
            k: live[k] for k in ("drops", "frames_in", "frames_out", "cpu_share", "fps_out")
        } | {"latency_ms": live["latency_ms"], "thread_cpu_ms": live["thread_cpu_ms"]}
        if peer is not None:
            result["peer_live"] = run_peer(
                peer, [str(clip), "--live-fps", f"{fps:g}", "--frames", str(live_frames)]
            )
    if peer is not None:
        rt, mp = result["rtseg_file"], result["peer_file"]
        result["fps_ratio"] = round(rt["fps"] / mp["fps"], 3) if mp["fps"] else None
        result["size_ratio"] = round(rt["bytes"] / mp["bytes"], 3) if mp["bytes"] else None
        fast = result["rtseg_file_fast"]
        result["fps_ratio_fast"] = round(fast["fps"] / mp["fps"], 3) if mp["fps"] else None
        # each round's own ratio: how far one round can land from the medians' ratio
        pairs = zip(rt["fps_runs"], mp["fps_runs"], strict=True)
        result["fps_ratio_rounds"] = [round(a / b, 3) for a, b in pairs if b]
    return result


def format_peer(result: dict) -> str:
    """The side-by-side table `python -m benchmarks peer` prints."""
    clip = result["input"]
    head = (
        f"input: {clip['from']} ({clip['from_size']}) "
        f"{'upscaled' if clip['upscaled'] else 'resized'} to {clip['size']}, "
        f"{clip['frames']} frames"
    )
    rows = [("", "rtseg (default)", "rtseg --quality fast", "MediaPipe loop")]
    rt_f, rt_l = result["rtseg_file"], result["rtseg_live"]
    fast_f = result.get("rtseg_file_fast")
    mp_f, mp_l = result.get("peer_file"), result.get("peer_live")

    def cells(fmt, a, fast, b) -> tuple[str, str, str]:
        return (
            fmt(a),
            fmt(fast) if fast is not None else "(live default)",
            fmt(b) if b is not None else "skipped",
        )

    rows.append(("file fps", *cells(lambda r: f"{r['fps']:.1f}", rt_f, fast_f, mp_f)))
    rows.append(
        ("file CPU ms/frame", *cells(lambda r: f"{r['cpu_ms_per_frame']:.1f}", rt_f, fast_f, mp_f))
    )
    rows.append(("file bytes", *cells(lambda r: f"{r['bytes']:,}", rt_f, fast_f, mp_f)))
    rows.append(("live CPU share", *cells(lambda r: f"{r['cpu_share']:.2f}", rt_l, None, mp_l)))
    rows.append(
        ("live p99 ms", *cells(lambda r: f"{r['latency_ms']['p99']:.1f}", rt_l, None, mp_l))
    )
    rows.append(("live drops", *cells(lambda r: str(r["drops"]), rt_l, None, mp_l)))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [head] + ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    rounds = len(rt_f.get("fps_runs", [rt_f["fps"]]))
    if rounds > 1:
        lines[0] += f"; file fps: the median of {rounds} alternated rounds"
    if "fps_ratio" in result:
        each = result.get("fps_ratio_rounds") or [result["fps_ratio"]]
        lines.append(
            f"rtseg / peer: {result['fps_ratio']:.2f}x fps (rounds {min(each):.2f}-"
            f"{max(each):.2f}x; {result['fps_ratio_fast']:.2f}x with --quality fast), "
            f"{result['size_ratio']:.2f}x file size"
        )
    else:
        lines.append(result["peer_skipped"])
    lines.append(f"rtseg CPU per frame by thread (mean ms): {_by_thread(rt_f['thread_cpu_ms'])}")
    return "\n".join(lines)


def _by_thread(cpu: dict[str, dict[str, float]]) -> str:
    return ", ".join(f"{name} {s['mean']:.2f}" for name, s in cpu.items())
