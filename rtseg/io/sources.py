"""Frame sources: cameras, video files and URLs, images, image directories, and `sample`.

Sources own no threads (the pipeline does): `read()` returns the next `Frame` or None at the
end, `close()` releases what they hold. `live` tells the pipeline which channel policy fits.
Every frame carries a presentation time (`Frame.pts`): a file's own timestamps, the
arrival time for cameras and streams, and frame number / fps for images and `sample`.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from natsort import natsort_keygen, ns

from rtseg.checks import check_rate
from rtseg.errors import CameraUnavailable, RtsegError
from rtseg.io import remote
from rtseg.io.clock import Clock
from rtseg.io.location import Location
from rtseg.io.video.reader import VideoReader
from rtseg.pipeline.frame import Frame, check_image
from rtseg.pipeline.ports import Source

log = logging.getLogger(__name__)

# imread flags for photos: 16-bit and grey kept (to_bgr converts them), EXIF orientation
# applied. Alpha is dropped here; a PNG's own transparency is read apart (`image_alpha`).
READ_AS_STORED_UPRIGHT = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
# Video files by suffix, camera cards' included: AVCHD (.mts, .m2ts), raw DV (.dv), MPEG-2
# camcorders (.mod, .tod), DVDs (.vob), broadcast and cinema cameras (.mxf).
VIDEO_SUFFIXES = {
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts",
    ".m2ts", ".m2t", ".dv", ".mod", ".tod", ".vob", ".mxf", ".flv", ".f4v", ".wmv", ".asf",
    ".3gp", ".3g2", ".ogv", ".gif",
}  # fmt: skip
# Suffixes an http(s) URL of a live stream has (MPEG-TS, FLV): read as streams, not files.
LIVE_SUFFIXES = {".ts", ".mts", ".flv"}
# A live source that delivers no frame for this long has stalled; it is then reopened with
# these waits in between (seconds), and given up on with a clear error when none works.
STALL_TIMEOUT_S = 3.0
RECONNECT_BACKOFF_S = (0.25, 0.5, 1.0, 2.0)
SAMPLE_PERSON = Path(__file__).resolve().parents[1] / "data" / "grace_hopper.jpg"


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


# PNG colour types with an alpha channel (grey + alpha, RGB + alpha), read from the header.
PNG_ALPHA_TYPES = (4, 6)


def image_alpha(path: Path, shape: tuple[int, ...]) -> np.ndarray | None:
    """A PNG's own transparency as float32 in [0, 1], or None when it has none (or another
    size than the frame read, as an EXIF rotation would give)."""
    if path.suffix.lower() != ".png":
        return None
    with path.open("rb") as file:
        header = file.read(26)
    if len(header) < 26 or header[25] not in PNG_ALPHA_TYPES:
        return None
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None or image.ndim != 3 or image.shape[2] != 4 or image.shape[:2] != shape:
        return None
    scale = 65535.0 if image.dtype == np.uint16 else 255.0
    return (image[..., 3] / np.float32(scale)).astype(np.float32)


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


class StreamSource:
    """A stream URL (RTSP, HTTP, ...), decoded by OpenCV; frames are timed by arrival.

    Streams stay on OpenCV: its open/read timeouts carry the stall-and-reconnect logic, and a
    stream's own timestamps restart when it is reopened, so arrival time is the one that
    stays consistent. A stream that stalls for `stall_timeout_s` is reopened with backoff
    (see `reconnect`).
    """

    def __init__(
        self,
        url: str,
        stall_timeout_s: float = STALL_TIMEOUT_S,
        backoff_s: tuple[float, ...] = RECONNECT_BACKOFF_S,
    ) -> None:
        self.spec = url
        self._timeout_ms = int(stall_timeout_s * 1000)
        self._backoff_s = backoff_s
        cap = self._open()
        if cap is None:
            raise RtsegError(f"cannot decode {url} as video (is the stream up?)")
        self._cap = cap
        self.fps = self._cap.get(cv2.CAP_PROP_FPS) or 30.0
        self.live = True
        self._clock = Clock(self.fps, arrival=True)

    def _open(self) -> cv2.VideoCapture | None:
        timeouts = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            self._timeout_ms,
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            self._timeout_ms,
        ]
        cap = cv2.VideoCapture(self.spec, cv2.CAP_FFMPEG, timeouts)
        if cap.isOpened():
            return cap
        cap.release()
        return None

    def read(self) -> Frame | None:
        ok, image = self._cap.read()
        if not ok:
            self._cap.release()
            self._cap, image = reconnect(f"stream {self.spec}", self._open, self._backoff_s)
        return self._clock.frame(image)

    def close(self) -> None:
        self._cap.release()


class CameraSource:
    """A webcam by index or device path, with optional size, fps and MJPG capture.

    A camera that stops delivering frames (unplugged, taken by another program) is reopened
    with backoff (see `reconnect`), then given up on with a clear error. Cameras stay on
    OpenCV, whose capture backends (V4L2, Media Foundation, AVFoundation) take the size, rate
    and MJPG settings; frames are timed by arrival, which is what a recording of them needs.
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
        self._clock = Clock(self.fps, arrival=True)

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
                return self._clock.frame(image)
            time.sleep(0.01)
        self._cap.release()
        self._cap, image = reconnect(f"camera {self.device}", self._open, self._backoff_s)
        return self._clock.frame(image)

    def close(self) -> None:
        self._cap.release()


