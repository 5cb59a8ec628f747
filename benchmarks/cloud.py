"""Object-storage benchmark: `python -m benchmarks.cloud --out DIR`.

An S3 API server (moto, in this process) on loopback, reached directly or through a proxy
that limits the link's bandwidth (one token bucket per direction, shared by every connection,
as a network link is). Every run is a fresh `python -m rtseg` process, timed to its exit:
- one video, `rtseg run` each time: local file to local file; s3:// to s3:// streamed (what
  rtseg does); and download, run locally, upload (what a tool without streaming does), at
  several bandwidths;
- many short clips: `rtseg batch` local to local against s3:// to s3://, for the cost a file
  pays for being in storage (requests, the upload) beside its frames.
Bytes moved come from the batch report (`bytes_read`, `bytes_written`). Writes cloud.json and
cloud.md into DIR, and prints the table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import fsspec

from benchmarks.batch import make_clip, rtseg, timed
from benchmarks.output import write_results
from rtseg.bench.machine import describe, load_average, machine_info
from rtseg.bench.report import table

# Link speeds the throttled runs use, in megabits per second (0: loopback, unlimited).
LINKS_MBIT = (0, 20, 5, 2)


class Throttle:
    """A TCP proxy on 127.0.0.1 to `port`, moving at most `mbit` megabits a second each way."""

    def __init__(self, port: int, mbit: float) -> None:
        self.target = port
        self.rate = mbit * 1e6 / 8
        self._next = {"up": 0.0, "down": 0.0}
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.port = 0

        async def start() -> None:
            server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            await server.serve_forever()

        self._thread = threading.Thread(
            target=lambda: self._loop.run_until_complete(start()), daemon=True
        )
        self._thread.start()
        ready.wait(10)

    async def _pace(self, direction: str, size: int) -> None:
        now = time.monotonic()
        self._next[direction] = max(now, self._next[direction]) + size / self.rate
        await asyncio.sleep(self._next[direction] - now)

    async def _pipe(self, reader, writer, direction: str) -> None:
        try:
            while data := await reader.read(16384):
                await self._pace(direction, len(data))
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _serve(self, reader, writer) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        await asyncio.gather(
            self._pipe(reader, up_writer, "up"), self._pipe(up_reader, writer, "down")
        )

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)


@contextlib.contextmanager
def s3_endpoint() -> Iterator[tuple[fsspec.AbstractFileSystem, int]]:
    """moto on 127.0.0.1 with buckets `media` and `results`; its port."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
    try:
        fs = fsspec.filesystem("s3", skip_instance_cache=True)
        fs.mkdir("media")
        fs.mkdir("results")
        yield fs, port
    finally:
        server.stop()


def batch_report(args: list[str], report: Path, env: dict) -> tuple[float, list[dict]]:
    seconds = timed([*args, "--report", str(report), "-q"], env)
    return seconds, [json.loads(line) for line in report.read_text().splitlines()]


