"""Inputs and outputs addressed by URL (s3://, gs://, az://, https://...), through fsspec.

Object storage is not a disk, so each direction has its own rule:
- **Reading streams.** PyAV reads a file-like object whose reads are served from blocks of
  `BLOCK_BYTES`, each fetched by one range request; seeking (a split segment's start, the
  index at the end of an MP4 written without faststart) fetches only the blocks it lands
  in. The readers of one URL in a process (the video decoder and the audio muxer read the
  same file side by side) share the blocks, so the file crosses the network once.
- **Writing is complete or not at all.** An output is written to a local file on the node
  that runs it and uploaded when it is complete (a single PUT, or a multipart upload that
  is completed only at the end), so no object ever appears under its final key before the
  whole output is in it. A stopped or failed run keeps its partial output on that node,
  under `staging_path`, and says where.

Credentials and endpoints come the way each backend reads them (s3fs: the AWS variables
and files, `AWS_ENDPOINT_URL` included; gcsfs: Google's application default credentials;
adlfs: `AZURE_STORAGE_*`); rtseg asks for none and never prints them. The backends come
with the `cloud` extra.
"""

from __future__ import annotations

import contextlib
import io
import socket
import tempfile
import threading
import weakref
from collections import OrderedDict
from concurrent.futures import Future
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from rtseg.errors import RtsegError, option
from rtseg.pipeline.ports import Sink, SinkWrapper

# Bytes fetched per range request, how many blocks are fetched ahead of the one being read,
# and how many recent blocks a file keeps. Fetching ahead keeps the link busy through each
# round trip; the blocks kept let the video decoder and the audio muxer, a little apart in
# the file, share what was fetched (measured in docs/cloud.md).
BLOCK_BYTES = 1024 * 1024
AHEAD_BLOCKS = 2
KEPT_BLOCKS = 8
# Schemes fsspec knows that are this machine's own files, not remote ones.
LOCAL_SCHEMES = {"file", "local"}
WEB_SCHEMES = {"http", "https"}
# The schemes the cloud extra's backends serve.
CLOUD_SCHEMES = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", *WEB_SCHEMES}
# The storage clients' loggers, kept to warnings: at INFO botocore names where it found keys.
BACKEND_LOGGERS = ("botocore", "aiobotocore", "s3fs", "gcsfs", "adlfs", "azure", "google", "fsspec")

# A location: a local path, or a URL kept as the string it is (`Path` would fold its `//`).
Location = Path | str


class Moved:
    """Bytes this process has read from and written to remote storage, for the reports."""

    def __init__(self) -> None:
        self.read = 0
        self.written = 0
        self._lock = threading.Lock()

    def add_read(self, count: int) -> None:
        with self._lock:  # blocks are fetched ahead on threads
            self.read += count

    def snapshot(self) -> tuple[int, int]:
        return self.read, self.written

    def since(self, before: tuple[int, int]) -> tuple[int, int]:
        """Bytes read and written since `snapshot()` returned `before`."""
        return self.read - before[0], self.written - before[1]


MOVED = Moved()


def scheme(spec: object) -> str | None:
    """The URL scheme of `spec` when fsspec can open it as remote storage, else None."""
    if not isinstance(spec, str):
        return None
    name, sep, _ = spec.partition("://")
    name = name.lower()
    if not sep or name in LOCAL_SCHEMES or not name.isidentifier():
        return None
    try:
        from fsspec.registry import known_implementations
    except ImportError:
        # Without the cloud extra its storage schemes still name storage, and opening one
        # says what to install; http(s) stays what it was before storage URLs: FFmpeg's own
        # reader opens it (a file or a live stream), no extra needed.
        known_implementations = CLOUD_SCHEMES - WEB_SCHEMES
    return name if name in known_implementations else None


def is_remote(spec: object) -> bool:
    """Whether `spec` is a URL fsspec opens (a local path, even `take:2.mp4`, is not)."""
    return scheme(spec) is not None


def is_web(spec: object) -> bool:
    """Whether `spec` is an http(s) URL: a file for batches, possibly a live stream for run."""
    return scheme(spec) in WEB_SCHEMES


def location(spec: str | Path) -> Location:
    """`spec` as a location: URLs stay strings, everything else becomes a Path."""
    return spec if isinstance(spec, str) and is_remote(spec) else Path(spec)


def suffix(spec: Location) -> str:
    """The file suffix of a path or URL (`.mp4`), '' for a folder."""
    if isinstance(spec, str) and is_remote(spec):
        return PurePosixPath(urlsplit(spec).path).suffix
    return Path(spec).suffix


