"""Video files decoded by PyAV (FFmpeg's libraries in-process), with their timing.

Files are read with PyAV rather than OpenCV's `VideoCapture` because OpenCV drops what a
faithful output needs: each frame's timestamp (variable frame rates), the stream's start
offset and edit list (video that starts after its audio), and the sample aspect ratio. Each
frame here keeps its presentation time, counted from the start of the file's earliest stream,
so a sink can write it at the same moment against the same audio. `VideoReader` is the one
reader of video files: the pipeline's source for a file, and what `rtseg.read_video` returns.

Cameras and stream URLs stay on OpenCV (`rtseg.io.sources`): their frames are timed by arrival,
and OpenCV's open/read timeouts carry the stall-and-reconnect logic live sources need.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from av.sidedata.sidedata import Type as SideDataType

from rtseg.errors import Closing, RtsegError
from rtseg.io import remote
from rtseg.io.clock import Clock
from rtseg.io.location import Location
from rtseg.io.video.timeline import timeline
from rtseg.pipeline.frame import Frame

log = logging.getLogger(__name__)

# Display-matrix rotations (clockwise degrees to show the frame upright) and how to apply them.
_ROTATIONS = {
    90: cv2.ROTATE_90_CLOCKWISE,
    180: cv2.ROTATE_180,
    270: cv2.ROTATE_90_COUNTERCLOCKWISE,
}
MIRROR = 1  # cv2.flip's code for a left-right flip
# How far before a frame a seek that landed after it is tried again (seconds), before the file
# is decoded from its start: MPEG-TS lands on the keyframe after the time asked for, and the
# first frames of an open GOP need the GOP before it.
SEEK_BACK_S = (0, 1, 4, 16)
# Transfer functions (FFmpeg's AVColorTransferCharacteristic) and primaries of HDR video:
# PQ (SMPTE 2084), HLG (ARIB STD-B67), and BT.2020 primaries.
HDR_TRANSFERS = {16: "PQ", 18: "HLG"}
BT2020_PRIMARIES = 9
BT2020_MATRICES = (9, 10)  # non-constant and constant luminance
DISPLAY_MATRIX = SideDataType.DISPLAYMATRIX
# A video that ends this many frame periods or more before its header says it does has
# lost its end; less is rounding in how the header was written.
SHORT_FRAMES = 2
# FFmpeg's readers of single pictures and of text, which show either as a video stream.
NOT_VIDEO_FORMATS = {"image2", "tty"}
# The fastest frame rate believed from a header (high-speed cameras film at 960 fps); a
# higher one is a clock's rate stated as the frame rate.
MAX_FPS = 1000
# FFmpeg's deinterlacer for --deinterlace: one frame out per frame in, so timestamps stay.
DEINTERLACE = ("bwdif", "mode=send_frame:parity=auto:deint=interlaced")


def ffmpeg_path(path: Path) -> str:
    """`path` as FFmpeg must be given it: absolute, so a name like `take:2.mp4` is never read
    as a URL scheme (`take:`) but as the file it is."""
    return str(path.absolute())


def open_media(path: Location | Path | str, what: str = "video") -> av.container.InputContainer:
    """Open a media file (or a URL, streamed: see `rtseg.io.remote`) for reading, or fail
    with one line saying why."""
    where = Location.of(path)
    if where.is_remote:
        return _open_remote(where, what)
    path = where.path
    if not path.exists():
        raise RtsegError(f"input not found: {path}")
    if path.is_dir():
        raise RtsegError(f"{path} is a directory without images")
    if path.stat().st_size == 0:
        raise RtsegError(f"input is empty (0 bytes): {path}")
    try:
        return av.open(ffmpeg_path(path), metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise RtsegError(f"cannot decode {path} as {what} (is it a complete video file?)") from exc


def _open_remote(url: Location, what: str) -> av.container.InputContainer:
    reader = remote.open_reader(url)
    if reader.size == 0:
        raise RtsegError(f"input is empty (0 bytes): {url}")
    try:
        return av.open(reader, metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise RtsegError(f"cannot decode {url} as {what} (is it a complete video file?)") from exc


def is_cover(stream: av.stream.Stream) -> bool:
    """Whether `stream` is an attached picture (cover art of a song, a podcast, a video):
    one still image stored with the file, never its video."""
    return stream.type == "video" and bool(stream.disposition & av.stream.Disposition.attached_pic)


def video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream | None:
    """The file's video: its first video stream that is not a cover picture; None if none."""
    return next((s for s in container.streams.video if not is_cover(s)), None)


