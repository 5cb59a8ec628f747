"""Virtual camera: pixel-format conversion and pacing without a device; the device where present."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np
import pytest

from rtseg.errors import RtsegError
from rtseg.io.virtualcam import VirtualCamSink, to_pixel_format
from rtseg.pipeline.frame import Frame

HAS_PYVIRTUALCAM = importlib.util.find_spec("pyvirtualcam") is not None
LOOPBACKS = sorted(Path("/sys/devices/virtual/video4linux").glob("video*"))

COLOURS_BGR = [(0, 0, 255), (0, 255, 0), (255, 0, 0), (255, 255, 255), (0, 0, 0), (30, 90, 200)]


def bt601(bgr: tuple[int, int, int]) -> tuple[float, float, float]:
    """Limited-range BT.601 Y, U, V of one colour, from the standard's coefficients."""
    b, g, r = bgr
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    return y, u, v


def solid(bgr: tuple[int, int, int], height: int = 6, width: int = 8) -> np.ndarray:
    return np.full((height, width, 3), bgr, np.uint8)


@pytest.mark.parametrize("colour", COLOURS_BGR)
def test_i420_and_nv12_planes(colour: tuple[int, int, int]) -> None:
    h, w = 6, 8
    y, u, v = bt601(colour)
    i420 = to_pixel_format(solid(colour, h, w), "I420").reshape(-1).astype(float)
    nv12 = to_pixel_format(solid(colour, h, w), "NV12").reshape(-1).astype(float)
    assert i420.size == nv12.size == w * h * 3 // 2
    luma, quarter = w * h, w * h // 4
    np.testing.assert_allclose(i420[:luma], y, atol=1.5)
    np.testing.assert_allclose(i420[luma : luma + quarter], u, atol=1.5)
    np.testing.assert_allclose(i420[luma + quarter :], v, atol=1.5)
    np.testing.assert_array_equal(nv12[:luma], i420[:luma])
    np.testing.assert_allclose(nv12[luma::2], u, atol=1.5)
    np.testing.assert_allclose(nv12[luma + 1 :: 2], v, atol=1.5)


@pytest.mark.parametrize(("fmt", "order"), [("YUYV", "YUYV"), ("UYVY", "UYVY")])
@pytest.mark.parametrize("colour", COLOURS_BGR)
def test_packed_422(fmt: str, order: str, colour: tuple[int, int, int]) -> None:
    y, u, v = bt601(colour)
    packed = to_pixel_format(solid(colour), fmt)
    assert packed.shape == (6, 8, 2)
    quads = packed.reshape(-1, 4).astype(float)  # two pixels: four bytes in `order`
    for index, channel in enumerate(order):
        np.testing.assert_allclose(quads[:, index], {"Y": y, "U": u, "V": v}[channel], atol=1.5)


def test_rgb_and_bgr() -> None:
    image = np.random.default_rng(0).integers(0, 256, (4, 6, 3), dtype=np.uint8)
    assert to_pixel_format(image, "BGR") is image
    np.testing.assert_array_equal(to_pixel_format(image, "RGB"), image[..., ::-1])


def test_bad_conversions_are_refused() -> None:
    with pytest.raises(RtsegError, match="even frame size"):
        to_pixel_format(solid((0, 0, 0), 5, 8), "I420")
    with pytest.raises(RtsegError, match="unknown pixel format"):
        to_pixel_format(solid((0, 0, 0)), "P010")


def test_a_bad_rate_is_refused() -> None:
    pytest.importorskip("pyvirtualcam")
    with pytest.raises(RtsegError, match="frame rate must be positive"):
        VirtualCamSink(0)


def test_missing_pyvirtualcam_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyvirtualcam", None)  # as if not installed
    with pytest.raises(RtsegError, match=r"rtseg\[virtualcam\]"):
        VirtualCamSink(30)


@pytest.mark.skipif(not HAS_PYVIRTUALCAM, reason="pyvirtualcam is not installed")
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="v4l2loopback is Linux-only")
@pytest.mark.skipif(bool(LOOPBACKS), reason="a v4l2loopback device exists here")
def test_missing_device_names_the_modprobe_fix() -> None:
    sink = VirtualCamSink(30)
    try:
        with pytest.raises(RtsegError, match="modprobe v4l2loopback") as caught:
            sink.write(Frame(seq=0, image=solid((0, 0, 255), 64, 64)))
        assert "\n" not in str(caught.value)
    finally:
        sink.close()
    with pytest.raises(RtsegError, match="modprobe v4l2loopback"):
        VirtualCamSink(30, device="/dev/video-absent")