# Numbered names in the order people count them (img_2 before img_10), case aside: natsort's
# key on the file name, the same on every platform (its os_sorted follows each OS's own
# file browser and would not be).
natural_key = natsort_keygen(key=lambda path: path.name, alg=ns.IGNORECASE)


_PRINTF_NUMBER = re.compile(r"%(0?\d*)d")


def is_printf_pattern(spec: str) -> bool:
    """Whether `spec` names numbered files the way FFmpeg does: `frames/img_%04d.png`."""
    return len(_PRINTF_NUMBER.findall(Path(spec).name)) == 1


def pattern_files(spec: str) -> list[Path]:
    """The files a printf pattern matches, in number order (`%04d`: four digits or more)."""
    pattern = Path(spec)
    head, width, tail = _PRINTF_NUMBER.split(pattern.name)
    digits = rf"\d{{{int(width)},}}" if width else r"\d+"
    name = re.compile(re.escape(head) + f"({digits})" + re.escape(tail))
    folder = pattern.parent
    if not folder.is_dir():
        return []
    found = [(name.fullmatch(p.name), p) for p in folder.iterdir()]
    return [p for match, p in sorted((int(m.group(1)), p) for m, p in found if m)]


def frame_names(paths: list[Path]) -> list[str]:
    """What frames from `paths` are called in an image-sequence output: each file's stem, or
    its whole name where another file has the same stem (`a.jpg` and `a.png` become `a.jpg`
    and `a.png`, so neither output overwrites the other). Compared without case, as Windows
    and macOS file names are.

    Raises:
        RtsegError: two files would still share a name (`a.jpg` beside `a.jpg.png`).
    """
    stems = Counter(p.stem.casefold() for p in paths)
    names = [p.name if stems[p.stem.casefold()] > 1 else p.stem for p in paths]
    first: dict[str, Path] = {}
    for path, name in zip(paths, names, strict=True):
        earlier = first.setdefault(name.casefold(), path)
        if earlier is not path:
            raise RtsegError(
                f"{earlier} and {path} would both be written as {name}; rename one of them"
            )
    return names


class ImageSource:
    """One image file, a directory of them, or a printf pattern (`img_%04d.png`).

    A directory is read in natural order (img_2 before img_10), a pattern in number order;
    frames keep their file stems (see `frame_names`). A file or a directory holds photos
    (`stills`): each one is a stream of its own, nothing of one carries over to the next. A
    pattern holds the frames of one video, smoothed and tracked as a video file's.
    """

    def __init__(self, spec: str, fps: float = 30.0, realtime: bool = False) -> None:
        path = Path(spec)
        self.path = path
        if path.is_dir():
            images = [p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]
            self._paths = sorted(images, key=natural_key)
            if not self._paths:
                raise RtsegError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {spec}")
        elif path.is_file():
            self._paths = [path]
        elif is_printf_pattern(spec):
            self._paths = pattern_files(spec)
            if not self._paths:
                raise RtsegError(f"no files match the pattern {spec}")
        else:
            raise RtsegError(f"input not found: {spec}")
        self.stills = not is_printf_pattern(spec) or path.exists()
        self._names = frame_names(self._paths)
        self._alpha_said = False
        self.fps = fps
        self.live = realtime
        self._clock = Clock(fps, paced=realtime)
        self._index = 0

    def read(self) -> Frame | None:
        if self._index >= len(self._paths):
            return None
        path = self._paths[self._index]
        self._index += 1
        try:
            # Any depth and colour, but not IMREAD_UNCHANGED, which ignores the EXIF
            # orientation: a phone's photo comes out upright, as rotated videos do.
            image = cv2.imread(str(path), READ_AS_STORED_UPRIGHT)
        except cv2.error:  # some decoders raise on damaged data instead of returning None
            image = None
        if (
            image is None
            or image.size == 0
            or (image.ndim == 3 and image.shape[2] not in (1, 3, 4))
        ):
            raise RtsegError(f"cannot decode image {path}; remove or replace it")
        frame = self._clock.frame(to_bgr(image), name=self._names[self._index - 1])
        frame.still = self.stills
        frame.input_alpha = image_alpha(path, image.shape[:2])
        if frame.input_alpha is not None and not self._alpha_said:
            self._alpha_said = True
            log.info("%s has transparency: it is multiplied into the matte", path)
        return frame

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
        self._clock = Clock(fps, paced=realtime)

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
        seq = self._clock.seq
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
        return self._clock.frame(scene)

    def close(self) -> None:
        self.frames = self._clock.seq