def no_video(path: Location, container: av.container.InputContainer) -> RtsegError:
    """Why a file without a video stream (`video_stream` is None) cannot be processed."""
    if any(is_cover(s) for s in container.streams.video):
        return RtsegError(
            f"{path} has no video stream, only a cover picture (an audio file with its artwork?)"
        )
    return RtsegError(f"{path} has no video stream")


def holds_video(path: Path) -> bool:
    """Whether FFmpeg finds a video in the file at `path`, for a file whose name does not say:
    a video stream that is not a cover, in a container that is not a single picture (JPEG
    thumbnails, which FFmpeg reads as a one-frame video) or text (FFmpeg's `tty` reader)."""
    try:
        with av.open(ffmpeg_path(path), metadata_errors="ignore") as container:
            name = container.format.name
            still = name in NOT_VIDEO_FORMATS or name.endswith("_pipe")
            return not still and video_stream(container) is not None
    except (av.FFmpegError, OSError, UnicodeDecodeError):
        return False


def media_origin(container: av.container.InputContainer) -> Fraction:
    """The time, in seconds, at which the file's earliest audio or video stream starts.

    Timestamps are written relative to it: a clip from a transport stream that starts at
    1.4 s does not gain 1.4 s of nothing, and video that starts after its audio stays late.
    """
    starts = [
        s.start_time * s.time_base
        for s in container.streams
        if s.type in ("video", "audio") and s.start_time is not None and s.time_base
    ]
    return min(starts, default=Fraction(0))


def _say_if_hdr(path: Location, context: av.video.codeccontext.VideoCodecContext) -> None:
    """One line when the video is HDR: rtseg reads it as SDR, without tone mapping."""
    kind = HDR_TRANSFERS.get(context.color_trc)
    wide = context.color_primaries == BT2020_PRIMARIES or context.colorspace in BT2020_MATRICES
    if kind is None and not wide:
        return
    log.warning(
        "%s is HDR video (%s, BT.2020): rtseg reads it as SDR without tone mapping, so its "
        "colours come out flat, and the output is SDR (BT.601)",
        path, kind or "wide gamut",
    )  # fmt: skip


def _deinterlaced(
    frames: Iterator[av.VideoFrame], stream: av.video.stream.VideoStream
) -> Iterator[av.VideoFrame]:
    """`frames` through FFmpeg's deinterlacer (DEINTERLACE), at their own timestamps;
    progressive frames pass unchanged."""
    graph: av.filter.Graph | None = None
    time_base = stream.time_base or Fraction(1, 90000)
    try:
        for frame in frames:
            if graph is None:
                graph = av.filter.Graph()
                source = graph.add_buffer(
                    width=frame.width, height=frame.height, format=frame.format,
                    time_base=time_base,
                )  # fmt: skip
                graph.link_nodes(source, graph.add(*DEINTERLACE), graph.add("buffersink"))
                graph.configure()
            graph.vpush(frame)
            yield from _pulled(graph, time_base)
        if graph is not None:
            graph.vpush(None)
            yield from _pulled(graph, time_base)
    finally:
        frames.close()


def _pulled(graph: av.filter.Graph, time_base: Fraction) -> Iterator[av.VideoFrame]:
    """The frames a filter graph has ready, timed in `time_base` (bwdif halves its clock's
    unit, to have room for a frame per field)."""
    while True:
        try:
            frame = graph.vpull()
        except (BlockingIOError, av.EOFError):
            return
        if frame.pts is not None and frame.time_base and frame.time_base != time_base:
            frame.pts = round(frame.pts * frame.time_base / time_base)
            frame.time_base = time_base
        yield frame