def one_video(
    fs, port: int, clip: Path, work: Path, model: str, links: tuple[float, ...] = LINKS_MBIT
) -> list[dict]:
    """Local, streamed and download-first runs of `clip` at each link speed."""
    fs.put_file(str(clip), "media/one/clip.mp4")
    common = ["--model", model, "--overwrite", "--workers", "1"]
    local = timed(
        rtseg("run", "-q", "--overwrite", "--model", model, "--source", str(clip), "--sink",
              str(work / "local.mp4"))
    )  # fmt: skip
    # What one file moves, from the batch report (the same reads and writes as `rtseg run`).
    _, lines = batch_report(
        rtseg("batch", "s3://media/one/", "--out", "s3://results/batch", *common),
        work / "one.jsonl",
        {},
    )
    line = lines[0]
    rows = []
    for mbit in links:
        proxy = Throttle(port, mbit) if mbit else None
        env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{proxy.port if proxy else port}"}
        try:
            streamed = timed(
                rtseg("run", "-q", "--overwrite", "--model", model, "--source",
                      "s3://media/one/clip.mp4", "--sink", "s3://results/streamed.mp4"),
                env,
            )  # fmt: skip
            link = fsspec.filesystem("s3", skip_instance_cache=True, endpoint_url=env[
                "AWS_ENDPOINT_URL"])  # fmt: skip
            started = time.perf_counter()
            link.get_file("media/one/clip.mp4", str(work / "downloaded.mp4"))
            download_s = time.perf_counter() - started
            run_s = timed(
                rtseg("run", "-q", "--overwrite", "--model", model, "--source",
                      str(work / "downloaded.mp4"), "--sink", str(work / "made.mp4"))
            )  # fmt: skip
            started = time.perf_counter()
            link.put_file(str(work / "made.mp4"), "results/made.mp4")
            upload_s = time.perf_counter() - started
        finally:
            if proxy:
                proxy.close()
        rows.append(
            {
                "link_mbit": mbit,
                "local_s": local,
                "streamed_s": streamed,
                "download_first_s": round(download_s + run_s + upload_s, 2),
                "download_s": round(download_s, 2),
                "upload_s": round(upload_s, 2),
                "bytes_read": line["bytes_read"],
                "bytes_written": line["bytes_written"],
                "input_bytes": clip.stat().st_size,
                "frames": line["frames_out"],
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def many_files(fs, clips: Path, work: Path, model: str) -> dict:
    """The same batch of short clips local to local and s3:// to s3:// (loopback)."""
    for path in sorted(clips.glob("*.mp4")):
        fs.put_file(str(path), f"media/many/{path.name}")
    common = ["--model", model, "--overwrite", "--workers", "2"]
    local_s, _ = batch_report(
        rtseg("batch", str(clips), "--out", str(work / "many-out"), *common),
        work / "l.jsonl",
        {},
    )
    remote_s, lines = batch_report(
        rtseg("batch", "s3://media/many/", "--out", "s3://results/many", *common),
        work / "r.jsonl",
        {},
    )
    files = len(lines)
    return {
        "files": files,
        "clip_seconds": 1.0,
        "local_s": local_s,
        "s3_s": remote_s,
        "extra_per_file_s": round((remote_s - local_s) / files, 3),
        "bytes_read_per_file": round(sum(r["bytes_read"] for r in lines) / files),
        "bytes_written_per_file": round(sum(r["bytes_written"] for r in lines) / files),
    }


def render(result: dict) -> str:
    lines = [
        "# Object storage (moto on loopback, throttled by a proxy)",
        "",
        f"Machine: {describe(result['machine'])}; load before {result['load_before']}.",
        f"Command: `{result['command']}`",
        "",
        f"One video: {result['video']}.",
        "",
    ]
    rows = [
        [
            f"{r['link_mbit']:g}" if r["link_mbit"] else "loopback",
            f"{r['local_s']:.2f}",
            f"{r['streamed_s']:.2f}",
            f"{r['download_first_s']:.2f} ({r['download_s']:.2f} + run + {r['upload_s']:.2f})",
            f"{r['bytes_read'] / 1e6:.1f} / {r['bytes_written'] / 1e6:.1f}",
        ]
        for r in result["one_video"]
    ]
    header = ["link Mbit/s", "local s", "streamed s", "download-first s", "MB read / written"]
    lines += table(header, rows)
    many = result["many_files"]
    lines += [
        "",
        f"Many files: {many['files']} clips of {many['clip_seconds']} s, 2 workers: local "
        f"{many['local_s']:.2f} s, s3:// {many['s3_s']:.2f} s, "
        f"{many['extra_per_file_s']:.3f} s more a file; "
        f"{many['bytes_read_per_file'] / 1e3:.0f} kB read and "
        f"{many['bytes_written_per_file'] / 1e3:.0f} kB written a file.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cloud", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    parser.add_argument("--model", default="selfie_general")
    parser.add_argument("--seconds", type=float, default=10.0, help="the one video's length")
    parser.add_argument("--height", type=int, default=540)
    parser.add_argument("--files", type=int, default=8, help="short clips in the batch")
    parser.add_argument(
        "--links",
        default=",".join(map(str, LINKS_MBIT)),
        help="link speeds in Mbit/s, 0 for unlimited loopback (default %(default)s)",
    )
    args = parser.parse_args(argv)
    work = args.out / "cloud-work"
    clip = make_clip(work / "clip.mp4", args.seconds, args.height)
    for i in range(args.files):
        make_clip(work / "many" / f"c{i:02d}.mp4", 1.0, 360, offset=i)
    result = {
        "command": "python -m benchmarks.cloud " + " ".join(argv or sys.argv[1:]),
        "machine": machine_info(),
        "load_before": load_average(),
        "video": f"{args.seconds} s at {args.height}p, {clip.stat().st_size / 1e6:.1f} MB",
    }
    with s3_endpoint() as (fs, port):
        links = tuple(float(x) for x in args.links.split(","))
        result["one_video"] = one_video(fs, port, clip, work, args.model, links)
        result["many_files"] = many_files(fs, work / "many", work, args.model)
    text = render(result)
    write_results(args.out, "cloud", result, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
