"""Browser preview: watch a pipeline that runs on a headless box or a remote GPU server.

A small stdlib HTTP server serves a page with the live output as MJPEG, the stats as JSON,
buttons that switch effect and model, and sliders for the mask's grow, feather and smoothing.
JPEG encoding happens only while a browser is watching, and only for the newest frame: a slow
viewer skips frames instead of queueing them, so the preview can never slow the pipeline down
or grow its memory.

Security: it listens on 127.0.0.1 unless told otherwise. Any other interface needs an explicit
`allow_remote=True` and a token, which every request must then carry (`?token=` or the
`X-Rtseg-Token` header). Control requests must be JSON, which a foreign web page cannot send
without a CORS preflight this server never grants, and on loopback the Host header must name
the loopback (a DNS-rebinding page cannot reach the server under its own name).
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import cv2
import numpy as np

from rtseg.errors import RtsegError
from rtseg.pipeline.frame import Frame
from rtseg.redaction import remember

TOKEN_HEADER = "X-Rtseg-Token"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
BOUNDARY = b"rtsegframe"
# The largest /control body read: a control is a few bytes of JSON.
MAX_CONTROL_BYTES = 64 * 1024
_WAIT_S = 0.5  # how often a stream re-checks for shutdown while no frame comes

# The page: the stream, a stats table refreshed twice a second, one button per choice and a
# slider per range. `?autotest=1` makes it count the pictures it shows and click the first
# effect that is not the current one once pictures arrive, and `&slide=NAME:VALUE` (repeated)
# then moves those sliders as a drag would, so a headless browser test exercises the real
# stream, buttons and sliders; it records what it saw in `data-` attributes of <body> for a
# DOM dump to read.
PAGE = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>rtseg preview</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 1em; background: #161616; color: #ddd; }
#view { display: block; max-width: 100%; background: #000; min-height: 120px; }
#controls div { margin: .5em 0; } button { margin-right: .3em; } input { width: 16em; }
button.on { background: #2a6; color: #fff; } td { padding: 0 1em 0 0; } #error { color: #f66; }
</style></head>
<body data-frames="0">
<img id="view" alt="live output">
<div id="controls"></div><div id="error"></div>
<table id="stats"></table>
<script>
"use strict";
const query = new URLSearchParams(location.search);
const token = query.get("token");
const auth = token ? { "X-Rtseg-Token": token } : {};
const withToken = (path) => token ? path + "?token=" + encodeURIComponent(token) : path;
const body = document.body, view = document.getElementById("view");
let current = {};

view.src = withToken("/stream");

if (query.has("autotest")) {
  // MJPEG fires `load` for its first picture only, so count pictures by sampling the image.
  const probe = document.createElement("canvas").getContext("2d", { willReadFrequently: true });
  let last = -1;
  setInterval(() => {
    if (!view.naturalWidth) return;
    probe.drawImage(view, 0, 0, 1, 1);
    const green = probe.getImageData(0, 0, 1, 1).data[1];
    if (green === last) return;
    last = green;
    body.dataset.frames = Number(body.dataset.frames) + 1;
    maybeAutotest();
  }, 20);
}

function flat(obj, prefix, out) {
  for (const [k, v] of Object.entries(obj)) {
    if (v && typeof v === "object" && !Array.isArray(v)) flat(v, prefix + k + ".", out);
    else out.push([prefix + k, typeof v === "number" ? +v.toFixed(2) : String(v)]);
  }
  return out;
}

async function refreshStats() {
  try {
    const reply = await fetch("/stats", { headers: auth, cache: "no-store" });
    current = await reply.json();
    const rows = flat(current, "", []).map(([k, v]) => {
      const tr = document.createElement("tr");
      tr.dataset.key = k;
      tr.append(Object.assign(document.createElement("td"), { textContent: k }),
                Object.assign(document.createElement("td"), { textContent: v }));
      return tr;
    });
    document.getElementById("stats").replaceChildren(...rows);
    for (const b of document.querySelectorAll("#controls button"))
      b.classList.toggle("on", current[b.dataset.key] === b.dataset.value);
    for (const s of document.querySelectorAll("#controls input"))  // a key may have moved it
      if (s !== document.activeElement && s.dataset.key in current) {
        s.value = current[s.dataset.key];
        s.nextSibling.textContent = " " + s.value;
      }
  } catch (e) { document.getElementById("error").textContent = "stats: " + e; }
}

async function choose(key, value) {
  const reply = await fetch("/control", { method: "POST", body: JSON.stringify({ [key]: value }),
    headers: { ...auth, "Content-Type": "application/json" } });
  const answer = await reply.json();
  document.getElementById("error").textContent = reply.ok ? (answer.note || "") : answer.error;
  await refreshStats();
}

async function buildControls() {
  const choices = await (await fetch("/controls", { headers: auth })).json();
  for (const [key, values] of Object.entries(choices)) {
    const group = document.createElement("div");
    group.append(key + ": ");
    if (!Array.isArray(values)) {  // a range: a slider, sent when let go
      const s = Object.assign(document.createElement("input"), { type: "range", ...values });
      s.dataset.key = key;
      s.value = current[key] ?? values.min;
      const shown = document.createTextNode(" " + s.value);
      s.oninput = () => { shown.textContent = " " + s.value; };
      s.onchange = () => { s.sent = choose(key, Number(s.value)); };
      group.append(s, shown);
      document.getElementById("controls").append(group);
      continue;
    }
    for (const value of values) {
      const b = Object.assign(document.createElement("button"), { textContent: value });
      Object.assign(b.dataset, { key, value });
      b.onclick = () => choose(key, value);
      group.append(b);
    }
    document.getElementById("controls").append(group);
  }
  body.dataset.controls = "ready";
  maybeAutotest();
  if (query.has("autotest")) slideForTest();
}

function maybeAutotest() {
  if (!query.has("autotest") || body.dataset.clicked || body.dataset.controls !== "ready"
      || Number(body.dataset.frames) < 2 || !("effect" in current)) return;
  const other = [...document.querySelectorAll("#controls button[data-key=effect]")]
    .find((b) => b.dataset.value !== current.effect);
  if (!other) return;
  body.dataset.clicked = other.dataset.value;
  other.click();
}

async function slideForTest() {  // as a drag would: the value, `input` while moving, `change`
  const moved = [];
  for (const wish of query.getAll("slide")) {
    const [key, value] = wish.split(":");
    const s = document.querySelector(`#controls input[data-key="${key}"]`);
    if (!s) continue;
    s.value = value;
    s.dispatchEvent(new Event("input"));
    s.dispatchEvent(new Event("change"));
    await s.sent;  // one request at a time
    moved.push(key + ":" + s.value);
  }
  body.dataset.slid = moved.join(",");
}

refreshStats().then(buildControls);
setInterval(refreshStats, 500);
</script></body></html>
"""


