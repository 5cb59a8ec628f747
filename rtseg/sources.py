"""Frame sources: cameras, video files and URLs, images, image directories, and `sample`.

Sources own no threads (the pipeline does): `read()` returns the next `Frame` or None at the
end, `close()` releases what they hold. `live` tells the pipeline which channel policy fits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from rtseg.errors import CameraUnavailable, RtsegError
from rtseg.frame import Frame

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
# A live source that delivers no frame for this long has stalled; it is then reopened with
# these waits in between (seconds), and given up on with a clear error when none works.
STALL_TIMEOUT_S = 3.0
RECONNECT_BACKOFF_S = (0.25, 0.5, 1.0, 2.0)
SAMPLE_PERSON = Path(__file__).resolve().parent / "data" / "grace_hopper.jpg"


class Source(Protocol):
    live: bool
    fps: float

    def read(self) -> Frame | None: ...

    def close(self) -> None: ...


def to_bgr(image: np.ndarray) -> np.ndarray:
    """Any image OpenCV can load (gray, BGRA, 16-bit) as 8-bit BGR."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if image.ndim == 2 or image.shape[2] == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


class _Counter:
    """Hands out sequence numbers and paces frames to a rate when asked to."""

    def __init__(self, fps: float, paced: bool) -> None:
        self.seq = 0
        self._period_ns = int(1e9 / fps) if paced and fps > 0 else 0
        self._next_ns = 0

    def frame(self, image: np.ndarray, name: str | None = None) -> Frame:
        if self._period_ns:
            now = time.monotonic_ns()
            if self._next_ns == 0:
                self._next_ns = now
            elif self._next_ns > now:
                time.sleep((self._next_ns - now) / 1e9)
            self._next_ns += self._period_ns
        frame = Frame(seq=self.seq, image=image, name=name)
        self.seq += 1
        return frame


def reconnect(
    what: str,
    reopen: Callable[[], cv2.VideoCapture | None],
    backoff_s: tuple[float, ...],
) -> tuple[cv2.VideoCapture, np.ndarray]:
    """Reopen a stalled live source, waiting longer between tries; the first frame it gives.

    Bounded: after `backoff_s` is used up the caller gets an `RtsegError`, never a hang.
    """
    started = time.monotonic()
    for attempt, wait in enumerate(backoff_s, 1):
        time.sleep(wait)
        cap = reopen()
        if cap is None:
            continue
        ok, image = cap.read()
        if ok:
            log.warning("%s stalled; reconnected on attempt %d", what, attempt)
            return cap, image
        cap.release()
    raise RtsegError(
        f"{what} stopped delivering frames and did not come back after {len(backoff_s)} "
        f"reconnect attempts in {time.monotonic() - started:.1f} s; check it and run again"
    )


class VideoSource:
    """A video file or stream URL, decoded by OpenCV; `realtime` plays it at its own fps.

    A file that ends before its container's frame count (a truncated download) is read up to
    where it breaks; `frames_expected` lets the run's stats say how many frames were lost. A
    URL that stalls for `stall_timeout_s` is reopened with backoff (see `reconnect`).
    """

    def __init__(
        self,
        spec: str,
        realtime: bool = False,
        stall_timeout_s: float = STALL_TIMEOUT_S,
        backoff_s: tuple[float, ...] = RECONNECT_BACKOFF_S,
    ) -> None:
        self.is_url = "://" in spec
        if not self.is_url:
            path = Path(spec)
            if not path.exists():
                raise RtsegError(f"input not found: {spec}")
            if path.is_dir():
                raise RtsegError(f"{spec} is a directory without images")
            if path.stat().st_size == 0:
                raise RtsegError(f"input is empty (0 bytes): {spec}")
        self.spec = spec
        self.path = None if self.is_url else Path(spec)  # where sinks find the audio to keep
        self._timeout_ms = int(stall_timeout_s * 1000)
        self._backoff_s = backoff_s
        cap = self._open()
        if cap is None:
            hint = "is the stream up?" if self.is_url else "is it a complete video file?"
            raise RtsegError(f"cannot decode {spec} as video ({hint})")
        self._cap = cap
        self.fps = self._cap.get(cv2.CAP_PROP_FPS) or 30.0
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT)) if not self.is_url else 0
        self.frame_count = max(count, 0)
        self.live = realtime or self.is_url
        self._counter = _Counter(self.fps, paced=realtime)

    def _open(self) -> cv2.VideoCapture | None:
        if self.is_url:
            timeouts = [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                self._timeout_ms,
                cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                self._timeout_ms,
            ]
            cap = cv2.VideoCapture(self.spec, cv2.CAP_FFMPEG, timeouts)
        else:
            cap = cv2.VideoCapture(self.spec)
        if cap.isOpened():
            return cap
        cap.release()
        return None

    def read(self) -> Frame | None:
        ok, image = self._cap.read()
        if ok:
            return self._counter.frame(image)
        if self.is_url and not 0 < self.frame_count <= self.frames_read:
            self._cap.release()
            self._cap, image = reconnect(f"stream {self.spec}", self._open, self._backoff_s)
            return self._counter.frame(image)
        return None

    @property
    def frames_read(self) -> int:
        return self._counter.seq

    @property
    def frames_expected(self) -> int | None:
        """The container's frame count, when the file says it (files only)."""
        return self.frame_count or None

    def close(self) -> None:
        self._cap.release()


