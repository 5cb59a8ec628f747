"""Finding models by name: the bundled ones, then the user's model directory."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from rtseg.errors import RtsegError, option
from rtseg.models.contract import ModelInfo

BUNDLED_DIR = Path(__file__).resolve().parent  # the bundled .onnx files live beside it
DEFAULT_MODEL = "selfie_general"
# How to get Robust Video Matting, which rtseg never ships (its weights are GPL-3.0).
RVM_HINT = (
    "Robust Video Matting (GPL-3.0) is installed on request: `rtseg models fetch rvm` "
    "downloads its ONNX release, or `make rvm` in a source checkout builds it "
    "(docs/matting.md)"
)


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
    if name_or_path.lower().startswith("rvm"):
        raise RtsegError(f"{name_or_path!r} is not installed; {RVM_HINT}; available: {names}")
    raise RtsegError(
        f"unknown model {name_or_path!r}; available: {names} "
        f"(put exported .onnx files in {user_dir()}, or pass a path)"
    )


def add(path: Path, name: str | None = None, overwrite: bool = False) -> tuple[Path, ModelInfo]:
    """Install a model file into the user model directory under `name` (default: its stem),
    once it is checked: an rtseg contract model, or Robust Video Matting's ONNX release as it
    is. Returns where it went and what it is.

    Raises:
        RtsegError: the file breaks the contract (the message says what was expected), the
            name is taken by a bundled model, or by a user model and `overwrite` is off.
    """
    from rtseg.models.engine import CPU, load_session  # ONNX Runtime loads only here

    path = Path(path).expanduser()
    _, info = load_session(path, [CPU], threads=1)
    name = name or path.stem
    if not name or os.sep in name or name.startswith("."):
        raise RtsegError(f"model name must be a plain file name, got {name!r}")
    if any(e.bundled and e.name == name for e in available()):
        raise RtsegError(f"{name} is a bundled model's name; choose another with --name")
    target = user_dir() / f"{name}.onnx"
    if target.exists() and not overwrite:
        raise RtsegError(f"{target} exists; pass {option('overwrite', True)} to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    shutil.copyfile(path, partial)
    os.replace(partial, target)  # a complete file or none under the model's name
    return target, info
