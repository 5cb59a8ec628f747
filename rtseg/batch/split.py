"""One long video cut into frame-exact segments for several workers, then joined unchanged.

Each segment is a task like any file: the worker decodes frames [start, stop) of the input
and writes them, encoded and at their own timestamps, to a segment file. The segment files'
packets are then copied one file after another (no re-encoding) into the output, with the
input's audio tracks added in the same pass (`AudioTracks`), so the output has the input's
frames, timestamps, duration and sound. Each segment starts exactly where the previous one
ended: frames are found by their timestamps, and a seek that lands late is redone further
back (`VideoReader.seek`). A video whose timestamps cannot place every frame once (missing
or repeated timestamps, timestamps that restart) is not split; the log says so.

No seam may show. A segment cannot start its temporal smoothing from nothing, or the mask
would jump where a single run's is steady, so each one first runs `warmup` frames before
its start through the whole pipeline and throws their output away: by the segment's first
frame the smoother holds (to well under one grey level) the state a single run has there.
"""

from __future__ import annotations

import itertools
import logging
import math
import shutil
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av

from rtseg.batch.tasks import Task
from rtseg.errors import RtsegError
from rtseg.io.location import Location
from rtseg.io.outputs import partial_name
from rtseg.io.video.audio_tracks import AudioTracks
from rtseg.io.video.frame_stamps import frame_stamps
from rtseg.io.video.reader import VideoReader, ffmpeg_path, open_media, video_stream
from rtseg.io.video.writer import container_for
from rtseg.job import Job, JobConfig
from rtseg.matte.temporal import DEFAULT_STRENGTH, still_weight
from rtseg.models.engine import Engine
from rtseg.pipeline.frame import Frame

log = logging.getLogger(__name__)

# Seconds of video run before each segment and discarded. At the default smoothing strength
# the smoother's still-region weight is 0.15, so a difference left from the start decays as
# 0.85^n: after 2 s at 30 fps (60 frames) it is below 1e-4 of full scale. A stronger
# smoothing keeps more of the past and gets a longer warmup (`warmup_s`).
WARMUP_S = 2.0


def warmup_s(strength: float | None) -> float:
    """Seconds of warmup for smoothing `strength` (None: the default): `WARMUP_S`, longer in
    proportion to the still region's time constant where that is longer than the default's."""
    default = math.log(1.0 - still_weight(DEFAULT_STRENGTH))
    weight = still_weight(DEFAULT_STRENGTH if strength is None else strength)
    return WARMUP_S * max(1.0, default / math.log(1.0 - weight)) if weight < 1.0 else WARMUP_S


# `--split auto` splits a video only when every segment gets at least this many frames.
MIN_SEGMENT_FRAMES = 300


