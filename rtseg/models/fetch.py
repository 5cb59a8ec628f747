"""`rtseg models fetch rvm`: Robust Video Matting's own ONNX release files, on request.

RVM's weights are GPL-3.0 and rtseg is Apache-2.0, so rtseg never ships them: a user who
wants them downloads them with this command, which checks what arrived (the release's
signature, fp32 or fp16 as asked), installs the file into the user model directory beside a
NOTICE that gives its licence, source and sha256, and shows that notice.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from rtseg.errors import RtsegError, option
from rtseg.models import registry
from rtseg.models.contract import ModelInfo

RELEASE = "https://github.com/PeterL1n/RobustVideoMatting/releases/download/v1.0.0/"
RELEASE_FILES = {False: "rvm_mobilenetv3_fp32.onnx", True: "rvm_mobilenetv3_fp16.onnx"}
LICENSE = "GPL-3.0"
TIMEOUT_S = 60  # per socket operation, not for the whole file
CHUNK = 1 << 20

NOTICE = """\
{name}.onnx: Robust Video Matting (RVM), MobileNetV3 variant, {precision}, the RVM project's own
ONNX release file, downloaded by `rtseg models fetch rvm` from
  {url}
  sha256 {sha256}

Robust Video Matting by Shanchuan Lin, Linjie Yang, Imran Saleemi and Soumyadip Sengupta
("Robust High-Resolution Video Matting with Temporal Guidance", WACV 2022).
Source: https://github.com/PeterL1n/RobustVideoMatting

This file is licensed under the GNU General Public License v3.0 (GPL-3.0), not under rtseg's
Apache-2.0 licence: https://www.gnu.org/licenses/gpl-3.0.html
It is not part of rtseg and is not distributed with it. If you redistribute it, the GPL-3.0's
terms apply to it.
"""


@dataclass(frozen=True)
class Fetched:
    """What `fetch_rvm` installed."""

    path: Path
    info: ModelInfo
    url: str
    sha256: str
    notice: str


def release_url(fp16: bool = False) -> str:
    return RELEASE + RELEASE_FILES[fp16]


def download(url: str, into: Path) -> str:
    """Stream `url` into the file `into`; returns its sha256. Failures are one-line errors."""
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, into.open("wb") as out:
            expected = response.headers.get("Content-Length")
            size = 0
            for block in iter(lambda: response.read(CHUNK), b""):
                out.write(block)
                digest.update(block)
                size += len(block)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise RtsegError(
            f"could not download {url}: {reason}; offline, copy the file here by other means "
            "and install it with `rtseg models add FILE`"
        ) from exc
    if expected is not None and int(expected) != size:
        raise RtsegError(f"download of {url} stopped after {size} of {expected} bytes")
    return digest.hexdigest()


def check_release(path: Path, url: str, fp16: bool) -> ModelInfo:
    """The downloaded file's contract, refused unless it is RVM's release in the precision asked."""
    from rtseg.models.engine import CPU, load_session  # ONNX Runtime loads only here

    try:
        _, info = load_session(path, [CPU], threads=1)
    except RtsegError as exc:
        raise RtsegError(f"{url} is not a usable model: {exc}") from exc
    if not info.rvm:
        raise RtsegError(f"{url} is a model, but not Robust Video Matting's release signature")
    if info.half != fp16:
        want, got = ("fp16", "fp32") if fp16 else ("fp32", "fp16")
        raise RtsegError(f"{url} is the {got} release file; {want} was asked for")
    return info


def fetch_rvm(
    fp16: bool = False, url: str | None = None, name: str | None = None, overwrite: bool = False
) -> Fetched:
    """Download RVM's release file (or the file at `url`), check it, install it with a NOTICE.

    Nothing is installed unless the whole file arrived and passed the check; a partial
    download is removed.
    """
    url = url or release_url(fp16)
    name = name or Path(RELEASE_FILES[fp16]).stem
    target_dir = registry.user_dir()
    if (target_dir / f"{name}.onnx").exists() and not overwrite:
        raise RtsegError(
            f"{target_dir / name}.onnx exists; pass {option('overwrite', True)} to replace it"
        )
    target_dir.mkdir(parents=True, exist_ok=True)
    partial = target_dir / f".{name}.download.partial"
    try:
        sha256 = download(url, partial)
        check_release(partial, url, fp16)
        path, info = registry.add(partial, name=name, overwrite=overwrite)
    finally:
        partial.unlink(missing_ok=True)
    notice = NOTICE.format(name=name, precision="fp16" if fp16 else "fp32", url=url, sha256=sha256)
    path.with_suffix(".NOTICE").write_text(notice)
    return Fetched(path, info, url, sha256, notice)
