"""Helpers for the reliability tests: run the CLI, check its one-line failure, serve streams."""

from __future__ import annotations

import http.server
import re
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.media import ffmpeg
from tests.test_cli import rtseg


@dataclass
class Outcome:
    returncode: int
    stderr: str
    stdout: str
    seconds: float

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("rtseg: error:")]


def run_cli(*args: str, timeout: float = 60, **kwargs) -> Outcome:
    """Run `rtseg ARGS` in a subprocess and time it."""
    started = time.monotonic()
    result = rtseg(*args, timeout=timeout, **kwargs)
    return Outcome(result.returncode, result.stderr, result.stdout, time.monotonic() - started)


def assert_clean_failure(outcome: Outcome, message: str, code: int = 2) -> str:
    """A non-zero exit with exactly one error line holding `message`, nothing else, no traceback."""
    assert outcome.returncode == code, outcome.stderr
    assert "Traceback" not in outcome.stderr, outcome.stderr
    lines = [line for line in outcome.stderr.splitlines() if line.strip("\x1b[m \n")]
    assert len(outcome.error_lines) == 1, outcome.stderr
    assert [line for line in lines if not line.startswith("rtseg: ")] == [], outcome.stderr
    assert message in outcome.error_lines[0], outcome.stderr
    return outcome.error_lines[0]


def kept_partial(line: str) -> Path:
    """The partial output an error line says was kept."""
    match = re.search(r"partial output is kept as (\S+?)\)", line)
    assert match, line
    return Path(match.group(1))


class StreamServer:
    """An HTTP server on 127.0.0.1 that sends part of a byte stream, then stalls.

    Each connection gets `payload[:send]` and then nothing for `stall_s` seconds, which is what
    a camera or encoder that hangs looks like to a client. `accept` turns new connections away
    (closed at once), as when the stream is gone for good.
    """

    def __init__(self, payload: bytes, send: int, stall_s: float = 30.0) -> None:
        self.payload, self.send, self.stall_s = payload, send, stall_s
        self.accept = True
        self.connections = 0
        self._done = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.connections += 1
                if not server.accept:
                    self.close_connection = True
                    return
                self.send_response(200)
                self.send_header("Content-Type", "video/mp2t")
                self.end_headers()
                self.wfile.write(server.payload[: server.send])
                self.wfile.flush()
                server._done.wait(server.stall_s)

            def log_message(self, *args) -> None:
                pass

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/live.ts"

    @contextmanager
    def running(self) -> Iterator[StreamServer]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._done.set()
            self._server.shutdown()
            self._server.server_close()
            thread.join(5)


def mpegts_of(clip: Path, out: Path) -> bytes:
    """The clip re-encoded as an MPEG-TS byte stream, what live encoders send."""
    ffmpeg("-i", str(clip), "-c:v", "mpeg2video", "-q:v", "5", "-f", "mpegts", str(out))
    return out.read_bytes()
