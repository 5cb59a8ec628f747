"""Export one family to a contract ONNX file: build, load weights, wrap, trace, check.

Static shapes, opset 18 (17 is bumped by the dynamo exporter, and converting back fails for
the MobileNet models), constant folding, and everything in one file (no external data).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import onnx

from export.families import VOC_CLASSES, Family, check_size, get_family
from export.fp16 import to_fp16
from export.parity import contract_info, open_session
from export.weights import Weights, load_into, resolve
from export.wrapper import ContractWrapper
from rtseg.errors import RtsegError
from rtseg.models.contract import (
    CLASS_NAMES_KEY,
    INPUT_NAME,
    LABELS_NAME,
    OUTPUT_NAME,
    ModelInfo,
    metadata_dict,
)

OPSET = 18
PRECISIONS = ("fp32", "fp16")


@dataclass(frozen=True)
class ExportResult:
    """What was written, how it reads back through the contract check, and how long it took."""

    path: Path
    info: ModelInfo
    seconds: float
    size_bytes: int


def build_wrapper(family: Family, weights: Weights, labels: bool = False) -> ContractWrapper:
    """The family's network with `weights` loaded, wrapped in the contract, in eval mode."""
    net = family.build(weights.state)
    load_into(net, weights)
    return ContractWrapper(net, family.head, labels=labels).eval()


def trace(wrapper: ContractWrapper, size: tuple[int, int]) -> onnx.ModelProto:
    """The fp32 ONNX graph of `wrapper` for a fixed [1, H, W, 3] uint8 input."""
    import torch

    dummy = torch.zeros((1, *size, 3), dtype=torch.uint8)
    outputs = [OUTPUT_NAME, LABELS_NAME] if wrapper.labels else [OUTPUT_NAME]
    with tempfile.TemporaryDirectory() as tmp, torch.inference_mode(False), torch.no_grad():
        path = Path(tmp) / "model.onnx"
        torch.onnx.export(
            wrapper,
            (dummy,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=outputs,
            opset_version=OPSET,
            dynamo=True,
            external_data=False,
            optimize=True,
            do_constant_folding=True,
            verbose=False,
        )
        return onnx.load(str(path))


def model_info(
    family: Family, weights: Weights, size: tuple[int, int], precision: str, labels: bool
) -> ModelInfo:
    """The contract metadata for one export."""
    return ModelInfo(
        name=family.name,
        height=size[0],
        width=size[1],
        resize="linear",
        source=f"{family.source} {weights.tag}",
        license="user-supplied weights" if weights.user_supplied else family.license,
        precision=precision,
        trained=weights.trained,
        has_labels=labels,
    )


def export(
    name: str,
    out: Path,
    weights: str = "none",
    precision: str = "fp32",
    size: tuple[int, int] | None = None,
    labels: bool = False,
) -> ExportResult:
    """Export family `name` to `out` and return what the runtime's contract check reads back."""
    family = get_family(name)
    size = size or family.default_size
    check_size(family, size)
    if precision not in PRECISIONS:
        raise RtsegError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if labels and not family.has_labels:
        raise RtsegError(f"{name} is a person-only model: it has no class labels to export")
    if not out.parent.is_dir():
        raise RtsegError(f"output folder does not exist: {out.parent}")
    start = time.perf_counter()
    loaded = resolve(family, weights)
    model = trace(build_wrapper(family, loaded, labels), size)
    if precision == "fp16":
        model = to_fp16(model)
    info = model_info(family, loaded, size, precision, labels)
    meta = metadata_dict(info)
    if labels:
        meta[CLASS_NAMES_KEY] = ",".join(VOC_CLASSES)
    onnx.helper.set_model_props(model, meta)
    try:
        onnx.save(model, str(out))
    except OSError as exc:
        raise RtsegError(f"cannot write {out}: {exc.strerror or exc}") from exc
    seconds = time.perf_counter() - start
    return ExportResult(out, contract_info(open_session(out)), seconds, out.stat().st_size)
