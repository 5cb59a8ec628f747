"""The window sink in a real X server (Xvfb): frames must really appear on screen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(
    shutil.which("Xvfb") is None or shutil.which("xwd") is None,
    reason="Xvfb and xwd (packages xvfb, x11-apps) are needed to show a real window",
)


@pytest.fixture
def display():
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
    yield f":{number}"
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


def test_window_shows_frames(display, bright_model):
    env = {**os.environ, "DISPLAY": display}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rtseg",
            "run",
            "--source",
            "sample",
            "--model",
            str(bright_model),
            "--effect",
            "color:#ff00ff",
            "--max-frames",
            "100000",
            "--sink",
            "window",
            "-q",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        magenta = 0
        while time.monotonic() < deadline and magenta < 2000:
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.5)
            screen = grab_screen(display).astype(int)
            # xwd's 32-bit visual stores B, G, R, X: magenta is high blue and red, low green
            is_magenta = (screen[..., 0] > 200) & (screen[..., 2] > 200) & (screen[..., 1] < 60)
            magenta = int(is_magenta.sum())
        assert magenta >= 2000, "no frames with the magenta background appeared in the window"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail("the window run did not end within 10 s of SIGTERM")
