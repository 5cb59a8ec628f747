"""Finding models by name: the bundled ones, then the user's model directory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rtseg.errors import RtsegError

BUNDLED_DIR = Path(__file__).resolve().parent  # the bundled .onnx files live beside it
DEFAULT_MODEL = "selfie_general"


def user_dir() -> Path:
    """Where users keep exported models: `$RTSEG_MODELS`, else `~/.cache/rtseg/models`."""
    env = os.environ.get("RTSEG_MODELS")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "rtseg" / "models"


@dataclass(frozen=True)
class ModelEntry:
    name: str
    path: Path
    bundled: bool


def available() -> list[ModelEntry]:
    """Every model file rtseg can find by name; a user model shadows nothing bundled."""
    entries = [ModelEntry(p.stem, p, True) for p in sorted(BUNDLED_DIR.glob("*.onnx"))]
    taken = {e.name for e in entries}
    udir = user_dir()
    if udir.is_dir():
        entries += [
            ModelEntry(p.stem, p, False) for p in sorted(udir.glob("*.onnx")) if p.stem not in taken
        ]
    return entries


def resolve(name_or_path: str) -> Path:
    """A model file from a path, or a name found by `available()`."""
    path = Path(name_or_path).expanduser()
    if path.suffix == ".onnx" or os.sep in name_or_path:
        if not path.is_file():
            raise RtsegError(f"model file not found: {name_or_path}")
        return path
    for entry in available():
        if entry.name == name_or_path:
            return entry.path
    names = ", ".join(e.name for e in available()) or "none"
    raise RtsegError(
        f"unknown model {name_or_path!r}; available: {names} "
        f"(put exported .onnx files in {user_dir()}, or pass a path)"
    )
