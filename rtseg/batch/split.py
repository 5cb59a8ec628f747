"""One long video cut into frame-exact segments for several workers, then joined unchanged.

Each segment is a task like any file: the worker decodes frames [start, stop) of the input
and writes them, encoded, to a segment file. The segment files are joined by FFmpeg's concat
demuxer with stream copy (no re-encoding), and the input's audio is added once, in the same
pass, so the output has the input's frames, duration and sound.

No seam may show. A segment cannot start its temporal smoothing from nothing, or the mask
would jump where a single run's is steady, so each one first runs `warmup` frames before
its start through the whole pipeline and throws their output away: by the segment's first
frame the smoother holds (to well under one grey level) the state a single run has there.
"""

from __future__ import annotations

import itertools
import math
import shutil
import subprocess
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av

from rtseg.batch.discover import Item
from rtseg.batch.resume import frame_count
from rtseg.batch.tasks import Task
from rtseg.engine import Engine
from rtseg.errors import RtsegError
from rtseg.ffmpeg import container_for, find_ffmpeg, first_error_line, probe_audio_codec
from rtseg.frame import Frame
from rtseg.job import Job, JobConfig
from rtseg.outputs import partial_name
from rtseg.sinks import Sink

# Seconds of video run before each segment and discarded. The smoother's still-region weight
# is 0.15, so a difference left from the start decays as 0.85^n: after 2 s at 30 fps (60
# frames) it is below 1e-4 of full scale.
WARMUP_S = 2.0
# `--split auto` splits a video only when every segment gets at least this many frames.
MIN_SEGMENT_FRAMES = 300


def parts_for(split: int | str | None, frames: int, workers: int) -> int:
    """How many segments a video of `frames` frames is cut into."""
    if split is None or frames < 2:
        return 1
    if split == "auto":
        return max(1, min(workers, frames // MIN_SEGMENT_FRAMES))
    return max(1, min(int(split), frames))


def segments_dir(output: Path) -> Path:
    """Where a split output's segments are written; the name says they are partial."""
    return partial_name(output, "partial-segments").with_suffix("")


def video_rate(path: Path) -> Fraction:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return Fraction(stream.average_rate or stream.guessed_rate or 30)


def plan(source: Path, output: Path, frames: int, parts: int, every: int = 1) -> list[Task]:
    """Tasks for `parts` segments of `source`; boundaries and warmups are multiples of
    `every` (the mask period), so each segment runs the model on the frames a single run does."""
    warmup = math.ceil(WARMUP_S * video_rate(source) / every) * every
    folder = segments_dir(output)
    bounds = [round(i * frames / parts / every) * every for i in range(parts)] + [frames]
    return [
        Task(
            str(source),
            str(folder / f"{i:03d}{output.suffix}"),
            start=start,
            stop=stop,
            warmup=min(warmup, start),
        )
        for i, (start, stop) in enumerate(itertools.pairwise(bounds))
        if stop > start
    ]


class SegmentSource:
    """Frames [first, stop) of a video file, decoded by PyAV after seeking to the keyframe
    before `first`; frames are found by their timestamps, so the cut is frame-exact."""

    live = False

    def __init__(self, path: str, first: int, stop: int) -> None:
        try:
            self._container = av.open(path)
        except (av.FFmpegError, OSError) as exc:
            raise RtsegError(f"cannot decode {path} as video ({exc})") from None
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        self.fps = float(stream.average_rate or 30)
        stamps = sorted(p.pts for p in self._container.demux(stream) if p.pts is not None)
        if stop > len(stamps):
            raise RtsegError(f"{path} has {len(stamps)} frames, not {stop}")
        self._first_pts = stamps[first]
        self._stop_pts = stamps[stop] if stop < len(stamps) else None
        self._container.seek(self._first_pts, stream=stream, backward=True, any_frame=False)
        self._frames = self._container.decode(stream)
        self.frames_expected = stop - first
        self._seq = 0

    def read(self) -> Frame | None:
        if self._seq >= self.frames_expected:
            return None
        for decoded in self._frames:
            if decoded.pts is None or decoded.pts < self._first_pts:
                continue
            if self._stop_pts is not None and decoded.pts >= self._stop_pts:
                return None
            frame = Frame(seq=self._seq, image=decoded.to_ndarray(format="bgr24"))
            self._seq += 1
            return frame
        return None

    def close(self) -> None:
        self._container.close()


class AfterWarmup:
    """Passes on frames from the segment's own start; the warmup frames before it are dropped."""

    def __init__(self, sink: Sink, warmup: int) -> None:
        self.sink = sink
        self.warmup = warmup

    def write(self, frame: Frame) -> None:
        if frame.seq >= self.warmup:
            self.sink.write(frame)

    def close(self) -> None:
        self.sink.close()

    def abort(self) -> None:
        self.sink.abort()

    @property
    def partial_path(self) -> Path | None:
        return getattr(self.sink, "partial_path", None)


def segment_job(config: JobConfig, engine: Engine, task: Task) -> Job:
    """`rtseg run`'s job on one segment (warmup included), writing only the segment's frames.

    Segment files are this batch's own temporaries, so an old one from a stopped run is
    replaced."""
    assert task.stop is not None
    source = SegmentSource(task.source, task.start - task.warmup, task.stop)
    try:
        job = Job(replace(config, overwrite=True), source, engine)
    except BaseException:
        source.close()
        raise
    job.pipeline.sinks[:] = [AfterWarmup(s, task.warmup) for s in job.pipeline.sinks]
    return job


def join(source: Path, segments: list[Path], item: Item) -> None:
    """Concatenate the encoded segments (stream copy) with `source`'s audio into the output.

    The output appears under its final name only once it is complete."""
    folder = segments[0].parent
    listing = folder / "segments.txt"
    listing.write_text("".join(f"file '{p.name}'\n" for p in segments))
    spec = container_for(item.output)
    audio = probe_audio_codec(source)
    frames = sum(frame_count(p) or 0 for p in segments)
    duration = frames / video_rate(source)
    tmp = partial_name(item.output)
    cmd = [
        find_ffmpeg(), "-hide_banner", "-nostats", "-loglevel", "error", "-y", "-nostdin",
        "-f", "concat", "-safe", "0", "-i", str(listing),
    ]  # fmt: skip
    if audio:
        copy = audio in spec.audio_copy
        cmd += ["-i", str(source), "-map", "0:v:0", "-map", "1:a:0"]
        cmd += ["-c:a", "copy"] if copy else list(spec.audio_encode)
    cmd += ["-c:v", "copy", "-t", f"{float(duration):.6f}", "-f", spec.muxer, str(tmp)]
    log = folder / "ffmpeg.log"
    with log.open("wb") as stderr:
        done = subprocess.run(cmd, stderr=stderr, check=False)
    if done.returncode != 0:
        tmp.unlink(missing_ok=True)
        reason = first_error_line(log)
        raise RtsegError(f"FFmpeg could not join the segments of {item.output}: {reason}")
    tmp.replace(item.output)
    shutil.rmtree(folder)