def name(spec: Location) -> str:
    """The last part of a path or URL."""
    if isinstance(spec, str) and is_remote(spec):
        return PurePosixPath(urlsplit(spec).path).name
    return Path(spec).name


def join(base: Location, relative: str) -> Location:
    """`relative` (a POSIX path) under the folder or prefix `base`."""
    if isinstance(base, str) and is_remote(base):
        return base.rstrip("/") + "/" + relative
    return Path(base) / relative


def _fs(url: str) -> tuple[Any, str]:
    """The fsspec filesystem for `url` and the path within it, or one line naming the extra."""
    try:
        from fsspec.core import url_to_fs

        return url_to_fs(url)
    except ImportError as exc:
        missing = (exc.name or "its backend").split(".")[0]
        raise RtsegError(
            f"{url}: {scheme(url)}:// needs {missing}: pip install 'rtseg[cloud]'"
        ) from exc


def _failure(url: str, exc: BaseException) -> RtsegError:
    """One line for a storage error: what the backend said, never the credentials."""
    if isinstance(exc, FileNotFoundError):
        return RtsegError(f"not found: {url}")
    if isinstance(exc, PermissionError):
        return RtsegError(f"access denied to {url}: check the credentials this node uses")
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return RtsegError(f"{url}: {text}")


@contextlib.contextmanager
def storage_errors(url: str):
    """Turn whatever a backend raises (botocore, aiohttp, azure, google errors) into one line."""
    try:
        yield
    except RtsegError:
        raise
    except Exception as exc:
        raise _failure(url, exc) from exc


def exists(spec: Location) -> bool:
    """Whether a file, folder or object exists at `spec`."""
    if not isinstance(spec, str) or not is_remote(spec):
        return Path(spec).exists()
    fs, path = _fs(spec)
    with storage_errors(spec):
        fs.invalidate_cache()
        return bool(fs.exists(path))


def version(url: str) -> tuple:
    """What tells one version of an object from another: its URL, size and ETag (or time)."""
    fs, path = _fs(url)
    with storage_errors(url):
        fs.invalidate_cache(path)
        info = fs.info(path)
    stamp = info.get("ETag") or info.get("etag") or info.get("LastModified") or info.get("mtime")
    return url, info.get("size"), str(stamp)


# -- reading -------------------------------------------------------------------------------
class _Blocks:
    """One remote file's bytes, fetched a block at a time and shared by its readers.

    Reading block i starts fetching the `AHEAD_BLOCKS` after it on threads of its own, so
    the network works while the decoder does: a file streamed in order waits for the link
    only when the link is slower than the decoding."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.fs, self.path = _fs(url)
        with storage_errors(url):
            info = self.fs.info(self.path)
        if info.get("type") == "directory":
            raise RtsegError(f"{url} is a folder, not a file")
        self.size = int(info.get("size") or 0)
        self._kept: OrderedDict[int, Future[bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def _fetch(self, index: int) -> bytes:
        start = index * BLOCK_BYTES
        end = min(self.size, start + BLOCK_BYTES)
        with storage_errors(self.url):
            data = self.fs.cat_file(self.path, start=start, end=end)
        MOVED.add_read(len(data))
        return data

    def _want(self, index: int) -> Future[bytes]:
        """The block's fetch, started now unless it is kept or under way (lock held)."""
        future = self._kept.get(index)
        if future is None:
            future = self._kept[index] = Future()
            # A thread per block, ending with its fetch: nothing is left running to stop.
            threading.Thread(
                target=self._fill, args=(future, index), name="rtseg-read-ahead", daemon=True
            ).start()
        self._kept.move_to_end(index)
        return future

    def _fill(self, future: Future[bytes], index: int) -> None:
        try:
            future.set_result(self._fetch(index))
        except BaseException as exc:
            future.set_exception(exc)

    def block(self, index: int) -> bytes:
        with self._lock:
            future = self._want(index)
            last = (self.size - 1) // BLOCK_BYTES
            for ahead in range(index + 1, min(last, index + AHEAD_BLOCKS) + 1):
                self._want(ahead)
            self._kept.move_to_end(index)
            while len(self._kept) > KEPT_BLOCKS:
                self._kept.popitem(last=False)
        return future.result()


# The files being read in this process, by URL; a file is dropped when its last reader is.
_open_files: weakref.WeakValueDictionary[str, _Blocks] = weakref.WeakValueDictionary()
_open_lock = threading.Lock()


