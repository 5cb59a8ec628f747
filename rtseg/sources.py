"""Frame sources: cameras, video files and URLs, images, image directories, and `sample`.

Sources own no threads (the pipeline does): `read()` returns the next `Frame` or None at the
end, `close()` releases what they hold. `live` tells the pipeline which channel policy fits.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from rtseg.errors import RtsegError
from rtseg.frame import Frame

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


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
    if image.ndim == 2:
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


class VideoSource:
    """A video file or stream URL, decoded by OpenCV; `realtime` plays it at its own fps."""

    def __init__(self, spec: str, realtime: bool = False) -> None:
        is_url = "://" in spec
        if not is_url:
            path = Path(spec)
            if not path.exists():
                raise RtsegError(f"input not found: {spec}")
            if path.is_dir():
                raise RtsegError(f"{spec} is a directory without images")
            if path.stat().st_size == 0:
                raise RtsegError(f"input is empty (0 bytes): {spec}")
        self.spec = spec
        self.path = None if is_url else Path(spec)  # where sinks find the audio to keep
        self._cap = cv2.VideoCapture(spec)
        if not self._cap.isOpened():
            self._cap.release()
            raise RtsegError(f"cannot decode {spec} as video")
        self.fps = self._cap.get(cv2.CAP_PROP_FPS) or 30.0
        self.frame_count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT)) if not is_url else 0
        self.live = realtime or is_url
        self._counter = _Counter(self.fps, paced=realtime)

    def read(self) -> Frame | None:
        ok, image = self._cap.read()
        return self._counter.frame(image) if ok else None

    @property
    def frames_read(self) -> int:
        return self._counter.seq

    def close(self) -> None:
        self._cap.release()


class CameraSource:
    """A webcam by index or device path, with optional size, fps and MJPG capture."""

    def __init__(
        self,
        device: int | str,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
        mjpg: bool = False,
        read_failures: int = 30,
    ) -> None:
        self.device = device
        self._cap = cv2.VideoCapture(device)
        if not self._cap.isOpened():
            self._cap.release()
            raise RtsegError(f"cannot open camera {device} (is it connected and not in use?)")
        if mjpg:
            self._cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
        if width:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        if height:
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        if fps:
            self._cap.set(cv2.CAP_PROP_FPS, fps)
        self.fps = self._cap.get(cv2.CAP_PROP_FPS) or fps or 30.0
        self.live = True
        self._read_failures = read_failures
        self._counter = _Counter(self.fps, paced=False)

    def read(self) -> Frame | None:
        for _ in range(self._read_failures):
            ok, image = self._cap.read()
            if ok:
                return self._counter.frame(image)
            time.sleep(0.01)
        raise RtsegError(f"camera {self.device} stopped delivering frames")

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
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise RtsegError(f"cannot decode image {path}")
        return self._counter.frame(to_bgr(image), name=path.stem)

    def close(self) -> None:
        self._index = len(self._paths)


class SampleSource:
    """A built-in moving scene, so rtseg runs with no camera and no files.

    A public-domain photograph of a person (Grace Hopper, shipped with matplotlib) drifts and
    breathes over a background of moving colour bands, so motion and edges are exercised.
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
        from matplotlib import cbook  # only the sample needs matplotlib's data

        with cbook.get_sample_data("grace_hopper.jpg") as f:
            data = np.frombuffer(f.read(), np.uint8)
        person = cv2.imdecode(data, cv2.IMREAD_COLOR)
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