def open_source(
    spec: str | Location,
    realtime: bool = False,
    width: int | None = None,
    height: int | None = None,
    fps: float | None = None,
    mjpg: bool = False,
    max_frames: int | None = None,
    deinterlace: bool = False,
) -> Source:
    """Open what `spec` names: a camera index or /dev/video path, `sample`, a file, dir or URL."""
    if isinstance(spec, Location):  # a batch's input: a file, folder or object, checked
        if spec.is_remote:
            return VideoReader(spec, realtime=realtime, deinterlace=deinterlace)
        return _open_path(spec.path, fps, realtime, deinterlace)
    if spec.isdecimal() or spec.startswith("/dev/video"):
        return CameraSource(int(spec) if spec.isdecimal() else spec, width, height, fps, mjpg)
    if spec == "sample":
        return SampleSource(
            frames=max_frames or 300,
            width=width or 1280,
            height=height or 720,
            fps=fps or 30.0,
            realtime=realtime,
        )
    if remote.is_remote(spec):
        where = Location.of(spec)
        web_file = where.suffix.lower() in VIDEO_SUFFIXES - LIVE_SUFFIXES
        if web_file or not where.is_web:  # a stored file
            return VideoReader(where, realtime=realtime)
    path = Path(spec)
    if path.exists() or "://" not in spec:  # a path that exists is a path, even `take:2.mp4`
        return _open_path(path, fps, realtime, deinterlace)
    return StreamSource(spec)


def _open_path(path: Path, fps: float | None, realtime: bool, deinterlace: bool) -> Source:
    """A local file or folder: images (one, a folder of them), or a video."""
    if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource(str(path), fps=fps or 30.0, realtime=realtime)
    return VideoReader(path, realtime=realtime, deinterlace=deinterlace)


# The clock of frames a program hands over with their time in seconds: MPEG's 90 kHz.
GIVEN_TIME_BASE = Fraction(1, 90000)


class IterableSource:
    """Frames a Python program hands over: any iterable of BGR uint8 images, of
    `(image, time_s)` pairs, or of objects with `.image` and `.time_s` (what `read_video`
    yields). Bare images need `fps`; frames with times keep them, gaps included.

    Not live by default: every frame is processed, in order (as for a file); `realtime`
    paces them at their times through frame-dropping channels, as for a file played live.
    """

    def __init__(self, frames: Iterable, fps: float | None = None, realtime: bool = False):
        if fps is not None:
            check_rate("fps", fps)
        try:
            self._items = iter(frames)
        except TypeError as exc:
            raise RtsegError(
                "the source must be a path or URL, a camera index, or an iterable of frames; "
                f"got {type(frames).__name__}"
            ) from exc
        self._first = self._next(0)
        if self._first is None:
            self.close()
            raise RtsegError("the frames given are empty: there is no frame to process")
        if isinstance(self._first, np.ndarray) and fps is None:
            raise RtsegError("frames without times need fps= (or give (frame, time_s) pairs)")
        self.fps = float(fps) if fps is not None else 30.0
        self.live = realtime
        self._clock = Clock(self.fps, paced=realtime)

    def _next(self, seq: int) -> object:
        """The next item the program's iterable gives, or None at its end; an exception it
        raises becomes an RtsegError that names the frame, with the exception as its cause."""
        try:
            return next(self._items, None)
        except Exception as exc:
            raise RtsegError(
                f"the frames given failed at frame {seq}: {type(exc).__name__}: {exc}"
            ) from exc

    def read(self) -> Frame | None:
        if self._first is not None:
            item, self._first = self._first, None
        else:
            item = self._next(self._clock.seq)
        if item is None:
            return None
        if isinstance(item, np.ndarray):
            image, time_s = item, None
        elif isinstance(item, tuple) and len(item) == 2:
            image, time_s = item
        else:
            image, time_s = getattr(item, "image", item), getattr(item, "time_s", None)
        check_image(image, f"frame {self._clock.seq} of the frames given")
        if time_s is None:
            return self._clock.frame(image)
        pts = round(Fraction(time_s) / GIVEN_TIME_BASE)
        return self._clock.frame(image, pts=pts, time_base=GIVEN_TIME_BASE)

    def close(self) -> None:
        close = getattr(self._items, "close", None)  # a generator's `finally` runs now
        if close is not None:
            close()
