"""A real S3 API server on loopback for the object-storage tests: moto in server mode.

It runs inside the test's loopback-only network namespace (see `netns`), in the process of
the scenario that uses it; rtseg's processes, and Ray's on every node, reach it through the
standard AWS variables, as they would reach a real endpoint.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import fsspec
from moto.server import ThreadedMotoServer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def s3_server(*buckets: str) -> Iterator[fsspec.AbstractFileSystem]:
    """An S3 endpoint on 127.0.0.1 with `buckets` made, its AWS variables set in this
    process's environment (children inherit them); yields an s3fs filesystem on it."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.update(
        AWS_ACCESS_KEY_ID="rtseg-test",
        AWS_SECRET_ACCESS_KEY="rtseg-test-secret",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
    )
    try:
        fs = fsspec.filesystem("s3", skip_instance_cache=True)
        for bucket in buckets:
            fs.mkdir(bucket)
        yield fs
    finally:
        server.stop()


def upload_tree(fs: fsspec.AbstractFileSystem, local: Path, url: str) -> None:
    """Every file under `local` to the same relative keys under `url`."""
    for path in sorted(local.rglob("*")):
        if path.is_file():
            fs.put_file(str(path), f"{url.rstrip('/')}/{path.relative_to(local).as_posix()}")


def download_tree(fs: fsspec.AbstractFileSystem, url: str, local: Path) -> list[str]:
    """Every object under `url` to the same relative paths under `local`; their keys."""
    keys = sorted(fs.find(url))
    prefix = url.split("://", 1)[1].rstrip("/") + "/"
    for key in keys:
        target = local / key[len(prefix) :]
        target.parent.mkdir(parents=True, exist_ok=True)
        fs.get_file(key, str(target))
    return [key[len(prefix) :] for key in keys]
