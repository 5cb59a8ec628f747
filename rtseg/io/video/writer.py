"""Video files written by PyAV: H.264 `.mp4`/`.mkv`, VP9 `.webm` and ProRes 4444 `.mov`.

PyAV runs FFmpeg's encoders and muxers in-process, so each frame is written with the
timestamp it came with (variable frame rates and start offsets survive), the sample aspect
ratio is carried, and the input's audio tracks are muxed in the same pass (`AudioTracks`).
No subprocess, no raw-pixel pipe, no second remux pass. `.webm` and `.mov` keep an alpha
channel when the effect is `alpha`.

The file appears under its final name only when the run finished well; a failed or
interrupted run leaves its playable partial output beside it, named `NAME.partial.EXT`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from numbers import Real
from pathlib import Path

import av
import cv2
import numpy as np

from rtseg.checks import check_count, check_rate
from rtseg.errors import Closing, RtsegError, option
from rtseg.io.location import Location
from rtseg.io.outputs import SpaceGuard, claim_output, partial_name, size_changed
from rtseg.io.video.audio_tracks import AudioTracks
from rtseg.io.video.reader import VideoInfo, VideoReader, ffmpeg_path, video_stream
from rtseg.pipeline.frame import Frame, check_image, rate_time_base

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Container:
    """How one output container is encoded."""

    codec: str  # video encoder, as FFmpeg names it
    pix_fmt: str
    pix_fmt_alpha: str | None  # None: the container/codec cannot hold alpha here
    default_crf: int | None  # None: the codec has no CRF mode
    audio_encoder: str  # for audio whose codec the container cannot hold as it is
    # The muxer's own clock, when it imposes one (Matroska/WebM: milliseconds); frame times
    # are rounded to it before the check that they advance, so no two collide in the file.
    time_base: Fraction | None = None
    # Whether the file can say its pixels are not square. WebM keeps that only in a header
    # field PyAV cannot set, so non-square frames are resampled to square pixels for it.
    holds_sar: bool = True


CONTAINERS: dict[str, Container] = {
    ".mp4": Container("libx264", "yuv420p", None, 23, "aac"),
    ".mkv": Container("libx264", "yuv420p", None, 23, "aac", Fraction(1, 1000)),
    ".webm": Container(
        "libvpx-vp9", "yuv420p", "yuva420p", 32, "libopus", Fraction(1, 1000), holds_sar=False
    ),
    ".mov": Container("prores_aw", "yuv444p10le", "yuva444p10le", None, "aac"),
}

# Encoder settings: the one place where speed is traded against size and quality.
ENCODER_OPTIONS: dict[str, dict[str, str]] = {
    # superfast + zerolatency at CRF 23, measured on rtseg's 720p blur output (`python -m
    # benchmarks encoder`, 2-core EPYC): 3.7-4.6 ms of CPU a frame over several runs against
    # 8.6-9.3 for veryfast at CRF 20, the same PSNR (47.7 dB), 1.7x the bytes (still 0.7x
    # OpenCV's mp4v file of the same frames). A slower --preset gets x264's own tuning for it:
    # smaller files for more CPU.
    "libx264": {"preset": "superfast", "tune": "zerolatency"},
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8", "b": "0"},  # b=0: pure CRF
    "prores_aw": {"profile": "4"},  # 4444; 4x faster than prores_ks
}
# On a machine of two cores or fewer x264 gets one thread: the pipeline's other stages
# already keep both cores busy, and x264's slices only add hand-offs (`rtseg run`, 720p
# blur to .mp4, 2-core EPYC: 84.8-86.6 fps against 79.4-82.9 with x264's own two threads,
# no more CPU, 1% smaller files). More cores, and a --preset, keep x264's own choice.
FEW_CORES = 2
# The clock of images written with a time but no `like=` input: MPEG's 90 kHz.
WRITE_TIME_BASE = Fraction(1, 90000)
# Audio that runs on after the video by this much (seconds) is cut with a word in the log; a
# few milliseconds (an encoder's last packet) are cut without one.
AUDIO_CUT_SAID_S = 0.5
# What rtseg's video streams say wrote them (their `encoder` tag, as FFmpeg's own tools write
# "Lavc libx264"): a batch tells rtseg's unfinished outputs from a user's file by it.
ENCODER_TAG = "rtseg"
# FFmpeg's AVColorSpace and AVColorRange values for what OpenCV's 4:2:0 conversion and
# swscale's default conversion from BGR both write.
BT601_MATRIX = 6  # SMPTE 170M, the BT.601 matrix
LIMITED_RANGE = 1  # "MPEG" range: luma 16-235


def x264_threads() -> int:
    """x264's thread count for this machine; 0 lets x264 choose."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return 1 if (cores or 1) <= FEW_CORES else 0


