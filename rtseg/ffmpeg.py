"""Video files written by FFmpeg: H.264 for `.mp4`, alpha video for `.webm`/`.mov`, audio kept.

OpenCV's writer only offers `mp4v` and drops the input's audio; FFmpeg gives H.264 at a chosen
quality, alpha-capable codecs, and stream-copied audio. Frames go to FFmpeg's stdin as raw
pixels straight from the numpy buffer, and the file appears under its final name only when the
run finished without an error, so a failed run never looks like a finished one.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np

from rtseg.errors import RtsegError
from rtseg.frame import Frame
from rtseg.outputs import SpaceGuard, check_output, partial_name, size_changed


@lru_cache(maxsize=1)
def find_ffmpeg() -> str:
    """Path of an FFmpeg binary: imageio-ffmpeg's bundled one, else `ffmpeg` on PATH."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        pass
    found = shutil.which("ffmpeg")
    if found is None:
        raise RtsegError("FFmpeg not found: pip install imageio-ffmpeg, or install ffmpeg on PATH")
    return found


def has_ffmpeg() -> bool:
    """Whether an FFmpeg binary is available (callers fall back to OpenCV's writer if not)."""
    try:
        find_ffmpeg()
    except RtsegError:
        return False
    return True


@dataclass(frozen=True)
class Container:
    """How one output container is encoded: video codec, pixel formats, and audio rules."""

    muxer: str
    codec_args: tuple[str, ...]
    pix_fmt_bgr: str
    pix_fmt_bgra: str | None  # None: the container/codec cannot hold alpha here
    default_crf: int | None  # None: the codec has no CRF mode
    audio_copy: frozenset[str]  # audio codecs the container takes as they are
    audio_encode: tuple[str, ...]  # how other audio is re-encoded for it


CONTAINERS: dict[str, Container] = {
    ".mp4": Container(
        muxer="mp4",
        codec_args=("-c:v", "libx264", "-preset", "veryfast"),
        pix_fmt_bgr="yuv420p",
        pix_fmt_bgra=None,
        default_crf=20,
        audio_copy=frozenset({"aac", "mp3", "ac3", "eac3", "alac"}),
        audio_encode=("-c:a", "aac", "-b:a", "160k"),
    ),
    ".webm": Container(
        muxer="webm",
        codec_args=("-c:v", "libvpx-vp9", "-b:v", "0", "-deadline", "realtime", "-cpu-used", "8"),
        pix_fmt_bgr="yuv420p",
        pix_fmt_bgra="yuva420p",
        default_crf=32,
        audio_copy=frozenset({"opus", "vorbis"}),
        audio_encode=("-c:a", "libopus", "-b:a", "128k"),
    ),
    ".mov": Container(
        muxer="mov",
        codec_args=("-c:v", "prores_aw", "-profile:v", "4"),  # 4444; 4x faster than prores_ks
        pix_fmt_bgr="yuv444p10le",
        pix_fmt_bgra="yuva444p10le",
        default_crf=None,
        audio_copy=frozenset({"aac", "mp3", "alac", "pcm_s16le", "pcm_s24le"}),
        audio_encode=("-c:a", "aac", "-b:a", "160k"),
    ),
}


def container_for(path: Path) -> Container:
    """The encoding rules for `path`'s suffix; RtsegError for a suffix FFmpeg output lacks."""
    try:
        return CONTAINERS[path.suffix.lower()]
    except KeyError:
        known = ", ".join(CONTAINERS)
        raise RtsegError(f"cannot write {path.name} with FFmpeg: use one of {known}") from None


def holds_alpha(path: Path) -> bool:
    """Whether a file with this suffix keeps an alpha channel (so BGRA output makes sense)."""
    spec = CONTAINERS.get(path.suffix.lower())
    return spec is not None and spec.pix_fmt_bgra is not None


_AUDIO_STREAM = re.compile(r"Stream #\d+:\d+\S*: Audio: (\w+)")