def is_loopback(host: str) -> bool:
    """Whether `host` only listens on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def flatten_alpha(image: np.ndarray) -> np.ndarray:
    """BGR for a JPEG: BGRA is shown over mid-grey, so transparent areas stay visible."""
    if image.ndim == 3 and image.shape[2] == 4:
        alpha = image[..., 3:4].astype(np.float32) / 255.0
        grey = np.float32(128)
        return (image[..., :3] * alpha + grey * (1 - alpha) + 0.5).astype(np.uint8)
    return image


class _Server(ThreadingHTTPServer):
    """Tracks open connections so shutdown can close them instead of waiting on idle clients."""

    daemon_threads = False
    block_on_close = True  # server_close() joins every request thread

    def __init__(self, address: tuple[str, int], preview: HttpPreviewSink) -> None:
        self.preview = preview
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        if ":" in address[0]:  # an IPv6 address (`::1`) gets an IPv6 socket
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self.connections_lock:
            for conn in self.connections:
                with contextlib.suppress(OSError):  # already gone
                    conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10  # seconds a stalled client may hold a thread

    def setup(self) -> None:
        # The server starts one thread per request; named like every rtseg thread, so a
        # leak check (and a reader of a thread dump) knows whose it is.
        threading.current_thread().name = "rtseg-preview-request"
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: a library does not write to the console."""

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: object) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _allowed(self) -> bool:
        preview = self.server.preview
        if preview.loopback:
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
            if host not in LOOPBACK_NAMES:
                self._json(403, {"error": "Host must be localhost or 127.0.0.1"})
                return False
        if preview.token is not None:
            given = self.headers.get(TOKEN_HEADER)
            if given is None:
                given = parse_qs(urlsplit(self.path).query).get("token", [""])[0]
            if not hmac.compare_digest(given.encode(), preview.token.encode()):
                self._json(403, {"error": "missing or wrong token"})
                return False
        return True

    def do_GET(self) -> None:
        if not self._allowed():
            return
        preview = self.server.preview
        route = urlsplit(self.path).path
        if route == "/":
            self._send(200, PAGE, "text/html; charset=utf-8")
        elif route == "/stream":
            self._stream()
        elif route == "/stats":
            try:
                stats = preview.stats() if preview.stats is not None else {}
            except Exception as exc:  # the page shows it; the server stays up
                self._json(500, {"error": f"stats failed: {exc}"})
                return
            self._json(200, stats)
        elif route == "/controls":
            ranges = {k: dict(zip(("min", "max", "step"), r, strict=True))
                      for k, r in preview.ranges.items()}  # fmt: skip
            self._json(200, {**preview.choices, **ranges})
        else:
            self._json(404, {"error": f"no page {route}"})

    def do_POST(self) -> None:
        if not self._allowed():
            return
        if urlsplit(self.path).path != "/control":
            self._json(404, {"error": "POST only to /control"})
            return
        if self.headers.get_content_type() != "application/json":
            self._json(415, {"error": "send JSON (Content-Type: application/json)"})
            return
        declared = self.headers.get("Content-Length") or "0"
        if not declared.isdecimal():  # a number of bytes, not "abc" or -1 (read to the end)
            self._json(400, {"error": "Content-Length must be a number of bytes"})
            return
        length = int(declared)
        if length > MAX_CONTROL_BYTES:
            self._json(413, {"error": f"a control is at most {MAX_CONTROL_BYTES} bytes"})
            return
        try:
            request = json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            request = None
        status, payload = self.server.preview.control(request)
        self._json(status, payload)

    def _stream(self) -> None:
        preview = self.server.preview
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY.decode()}")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        seen = -1
        with contextlib.suppress(OSError):  # the viewer went away, or we are shutting down
            while not preview.stopped:
                newest = preview.jpeg_after(seen, _WAIT_S)
                if newest is None:
                    continue
                seen, jpeg = newest
                head = b"--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                self.wfile.write(head % (BOUNDARY, len(jpeg)) + jpeg + b"\r\n")
                self.wfile.flush()