X264_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
)


def container_for(path: Path) -> Container:
    """The encoding rules for `path`'s suffix; RtsegError for a suffix rtseg cannot write."""
    try:
        return CONTAINERS[path.suffix.lower()]
    except KeyError as exc:
        known = ", ".join(CONTAINERS)
        raise RtsegError(f"cannot write {path.name} as video: use one of {known}") from exc


def written_by_rtseg(path: Path) -> bool:
    """Whether the video file at `path` was written by rtseg (see ENCODER_TAG)."""
    try:
        with av.open(ffmpeg_path(path), metadata_errors="ignore") as container:
            stream = video_stream(container)
            tags = {k.lower(): v for k, v in stream.metadata.items()} if stream else {}
            tag = tags.get("encoder", "")  # Matroska's tags are upper case
    except (av.FFmpegError, OSError, UnicodeDecodeError):
        return False
    return tag.split(" ")[0] == ENCODER_TAG


def holds_alpha(path: Path) -> bool:
    """Whether a file with this suffix keeps an alpha channel (so BGRA output makes sense)."""
    spec = CONTAINERS.get(path.suffix.lower())
    return spec is not None and spec.pix_fmt_alpha is not None


def even_size(width: int, height: int) -> tuple[int, int]:
    """The size a frame is padded to: 4:2:0 video holds only even widths and heights, and
    ProRes only even widths."""
    return width + width % 2, height + height % 2