def parts_for(split: int | str | None, frames: int, workers: int) -> int:
    """How many segments a video of `frames` frames is cut into."""
    if split is None or frames < 2:
        return 1
    if split == "auto":
        return max(1, min(workers, frames // MIN_SEGMENT_FRAMES))
    return max(1, min(int(split), frames))


def segments_dir(output: Location | Path) -> Location:
    """Where a split output's segments are written, beside it; the name says they are
    partial."""
    output = Location.of(output)
    stem = output.name[: -len(output.suffix) or None]
    return output.with_name(f"{stem}.partial-segments")


def cut_problem(source: Location) -> str | None:
    """Why `source` cannot be cut into segments that meet exactly, or None when it can:
    every frame needs a timestamp of its own, and they must not restart."""
    with open_media(source) as container:
        stream = video_stream(container)
        if stream is None:
            return None  # the worker says why, as a single run does
        seen: set[int] = set()
        last_dts = None
        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except (StopIteration, av.FFmpegError):
                return None
            if not packet.size or packet.is_discard:
                continue
            if packet.pts is None:
                return "some of its frames carry no timestamp"
            if packet.dts is not None and last_dts is not None and packet.dts < last_dts:
                at = float(packet.dts * packet.time_base)
                return f"its timestamps restart at {at:.2f} s (recordings joined into one file?)"
            if packet.pts in seen:
                return "two of its frames share a timestamp"
            seen.add(packet.pts)
            last_dts = packet.dts if packet.dts is not None else last_dts


def plan(
    source: Location | Path,
    output: Location | Path,
    frames: int,
    parts: int,
    every: int = 1,
    smooth: float | None = None,
) -> list[Task]:
    """Tasks for `parts` segments of `source`; boundaries and warmups are multiples of
    `every` (the mask period), so each segment runs the model on the frames a single run does;
    the warmup is as long as smoothing strength `smooth` needs (`warmup_s`).
    A video that cannot be cut exactly (`cut_problem`) is one task, and the log says why."""
    source, output = Location.of(source), Location.of(output)
    problem = cut_problem(source)
    if problem is not None:
        log.warning("%s is processed as one segment, not %d: %s", source, parts, problem)
        return [Task(source, output)]
    stamps, time_base = frame_stamps(source)
    span_s = (stamps[-1] - stamps[0]) * time_base if len(stamps) > 1 else Fraction(0)
    fps = (len(stamps) - 1) / span_s if span_s else 30
    warmup = math.ceil(warmup_s(smooth) * fps / every) * every
    folder = segments_dir(output)
    bounds = [round(i * frames / parts / every) * every for i in range(parts)] + [frames]
    tasks = []
    for i, (start, stop) in enumerate(itertools.pairwise(bounds)):
        if stop > start:
            ahead = min(warmup, start)
            end = stamps[stop] if stop < len(stamps) else None
            tasks.append(
                Task(
                    source,
                    folder.join(f"{i:03d}{output.suffix}"),
                    start=start,
                    stop=stop,
                    warmup=ahead,
                    times=(stamps[start - ahead], end),
                )
            )
    return tasks


class SegmentSource:
    """Frames [first, stop) of a video file (a segment and its warmup) at their own
    timestamps. The decoder seeks exactly to `first` (`VideoReader.seek`), and frames are
    told apart by their timestamps, so the cut is frame-exact."""

    live = False

    def __init__(
        self,
        path: Location | Path,
        first: int,
        stop: int,
        deinterlace: bool = False,
        times: tuple[int, int | None] | None = None,
    ) -> None:
        """`times`: the presentation times of frames `first` and `stop` (None: the end) when
        known (`Task.times`); otherwise the file is demuxed through to find them."""
        if times is None:
            stamps, _ = frame_stamps(path)
            if stop > len(stamps):
                raise RtsegError(f"{path} has {len(stamps)} frames, not {stop}")
            times = (stamps[first], stamps[stop] if stop < len(stamps) else None)
        self._reader = VideoReader(path, deinterlace=deinterlace)
        self.fps = self._reader.fps
        first_pts, self._stop_pts = times
        if first:
            self._reader.seek(first_pts)
        self.frames_expected = stop - first
        self._seq = 0

    def read(self) -> Frame | None:
        if self._seq >= self.frames_expected:
            return None
        frame = self._reader.read()  # numbered from 0 after the seek, as the segment counts
        if frame is None or (self._stop_pts is not None and frame.pts >= self._stop_pts):
            return None
        self._seq += 1
        return frame

    def close(self) -> None:
        self._reader.close()


def segment_job(config: JobConfig, engine: Engine, task: Task) -> Job:
    """`rtseg run`'s job on one segment (warmup included), writing only the segment's frames.

    Segment files are this batch's own temporaries, so an old one from a stopped run is
    replaced."""
    assert task.stop is not None
    first = task.start - task.warmup
    source = SegmentSource(task.source, first, task.stop, config.deinterlace, task.times)
    try:
        job = Job(replace(config, overwrite=True, sinks=[]), source, engine)
    except BaseException:
        source.close()
        raise
    try:
        for spec in config.sinks:
            job.add_sink(spec, first_seq=task.warmup)
    except BaseException:
        job.close()
        raise
    return job


def _coded_as(path: Location) -> tuple[int, int, str, str]:
    """A segment's frame size, pixel format and codec, from its header."""
    with open_media(path) as segment:
        context = segment.streams.video[0].codec_context
        return context.width, context.height, context.format.name, context.name


def check_alike(segments: list[Location]) -> None:
    """Refuse, as a single run does, a split video whose segments were not all coded alike:
    a video that changes frame size (or format) at a seam would be joined into a file whose
    frames after it decode as garbage.

    Raises:
        RtsegError: a segment's frames differ from the first segment's.
    """
    first = _coded_as(segments[0])
    for path in segments[1:]:
        coded = _coded_as(path)
        if coded != first:
            raise RtsegError(
                f"its frames change from {first[0]}x{first[1]} {first[2]} to {coded[0]}x"
                f"{coded[1]} {coded[2]} at segment {path.name}: a video holds one "
                "frame size; write PNGs to a directory instead"
            )


def join(source: Location | Path, segments: list[Location] | list[Path], output: Path) -> None:
    """Copy the segments' packets, which carry the input's own timestamps, one file after
    another (no re-encoding) into `output`, with every audio track of `source`. Segments
    in storage are streamed, as inputs are.

    The output appears under its final name only once it is complete."""
    segments = [Location.of(s) for s in segments]
    spec = container_for(output)
    check_alike(segments)
    tmp = partial_name(output)
    audio = AudioTracks(source)
    try:
        with av.open(ffmpeg_path(tmp), "w") as out:
            video = None
            end = Fraction(0)
            for path in segments:
                with open_media(path) as segment:
                    stream = segment.streams.video[0]
                    if video is None:
                        video = out.add_stream_from_template(stream)
                        audio.add_to(out, spec.audio_encoder)
                    for packet in segment.demux(stream):
                        if packet.size == 0 or packet.pts is None:
                            continue
                        end = max(end, (packet.pts + (packet.duration or 0)) * packet.time_base)
                        packet.stream = video
                        out.mux(packet)
                        audio.write_until(end)
            audio.finish(end)
    except av.FFmpegError as exc:
        tmp.unlink(missing_ok=True)
        raise RtsegError(f"cannot join the segments of {output}: {exc}") from exc
    finally:
        audio.close()
    tmp.replace(output)
    if not segments[0].is_remote:
        shutil.rmtree(segments[0].path.parent)