class RemoteReader(io.RawIOBase):
    """A seekable, read-only file over a remote object: what PyAV is given to read."""

    def __init__(self, url: str) -> None:
        super().__init__()
        with _open_lock:
            blocks = _open_files.get(url)
            if blocks is None:
                blocks = _open_files[url] = _Blocks(url)
        self._blocks = blocks
        self.name = url
        self._pos = 0

    @property
    def size(self) -> int:
        return self._blocks.size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        count = 0
        while count < len(view) and self._pos < self.size:
            index, offset = divmod(self._pos, BLOCK_BYTES)
            data = self._blocks.block(index)[offset : offset + len(view) - count]
            if not data:
                break
            view[count : count + len(data)] = data
            count += len(data)
            self._pos += len(data)
        return count


def open_reader(url: str) -> RemoteReader:
    """A file-like reader over `url`; raises RtsegError when it cannot be read."""
    return RemoteReader(url)


# -- listing -------------------------------------------------------------------------------
def find(url: str) -> list[tuple[str, str]] | None:
    """(URL, path relative to the prefix) of every object under the folder or prefix `url`,
    the object itself when `url` names one, or the matches of a glob; None when nothing
    is there."""
    fs, path = _fs(url)
    with storage_errors(url):
        if set("*?[") & set(path):
            root = path[: min(path.find(c) for c in "*?[" if c in path)].rpartition("/")[0]
            hits = [p for p in fs.glob(path) if not fs.isdir(p)]
        elif fs.isdir(path):
            root = path.rstrip("/")
            hits = fs.find(path)
        elif fs.isfile(path):
            root, hits = path.rpartition("/")[0], [path]
        else:
            return None
    prefix = url[: len(url) - len(url.partition("://")[2])]
    return [
        (p if "://" in p else prefix + p.lstrip("/"), p[len(root) :].lstrip("/"))
        for p in sorted(hits)
    ]


# -- writing -------------------------------------------------------------------------------
def staging_path(url: str) -> Path:
    """Where an output for `url` is written on this node before its upload: a fixed place
    per URL (under the temporary directory), so a second run writing the same URL on the
    same node finds the first one's lock, and a stopped run's partial output is easy to find."""
    parts = urlsplit(url)
    key = parts.path.lstrip("/")
    return Path(tempfile.gettempdir()) / "rtseg-staging" / parts.scheme / parts.netloc / key


def where(path: Path) -> str:
    """A local path as a message names it on a cluster: `host:/path`."""
    return f"{socket.gethostname()}:{path}"


def check_writable(url: str, overwrite: bool) -> None:
    """Refuse, before any work, an output URL that exists (without `overwrite`) or that no
    backend can write."""
    if is_web(url):
        raise RtsegError(f"cannot write {url}: http(s) is read-only; write to s3://, gs://, az://")
    if not overwrite and exists(url):
        raise RtsegError(f"{url} already exists; pass {option('overwrite', True)} to replace it")


def upload(local: Path, url: str) -> None:
    """Put the complete file `local` under `url` in one step that either completes or leaves
    nothing under `url` (backends complete a multipart upload only at the end, and abort it
    on failure)."""
    fs, path = _fs(url)
    with storage_errors(url):
        fs.put_file(str(local), path)
    MOVED.written += local.stat().st_size


def remove(url: str, recursive: bool = False) -> None:
    """Delete `url` (and what is under it); already gone is fine."""
    fs, path = _fs(url)
    with contextlib.suppress(FileNotFoundError), storage_errors(url):
        fs.rm(path, recursive=recursive)


class UploadOnClose(SinkWrapper):
    """A sink writing to a local file (`sink`, at `local`) whose output is uploaded to `url`
    once complete; a stopped or failed run uploads nothing and keeps the partial file here.

    `partial_path` is that file, on the node that ran the job (the batch report's `worker`).
    """

    def __init__(self, sink: Sink, local: Path, url: str) -> None:
        super().__init__(sink)
        self.local = local
        self.url = url
        self.path = url

    def close(self) -> None:
        """Finish the local file, then upload it; the local copy goes once uploaded."""
        self.sink.close()
        if not self.local.exists():  # nothing is written for a run that got no frame
            return
        try:
            upload(self.local, self.url)
        except RtsegError as exc:
            raise RtsegError(f"{exc}; the complete output is kept at {where(self.local)}") from exc
        self.local.unlink()


def staged_output(url: str, overwrite: bool, open_local) -> UploadOnClose:
    """`open_local(path)`'s sink, writing at the staging path of `url`, uploaded on close."""
    check_writable(url, overwrite)
    local = staging_path(url)
    local.parent.mkdir(parents=True, exist_ok=True)
    local.unlink(missing_ok=True)  # left by an upload that failed; the object is what counts
    return UploadOnClose(open_local(local), local, url)


def temporary_dir() -> Path:
    """A fresh local folder for files on their way to or from storage."""
    return Path(tempfile.mkdtemp(prefix="rtseg-"))