def probe_audio_codec(media: Path) -> str | None:
    """Codec name of the first audio stream of `media` (as FFmpeg names it), or None."""
    if not media.is_file():
        raise RtsegError(f"audio source {media} does not exist")
    # `ffmpeg -i` with no output prints the stream list and exits non-zero; that is expected.
    result = subprocess.run(
        [find_ffmpeg(), "-hide_banner", "-nostdin", "-i", str(media)],
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    )
    if "Invalid data found" in result.stderr:
        raise RtsegError(f"audio source {media} is not a media file FFmpeg can read")
    found = _AUDIO_STREAM.search(result.stderr)
    return found.group(1) if found else None


def fps_fraction(fps: float) -> str:
    """A rate FFmpeg keeps exact: 29.97002997 becomes 30000/1001, not a rounded float."""
    if not fps > 0:
        raise RtsegError(f"frame rate must be positive, got {fps}")
    return str(Fraction(fps).limit_denominator(1001))


_LOG_PREFIX = re.compile(r"^(\[[^\]]*\]\s*)+")


def first_error_line(log: Path) -> str:
    """The root cause in FFmpeg's error log: its first line, without `[codec @ 0x..]` tags."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return "no error output"
    for line in text.splitlines():
        line = _LOG_PREFIX.sub("", line).strip()
        if line:
            return line
    return "no error output"


class FfmpegVideoSink:
    """Writes frames into a video file through an FFmpeg child process.

    Lifecycle: `write()` frames, then exactly one of
    - `close()`: the run succeeded; finalize and rename the temporary file onto `path`;
    - `abort()`: the run failed; finalize what was written so it is playable, and leave it
      under its temporary name, given by `partial_path` (None when nothing was written).
    Both are idempotent and the first one called wins, so a pipeline can call `abort()` on an
    error and then `close()` unconditionally in `finally`.

    With `audio_from`, the first audio stream of that file is copied into the output (or
    re-encoded when the container cannot hold its codec), trimmed to the video's duration so
    the frame count stays exact. Video is encoded first and the audio added by a stream-copy
    remux on finish, which costs one extra fast pass over the file.
    """

    def __init__(
        self,
        path: Path | str,
        fps: float,
        *,
        crf: int | None = None,
        audio_from: Path | str | None = None,
        overwrite: bool = False,
    ) -> None:
        self.path = Path(path)
        self.spec = container_for(self.path)
        self.rate = fps_fraction(fps)
        if crf is not None and self.spec.default_crf is None:
            raise RtsegError(f"{self.path.suffix} (ProRes) has no CRF setting; leave --crf out")
        self.crf = crf if crf is not None else self.spec.default_crf
        check_output(self.path, overwrite)
        self.ffmpeg = find_ffmpeg()
        self.audio_from = Path(audio_from) if audio_from is not None else None
        self.audio_codec = probe_audio_codec(self.audio_from) if self.audio_from else None
        self._tmp = partial_name(self.path)
        self._video_tmp = (
            partial_name(self.path, "partial-video") if self.audio_codec else self._tmp
        )
        # FFmpeg's log lives outside the output's directory, so a full disk can't silence it.
        handle, log = tempfile.mkstemp(prefix="rtseg-ffmpeg-", suffix=".log")
        os.close(handle)
        self._log = Path(log)
        self._space = SpaceGuard(self._video_tmp, self.path, copies_on_close=bool(self.audio_codec))
        self._proc: subprocess.Popen[bytes] | None = None
        self._shape: tuple[int, ...] | None = None
        self.frames = 0
        self.partial_path: Path | None = None
        self._done = False

    def _start(self, frame: np.ndarray) -> None:
        height, width = frame.shape[:2]
        channels = frame.shape[2] if frame.ndim == 3 else 1
        if channels == 4:
            if self.spec.pix_fmt_bgra is None:
                raise RtsegError(f"{self.path.suffix} cannot hold alpha; write .webm or .mov")
            in_fmt, out_fmt = "bgra", self.spec.pix_fmt_bgra
        elif channels == 3:
            in_fmt, out_fmt = "bgr24", self.spec.pix_fmt_bgr
        else:
            raise RtsegError(f"output frames must be BGR or BGRA, got shape {frame.shape}")
        cmd = [
            self.ffmpeg, "-hide_banner", "-nostats", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", in_fmt, "-s", f"{width}x{height}",
            "-framerate", self.rate, "-i", "pipe:0",
            "-map", "0:v", *self.spec.codec_args, "-pix_fmt", out_fmt,
        ]  # fmt: skip
        if self.crf is not None:
            cmd += ["-crf", str(self.crf)]
        cmd += ["-f", self.spec.muxer, str(self._video_tmp)]
        with self._log.open("wb") as log:
            # A new session: Ctrl-C reaches only us, and we finalize the file in order.
            self._proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stderr=log, start_new_session=True
            )
        self._shape = frame.shape

    def write(self, frame: Frame) -> None:
        """Send one frame to the encoder (setting it up from the first frame)."""
        if self._done:
            raise RtsegError(f"{self.path} is already closed")
        image = frame.output if frame.output is not None else frame.image
        if image.dtype != np.uint8:
            raise RtsegError(f"output frames must be uint8, got {image.dtype}")
        if self._proc is None:
            self._start(image)
        elif image.shape != self._shape:
            size, first = image.shape[1::-1], self._shape[1::-1]
            raise size_changed(frame.seq, size, first, self.path)
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(np.ascontiguousarray(image).data)
        except (BrokenPipeError, OSError):
            self._proc.wait()
            raise RtsegError(f"FFmpeg stopped writing {self.path}: {self._error()}") from None
        self.frames += 1
        self._space.check(self.frames)

    def _error(self) -> str:
        return first_error_line(self._log)

    def _finish_encoder(self) -> None:
        """Close FFmpeg's stdin and wait: FFmpeg then writes the index, so the file plays."""
        if self._proc is None:
            return
        assert self._proc.stdin is not None
        with contextlib.suppress(OSError):  # FFmpeg already gone: its exit status says why
            self._proc.stdin.close()
        if self._proc.wait() != 0:
            raise RtsegError(f"FFmpeg failed writing {self.path}: {self._error()}")

    def _add_audio(self) -> None:
        """Remux the encoded video with the source's audio, cut to the video's duration."""
        assert self.audio_from is not None and self.audio_codec is not None
        duration = self.frames / Fraction(self.rate)
        copy = self.audio_codec in self.spec.audio_copy
        audio_args = ("-c:a", "copy") if copy else self.spec.audio_encode
        cmd = [
            self.ffmpeg, "-hide_banner", "-nostats", "-loglevel", "error", "-y", "-nostdin",
            "-i", str(self._video_tmp), "-i", str(self.audio_from),
            "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", *audio_args,
            "-t", f"{float(duration):.6f}", "-f", self.spec.muxer, str(self._tmp),
        ]  # fmt: skip
        with self._log.open("wb") as log:
            done = subprocess.run(cmd, stderr=log, check=False)
        if done.returncode != 0:
            raise RtsegError(f"FFmpeg failed adding audio to {self.path}: {self._error()}")
        self._video_tmp.unlink()

    def _finalize(self, ok: bool) -> None:
        if self._done:
            return
        self._done = True
        try:
            if self._proc is None:  # no frame ever arrived: nothing to keep
                self._drop_temporaries()
                return
            try:
                self._finish_encoder()
            except RtsegError:
                self._drop_temporaries()  # a crashed encoder leaves no playable file
                raise
            if self.audio_codec:
                try:
                    self._add_audio()
                except RtsegError:
                    self._tmp.unlink(missing_ok=True)
                    self.partial_path = self._video_tmp  # the video itself is fine
                    raise
            if ok:
                os.replace(self._tmp, self.path)
            else:
                self.partial_path = self._tmp
        finally:
            self._log.unlink(missing_ok=True)

    def _drop_temporaries(self) -> None:
        for tmp in {self._tmp, self._video_tmp}:
            tmp.unlink(missing_ok=True)

    def close(self) -> None:
        """Finish a successful run: the file appears under its final name."""
        self._finalize(ok=True)

    def abort(self) -> None:
        """Finish a failed run: keep what was written, playable, at `partial_path`.

        Never raises: the caller is already handling the error that stopped the run, and
        an encoder that died has already said why in `write()`.
        """
        with contextlib.suppress(RtsegError):
            self._finalize(ok=False)
