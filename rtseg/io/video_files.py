"""`rtseg.read_video` and `rtseg.VideoWriter`: the PyAV reading and writing `rtseg run` does,
for programs that handle the frames themselves.

The reader is `VideoDecoder` (each frame with its presentation time, rotation applied, damaged
packets counted) and the writer is `VideoFileSink` (each frame at its time, the input's audio
copied and cut where the video ends, the file under its final name only when it is complete),
so a read-then-write loop keeps a file's timing and sound the way `rtseg run` does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from numbers import Real
from pathlib import Path

import numpy as np

from rtseg.checks import check_count, check_rate
from rtseg.errors import Closing, RtsegError
from rtseg.io.remote import Location, location
from rtseg.io.video_in import VideoDecoder, open_media
from rtseg.io.video_out import VideoFileSink
from rtseg.pipeline.frame import Frame, check_image

# The clock of frames written with a time but no `like=` input: MPEG's 90 kHz.
WRITE_TIME_BASE = Fraction(1, 90000)


@dataclass(frozen=True)
class AudioTrack:
    """One audio stream of a video file."""

    index: int  # the stream's index in the file
    codec: str  # as FFmpeg names it, e.g. "aac", "opus"
    sample_rate: int
    channels: int
    language: str | None  # from the stream's metadata, where the file says


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds, as its frames come out of `read_video`."""

    path: Location  # a Path, or the URL as given
    width: int  # of the frames as shown (rotation applied)
    height: int
    fps: float  # the stream's average frame rate
    duration_s: float | None  # of the file, all streams, where its header says
    frame_count: int | None  # from the file's index, where it has one
    rotation: int  # clockwise degrees each frame was turned to show it upright (0, 90...)
    sar: Fraction | None  # sample (pixel) aspect ratio, None for square pixels
    time_base: Fraction  # the unit of the stream's timestamps, in seconds
    audio_tracks: tuple[AudioTrack, ...]

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the frames as shown."""
        return self.width, self.height


@dataclass(frozen=True)
class DecodedFrame:
    """One frame of a video file, upright, at its presentation time."""

    image: np.ndarray  # BGR uint8, H x W x 3
    time_s: float  # when it is shown, in seconds from the start of the file
    index: int  # 0, 1, 2... in presentation order
    duration_s: float | None  # how long it is shown, where the file says
    info: VideoInfo = field(repr=False)  # the file it comes from


class VideoReader(Closing):
    """The frames of one video file (or URL), in order; `info` describes the file.

    The file is released at the end of each pass, or by `close()` (or leaving a `with`
    block) before that; iterating the reader again reads the file again from its start.
    Frames that fail to decode are skipped and counted in `frames_lost`.
    """

    def __init__(self, path: str | Path) -> None:
        """Open `path` (a file, or an `https://`, `s3://`... URL) and decode its first frame
        (for its size and rotation).

        Raises:
            RtsegError: the file is missing, empty, a folder, not a video, or has no frame.
        """
        self.path: Location = location(path)
        if isinstance(self.path, Path) and self.path.is_dir():
            raise RtsegError(
                f"{self.path} is a folder: read_video reads one video file (process_video "
                "and rtseg run read a folder of images)"
            )
        self._decoder = VideoDecoder(self.path)
        self._passes = 0
        try:
            first = self._decoder.read_frame()
            if first is None:
                raise RtsegError(f"{self.path} holds no video frame that decodes")
            self.info = self._describe(first)
        except BaseException:
            self._decoder.close()
            raise
        self._next: tuple | None = first
        self._index = 0

    def _describe(self, first: tuple) -> VideoInfo:
        image, _, _, sar = first
        with open_media(self.path) as container:
            stream = container.streams.video[0]
            tracks = tuple(
                AudioTrack(
                    index=s.index,
                    codec=s.codec_context.name,
                    sample_rate=s.codec_context.sample_rate,
                    channels=s.codec_context.channels,
                    language=s.metadata.get("language"),
                )
                for s in container.streams.audio
            )
            if container.duration is not None:
                duration = container.duration / 1_000_000  # FFmpeg's AV_TIME_BASE
            elif stream.duration is not None and stream.time_base:
                duration = float(stream.duration * stream.time_base)
            else:
                duration = None
            count = stream.frames or None
        return VideoInfo(
            path=self.path,
            width=image.shape[1],
            height=image.shape[0],
            fps=self._decoder.fps,
            duration_s=duration,
            frame_count=count,
            rotation=self._decoder.rotation,
            sar=sar,
            time_base=self._decoder.time_base,
            audio_tracks=tracks,
        )

    def __iter__(self) -> Iterator[DecodedFrame]:
        self._passes += 1
        if self._passes > 1:  # read before: from the start again, on a decoder of its own
            self._decoder.close()
            self._decoder = VideoDecoder(self.path)
            self._next, self._index = None, 0
        time_base = self._decoder.time_base
        while True:
            decoded = self._next if self._next is not None else self._decoder.read_frame()
            self._next = None
            if decoded is None:
                self.close()  # read to its end: nothing left to hold the file open for
                return
            image, pts, duration, _ = decoded
            yield DecodedFrame(
                image=image,
                time_s=float(pts * time_base),
                index=self._index,
                duration_s=float(duration * time_base) if duration else None,
                info=self.info,
            )
            self._index += 1

    @property
    def frames_lost(self) -> int:
        """Frames that failed to decode (known once the file has been read to its end)."""
        return self._decoder.frames_lost

    def close(self) -> None:
        """Release the file."""
        self._decoder.close()


def read_video(path: str | Path) -> VideoReader:
    """Read a video file frame by frame, each with its time, as `rtseg run` reads it.

    Example: `for frame in rtseg.read_video("talk.mp4"): frame.image, frame.time_s`.

    Raises:
        RtsegError: the file is missing, empty, not a video, or has no frame.
    """
    return VideoReader(path)


class VideoWriter(Closing):
    """Writes BGR (or BGRA, for `.webm`/`.mov`) frames into a video file, each at its time.

    `like=` (a path, a `read_video` reader, or its `info`) takes that input's clock and sample
    aspect ratio and copies its audio tracks, cut where the written video ends, as `rtseg run`
    does. A context manager: leaving the block normally finishes the file under `path`;
    leaving it with an exception keeps what was written, playable, at `partial_path`.
    """

    def __init__(
        self,
        path: str | Path,
        like: str | Path | VideoReader | VideoInfo | None = None,
        fps: float | None = None,
        *,
        crf: int | None = None,
        preset: str | None = None,
        overwrite: bool = False,
    ) -> None:
        """Claim `path` (`.mp4`, `.mkv`, `.webm` or `.mov`).

        Args:
            path: the file to write; it appears when the writer is closed.
            like: the input whose timing and audio the output keeps.
            fps: the frame rate of frames written without a time (default: `like`'s, or 30).
            crf: the encoder's quality (lower is better), as `rtseg run --crf`.
            preset: an x264 preset for `.mp4`/`.mkv`, as `rtseg run --preset`.
            overwrite: replace an existing file (otherwise refused).

        Raises:
            RtsegError: the suffix, `crf` or `preset` is not one rtseg writes, the file exists
                (without `overwrite`) or is being written by another run.
        """
        if crf is not None:
            check_count("crf", crf, 0)
        if isinstance(like, str | Path):
            with VideoReader(like) as reader:
                like = reader.info
        info = like.info if isinstance(like, VideoReader) else like
        self.fps = check_rate("fps", fps) if fps is not None else (info.fps if info else 30.0)
        self._last_s: float | None = None  # the time of the last frame written with one
        self._time_base = info.time_base if info else WRITE_TIME_BASE
        self._sar = info.sar if info else None
        self._sink = VideoFileSink(
            path,
            self.fps,
            crf=crf,
            preset=preset,
            audio_from=info.path if info and info.audio_tracks else None,
            overwrite=overwrite,
        )
        self.path = self._sink.path

    def write(self, image: np.ndarray, time_s: float | None = None) -> None:
        """Encode `image` to be shown at `time_s` seconds (None: one `1/fps` after the last).

        Raises:
            RtsegError: the image is not uint8 BGR/BGRA, its size differs from the first
                frame's, `time_s` is not a finite number of seconds from 0, or the file
                cannot be written.
        """
        check_image(image, "write()", channels=(3, 4))
        if time_s is None and self._last_s is not None:
            time_s = self._last_s + 1 / self.fps
        if time_s is not None:
            if not isinstance(time_s, Real) or not 0 <= float(time_s) < math.inf:
                raise RtsegError(f"write() takes time_s in seconds from 0, got {time_s!r}")
            self._last_s = float(time_s)
        pts = None if time_s is None else round(Fraction(float(time_s)) / self._time_base)
        frame = Frame(
            seq=self._sink.frames,
            image=image,
            pts=pts,
            time_base=None if pts is None else self._time_base,
            sar=self._sar,
            output=image,
        )
        self._sink.write(frame)

    @property
    def frames(self) -> int:
        """Frames written so far."""
        return self._sink.frames

    @property
    def partial_path(self) -> Path | None:
        """Where an aborted file was kept (None until `abort()`, or when nothing was written)."""
        return self._sink.partial_path

    def close(self) -> None:
        """Finish the file: it appears under `path`, complete, with its audio.

        Raises:
            RtsegError: no frame was written, so there is no file to finish.
        """
        self._sink.close()
        if self._sink.frames == 0:
            raise RtsegError(f"no frame was written, so {self.path} was not created")

    def abort(self) -> None:
        """Finish what was written, playable, under a `.partial` name (see `partial_path`)."""
        self._sink.abort()

    def _close_for(self, error: BaseException | None) -> Callable[[], object]:
        """Leaving the block normally finishes the file; with an exception, keeps it partial."""
        return self.close if error is None else self.abort
