"""No secret appears in anything rtseg prints or records: error lines, log lines, progress
lines, the batch report and the stats file, for URLs with a password, a signed query
string, a preview token, and credentials in a storage URL. Each scenario runs `rtseg` in a
subprocess against an HTTP server on loopback that asks for a password and serves byte
ranges, as a web store does."""

from __future__ import annotations

import base64
import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from rtseg.redaction import redact
from tests.batch.media import make_clip
from tests.conftest import ROOT
from tests.reliability import assert_clean_failure, run_cli

USER, PASSWORD = "alice", "Pa55-w0rd-secret"
SIGNATURE = "f00dcafe5ignature"
TOKEN = "t0ken+with&odd=chars"


class _Handler(http.server.BaseHTTPRequestHandler):
    """Files from `root`, for `alice` only, with byte ranges (HEAD and GET)."""

    root: Path

    def _file(self) -> bytes | None:
        expected = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {expected}":
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="media"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        path = self.root / self.path.partition("?")[0].lstrip("/")
        if not path.is_file():
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        return path.read_bytes()

    def do_HEAD(self) -> None:
        data = self._file()
        if data is not None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()

    def do_GET(self) -> None:
        data = self._file()
        if data is None:
            return
        wanted = self.headers.get("Range", "")
        if wanted.startswith("bytes="):
            first, _, last = wanted[6:].partition("-")
            start, end = int(first), min(int(last or len(data) - 1), len(data) - 1)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            data = data[start : end + 1]
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@contextmanager
def media_server(root: Path) -> Iterator[str]:
    """`http://127.0.0.1:PORT` serving `root` to `alice`."""
    handler = type("Handler", (_Handler,), {"root": root})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def assert_nowhere(secrets: list[str], *texts: str) -> None:
    for secret in secrets:
        for text in texts:
            assert secret not in text, text


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    media = tmp_path / "media"
    make_clip(media / "a.mp4", 0.6)
    (media / "broken.mp4").write_bytes((media / "a.mp4").read_bytes()[:3000])
    with media_server(media) as host:
        yield host, media


def test_wrong_credentials_are_access_denied_and_never_shown(served, tmp_path, bright_model):
    host, _ = served
    url = f"http://{USER}:wrong-{PASSWORD}@{host}/a.mp4"
    outcome = run_cli("run", "--source", url, "--sink", str(tmp_path / "o.mp4"),
                      "--model", str(bright_model), "-q")  # fmt: skip
    assert_clean_failure(outcome, "access denied to http://***@")
    assert_nowhere([PASSWORD, USER], outcome.stderr, outcome.stdout)


def test_a_run_with_credentials_and_a_signed_url_shows_neither(served, tmp_path, bright_model):
    host, _ = served
    source = f"http://{USER}:{PASSWORD}@{host}/a.mp4?X-Amz-Signature={SIGNATURE}&x=1"
    stats = tmp_path / "stats.json"
    done = run_cli("run", "--source", source, "--sink", str(tmp_path / "o.mp4"),
                   "--stats-json", str(stats), "--model", str(bright_model))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "o.mp4").exists()
    assert_nowhere([PASSWORD, SIGNATURE], done.stderr, done.stdout, stats.read_text())
    missing = source.replace("a.mp4", "gone.mp4")
    outcome = run_cli("run", "--source", missing, "--sink", str(tmp_path / "p.mp4"), "-q")
    assert_clean_failure(outcome, "not found: http://***@")
    assert "X-Amz-Signature=***" in outcome.stderr
    assert_nowhere([PASSWORD, SIGNATURE], outcome.stderr)


def test_a_batch_never_prints_or_records_the_credentials_of_its_inputs(
    served, tmp_path, bright_model
):
    host, _ = served
    report = tmp_path / "report.jsonl"
    inputs = [f"http://{USER}:{PASSWORD}@{host}/{name}?sig={SIGNATURE}"
              for name in ("a.mp4", "broken.mp4")]  # fmt: skip
    done = run_cli("batch", *inputs, "--out", str(tmp_path / "out"), "--report", str(report),
                   "--model", str(bright_model), "--workers", "1", timeout=180)  # fmt: skip
    assert done.returncode == 1, done.stderr  # the broken input fails, with its line
    assert (tmp_path / "out" / "a.mp4").exists()
    assert "rtseg: done http://***@" in done.stderr  # its progress line, redacted
    assert "rtseg: error: http://***@" in done.stderr
    assert_nowhere([PASSWORD, SIGNATURE], done.stderr, done.stdout, report.read_text())


def test_credentials_in_a_storage_url_are_refused_in_one_line_without_them(tmp_path):
    for option in ("--sink", "--source"):
        url = "s3://AKIAKEYID0000:Very/Secret+Key@bucket/a.mp4"
        args = ["--source", "sample", "--sink", url] if option == "--sink" else [
            "--source", url, "--sink", str(tmp_path / "o.mp4")]  # fmt: skip
        outcome = run_cli("run", *args, "-q")
        assert_clean_failure(outcome, "credentials do not go in a s3:// URL")
        assert_nowhere(["Very/Secret+Key", "AKIAKEYID0000"], outcome.stderr)


def test_the_preview_token_is_never_logged(bright_model):
    done = run_cli("run", "--source", "sample", "--max-frames", "3", "--sink", "http:0",
                   "--preview-token", TOKEN, "--model", str(bright_model))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "preview at http://127.0.0.1:" in done.stderr
    assert_nowhere([TOKEN, TOKEN.split("&")[0]], done.stderr, done.stdout)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("cannot open https://bob:hunter22@h/x.mp4: refused", "hunter22"),
        ("GET https://h/x?X-Amz-Credential=AKIA1/2&X-Amz-Signature=abc123 failed", "abc123"),
        ("url='http://h/x?token=zzz999&a=1'", "zzz999"),
        ("rtmp://u:pw1234@cam/live stalled", "pw1234"),
    ],
)
def test_redact_blanks_credentials_wherever_a_backend_quotes_them(text, secret):
    assert secret not in redact(text)
    assert redact("nothing secret in s3://bucket/a.mp4") == "nothing secret in s3://bucket/a.mp4"


def test_a_batch_worker_s_warnings_are_redacted_where_no_handler_is_set():
    """A worker process has no logging set up: its warnings go to Python's last-resort
    handler, which `redact_logs` (run by each `Worker`) filters too."""
    script = (
        "import logging; from rtseg.redaction import redact_logs; redact_logs(); "
        f"logging.getLogger('x').warning('cannot read https://{USER}:{PASSWORD}@h/a.mp4')"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)  # fmt: skip
    assert "cannot read https://***@h/a.mp4" in done.stderr
    assert PASSWORD not in done.stderr