@pytest.mark.skipif(not HAS_PYVIRTUALCAM, reason="pyvirtualcam is not installed")
def test_alpha_frames_are_refused() -> None:
    sink = VirtualCamSink(30)
    bgra = np.zeros((64, 64, 4), np.uint8)
    try:
        with pytest.raises(RtsegError, match="without alpha"):
            sink.write(Frame(seq=0, image=bgra[..., :3], output=bgra))
    finally:
        sink.close()


@pytest.mark.skipif(not HAS_PYVIRTUALCAM, reason="pyvirtualcam is not installed")
@pytest.mark.skipif(not LOOPBACKS, reason="no v4l2loopback device (modprobe v4l2loopback)")
def test_real_device_shows_the_frames_and_repeats_when_stalled() -> None:
    device = f"/dev/{LOOPBACKS[0].name}"
    colour = (30, 90, 200)
    sink = VirtualCamSink(30, device=device)
    try:
        sink.write(Frame(seq=0, image=solid(colour, 240, 320)))
        reader = cv2.VideoCapture(device, cv2.CAP_V4L2)
        ok, seen = False, None
        for _ in range(30):
            ok, seen = reader.read()
            if ok:
                break
        reader.release()
        assert ok and seen is not None
        assert np.abs(seen.reshape(-1, 3).mean(axis=0) - colour).max() < 12
        deadline = time.monotonic() + 5
        while sink.repeated == 0 and time.monotonic() < deadline:
            time.sleep(0.05)  # the pipeline "stalls": the feeder must resend the last frame
        assert sink.repeated > 0
        assert sink.sent == 1
    finally:
        sink.close()


class RecordingDevice:
    """A camera device plugged in through pyvirtualcam's backend interface: it keeps what it
    receives and, like v4l2loopback, reports I420 as its native format."""

    opened: ClassVar[list[RecordingDevice]] = []

    def __init__(self, *, width: int, height: int, fps: float, fourcc: int, device: str | None):
        from pyvirtualcam.util import decode_fourcc

        self.fmt = decode_fourcc(fourcc)
        self.frames: list[np.ndarray] = []
        self.closed = False
        RecordingDevice.opened.append(self)

    def send(self, frame: np.ndarray) -> None:
        self.frames.append(frame.copy())

    def close(self) -> None:
        self.closed = True

    def device(self) -> str:
        return "recording"

    def native_fourcc(self) -> int:
        from pyvirtualcam.util import encode_fourcc

        return encode_fourcc("I420")


@pytest.mark.skipif(not HAS_PYVIRTUALCAM, reason="pyvirtualcam is not installed")
def test_feeder_sends_native_format_and_repeats_when_stalled(monkeypatch: pytest.MonkeyPatch):
    import pyvirtualcam.camera

    monkeypatch.setitem(pyvirtualcam.camera.BACKENDS, "recording", RecordingDevice)
    monkeypatch.setattr(RecordingDevice, "opened", [])
    sink = VirtualCamSink(60, backend="recording")
    image = solid((30, 90, 200), 48, 64)
    before = set(threading.enumerate())
    try:
        sink.write(Frame(seq=0, image=image))
        device = RecordingDevice.opened[-1]
        assert [t.name for t in set(threading.enumerate()) - before] == ["rtseg-virtualcam"]
        deadline = time.monotonic() + 10
        while len(device.frames) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)  # no new frames: the pipeline has stalled
        assert len(device.frames) >= 4
    finally:
        sink.close()
    assert sink.fmt == "I420" and device.fmt == "I420"  # reopened in the device's own format
    assert RecordingDevice.opened[0].closed  # the probing camera was released
    expected = to_pixel_format(image, "I420").reshape(-1)
    for sent in device.frames:
        np.testing.assert_array_equal(sent, expected)
    assert sink.sent == 1 and sink.repeated == len(device.frames) - 1
    assert device.closed
    assert set(threading.enumerate()) <= before


@pytest.mark.skipif(not HAS_PYVIRTUALCAM, reason="pyvirtualcam is not installed")
def test_only_the_newest_frame_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyvirtualcam.camera

    monkeypatch.setitem(pyvirtualcam.camera.BACKENDS, "recording", RecordingDevice)
    sink = VirtualCamSink(1, backend="recording")  # one frame a second: writes pile up
    try:
        for seq in range(5):
            sink.write(Frame(seq=seq, image=solid((0, seq * 50, 0), 48, 64)))
        assert sink.dropped >= 3  # replaced before the feeder's next turn, not queued
    finally:
        sink.close()
