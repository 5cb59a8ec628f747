"""Virtual camera output, so video-call apps see the processed video as a webcam.

Backed by pyvirtualcam (the optional `virtualcam` extra): v4l2loopback on Linux, OBS's
virtual camera on Windows and macOS. Call apps drop a camera that stops delivering frames, so a
feeder thread sends at the camera's own rate, repeating the last frame while the pipeline is
slow or stalled; the pipeline only ever replaces the newest frame and never waits on the camera.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from rtseg.errors import RtsegError
from rtseg.pipeline.frame import Frame

# Layouts `to_pixel_format` produces, by pyvirtualcam's PixelFormat names.
PIXEL_FORMATS = ("BGR", "RGB", "I420", "NV12", "YUYV", "UYVY")
_YUV420 = ("I420", "NV12")


def to_pixel_format(bgr: np.ndarray, fmt: str) -> np.ndarray:
    """Convert a BGR uint8 image to the memory layout of pixel format `fmt`.

    Planar/packed YUV comes out as OpenCV lays it out (BT.601, limited range), which is what
    camera consumers expect; 4:2:0 formats need an even width and height.
    """
    if fmt == "BGR":
        return bgr
    if fmt == "RGB":
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    if fmt == "YUYV":
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_YUYV)
    if fmt == "UYVY":
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_UYVY)
    if fmt in _YUV420:
        height, width = bgr.shape[:2]
        if height % 2 or width % 2:
            raise RtsegError(f"{fmt} needs an even frame size, got {width}x{height}")
        i420 = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)  # Y plane, then U, then V
        if fmt == "I420":
            return i420
        luma = height * width
        nv12 = np.empty_like(i420).reshape(-1)
        nv12[:luma] = i420.reshape(-1)[:luma]
        nv12[luma::2] = i420.reshape(-1)[luma : luma + luma // 4]  # U, V interleaved
        nv12[luma + 1 :: 2] = i420.reshape(-1)[luma + luma // 4 :]
        return nv12.reshape(i420.shape)
    raise RtsegError(f"unknown pixel format {fmt!r}; expected one of {PIXEL_FORMATS}")


def _missing_camera_message(reason: str) -> str:
    """One line saying why no camera opened and how to get one on this platform."""
    reason = "; ".join(line.strip() for line in reason.splitlines() if line.strip())
    if sys.platform.startswith("linux"):
        fix = (
            "load v4l2loopback: sudo modprobe v4l2loopback devices=1 exclusive_caps=1 "
            "(package v4l2loopback-dkms)"
        )
    else:
        fix = "install OBS Studio 28+ and start its Virtual Camera once"
    return f"no virtual camera ({reason}); {fix}"


class VirtualCamSink:
    """Sends output frames to a virtual camera at a steady rate.

    `write()` only hands the newest frame over (counting the ones replaced unsent in
    `dropped`); a feeder thread converts it to the camera's own pixel format and sends it,
    or resends the last one (`repeated`) when no new frame came in time. `close()` stops and
    joins the feeder and releases the device; it is safe to call at any point.
    """

    def __init__(self, fps: float, device: str | None = None, backend: str | None = None) -> None:
        try:
            import pyvirtualcam
        except ImportError as exc:
            raise RtsegError(
                "the virtual camera needs pyvirtualcam: pip install 'rtseg[virtualcam]'"
            ) from exc
        self._pyvirtualcam = pyvirtualcam
        if device is not None and sys.platform.startswith("linux") and not Path(device).exists():
            raise RtsegError(_missing_camera_message(f"{device} does not exist"))
        if not fps > 0:
            raise RtsegError(f"camera frame rate must be positive, got {fps}")
        self.fps = fps
        self.device = device
        self.backend = backend
        self.fmt = "BGR"
        self.sent = 0
        self.repeated = 0
        self.dropped = 0
        self._camera: Any = None
        self._shape: tuple[int, ...] | None = None
        self._pending: np.ndarray | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def _open(self, width: int, height: int, fmt: str) -> Any:
        camera_cls, pixel_format = self._pyvirtualcam.Camera, self._pyvirtualcam.PixelFormat
        try:
            return camera_cls(
                width,
                height,
                self.fps,
                fmt=pixel_format[fmt],
                device=self.device,
                backend=self.backend,
            )
        except RuntimeError as exc:
            raise RtsegError(_missing_camera_message(str(exc))) from exc

    def _start(self, image: np.ndarray) -> None:
        height, width = image.shape[:2]
        camera = self._open(width, height, "BGR")
        # The backend reports the format it really uses; feeding that one directly moves the
        # conversion into OpenCV (vectorised) instead of the backend's per-pixel loop.
        native = camera.native_fmt.name if camera.native_fmt is not None else "BGR"
        even = width % 2 == 0 and height % 2 == 0
        if native != "BGR" and native in PIXEL_FORMATS and (even or native not in _YUV420):
            camera.close()
            camera = self._open(width, height, native)
            self.fmt = native
        self._camera = camera
        self._shape = image.shape
        self._thread = threading.Thread(target=self._feed, name="rtseg-virtualcam", daemon=True)
        self._thread.start()

    def write(self, frame: Frame) -> None:
        """Hand over the newest frame; never waits for the camera."""
        if self._error is not None:
            raise RtsegError(f"virtual camera stopped: {self._error}")
        image = frame.output if frame.output is not None else frame.image
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise RtsegError(
                f"a virtual camera shows BGR uint8 frames, got {image.shape} {image.dtype} "
                "(choose an effect without alpha)"
            )
        with self._lock:
            if self._pending is not None:
                self.dropped += 1
            self._pending = image
        if self._thread is None:
            self._start(image)
        elif image.shape != self._shape:
            raise RtsegError(f"frame {frame.seq} is {image.shape}, earlier frames {self._shape}")

    def _feed(self) -> None:
        """Send the newest frame, or the last one again, at the camera's rate: pyvirtualcam's
        own pacing (`sleep_until_next_frame`), which times each frame from the one before,
        so a stall never ends in a burst, and adapts its sleep to hold the rate."""
        last: np.ndarray | None = None
        while not self._stop.is_set():
            with self._lock:
                image, self._pending = self._pending, None
            if image is not None:
                last = to_pixel_format(image, self.fmt)
                self.sent += 1
            elif last is not None:
                self.repeated += 1
            else:
                self._stop.wait(1 / self.fps)
                continue
            try:
                self._camera.send(last)
            except Exception as exc:  # reported by the next write(); the thread must end
                self._error = exc
                return
            self._camera.sleep_until_next_frame()

    def close(self) -> None:
        """Stop the feeder, join it, and release the device."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._camera is not None:
            self._camera.close()
            self._camera = None

    abort = close  # nothing to keep from a failed run
