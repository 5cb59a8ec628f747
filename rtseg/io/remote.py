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

- **Checked before any work.** An output URL must not exist (without `overwrite`), and a
  small object is written beside it and removed, so a missing bucket or read-only
  credentials fail in one line at once (`check_writable`).
- **Bounded waits.** A store that stops answering is given up on after `stall_s()` seconds,
  with `STORE_TRIES` tries per request; a refusal (401, 403) is "access denied".

Every URL is a `Location` (`rtseg.io.location`): its key checked, its staging path inside
the staging folder, shown only in its display form. Credentials and endpoints come the way
each backend reads them (s3fs: the AWS variables and files, `AWS_ENDPOINT_URL` included;
gcsfs: Google's application default credentials; adlfs: `AZURE_STORAGE_*`); rtseg asks for
none and never shows them. The backends come with the `cloud` extra.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import socket
import tempfile
import threading
import uuid
import weakref
from collections import OrderedDict
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from rtseg.errors import OutputBusy, OutputExists, RtsegError, option
from rtseg.io.location import Location, scheme
from rtseg.pipeline.ports import Sink, SinkWrapper

log = logging.getLogger(__name__)

# Bytes fetched per range request, how many blocks are fetched ahead of the one being read,
# and how many recent blocks a file keeps. Fetching ahead keeps the link busy through each
# round trip; the blocks kept let the video decoder and the audio muxer, a little apart in
# the file, share what was fetched (measured in docs/cloud.md).
BLOCK_BYTES = 1024 * 1024
AHEAD_BLOCKS = 2
KEPT_BLOCKS = 8
# The storage clients' loggers, kept to warnings: at INFO botocore names where it found keys.
BACKEND_LOGGERS = ("botocore", "aiobotocore", "s3fs", "gcsfs", "adlfs", "azure", "google", "fsspec")
# Seconds a store may leave a request without an answer (connecting, or between bytes)
# before it counts as gone; a request is tried `STORE_TRIES` times in all. Set
# RTSEG_STORE_STALL_S to change it (a very slow link).
STALL_S = 10.0


def stall_s() -> float:
    """Seconds without an answer after which a store counts as gone: RTSEG_STORE_STALL_S,
    or `STALL_S`."""
    text = os.environ.get("RTSEG_STORE_STALL_S", "")
    if not text:
        return STALL_S
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise RtsegError(f"RTSEG_STORE_STALL_S must be a number of seconds above 0, got {text!r}")
    return value


STORE_TRIES = 2
# HTTP statuses that mean the credentials were refused.
DENIED_STATUSES = {401, 403}


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


def is_remote(spec: object) -> bool:
    """Whether `spec` is a URL fsspec opens (a local path, even `take:2.mp4`, is not)."""
    return scheme(spec) is not None


def is_web(spec: object) -> bool:
    """Whether `spec` is an http(s) URL: a file for batches, possibly a live stream for run."""
    return scheme(spec) in {"http", "https"}


def _options(name: str) -> dict[str, Any]:
    """What each backend is told so that a store that stops answering is given up on after
    `stall_s()`, not after the minutes its own retries add up to."""
    if name in {"s3", "s3a"}:
        # botocore's standard retries (throttling, a dropped connection) and no more: s3fs
        # retries around each call and again around each read, which multiplied a stall
        retries = {"max_attempts": STORE_TRIES, "mode": "standard"}
        wait = stall_s()
        timeouts = {"connect_timeout": wait, "read_timeout": wait, "retries": retries}
        return {"config_kwargs": timeouts}
    if name in {"http", "https"}:
        import aiohttp

        timeout = aiohttp.ClientTimeout(sock_connect=stall_s(), sock_read=stall_s())
        return {"client_kwargs": {"timeout": timeout}}
    return {}


def _quiet_loop() -> None:
    """Backend tasks that fail after rtseg already has their error (a store that died
    mid-upload) go to the debug log, not to stderr as "Task exception was never retrieved"."""
    from fsspec.asyn import get_loop

    get_loop().set_exception_handler(
        lambda loop, context: log.debug("storage: %s", context.get("message"))
    )


def _fs(where: Location) -> tuple[Any, str]:
    """The fsspec filesystem for `where` and the path within it, or one line naming the extra."""
    try:
        from fsspec.core import url_to_fs

        _quiet_loop()
        fs, path = url_to_fs(where.url, **_options(where.scheme))
    except ImportError as exc:
        missing = (exc.name or "its backend").split(".")[0]
        raise RtsegError(
            f"{where}: {where.scheme}:// needs {missing}: pip install 'rtseg[cloud]'"
        ) from exc
    if hasattr(fs, "retries"):  # s3fs's own retries, around botocore's: one try each
        fs.retries = 1
    return fs, path


def _status(exc: BaseException) -> int | None:
    """The HTTP status behind a backend's error, where it kept one."""
    while exc is not None:
        status = getattr(exc, "status", None) or getattr(exc, "status_code", None)
        if isinstance(status, int):
            return status
        exc = exc.__cause__ or exc.__context__
    return None


def _failure(where: Location, exc: BaseException) -> RtsegError:
    """One line for a storage error: what the backend said, never the credentials."""
    if isinstance(exc, PermissionError) or _status(exc) in DENIED_STATUSES:
        return RtsegError(f"access denied to {where}: check the credentials this node uses")
    if isinstance(exc, FileNotFoundError):
        return RtsegError(f"not found: {where}")
    if isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__:
        return RtsegError(
            f"{where}: the store did not answer for {stall_s():g} s (down, or unreachable); "
            "try again once it is back"
        )
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return RtsegError(f"{where}: {text}")


@contextlib.contextmanager
def storage_errors(where: Location):
    """Turn whatever a backend raises (botocore, aiohttp, azure, google errors) into one line."""
    try:
        yield
    except RtsegError:
        raise
    except Exception as exc:
        raise _failure(where, exc) from exc


def exists(spec: Location) -> bool:
    """Whether a file, folder or object exists at `spec`."""
    if not spec.is_remote:
        return spec.path.exists()
    fs, path = _fs(spec)
    with storage_errors(spec):
        fs.invalidate_cache()
        if not spec.is_web:
            return bool(fs.exists(path))
        try:  # fsspec's http exists() takes a refusal (401, 403) for absence
            fs.info(path)
        except FileNotFoundError as exc:
            if _status(exc) in DENIED_STATUSES:
                raise
            return False
        return True


def version(where: Location) -> tuple:
    """What tells one version of an object from another: its URL, size and ETag (or time)."""
    return _version(where, _info(where))


def _info(where: Location) -> dict:
    """What the store says of the object now (not what a listing cached)."""
    fs, path = _fs(where)
    with storage_errors(where):
        fs.invalidate_cache(path)
        return fs.info(path)


def _version(where: Location, info: dict) -> tuple:
    keys = ("ETag", "etag", "LastModified", "mtime", "created")
    stamp = next((info[k] for k in keys if info.get(k)), None)
    return where, info.get("size"), str(stamp)


# -- reading -------------------------------------------------------------------------------
class _Blocks:
    """One remote file's bytes, fetched a block at a time and shared by its readers.

    Reading block i starts fetching the `AHEAD_BLOCKS` after it on threads of its own, so
    the network works while the decoder does: a file streamed in order waits for the link
    only when the link is slower than the decoding."""

    def __init__(self, where: Location, info: dict) -> None:
        self.where = where
        self.fs, self.path = _fs(where)
        if info.get("type") == "directory":
            raise RtsegError(f"{where} is a folder, not a file")
        self.size = int(info.get("size") or 0)
        self._kept: OrderedDict[int, Future[bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self.failure: BaseException | None = None  # the first fetch that failed

    def _fetch(self, index: int) -> bytes:
        start = index * BLOCK_BYTES
        end = min(self.size, start + BLOCK_BYTES)
        with storage_errors(self.where):
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
            self.failure = exc
            future.set_exception(exc)

    def block(self, index: int) -> bytes:
        """Block `index`'s bytes. Once a fetch has failed (the store went away or stalled),
        every later block fails at once with that error, rather than each waiting out its
        own stall: the audio still to mux when a run stops reads on from the same object."""
        with self._lock:
            if self.failure is not None:
                raise self.failure
            future = self._want(index)
            last = (self.size - 1) // BLOCK_BYTES
            for ahead in range(index + 1, min(last, index + AHEAD_BLOCKS) + 1):
                self._want(ahead)
            self._kept.move_to_end(index)
            while len(self._kept) > KEPT_BLOCKS:
                self._kept.popitem(last=False)
        return future.result()


# The files being read in this process, by version (an object replaced since is another);
# a file is dropped when its last reader is.
_open_files: weakref.WeakValueDictionary[tuple, _Blocks] = weakref.WeakValueDictionary()
_open_lock = threading.Lock()


class RemoteReader(io.RawIOBase):
    """A seekable, read-only file over a remote object: what PyAV is given to read."""

    def __init__(self, where: Location) -> None:
        super().__init__()
        info = _info(where)
        key = _version(where, info)
        with _open_lock:
            blocks = _open_files.get(key)
            if blocks is None or blocks.failure is not None:  # a new reader tries afresh
                blocks = _open_files[key] = _Blocks(where, info)
        self._blocks = blocks
        self.name = str(where)
        self._pos = 0
        self._failed = False

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
        """Read from the current position; a failed fetch raises once, and later reads
        return nothing: PyAV keeps one error per call and prints any it drops."""
        view = memoryview(buffer).cast("B")
        count = 0
        while count < len(view) and self._pos < self.size and not self._failed:
            index, offset = divmod(self._pos, BLOCK_BYTES)
            try:
                block = self._blocks.block(index)
            except RtsegError:
                self._failed = True
                raise
            data = block[offset : offset + len(view) - count]
            if not data:
                break
            view[count : count + len(data)] = data
            count += len(data)
            self._pos += len(data)
        return count


def open_reader(where: Location) -> RemoteReader:
    """A file-like reader over `where`; raises RtsegError when it cannot be read."""
    return RemoteReader(where)


# -- listing -------------------------------------------------------------------------------
def find(where: Location) -> list[tuple[str, str]] | None:
    """(URL, path relative to the prefix) of every object under the folder or prefix
    `where`, the object itself when it names one, or the matches of a glob; None when
    nothing is there. The URLs are as the store lists them: unchecked, for `Location.of`."""
    fs, path = _fs(where)
    with storage_errors(where):
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
    prefix = f"{where.scheme}://"
    return [
        (p if "://" in p else prefix + p.lstrip("/"), p[len(root) :].lstrip("/"))
        for p in sorted(hits)
    ]


# -- writing -------------------------------------------------------------------------------
def staging_path(where: Location) -> Path:
    """Where an output for `where` is written on this node before its upload: a fixed place
    per URL (under the temporary directory), so a second run writing the same URL on the
    same node finds the first one's lock, and a stopped run's partial output is easy to find.
    Always inside that folder (`Location.staging_path`)."""
    return where.staging_path(Path(tempfile.gettempdir()) / "rtseg-staging")


def where(path: Path) -> str:
    """A local path as a message names it on a cluster: `host:/path`."""
    return f"{socket.gethostname()}:{path}"


def check_writable(target: Location, overwrite: bool) -> None:
    """Refuse, before any work, an output URL that exists (without `overwrite`), or whose
    bucket or prefix is missing or cannot be written: a small object is written beside it
    and removed again, so a wrong bucket or read-only credentials fail now, not after the
    work is done."""
    if target.is_web:
        raise RtsegError(
            f"cannot write {target}: http(s) is read-only; write to s3://, gs://, az://"
        )
    if not overwrite and exists(target):
        raise OutputExists(
            f"{target} already exists; pass {option('overwrite', True)} to replace it"
        )
    probe = target.with_name(f".rtseg-check-{uuid.uuid4().hex}")
    fs, path = _fs(probe)
    try:
        fs.pipe_file(path, b"")
    except FileNotFoundError as exc:
        raise RtsegError(f"cannot write {target}: its bucket does not exist") from exc
    except Exception as exc:
        raise _failure(target, exc) from exc
    remove(probe)


def upload(local: Path, target: Location) -> None:
    """Put the complete file `local` under `target` in one step that either completes or
    leaves nothing there (backends complete a multipart upload only at the end, and abort
    it on failure)."""
    fs, path = _fs(target)
    with storage_errors(target):
        fs.put_file(str(local), path)
    MOVED.written += local.stat().st_size


def remove(target: Location, recursive: bool = False) -> None:
    """Delete `target` (and what is under it); already gone is fine."""
    fs, path = _fs(target)
    with contextlib.suppress(FileNotFoundError), storage_errors(target):
        fs.rm(path, recursive=recursive)


class UploadOnClose(SinkWrapper):
    """A sink writing to a local file (`sink`, at `local`) whose output is uploaded to
    `target` once complete; a stopped or failed run uploads nothing and keeps the partial
    file here.

    `partial_path` is that file, on the node that ran the job (the batch report's `worker`).
    """

    def __init__(self, sink: Sink, local: Path, target: Location) -> None:
        super().__init__(sink)
        self.local = local
        self.path = target

    def close(self) -> None:
        """Finish the local file, then upload it; the local copy goes once uploaded."""
        self.sink.close()
        if not self.local.exists():  # nothing is written for a run that got no frame
            return
        try:
            upload(self.local, self.path)
        except RtsegError as exc:
            raise RtsegError(f"{exc}; the complete output is kept at {where(self.local)}") from exc
        self.local.unlink()


def staged_output(target: Location, overwrite: bool, open_local) -> UploadOnClose:
    """`open_local(path)`'s sink, writing at the staging path of `target`, uploaded on close.

    `open_local` locks that path before anything there is replaced (a complete file left
    by an upload that failed: the object is what counts)."""
    check_writable(target, overwrite)
    local = staging_path(target)
    local.parent.mkdir(parents=True, exist_ok=True)
    try:
        sink = open_local(local)
    except OutputBusy:
        raise OutputBusy(
            f"{target} is being written by another rtseg run on this node; wait for it to "
            "finish or choose another output"
        ) from None
    return UploadOnClose(sink, local, target)


def temporary_dir() -> Path:
    """A fresh local folder for files on their way to or from storage."""
    return Path(tempfile.mkdtemp(prefix="rtseg-"))
