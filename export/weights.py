"""Load a family's weights: torchvision's published ones, a local checkpoint, or none.

Failures are expected here (no internet, a wrong file), so each one is an RtsegError that
names the file needed and where to put it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from export.families import Family
from rtseg.errors import RtsegError

WEIGHTS_DEFAULT = "default"
WEIGHTS_NONE = "none"
_CHECKPOINT_KEYS = ("model", "state_dict")
_DROPPED_PREFIXES = ("aux_classifier.",)  # training-only head; the export never uses it


@dataclass(frozen=True)
class Weights:
    """A state_dict to load (None: keep the random init) and how to describe it in metadata.

    `user_supplied` weights come from a local file whose licence the exporter cannot know.
    """

    state: dict[str, Any] | None
    tag: str
    trained: bool
    user_supplied: bool = False


def resolve(family: Family, choice: str) -> Weights:
    """Turn a `--weights` value (default, none, or a path) into loadable weights."""
    if choice == WEIGHTS_NONE:
        return Weights(state=None, tag="random init", trained=False)
    if choice == WEIGHTS_DEFAULT:
        return _published(family)
    path = Path(choice)
    return Weights(read_checkpoint(path), tag=path.name, trained=True, user_supplied=True)


def read_checkpoint(path: Path) -> dict[str, Any]:
    """A state_dict from a file holding one, or a checkpoint dict with a 'model'/'state_dict'."""
    import torch

    if not path.is_file():
        raise RtsegError(f"weights file not found: {path}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds here; all mean "not a checkpoint"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RtsegError(f"cannot read weights {path}: {first}") from exc
    if isinstance(obj, dict):
        for key in _CHECKPOINT_KEYS:
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(hasattr(v, "shape") for v in obj.values()):
        raise RtsegError(
            f"{path} holds no state_dict (expected tensors, or a dict with a 'model' or "
            "'state_dict' key)"
        )
    return obj


def _published(family: Family) -> Weights:
    if family.weights_enum is None:
        raise RtsegError(
            f"{family.name} has no published weights: train some (python -m export.{family.name}"
            " train --data DIR) and pass --weights CHECKPOINT, or --weights none"
        )
    from torch.hub import download_url_to_file, get_dir
    from torchvision.models import segmentation

    weights = getattr(segmentation, family.weights_enum).DEFAULT
    where = Path(get_dir()) / "checkpoints" / weights.url.rsplit("/", 1)[-1]
    if not where.is_file():
        try:
            where.parent.mkdir(parents=True, exist_ok=True)
            download_url_to_file(weights.url, str(where), progress=False)
        except (OSError, RuntimeError) as exc:  # URLError is an OSError
            raise RtsegError(
                f"cannot download {family.name} weights ({type(exc).__name__}): fetch "
                f"{weights.url} on a machine with internet and put it at {where}"
            ) from exc
    state = read_checkpoint(where)
    return Weights(state=state, tag=weights_name(weights), trained=True)


def weights_name(weights: Any) -> str:
    """'COCO_WITH_VOC_LABELS_V1' for a torchvision weights enum member."""
    return str(weights).rsplit(".", 1)[-1]


def load_into(model: Any, weights: Weights) -> None:
    """Load `weights` into `model`; a mismatch names a few offending keys."""
    if weights.state is None:
        return
    state = {k: v for k, v in weights.state.items() if not k.startswith(_DROPPED_PREFIXES)}
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shape mismatches
        detail = str(exc).strip().splitlines()[-1].strip()
        raise RtsegError(f"weights {weights.tag} do not fit this model: {detail}") from exc
    problems = [f"missing {k}" for k in result.missing_keys[:3]]
    problems += [f"unexpected {k}" for k in result.unexpected_keys[:3]]
    if problems:
        raise RtsegError(f"weights {weights.tag} do not fit this model: {', '.join(problems)}")