class VideoWriter(Closing):
    """Writes frames, each at its time, into a video file (see the module docstring): the one
    writer of video files rtseg has, behind `rtseg run`'s file outputs and `rtseg.VideoWriter`.

    `write()` takes a pipeline `Frame` (its `output`, at its own timestamp) or a BGR/BGRA
    image at a time in seconds. Frames without a time are written one `1/fps` apart; frames
    whose time does not advance are moved one tick after the previous one (the muxer needs
    strictly increasing times), and the log says how many.

    Lifecycle: `write()` frames, then exactly one of
    - `close()`: the run succeeded; finish the file and rename it onto `path`;
    - `abort()`: the run failed or was stopped; finish what was written so it plays, and
      leave it at `partial_path` (None when nothing was written).
    Both are idempotent and the first one called wins. As a context manager, leaving the
    block normally closes it and leaving it with an exception aborts it.

    The input's audio tracks (`audio_from`, or `like`'s) are carried into the output (see
    `AudioTracks`), cut where the video ends.
    """

    def __init__(
        self,
        path: Path | str,
        like: Location | VideoReader | VideoInfo | None = None,
        fps: float | None = None,
        *,
        crf: int | None = None,
        preset: str | None = None,
        overwrite: bool = False,
        audio_from: Location | None = None,
        replace_partial: bool | None = None,
    ) -> None:
        """Claim `path` (`.mp4`, `.mkv`, `.webm` or `.mov`).

        Args:
            path: the file to write; it appears when the writer is closed.
            like: the input (a path, a `read_video` reader, or its `info`) whose clock, sample
                aspect ratio and audio tracks images written with a time keep.
            fps: the frame rate of frames written without a time (default: `like`'s, or 30).
            crf: the encoder's quality (lower is better), as `rtseg run --crf`.
            preset: an x264 preset for `.mp4`/`.mkv`, as `rtseg run --preset`.
            overwrite: replace an existing file (otherwise refused).
            audio_from: the input whose audio tracks are copied, where `like` is not given.
            replace_partial: replace the partial file an earlier run kept, once the file is
                locked (None: as `overwrite`; a batch's rerun sets it).

        Raises:
            RtsegError: the suffix, `crf` or `preset` is not one rtseg writes, the file exists
                (without `overwrite`) or is being written by another run.
        """
        if isinstance(like, str | Path | Location):
            with VideoReader(like) as reader:
                like = reader.info
        elif isinstance(like, VideoReader):
            like = like.info
        if fps is None:
            fps = like.fps if like is not None else 30.0
        self.fps = check_rate("fps", fps)
        if crf is not None:
            check_count("crf", crf, 0)
        self._last_image_s: float | None = None  # the time of the last image given one
        # The clock and pixel shape of images written with a time in seconds.
        self._image_clock = like.time_base if like is not None else WRITE_TIME_BASE
        self._image_sar = like.sar if like is not None else None
        if like is not None:
            audio_from = like.path if like.audio_tracks else None
        self.path = Path(path)
        self.spec = container_for(self.path)
        if preset is not None and self.spec.codec != "libx264":
            raise RtsegError(
                f"{option('preset')} is for H.264 (.mp4, .mkv), not {self.path.suffix}"
            )
        if preset is not None and preset not in X264_PRESETS:
            raise RtsegError(
                f"unknown x264 preset {preset!r}; choose from {', '.join(X264_PRESETS)}"
            )
        self.preset = preset
        self._rate_tb = rate_time_base(self.fps)
        if crf is not None and self.spec.default_crf is None:
            raise RtsegError(
                f"{self.path.suffix} (ProRes) has no CRF setting; leave {option('crf')} out"
            )
        self.crf = crf if crf is not None else self.spec.default_crf
        self._lock = claim_output(self.path, overwrite, replace_partial)
        try:
            self._audio = AudioTracks(audio_from) if audio_from is not None else None
        except BaseException:
            self._lock.release()
            raise
        self._tmp = partial_name(self.path)
        self._space = SpaceGuard(self._tmp, self.path)
        self._output: av.container.OutputContainer | None = None
        self._stream: av.video.VideoStream | None = None
        self._shape: tuple[int, ...] | None = None
        self._padded: tuple[int, int] | None = None  # columns, rows added for an even size
        self._square: tuple[int, int] | None = None  # the size non-square pixels become
        self._last_pts: int | None = None
        self._last_duration = 0
        self._shifted = 0
        self._planes: np.ndarray | None = None  # 4:2:0 scratch, reused: PyAV copies it
        self.frames = 0
        self.partial_path: Path | None = None
        self._done = False

    # -- setting up ------------------------------------------------------------------------
    def _start(self, image: np.ndarray, frame: Frame) -> None:
        height, width = image.shape[:2]
        channels = image.shape[2] if image.ndim == 3 else 1
        if channels == 4:
            if self.spec.pix_fmt_alpha is None:
                raise RtsegError(f"{self.path.suffix} cannot hold alpha; write .webm or .mov")
            pix_fmt, self._in_fmt = self.spec.pix_fmt_alpha, "bgra"
        elif channels == 3:
            pix_fmt = self.spec.pix_fmt
            # 4:2:0 frames are converted by OpenCV (see `_yuv420`), other formats by swscale.
            self._in_fmt = "yuv420p" if pix_fmt == "yuv420p" else "bgr24"
        else:
            raise RtsegError(f"output frames must be BGR or BGRA, got shape {image.shape}")
        out_w, out_h, sar = self._plan_size(width, height, frame.sar)
        self._time_base = self.spec.time_base or frame.time_base or self._rate_tb
        options = dict(ENCODER_OPTIONS.get(self.spec.codec, {}))
        if self.preset is not None:
            options = {"preset": self.preset}
        if self.crf is not None:
            options["crf"] = str(self.crf)
        try:
            output = av.open(ffmpeg_path(self._tmp), "w")
        except (av.FFmpegError, OSError) as exc:
            raise RtsegError(f"cannot open {self.path} for writing: {exc}") from exc
        try:
            stream = output.add_stream(self.spec.codec, rate=self._encoder_rate(), options=options)
            stream.width, stream.height, stream.pix_fmt = out_w, out_h, pix_fmt
            stream.metadata["encoder"] = f"{ENCODER_TAG} {self.spec.codec}"
            if self.spec.codec == "libx264" and self.preset is None:
                # (a slower --preset does more work per frame than one thread keeps up with)
                stream.codec_context.thread_count = x264_threads()
            # What `_yuv420` and swscale (for ProRes and alpha) both write: an untagged HD
            # file is decoded as BT.709 by players, a visible shift (9 levels of blue).
            stream.codec_context.colorspace = BT601_MATRIX
            stream.codec_context.color_range = LIMITED_RANGE
            stream.time_base = self._time_base
            stream.codec_context.time_base = self._time_base
            if sar is not None:
                stream.codec_context.sample_aspect_ratio = sar
            if self._audio is not None:
                self._audio.add_to(output, self.spec.audio_encoder)
        except BaseException:
            output.close()
            self._tmp.unlink(missing_ok=True)
            raise
        self._output, self._stream = output, stream
        self._shape = image.shape

    def _encoder_rate(self) -> Fraction:
        """The frame rate the encoder is told, as a fraction its clock can tick: never more
        than one frame per tick of the output's time base (VP9 refuses a rate above it, as
        raw DV's stated 60000 fps against WebM's milliseconds). Frame times are unchanged."""
        return min(1 / self._rate_tb, 1 / self._time_base)

    def _plan_size(
        self, width: int, height: int, sar: Fraction | None
    ) -> tuple[int, int, Fraction | None]:
        """The encoded size and sample aspect ratio for frames of `width` x `height`: square
        pixels where the container cannot mark them, even sizes (each change said once)."""
        if sar is not None and not self.spec.holds_sar:
            self._square = (round(width * sar), height)
            log.info(
                "%s cannot mark pixels as non-square: %dx%d frames with a %s sample aspect "
                "ratio are resampled to %dx%d square pixels, which look the same",
                self.path.suffix, width, height, sar, *self._square,
            )  # fmt: skip
            width, sar = self._square[0], None
        out_w, out_h = even_size(width, height)
        if (out_w, out_h) != (width, height):
            self._padded = (out_w - width, out_h - height)
            log.info(
                "%dx%d frames are padded to %dx%d for %s (%s needs an even size); the "
                "added column/row repeats the edge",
                width, height, out_w, out_h, self.path.name, self.spec.codec,
            )  # fmt: skip
        return out_w, out_h, sar

    # -- writing ---------------------------------------------------------------------------
    def write(self, frame: Frame | np.ndarray, time_s: float | None = None) -> None:
        """Encode one frame at its time (setting the file up from the first frame): a
        pipeline `Frame` at its own timestamp, or a BGR/BGRA uint8 image to be shown at
        `time_s` seconds (None: one `1/fps` after the last).

        Raises:
            RtsegError: the image is not uint8 BGR/BGRA, its size differs from the first
                frame's, or the file cannot be written.
        """
        if isinstance(frame, np.ndarray):
            frame = self._image_frame(frame, time_s)
        if self._done:
            raise RtsegError(f"{self.path} is already closed")
        image = frame.output if frame.output is not None else frame.image
        if image.dtype != np.uint8:
            raise RtsegError(f"output frames must be uint8, got {image.dtype}")
        if self._output is None:
            self._start(image, frame)
        elif image.shape != self._shape:
            raise size_changed(frame.seq, image.shape[1::-1], self._shape[1::-1], self.path)
        if self._square is not None:
            image = cv2.resize(image, self._square, interpolation=cv2.INTER_AREA)
        if self._padded is not None:
            right, bottom = self._padded
            image = cv2.copyMakeBorder(image, 0, bottom, 0, right, cv2.BORDER_REPLICATE)
        image = np.ascontiguousarray(image)
        if self._in_fmt == "yuv420p":
            image = self._planes = _yuv420(image, self._planes)
        video_frame = av.VideoFrame.from_ndarray(image, format=self._in_fmt)
        # Some encoders (ProRes) tag the stream with the frame's own colours, not the codec's.
        video_frame.colorspace, video_frame.color_range = BT601_MATRIX, LIMITED_RANGE
        video_frame.pts, video_frame.duration = self._timing(frame)
        video_frame.time_base = self._time_base
        self._encode(video_frame)
        if self._audio is not None:
            # up to where the video is, never past it: a run that stops here ends in sync
            self._guarded(self._audio.write_until, self._end_s())
        self.frames += 1
        self._space.check(self.frames)

    def _image_frame(self, image: np.ndarray, time_s: float | None) -> Frame:
        """An image written from Python, as the frame the pipeline would have given."""
        check_image(image, "write()", channels=(3, 4))
        if time_s is None and self._last_image_s is not None:
            time_s = self._last_image_s + 1 / self.fps  # after timed images, one period on
        if time_s is not None:
            if isinstance(time_s, bool) or not isinstance(time_s, Real):
                raise RtsegError(f"write() takes time_s in seconds from 0, got {time_s!r}")
            if not 0 <= float(time_s) < math.inf:
                raise RtsegError(f"write() takes time_s in seconds from 0, got {time_s!r}")
            self._last_image_s = float(time_s)
        pts = None if time_s is None else round(Fraction(float(time_s)) / self._image_clock)
        return Frame(
            seq=self.frames,
            image=image,
            pts=pts,
            time_base=None if pts is None else self._image_clock,
            sar=self._image_sar,
            output=image,
        )

    def _timing(self, frame: Frame) -> tuple[int, int]:
        """The frame's pts and duration in the output's time base (see the class docstring)."""
        if frame.pts is None or frame.time_base is None:
            pts_s, length_s = frame.seq * self._rate_tb, self._rate_tb
        else:
            pts_s = frame.pts * frame.time_base
            length_s = (frame.duration or 0) * frame.time_base
        pts = round(pts_s / self._time_base)
        if self._last_pts is not None and pts <= self._last_pts:
            self._shifted += 1
            pts = self._last_pts + 1
        duration = round(length_s / self._time_base)
        if not duration:  # unknown: as long as the gap before it, or one frame period
            last = self._last_pts
            duration = pts - last if last is not None else round(self._rate_tb / self._time_base)
        self._last_pts, self._last_duration = pts, max(1, duration)
        return pts, self._last_duration

    def _end_s(self) -> Fraction:
        """Where the written video ends: the last frame's time plus how long it shows."""
        if self._last_pts is None:
            return Fraction(0)
        return (self._last_pts + self._last_duration) * self._time_base

    def _encode(self, video_frame: av.VideoFrame | None) -> None:
        assert self._stream is not None and self._output is not None
        self._guarded(lambda: self._output.mux(self._stream.encode(video_frame)))

    def _guarded(self, step, *args) -> None:
        """Run an encoding step; FFmpeg's errors (a full disk, a bad frame) become one line."""
        try:
            step(*args)
        except (av.FFmpegError, OSError) as exc:
            raise RtsegError(f"cannot write {self.path}: {exc}") from exc

    # -- finishing -------------------------------------------------------------------------
    def _finalize(self, ok: bool) -> None:
        if self._done:
            return
        self._done = True
        try:
            if self._output is None:  # no frame ever arrived: nothing to keep
                return
            # A step that fails leaves the video written so far, which is closed and kept as
            # the partial output. A file that cannot be closed (a size limit or a quota hit,
            # a failing disk: its index could not be written) is kept too: its frames are
            # all there is of the run, and tools can recover them.
            failed: RtsegError | None = None
            steps = [lambda: self._encode(None)]
            if self._audio is not None:
                steps.append(lambda: self._guarded(self._audio.finish, self._end_s()))
            for step in steps:
                try:
                    step()
                except RtsegError as exc:
                    failed = failed or exc
            try:
                self._guarded(self._output.close)
            except RtsegError:
                with contextlib.suppress(av.FFmpegError, OSError):
                    self._output.close()
                if self._tmp.exists():
                    self.partial_path = self._tmp
                raise
            if ok and failed is None and self._audio is not None:
                self._say_audio_cut(self._audio.left_after(self._end_s()))
            if self._audio is not None and self._audio.damaged:
                log.warning(
                    "%s: %d damaged audio packets could not be decoded; each became silence "
                    "as long as the packet",
                    self.path.name, self._audio.damaged,
                )  # fmt: skip
            if self._shifted:
                log.warning(
                    "%s: %d frames had a timestamp that did not advance; each was written "
                    "one tick after the frame before it",
                    self.path.name, self._shifted,
                )  # fmt: skip
            if ok and failed is None:
                os.replace(self._tmp, self.path)
            else:
                self.partial_path = self._tmp
            if failed is not None:
                raise failed
        finally:
            if self._audio is not None:
                self._audio.close()
            self._lock.release()

    def _say_audio_cut(self, cut_s: Fraction) -> None:
        """One line when cutting the audio where the video ends left much of it out."""
        if cut_s >= AUDIO_CUT_SAID_S:
            log.warning(
                "%s: the audio went on %.1f s after the video's last frame; those %.1f s "
                "were cut, since the audio ends where the video does",
                self.path.name, cut_s, cut_s,
            )  # fmt: skip

    def close(self) -> None:
        """Finish a successful run: the file appears under its final name (with no frame
        written there is no file, and the log says so)."""
        if not self._done and self.frames == 0:
            log.warning("no frame was written, so %s was not created", self.path)
        self._finalize(ok=True)

    def _close_empty(self) -> None:
        """`close()` at the end of a `with` block, where no frame written is an error."""
        self._finalize(ok=True)
        if self.frames == 0:
            raise RtsegError(f"no frame was written, so {self.path} was not created")

    def abort(self) -> None:
        """Finish a failed or stopped run: keep what was written, playable, at `partial_path`.

        Never raises: the caller is already handling what stopped the run.
        """
        with contextlib.suppress(RtsegError):
            self._finalize(ok=False)

    def _close_for(self, error: BaseException | None) -> Callable[[], object]:
        """Leaving the block normally finishes the file (an error when no frame was written);
        with an exception, keeps what was written as partial."""
        return self._close_empty if error is None else self.abort


def _yuv420(image: np.ndarray, dst: np.ndarray | None = None) -> np.ndarray:
    """A BGR frame as planar 4:2:0 (BT.601, limited range), the layout x264 and VP9 encode.

    OpenCV's conversion at 720p: 0.25 ms plus 0.13 to wrap it, against 0.85 ms for PyAV's
    swscale path from bgr24, and it rounds where swscale truncates: a flat (30, 120, 200)
    comes back as (30, 117, 200) instead of (27, 118, 197). Written into `dst` when it is
    given and of the right size (the sink reuses one buffer: PyAV copies the planes).
    """
    return cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420, dst=dst)