class CameraSource:
    """A webcam by index or device path, with optional size, fps and MJPG capture.

    A camera that stops delivering frames (unplugged, taken by another program) is reopened
    with backoff (see `reconnect`), then given up on with a clear error.
    """

    def __init__(
        self,
        device: int | str,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
        mjpg: bool = False,
        read_failures: int = 30,
        backoff_s: tuple[float, ...] = RECONNECT_BACKOFF_S,
    ) -> None:
        self.device = device
        self._settings = (width, height, fps, mjpg)
        cap = self._open()
        if cap is None:
            raise CameraUnavailable(
                f"cannot open camera {device} (is it connected and not in use?)"
            )
        self._cap = cap
        self.fps = self._cap.get(cv2.CAP_PROP_FPS) or fps or 30.0
        self.live = True
        self._read_failures = read_failures
        self._backoff_s = backoff_s
        self._counter = _Counter(self.fps, paced=False)

    def _open(self) -> cv2.VideoCapture | None:
        cap = cv2.VideoCapture(self.device)
        if not cap.isOpened():
            cap.release()
            return None
        width, height, fps, mjpg = self._settings
        if mjpg:
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
        if width:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        if height:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        if fps:
            cap.set(cv2.CAP_PROP_FPS, fps)
        return cap

    def read(self) -> Frame | None:
        for _ in range(self._read_failures):
            ok, image = self._cap.read()
            if ok:
                return self._counter.frame(image)
            time.sleep(0.01)
        self._cap.release()
        self._cap, image = reconnect(f"camera {self.device}", self._open, self._backoff_s)
        return self._counter.frame(image)

    def close(self) -> None:
        self._cap.release()


class ImageSource:
    """One image file, or a directory of them in name order; frames keep their file stems."""

    def __init__(self, spec: str, fps: float = 30.0, realtime: bool = False) -> None:
        path = Path(spec)
        if path.is_dir():
            self._paths = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not self._paths:
                raise RtsegError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {spec}")
        elif path.is_file():
            self._paths = [path]
        else:
            raise RtsegError(f"input not found: {spec}")
        self.fps = fps
        self.live = realtime
        self._counter = _Counter(fps, paced=realtime)
        self._index = 0

    def read(self) -> Frame | None:
        if self._index >= len(self._paths):
            return None
        path = self._paths[self._index]
        self._index += 1
        try:
            image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        except cv2.error:  # some decoders raise on damaged data instead of returning None
            image = None
        if (
            image is None
            or image.size == 0
            or (image.ndim == 3 and image.shape[2] not in (1, 3, 4))
        ):
            raise RtsegError(f"cannot decode image {path}; remove or replace it")
        return self._counter.frame(to_bgr(image), name=path.stem)

    def close(self) -> None:
        self._index = len(self._paths)


class SampleSource:
    """A built-in moving scene, so rtseg runs with no camera and no files.

    A public-domain photograph of a person (Grace Hopper, in `rtseg/data`) drifts and breathes
    over a background of moving colour bands, so motion and edges are exercised.
    """

    def __init__(
        self,
        frames: int = 300,
        width: int = 1280,
        height: int = 720,
        fps: float = 30.0,
        realtime: bool = False,
    ) -> None:
        self.fps = fps
        self.live = realtime
        self.frames = frames
        self.width, self.height = width, height
        self._person = self._load_person(height)
        self._bands = self._make_bands()
        self._counter = _Counter(fps, paced=realtime)

    @staticmethod
    def _load_person(height: int) -> np.ndarray:
        person = cv2.imread(str(SAMPLE_PERSON), cv2.IMREAD_COLOR)
        scale = 0.8 * height / person.shape[0]
        return cv2.resize(person, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)

    def _make_bands(self) -> np.ndarray:
        # Twice the frame width, so each frame is a cheap slice that scrolls.
        x = np.arange(2 * self.width, dtype=np.float32)
        y = np.arange(self.height, dtype=np.float32)[:, None]
        phase = x / 80.0 + y / 160.0
        a = 0.5 + 0.5 * np.sin(phase)
        b = 0.5 + 0.5 * np.sin(phase * 0.37 + 1.0)
        return np.dstack([60 + 150 * a, 90 + 100 * b, 40 + 120 * (1 - a)]).astype(np.uint8)

    def read(self) -> Frame | None:
        seq = self._counter.seq
        if seq >= self.frames:
            return None
        t = seq / self.fps
        offset = int(t * 120) % self.width
        scene = self._bands[:, offset : offset + self.width].copy()
        ph, pw = self._person.shape[:2]
        x = int((self.width - pw) / 2 + 0.25 * (self.width - pw) * np.sin(t * 0.8))
        y = int(self.height - ph + 10 * np.sin(t * 2.1))
        x, y = max(0, min(x, self.width - pw)), max(0, min(y, self.height - ph))
        scene[y : y + ph, x : x + pw] = self._person
        return self._counter.frame(scene)

    def close(self) -> None:
        self.frames = self._counter.seq


def open_source(
    spec: str,
    realtime: bool = False,
    width: int | None = None,
    height: int | None = None,
    fps: float | None = None,
    mjpg: bool = False,
    max_frames: int | None = None,
) -> Source:
    """Open what `spec` names: a camera index or /dev/video path, `sample`, a file, dir or URL."""
    if spec.isdigit() or spec.startswith("/dev/video"):
        return CameraSource(int(spec) if spec.isdigit() else spec, width, height, fps, mjpg)
    if spec == "sample":
        return SampleSource(
            frames=max_frames or 300,
            width=width or 1280,
            height=height or 720,
            fps=fps or 30.0,
            realtime=realtime,
        )
    path = Path(spec)
    if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource(spec, fps=fps or 30.0, realtime=realtime)
    return VideoSource(spec, realtime=realtime)