class HttpPreviewSink:
    """Serves the newest output frame as MJPEG, stats as JSON, and effect/model controls.

    `stats` returns the dict shown on the page (fps, latency percentiles, drops, provider,
    current effect and model...). `on_control(key, value)` switches setting `key` ("effect"
    or "model") to `value`, one of `choices[key]`, or sets a number `key` of `ranges` (low,
    high, step; a slider on the page) to a `value` in that range, and may return a note for
    the viewer (e.g. that a model is still loading); it may raise RtsegError or ValueError to
    refuse, and the message is shown to the viewer. The server starts in the constructor so a
    busy port fails at once and the URL can be shown before the first frame.
    """

    def __init__(
        self,
        port: int = 8080,
        *,
        host: str = "127.0.0.1",
        allow_remote: bool = False,
        token: str | None = None,
        stats: Callable[[], dict[str, Any]] | None = None,
        on_control: Callable[[str, str | float], str | None] | None = None,
        choices: Mapping[str, Sequence[str]] | None = None,
        ranges: Mapping[str, tuple[float, float, float]] | None = None,
        jpeg_quality: int = 80,
    ) -> None:
        self.loopback = is_loopback(host)
        if not self.loopback and not allow_remote:
            raise RtsegError(
                f"the preview listens on 127.0.0.1 by default; to listen on {host}, "
                "pass --preview-remote and --preview-token"
            )
        if not self.loopback and not token:
            raise RtsegError(f"listening on {host} needs a token (--preview-token) for viewers")
        self.host = host
        self.token = token or None
        remember(token or "")  # never in a log line or message, whatever quotes it
        self.stats = stats
        self.on_control = on_control
        self.choices = {key: list(values) for key, values in (choices or {}).items()}
        self.ranges = dict(ranges or {})
        self.jpeg_quality = jpeg_quality
        self.encoded = 0  # JPEGs made: stays 0 while nobody watches
        self._frame: tuple[int, np.ndarray] | None = None
        self._jpeg: tuple[int, bytes] | None = None
        self._count = 0
        self._cond = threading.Condition()
        self._encode_lock = threading.Lock()
        self._stopped = threading.Event()
        try:
            self._server = _Server((host, port), self)
        except OSError as exc:
            raise RtsegError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="rtseg-preview",
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """Where to point a browser (with the token, URL-encoded, when one is set)."""
        host = "127.0.0.1" if self.loopback and ":" not in self.host else self.host
        if ":" in host:
            host = f"[{host}]"
        query = f"?token={quote(self.token, safe='')}" if self.token else ""
        return f"http://{host}:{self.port}/{query}"

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def write(self, frame: Frame) -> None:
        """Keep a reference to the newest frame; costs nothing while nobody watches."""
        image = frame.output if frame.output is not None else frame.image
        with self._cond:
            self._frame = (self._count, image)
            self._count += 1
            self._cond.notify_all()

    def jpeg_after(self, seen: int, timeout: float) -> tuple[int, bytes] | None:
        """The newest frame as (number, JPEG) once it is newer than `seen`; None on timeout."""
        with self._cond:
            newer = self._cond.wait_for(
                lambda: self.stopped or (self._frame is not None and self._frame[0] > seen),
                timeout,
            )
            if not newer or self.stopped or self._frame is None:
                return None
            number, image = self._frame
        with self._encode_lock:  # viewers share one encoding of each frame
            if self._jpeg is None or self._jpeg[0] != number:
                params = [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality]
                ok, data = cv2.imencode(".jpg", flatten_alpha(image), params)
                if not ok:
                    return None
                self._jpeg = (number, data.tobytes())
                self.encoded += 1
            return self._jpeg

    def control(self, request: object) -> tuple[int, dict[str, Any]]:
        """Apply a `{"effect": name}`, `{"model": name}` or `{"grow": 12}` request; (HTTP
        status, reply)."""
        if not isinstance(request, dict) or len(request) != 1:
            return 400, {"error": 'send one setting, e.g. {"effect": "blur"}'}
        ((key, value),) = request.items()
        if key not in {**self.choices, **self.ranges} or self.on_control is None:
            return 400, {"error": f"{key!r} cannot be changed here"}
        if key in self.ranges:
            low, high, _ = self.ranges[key]
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not number or not low <= value <= high:
                return 400, {"error": f"{key} must be a number from {low:g} to {high:g}"}
        elif value not in self.choices[key]:
            return 400, {"error": f"{key} must be one of {self.choices[key]}"}
        try:
            note = self.on_control(key, value)
        except (RtsegError, ValueError) as exc:
            return 400, {"error": str(exc)}
        return 200, {key: value, **({"note": note} if note else {})}

    def close(self) -> None:
        """Stop serving: end the streams, close every socket, join every thread."""
        if self.stopped:
            return
        self._stopped.set()
        with self._cond:
            self._cond.notify_all()
        self._server.shutdown()  # serve_forever returns
        self._thread.join()
        self._server.drop_connections()
        self._server.server_close()  # closes the listening socket, joins request threads

    abort = close  # nothing to keep from a failed run