def frame_rate(stream: av.video.stream.VideoStream) -> float:
    """The stream's frame rate, from the first of its stated rates that its own clock can
    time: raw DV states its 1/60000 s clock (60000 fps) as its average rate, where its frames
    really come 2002 ticks (29.97 fps) apart. 30 when it states none that fits."""
    ticks_per_s = 1 / stream.time_base if stream.time_base else None
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and 0 < rate <= MAX_FPS and (ticks_per_s is None or rate < ticks_per_s):
            return float(rate)
    return 30.0


def header_duration(stream: av.video.stream.VideoStream) -> Fraction | None:
    """When the video ends (s on the file's clock) as its header says, where it says so
    itself: Matroska and WebM write each track's duration as a tag, which a download cut
    short keeps. None where the header does not say."""
    tags = {key.lower(): value for key, value in stream.metadata.items()}
    hours, _, rest = tags.get("duration", "").partition(":")
    minutes, _, seconds = rest.partition(":")
    try:
        return int(hours) * 3600 + int(minutes) * 60 + Fraction(seconds)
    except ValueError:
        return None


def frames_never_arrived(
    promised: tuple[int, Fraction | None], packets: int, end_s: Fraction | None, fps: float
) -> int:
    """Frames a header promised (`header_promise`) that the file does not hold (a truncated
    download): its index's frame count (MP4, MOV, AVI) against the `packets` read, or where
    it has none, its video's duration (Matroska) against `end_s`, where the last frame read
    ends."""
    count, duration = promised
    if count:
        return max(0, count - packets)
    if duration is None or end_s is None:
        return 0
    short = float(duration - end_s) * fps
    return round(short) if short >= SHORT_FRAMES else 0


def header_promise(stream: av.video.stream.VideoStream) -> tuple[int, Fraction | None]:
    """What the header says the video holds: its index's frame count (0: none) and where
    it ends (`header_duration`), read while the file is open."""
    return stream.frames, header_duration(stream)


def _following(first: av.VideoFrame, rest: Iterator[av.VideoFrame]) -> Iterator[av.VideoFrame]:
    """`first`, then `rest` (a generator, so closing it closes `rest`)."""
    yield first
    yield from rest


def orientation(frame: av.VideoFrame) -> tuple[int, bool]:
    """How to show `frame` as players do, from its whole display matrix: clockwise degrees
    (0, 90, 180, 270) to turn it, and whether to mirror it left-right after that.

    Front cameras write a rotation and a flip; the rotation alone (`frame.rotation`) would
    leave their video mirrored. A matrix whose determinant is negative flips; un-flipping
    its first column leaves a pure rotation, read to the nearest quarter turn as FFmpeg's
    own autorotation does."""
    side = frame.side_data.get(DISPLAY_MATRIX)
    if side is None:
        return 0, False
    a, b, _, c, d = np.frombuffer(bytes(side), "<i4")[:5].astype(float)
    mirrored = a * d - b * c < 0
    if mirrored:
        a, c = -a, -c
    return round(math.degrees(math.atan2(b, a)) / 90) % 4 * 90, bool(mirrored)


