"""Browser preview: HTTP endpoints over real sockets, and the page in headless Chromium."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from rtseg.errors import RtsegError
from rtseg.io.preview import HttpPreviewSink, flatten_alpha, is_loopback
from rtseg.pipeline.frame import Frame

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHOICES = {"effect": ["blur", "replace", "matte"], "model": ["small", "large"]}
RANGES = {"grow": (-40, 40, 2), "smooth": (0.0, 1.0, 0.1)}


class Settings:
    """What the pipeline would hold: current effect and model, changed by the controls."""

    def __init__(self) -> None:
        self.values = {"effect": "blur", "model": "small", "grow": 0, "smooth": 0.5}
        self.calls: list[tuple[str, str | float]] = []

    def stats(self) -> dict:
        return {"fps": 29.97, "latency_ms": {"p50": 12.5, "p99": 30.1}, "drops": 3,
                "provider": "CPUExecutionProvider", **self.values}  # fmt: skip

    def control(self, key: str, value: str | float) -> None:
        if value == "matte":
            raise RtsegError("matte needs an alpha-capable sink")
        self.calls.append((key, value))
        self.values[key] = value


def picture(seq: int) -> np.ndarray:
    """A flat frame whose green level changes every frame, so a viewer can tell frames apart."""
    return np.full((48, 64, 3), (20, (seq * 37) % 256, 200), np.uint8)


class Feeder:
    """Writes frames into the sink at about 30 fps from its own thread, like a pipeline."""

    def __init__(self, sink: HttpPreviewSink) -> None:
        self.sink = sink
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self) -> None:
        seq = 0
        while not self.stop.wait(1 / 30):
            self.sink.write(Frame(seq=seq, image=picture(seq)))
            seq += 1

    def close(self) -> None:
        self.stop.set()
        self.thread.join()


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
def preview(settings: Settings) -> Iterator[HttpPreviewSink]:
    sink = HttpPreviewSink(
        0, stats=settings.stats, on_control=settings.control, choices=CHOICES, ranges=RANGES
    )
    feeder = Feeder(sink)
    yield sink
    feeder.close()
    sink.close()


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def post(url: str, body: bytes, content_type: str = "application/json") -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def base(sink: HttpPreviewSink) -> str:
    return f"http://127.0.0.1:{sink.port}"


def test_stats_json(preview: HttpPreviewSink, settings: Settings) -> None:
    status, body = get(base(preview) + "/stats")
    assert status == 200
    assert json.loads(body) == settings.stats()


def read_first_jpeg(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as reply:
        kind = reply.headers["Content-Type"]
        assert kind.startswith("multipart/x-mixed-replace")
        boundary = kind.split("boundary=")[1].encode()
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += reply.read(1)
        assert head.startswith(b"--" + boundary)
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        return reply.read(length)


def test_stream_sends_jpegs_of_the_newest_frame(preview: HttpPreviewSink) -> None:
    jpeg = read_first_jpeg(base(preview) + "/stream")
    assert jpeg[:3] == b"\xff\xd8\xff"
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (48, 64, 3)
    b, _, r = image.reshape(-1, 3).mean(axis=0)
    assert abs(b - 20) < 6 and abs(r - 200) < 6


def test_no_jpeg_is_made_while_nobody_watches(settings: Settings) -> None:
    sink = HttpPreviewSink(0)
    try:
        for seq in range(20):
            sink.write(Frame(seq=seq, image=picture(seq)))
        assert sink.encoded == 0
        read_first_jpeg(base(sink) + "/stream")
        assert sink.encoded == 1  # the newest frame only, not the 20 written before
    finally:
        sink.close()


def test_control_switches_and_refuses(preview: HttpPreviewSink, settings: Settings) -> None:
    url = base(preview) + "/control"
    assert post(url, b'{"effect": "replace"}') == (200, {"effect": "replace"})
    assert settings.calls == [("effect", "replace")]
    status, reply = post(url, b'{"effect": "nope"}')
    assert status == 400 and "must be one of" in reply["error"]
    status, reply = post(url, b'{"effect": "matte"}')  # the callback refuses
    assert status == 400 and "alpha-capable" in reply["error"]
    status, _ = post(url, b'{"effect": "blur"}', content_type="text/plain")
    assert status == 415  # what a foreign page could send without a CORS preflight
    status, _ = post(url, b'{"effect": "blur", "model": "large"}')
    assert status == 400
    assert settings.calls == [("effect", "replace")]


@pytest.mark.parametrize(
    ("length", "status"), [("abc", 400), ("-1", 400), (str(10**9), 413), ("2", 400)]
)
def test_a_bad_content_length_is_refused_with_a_status(
    preview: HttpPreviewSink, settings: Settings, length: str, status: int
) -> None:
    """The status line comes back (no traceback on the server, no dropped connection, no
    thread waiting for a body that never comes), and nothing is switched."""
    connection = http.client.HTTPConnection("127.0.0.1", preview.port, timeout=10)
    try:
        connection.putrequest("POST", "/control")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", length)
        connection.endheaders(b"{}")
        reply = connection.getresponse()
        assert reply.status == status
        assert "error" in json.loads(reply.read())
    finally:
        connection.close()
    assert settings.calls == []


def test_loopback_checks_the_host_header(preview: HttpPreviewSink) -> None:
    status, _ = get(base(preview) + "/stats", {"Host": "attacker.example"})
    assert status == 403


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "example.com"])
def test_non_loopback_bind_needs_the_flag_and_a_token(host: str) -> None:
    with pytest.raises(RtsegError, match=r"127\.0\.0\.1 by default"):
        HttpPreviewSink(0, host=host)
    with pytest.raises(RtsegError, match="token"):
        HttpPreviewSink(0, host=host, allow_remote=True)


def test_token_is_required_on_every_request() -> None:
    sink = HttpPreviewSink(0, host="0.0.0.0", allow_remote=True, token="s3cret-token")
    try:
        assert sink.url.endswith("?token=s3cret-token")
        url = base(sink)
        for path in ("/", "/stats", "/stream", "/controls"):
            assert get(url + path)[0] == 403
            assert get(url + path + "?token=wrong")[0] == 403
        assert get(url + "/stats?token=s3cret-token")[0] == 200
        assert get(url + "/stats", {"X-Rtseg-Token": "s3cret-token"})[0] == 200
    finally:
        sink.close()


def test_the_printed_url_works_whatever_the_token_holds() -> None:
    """The token goes into the URL encoded: `+`, `&`, `#`, `%` and a space in it once
    made the printed URL answer 403."""
    token = "a+b&c=d #%20é"
    sink = HttpPreviewSink(0, host="0.0.0.0", allow_remote=True, token=token)
    try:
        printed = sink.url.replace("0.0.0.0", "127.0.0.1")
        assert get(printed)[0] == 200
        assert get(printed.replace("/?", "/stats?"))[0] == 200
    finally:
        sink.close()


def test_an_ipv6_loopback_host_gets_an_ipv6_server() -> None:
    sink = HttpPreviewSink(0, host="::1")
    try:
        assert sink.url == f"http://[::1]:{sink.port}/"
        assert get(f"http://[::1]:{sink.port}/stats")[0] == 200
    finally:
        sink.close()


def test_busy_port_is_an_rtseg_error(preview: HttpPreviewSink) -> None:
    with pytest.raises(RtsegError, match="cannot listen"):
        HttpPreviewSink(preview.port)


def test_close_ends_streams_and_joins_threads() -> None:
    before = set(threading.enumerate())
    sink = HttpPreviewSink(0)
    sink.write(Frame(seq=0, image=picture(0)))
    reply = urllib.request.urlopen(base(sink) + "/stream", timeout=10)
    reply.read(10)  # a viewer is connected and waiting for more
    started = {t.name for t in set(threading.enumerate()) - before}
    assert started == {"rtseg-preview", "rtseg-preview-request"}  # what the leak check sees
    began = time.monotonic()
    sink.close()
    rest = reply.read()  # returns at the end of the stream; a hang would time out after 10 s
    assert time.monotonic() - began < 5
    assert rest.endswith(b"\xff\xd9\r\n")  # the first picture ended whole, nothing followed
    assert reply.read() == b""
    reply.close()
    assert set(threading.enumerate()) <= before
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(base(sink) + "/stats", timeout=2)


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("::1", True),
                         ("localhost", True), ("0.0.0.0", False), ("10.0.0.2", False)])  # fmt: skip
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) == loopback


def test_flatten_alpha_shows_transparency_over_grey() -> None:
    bgra = np.zeros((2, 2, 4), np.uint8)
    bgra[..., :3] = 255
    bgra[0, :, 3] = 255
    flat = flatten_alpha(bgra)
    assert flat.shape == (2, 2, 3)
    assert (flat[0] == 255).all() and (flat[1] == 128).all()


def run_chromium(url: str, profile: Path) -> str:
    # Headless virtual time runs far ahead of the real-time stream (3000 virtual ms passed in
    # about 0.2 s, a few pictures, and only one on a loaded machine): 20000 gives about 1 s.
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--virtual-time-budget=20000", "--dump-dom"]  # fmt: skip
    done = subprocess.run([CHROMIUM, *flags, url], capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")
def test_page_in_headless_chromium(preview: HttpPreviewSink, settings: Settings, tmp_path: Path):
    dom = run_chromium(base(preview) + "/?autotest=1", tmp_path / "profile")
    body = re.search(r"<body[^>]*>", dom).group(0)
    frames = int(re.search(r'data-frames="(\d+)"', body).group(1))
    assert frames >= 2, body  # several distinct pictures were decoded and shown
    clicked = re.search(r'data-clicked="(\w+)"', body).group(1)
    assert clicked == "replace"  # the first effect other than the current "blur"
    assert settings.calls == [("effect", "replace")]  # the click reached the pipeline
    row = re.search(r'<tr data-key="effect"><td>effect</td><td>(\w+)</td>', dom).group(1)
    assert row == "replace"  # and the refreshed stats on the page show it
    for key in ("fps", "latency_ms.p99", "drops", "provider"):
        assert f'data-key="{key}"' in dom


def test_controls_list_buttons_and_slider_ranges(preview: HttpPreviewSink) -> None:
    status, body = get(base(preview) + "/controls")
    assert status == 200
    assert json.loads(body) == {
        **CHOICES,
        "grow": {"min": -40, "max": 40, "step": 2},
        "smooth": {"min": 0.0, "max": 1.0, "step": 0.1},
    }


def test_a_slider_setting_takes_a_number_in_its_range(
    preview: HttpPreviewSink, settings: Settings
) -> None:
    url = base(preview) + "/control"
    assert post(url, b'{"grow": -12}') == (200, {"grow": -12})
    assert post(url, b'{"smooth": 0.75}') == (200, {"smooth": 0.75})
    for bad in (b'{"grow": 41}', b'{"grow": "12"}', b'{"grow": true}', b'{"smooth": NaN}'):
        status, reply = post(url, bad)
        assert status == 400 and "must be a number from" in reply["error"], bad
    assert settings.calls == [("grow", -12), ("smooth", 0.75)]


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")
def test_sliders_in_headless_chromium(preview: HttpPreviewSink, settings: Settings, tmp_path: Path):
    """The page draws a slider per range; moving it sends the number once let go, and the
    label and the refreshed stats show the new value."""
    url = base(preview) + "/?autotest=1&slide=grow:12&slide=smooth:0.8"
    dom = run_chromium(url, tmp_path / "profile")
    body = re.search(r"<body[^>]*>", dom).group(0)
    assert 'data-slid="grow:12,smooth:0.8"' in body, body
    assert ("grow", 12) in settings.calls and ("smooth", 0.8) in settings.calls
    slider = re.search(r'<input type="range"[^>]*data-key="grow"[^>]*>([^<]*)<', dom)
    assert slider is not None and slider.group(1).strip() == "12", dom[-3000:]
    row = re.search(r'<tr data-key="grow"><td>grow</td><td>([-\w.]+)</td>', dom).group(1)
    assert row == "12"
