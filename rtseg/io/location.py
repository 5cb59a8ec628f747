"""Where an input, output, staging file or report is: a local path or a URL, parsed once.

A `Location` is made from what the user typed (`Location.of`) or from another Location
(`join`, `with_name`), never by pasting strings, so three rules hold everywhere:
- **Nothing climbs out.** A URL's key, and every name joined under a root (a key found in
  an input bucket, an output named after its input), is refused when one of its segments
  is `..`, also percent-encoded (`%2e%2e`, `%252e%252e`) or behind a backslash; a joined
  name may not be absolute either. A local path the user typed is theirs to name.
- **Staging stays inside.** `staging_path` is built segment by segment from a checked key,
  under the staging folder, and checked once more.
- **Secrets are never shown.** `str(location)` is the display form: no userinfo, no value
  of a secret query parameter (see `rtseg.redaction`). The full URL, for the backend that
  opens it, is `location.url` and goes nowhere else.

Storage URLs (s3://, gs://, az://, memory://) keep their key as it is, `#` and `?`
included, as their backends read it; http(s) URLs have a path and a query.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from rtseg.errors import RtsegError
from rtseg.redaction import HIDDEN, is_secret_param, redact_query, remember

# Schemes fsspec knows that are this machine's own files, not remote ones.
LOCAL_SCHEMES = {"file", "local"}
WEB_SCHEMES = {"http", "https"}
# The schemes the cloud extra's backends serve.
CLOUD_SCHEMES = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", *WEB_SCHEMES}
# How many times a segment is percent-decoded when looking for `..` (`%252e` is `%2e` twice).
DECODE_ROUNDS = 4


def scheme(spec: object) -> str | None:
    """The URL scheme of `spec` when fsspec can open it as remote storage, else None."""
    if isinstance(spec, Location):
        return spec.scheme or None
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


def climbs(segment: str) -> bool:
    """Whether a path segment is `..`, however it is spelled (percent-encoded, with `\\`)."""
    for _ in range(DECODE_ROUNDS):
        parts = segment.replace("\\", "/").split("/")
        if ".." in parts:
            return True
        decoded = unquote(segment)
        if decoded == segment:
            return False
        segment = decoded
    return True  # still encoded after that many rounds: nothing honest is


@dataclass(frozen=True)
class Location:
    """A local path (`scheme` empty, `key` the path) or a URL, checked when made.

    Make one with `Location.of`. `str()` is the display form; `url` the full form.
    """

    scheme: str
    host: str
    key: str
    query: str = field(default="", repr=False)
    userinfo: str = field(default="", repr=False)

    # -- making ------------------------------------------------------------------------
    @classmethod
    def of(cls, spec: str | Path | Location) -> Location:
        """The location `spec` names: a URL fsspec opens, or else a local path.

        Raises:
            RtsegError: a URL whose key climbs out of its bucket or host, credentials in a
                storage URL, a NUL character.
        """
        if isinstance(spec, Location):
            return spec
        text = os.fspath(spec) if isinstance(spec, Path) else str(spec)
        if "\0" in text:
            raise RtsegError(f"{text!r}: a path or URL cannot hold a NUL character")
        name = scheme(text) if isinstance(spec, str) else None
        if name is None:
            return cls("", "", str(Path(text)))
        if name in WEB_SCHEMES:
            parts = urlsplit(text)
            userinfo, _, host = parts.netloc.rpartition("@")
            made = cls(name, host, parts.path.lstrip("/"), parts.query, userinfo)
        else:
            rest = text.partition("://")[2]
            head = rest.partition("/")[0]
            userinfo = head.rpartition("@")[0]
            if not userinfo and ":" in head and "@" in rest:
                # KEY:SECRET@bucket with a `/` in the secret (AWS secret keys may hold one):
                # no bucket name has a `:`, so all up to the `@` is credentials
                userinfo = rest.partition("@")[0]
            host, _, key = rest[len(userinfo) + 1 if userinfo else 0 :].partition("/")
            made = cls(name, host, key, "", userinfo)
            if userinfo:
                raise RtsegError(
                    f"{made}: credentials do not go in a {name}:// URL; give them the way "
                    "its backend reads them (for s3://, AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY or ~/.aws)"
                )
        if not made.host:
            raise RtsegError(f"{made}: a {name}:// URL names its bucket or host after the //")
        if climbs(made.host) or any(climbs(s) for s in made.key.split("/")):
            raise RtsegError(
                f"{made}: a key or path with '..' in it could name a place outside the "
                "bucket or host; name the object without it"
            )
        return made

    def __post_init__(self) -> None:
        secrets = [self.userinfo, self.userinfo.partition(":")[2]] if self.userinfo else []
        for part in self.query.split("&") if self.query else ():
            name, _, value = part.partition("=")
            if is_secret_param(name) and value:
                secrets += [value, unquote(value)]
        remember(*secrets)

    def __reduce__(self):
        # Rebuilt from its URL where it is unpickled (a batch worker, a Ray node), so that
        # process learns its secrets too.
        return (Location.of, (self.url,)) if self.scheme else (Location.of, (Path(self.key),))

    # -- what it is --------------------------------------------------------------------
    @property
    def is_remote(self) -> bool:
        """Whether it is a URL (opened through fsspec) rather than a local path."""
        return bool(self.scheme)

    @property
    def is_web(self) -> bool:
        """Whether it is an http(s) URL: readable, never writable."""
        return self.scheme in WEB_SCHEMES

    @property
    def url(self) -> str:
        """The full URL, credentials included: for the backend that opens it, nothing else."""
        if not self.scheme:
            return self.key
        auth = f"{self.userinfo}@" if self.userinfo else ""
        query = f"?{self.query}" if self.query else ""
        return f"{self.scheme}://{auth}{self.host}/{self.key}{query}"

    @property
    def path(self) -> Path:
        """The local path; a URL has none (RtsegError)."""
        if self.scheme:
            raise RtsegError(f"{self} is a URL, not a local path")
        return Path(self.key)

    def __fspath__(self) -> str:
        if self.scheme:
            raise TypeError(f"{self} is a URL, not a local path")
        return self.key

    def __str__(self) -> str:
        """The display form: the only one any message, log or report uses."""
        if not self.scheme:
            return self.key
        auth = f"{HIDDEN}@" if self.userinfo else ""
        query = f"?{redact_query(self.query)}" if self.query else ""
        return f"{self.scheme}://{auth}{self.host}/{self.key}{query}"

    def __repr__(self) -> str:
        return f"Location({str(self)!r})"

    @property
    def name(self) -> str:
        """The last segment (`clip.mp4`); '' for a bucket or host."""
        return PurePosixPath(self.key).name if self.scheme else Path(self.key).name

    @property
    def suffix(self) -> str:
        """The file suffix (`.mp4`), '' for a folder or prefix."""
        return PurePosixPath(self.name).suffix

    # -- deriving ----------------------------------------------------------------------
    def join(self, relative: str) -> Location:
        """`relative` (POSIX segments) under this folder or prefix, which it cannot leave.

        Raises:
            RtsegError: `relative` is absolute, names nothing (`.`), or one of its
                segments is `..`.
        """
        if relative.startswith(("/", "\\")) or any(climbs(s) for s in relative.split("/")):
            raise RtsegError(
                f"{relative!r} climbs out of {self}: a name with '..' or a leading '/' "
                "is not written or read"
            )
        if "\0" in relative:
            raise RtsegError(f"{relative!r} under {self}: a name cannot hold a NUL character")
        parts = [p for p in relative.split("/") if p not in ("", ".")]
        if not parts:
            raise RtsegError(f"{relative!r} names nothing under {self}")
        if not self.scheme:
            return Location("", "", str(Path(self.key).joinpath(*parts)))
        key = "/".join([self.key.rstrip("/"), *parts]) if self.key.strip("/") else "/".join(parts)
        return Location(self.scheme, self.host, key, self.query, self.userinfo)

    def with_name(self, name: str) -> Location:
        """The location beside this one called `name` (a partial or segment name)."""
        if "/" in name or climbs(name) or not name:
            raise RtsegError(f"{name!r} is not a file name")
        if not self.scheme:
            return Location("", "", str(Path(self.key).with_name(name)))
        head = self.key.rstrip("/").rpartition("/")[0]
        key = f"{head}/{name}" if head else name
        return Location(self.scheme, self.host, key, self.query, self.userinfo)

    def staging_path(self, root: Path) -> Path:
        """Where this URL's output is written on this node under `root` before its upload:
        `root/scheme/host/key...`, built from checked segments and so always under `root`."""
        segments = [s for s in self.key.split("/") if s not in ("", ".")]
        path = root.joinpath(self.scheme, self.host.replace(":", "_"), *segments)
        if not path.resolve().is_relative_to(root.resolve()) or climbs(self.host):
            raise RtsegError(f"{self}: its staging path would leave {root}")
        return path