@dataclass(frozen=True)
class AudioTrack:
    """One audio stream of a video file."""

    index: int  # the stream's index in the file
    codec: str  # as FFmpeg names it, e.g. "aac", "opus"
    sample_rate: int
    channels: int
    language: str | None  # from the stream's metadata, where the file says
    title: str | None = None  # likewise ("Deutsch", "Commentary"); MP4 calls it `name`


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds, as its frames come out of `read_video`."""

    path: Location  # the file, or the URL of one in storage
    width: int  # of the frames as shown (rotation applied)
    height: int
    fps: float  # the stream's average frame rate
    duration_s: float | None  # of the file, all streams, where its header says
    frame_count: int | None  # from the file's index, where it has one
    rotation: int  # clockwise degrees each frame was turned to show it upright (0, 90...)
    sar: Fraction | None  # sample (pixel) aspect ratio, None for square pixels
    time_base: Fraction  # the unit of the stream's timestamps, in seconds
    audio_tracks: tuple[AudioTrack, ...]
    mirrored: bool = False  # each frame was also mirrored left-right (front cameras)

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


# A decoded frame before it becomes a `Frame`: (BGR image, pts, duration, sar).
Decoded = tuple[np.ndarray, int, int | None, Fraction | None]


class VideoReader(Closing):
    """The frames of one video file, in order, each with its presentation time (see the
    module docstring): the one reader of video files rtseg has.

    As a pipeline source, `read()` gives the next `Frame` (None at the end); `realtime`
    plays the file at its own timestamps, variable frame rates included. From Python
    (`rtseg.read_video`), iterate it once for `DecodedFrame`s; `info` describes the file.
    The file is released at its end, or by `close()` (or leaving a `with` block) before that.

    A file that breaks off (a truncated download) is read up to where it breaks.
    `frames_lost` counts frames that really failed: frames the header promised that never
    arrived (see `frames_never_arrived`) and packets the decoder rejected. Frames an edit
    list hides are not lost, and neither are frames of containers whose header promises
    nothing.
    """

    def __init__(
        self, path: Location | Path | str, realtime: bool = False, deinterlace: bool = False
    ) -> None:
        """Open `path` (a file, or a URL streamed through `rtseg.io.remote`).

        Raises:
            RtsegError: the file is missing, empty, not a video, or has no video stream.
        """
        self.path = Location.of(path)  # where video sinks find the audio to keep
        self.deinterlace = deinterlace
        self._open()
        stream = self._stream
        self.time_base: Fraction = stream.time_base or Fraction(1, 90000)
        self.fps = frame_rate(stream)
        sar = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio
        self.sar: Fraction | None = Fraction(sar) if sar and sar != 1 else None
        self._origin = round(media_origin(self._container) / self.time_base)
        self._timeline = timeline(self._container)  # recordings joined with `cat`
        # From the container's header, without reading the file through: its frame count, or
        # its duration times the frame rate; None when it says neither.
        self.frames_estimate: int | None = stream.frames or self._frames_from_duration(stream)
        self._promised = header_promise(stream)
        self._end: int | None = None  # where the last frame given out ends, in stream ticks
        self._packets = 0
        self._rejected = 0
        self._shown = 0  # frames decoded and given out
        self.ended = False
        self.rotation = 0  # clockwise degrees the last frame was turned to show it upright
        self.mirrored = False  # and whether it was then mirrored left-right (front cameras)
        self._last_pts: int | None = None
        self._interlace_said = False
        self._held: Decoded | None = None  # the first frame, decoded early for `info`
        self._first: Decoded | None = None  # and how it was turned, for `info`
        self._first_rotation = 0
        self._first_mirrored = False
        self._info: VideoInfo | None = None
        self.live = realtime
        self._clock = Clock(self.fps, paced=realtime)
        self._iterated = False  # a reader is iterated once (see __iter__)
        self._frames = self._decode()
        _say_if_hdr(self.path, stream.codec_context)

    def _open(self) -> None:
        self._container = open_media(self.path)
        stream = video_stream(self._container)
        if stream is None:
            error = no_video(self.path, self._container)
            self._container.close()
            raise error
        # Slice threads only: frame threads report a damaged packet late, on another packet,
        # which PyAV then drops too, so good frames would be lost and the count be wrong
        # (and on two cores frame threads were slower: 2.1-2.5 against 1.6 ms a 540p frame).
        stream.thread_type = "SLICE"
        self._stream = stream

    def _frames_from_duration(self, stream: av.video.stream.VideoStream) -> int | None:
        """Frames the file's duration holds at its frame rate (containers without a frame
        count: MKV, WebM, TS); None when it does not say its duration either."""
        if stream.duration:
            seconds = float(stream.duration * self.time_base)
        elif self._container.duration:
            seconds = self._container.duration / av.time_base
        else:
            return None
        return max(1, round(seconds * self.fps))

    def _decode(self) -> Iterator[av.VideoFrame]:
        """Every frame in presentation order, deinterlaced when asked."""
        frames = self._decoded()
        return _deinterlaced(frames, self._stream) if self.deinterlace else frames

    def _decoded(self) -> Iterator[av.VideoFrame]:
        """Every frame in presentation order; a damaged packet is counted and skipped."""
        demux = self._container.demux(self._stream)
        while True:
            try:
                packet = next(demux)
            except StopIteration:
                return
            except av.FFmpegError as exc:  # the file breaks off here (a truncated download)
                log.debug("demuxing stopped: %s", exc)
                packet = None
            if packet is None or packet.size == 0:  # the end: drain the decoder
                with contextlib.suppress(av.FFmpegError):
                    yield from self._stream.decode(None)
                return
            self._packets += 1
            self._timeline.shift(packet)
            try:
                yield from packet.decode()
            except av.FFmpegError as exc:
                self._rejected += 1
                log.debug("packet %d rejected by the decoder: %s", self._packets, exc)

    # -- reading ---------------------------------------------------------------------------
    def read(self) -> Frame | None:
        """The next frame at its own time (the pipeline's `Source.read`), or None at the end.

        Raises:
            RtsegError: the file ended without a single frame that decodes.
        """
        decoded = self._next_decoded()
        if decoded is None:
            return None
        image, pts, duration, sar = decoded
        return self._clock.frame(
            image, pts=pts, time_base=self.time_base, duration=duration, sar=sar
        )

    def __iter__(self) -> Iterator[DecodedFrame]:
        if self._iterated:
            raise RtsegError(
                f"this reader of {self.path.name} was read once already; "
                "read_video() again reads the file again"
            )
        self._iterated = True
        info = self.info
        while (frame := self.read()) is not None:
            yield DecodedFrame(
                image=frame.image,
                time_s=float(frame.pts * self.time_base),
                index=frame.seq,
                duration_s=float(frame.duration * self.time_base) if frame.duration else None,
                info=info,
            )
        self.close()  # read to its end: nothing left to hold the file open for

    @property
    def info(self) -> VideoInfo:
        """What the file holds; decodes its first frame (for its size and rotation) when
        none has been read yet.

        Raises:
            RtsegError: the file has no frame that decodes.
        """
        if self._info is None:
            if self._first is None:
                self._held = self._next_decoded()
            self._info = self._describe()
        return self._info

    def _describe(self) -> VideoInfo:
        assert self._first is not None, "no frame read yet"
        image, _, _, sar = self._first
        container, stream = self._container, self._stream
        tracks = tuple(
            AudioTrack(
                index=s.index,
                codec=s.codec_context.name,
                sample_rate=s.codec_context.sample_rate,
                channels=s.codec_context.channels,
                language=s.metadata.get("language"),
                title=s.metadata.get("title") or s.metadata.get("name"),
            )
            for s in container.streams.audio
        )
        if container.duration is not None:
            duration = container.duration / 1_000_000  # FFmpeg's AV_TIME_BASE
        elif stream.duration is not None and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        else:
            duration = None
        return VideoInfo(
            path=self.path,
            width=image.shape[1],
            height=image.shape[0],
            fps=self.fps,
            duration_s=duration,
            frame_count=stream.frames or None,
            rotation=self._first_rotation,
            sar=sar,
            time_base=self.time_base,
            audio_tracks=tracks,
            mirrored=self._first_mirrored,
        )

    def _next_decoded(self) -> Decoded | None:
        """The next frame as (BGR image, pts, duration, sar), or None at the end."""
        if self._held is not None:
            decoded, self._held = self._held, None
            return decoded
        frame = next(self._frames, None)
        if frame is None:
            self.ended = True
            if not self._shown:
                raise RtsegError(self._nothing_decoded())
            return None
        self._shown += 1
        if frame.pts is not None:
            length = frame.duration or round(1 / (self.fps * self.time_base))
            self._end = max(self._end or 0, frame.pts + length)
        if frame.interlaced_frame and not self._interlace_said:
            self._interlace_said = True
            log.warning(
                "%s is interlaced: its frames are processed as they are, with combing where "
                "things move; --deinterlace deinterlaces them (FFmpeg's bwdif)",
                self.path,
            )
        image = frame.to_ndarray(format="bgr24")
        sar = self.sar
        turn, self.mirrored = orientation(frame)
        self.rotation = turn
        if turn:
            image = cv2.rotate(image, _ROTATIONS[turn])
            if sar is not None and turn != 180:
                sar = 1 / sar
        if self.mirrored:
            image = cv2.flip(image, MIRROR)
        decoded = image, self._pts(frame), frame.duration or None, sar
        if self._first is None:
            self._first, self._first_rotation = decoded, turn
            self._first_mirrored = self.mirrored
        return decoded

    def seek(self, pts: int) -> None:
        """Go on from the frame shown at `pts` (counted as `read` counts), exactly.

        Seeks to a keyframe before it and checks where decoding lands; where a container's
        seek lands after it (see SEEK_BACK_S) it tries further back, and in the end decodes
        the file from its start, so no frame is ever skipped."""
        self._held = None
        for back_s in SEEK_BACK_S:
            self._frames.close()
            target = pts + self._origin - round(back_s / self.time_base)
            try:
                self._container.seek(target, stream=self._stream, backward=True, any_frame=False)
            except av.FFmpegError:
                continue
            if self._land(pts):
                return
        log.debug("%s: no seek lands on %d; decoding from the start", self.path, pts)
        self._frames.close()
        self._container.close()
        self._open()
        self._land(pts)

    def _land(self, pts: int) -> bool:
        """Drop the frames before `pts`; whether the next one is shown exactly at `pts`."""
        self._last_pts = None
        frames = self._decode()
        for frame in frames:
            if frame.pts is None or frame.pts - self._origin < pts:
                continue
            self._frames = _following(frame, frames)
            return frame.pts - self._origin == pts
        self._frames = frames  # ended
        return False

    def _pts(self, frame: av.VideoFrame) -> int:
        """The frame's time from the file's origin; a missing one follows the previous frame."""
        if frame.pts is not None:
            pts = frame.pts - self._origin
        elif self._last_pts is None:
            pts = 0
        else:
            pts = self._last_pts + max(1, round(1 / (self.fps * self.time_base)))
        self._last_pts = pts
        return pts

    def _nothing_decoded(self) -> str:
        """Why a file gave no frame, in one line."""
        if self._rejected:
            why = (
                f"the decoder rejected {self._rejected} of its {self._packets} video packets "
                "and made no frame from the others (a damaged keyframe?)"
            )
        elif self._packets:
            why = (
                f"none of its {self._packets} video packets made a frame (cut in the middle "
                "of a group of pictures, with no keyframe after the cut?)"
            )
        else:
            why = "its video stream holds no packets"
        return f"no frame of {self.path} could be decoded: {why}"

    @property
    def frames_expected(self) -> int | None:
        """Frames the file should have given, once it has ended: those read and those lost
        (so the stats' `frames_lost` counts only frames that failed to decode)."""
        if not self.ended:
            return None
        return self._clock.seq + self.frames_lost

    @property
    def frames_lost(self) -> int:
        """Frames that failed to decode, once the file has ended (see the class docstring)."""
        if not self.ended:
            return 0
        end_s = None if self._end is None else self._end * self.time_base
        never_arrived = frames_never_arrived(self._promised, self._packets, end_s, self.fps)
        return never_arrived + self._rejected

    def close(self) -> None:
        """Release the file."""
        self._frames.close()
        self._container.close()


def read_video(path: str | Path) -> VideoReader:
    """Read a video file frame by frame, each with its time, as `rtseg run` reads it.

    Example: `for frame in rtseg.read_video("talk.mp4"): frame.image, frame.time_s`.

    Raises:
        RtsegError: the file is missing, empty, not a video, or has no frame.
    """
    where = Location.of(path)
    if not where.is_remote and where.path.is_dir():
        raise RtsegError(
            f"{where} is a folder: read_video reads one video file (process_video and rtseg "
            "run read a folder of images)"
        )
    reader = VideoReader(path)
    try:
        reader.info  # noqa: B018 (a file without a frame is refused here, not mid-loop)
    except BaseException:
        reader.close()
        raise
    return reader
