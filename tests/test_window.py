"""The window sink in a real X server (Xvfb): frames must really appear on screen."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(
    shutil.which("Xvfb") is None or shutil.which("xwd") is None,
    reason="Xvfb and xwd (packages xvfb, x11-apps) are needed to show a real window",
)


@contextlib.contextmanager
def x_server() -> Iterator[str]:
    """A fresh Xvfb; yields its display name."""
    # -displayfd: the server picks a free display number and writes it once it accepts
    # clients, so tests running side by side never share (or race) a display.
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "800x600x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as ready:
        number = ready.readline().strip()
    assert number, "Xvfb did not start"
    try:
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(5)


def grab_screen(display: str) -> np.ndarray:
    """The X root window as an RGB array, via xwd's plain dump format."""
    raw = subprocess.run(
        ["xwd", "-root", "-silent", "-display", display], capture_output=True, check=True
    ).stdout
    header_size = int.from_bytes(raw[0:4], "big")
    width = int.from_bytes(raw[16:20], "big")
    height = int.from_bytes(raw[20:24], "big")
    ncolors = int.from_bytes(raw[76:80], "big")
    pixels = np.frombuffer(raw, np.uint8, offset=header_size + 12 * ncolors)
    image = pixels[: width * height * 4].reshape(height, width, 4)
    return image[..., :3]


def magenta_pixels(display: str) -> int:
    screen = grab_screen(display).astype(int)
    # xwd's 32-bit visual stores B, G, R, X: magenta is high blue and red, low green
    return int(((screen[..., 0] > 200) & (screen[..., 2] > 200) & (screen[..., 1] < 60)).sum())


def show_window(display: str, model: Path, wait_s: float) -> tuple[int, str]:
    """Run rtseg into a window on `display` for up to `wait_s`; (magenta pixels seen, stderr)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rtseg",
            "run",
            "--source",
            "sample",
            "--model",
            str(model),
            "--effect",
            "color:#ff00ff",
            "--max-frames",
            "100000",
            "--sink",
            "window",
            "-q",
        ],
        cwd=ROOT,
        env={**os.environ, "DISPLAY": display},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    magenta = 0
    try:
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and magenta < 2000:
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.5)
            magenta = magenta_pixels(display)
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail("the window run did not end within 10 s of SIGTERM")
    return magenta, err


def test_window_shows_frames(bright_model):
    # Qt 5.15's xcb backend (OpenCV's window) on an X server without a window manager now and
    # then misses its window's MapNotify when the CPU is saturated: the window is mapped and
    # fed frames, but Qt never paints it (7 of 40 runs of a bare cv2.imshow loop with both
    # cores busy). So a window that stays black gets two more tries, each on a fresh server
    # (the earlier ones stay up, so no display number is reused while its socket goes away).
    tries = []
    with contextlib.ExitStack() as servers:
        for _ in range(3):
            magenta, err = show_window(servers.enter_context(x_server()), bright_model, 20)
            if magenta >= 2000:
                return
            tries.append(err.strip()[-500:])
    pytest.fail(f"no frames with the magenta background appeared in the window; stderr: {tries}")
