"""The ONNX model contract: what every model the runtime loads must look like.

One contract means the runtime never special-cases a model. Exporters write it
(`export/`), the engine checks it on load and refuses a file that breaks it with a
message saying what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

CONTRACT_VERSION = "1"
INPUT_NAME = "image"
OUTPUT_NAME = "alpha"
LABELS_NAME = "labels"
CLASS_NAMES_KEY = "rtseg.class_names"  # optional: comma-separated legend for `labels`

META_PREFIX = "rtseg."
REQUIRED_META = (
    "contract",
    "name",
    "input_size",
    "resize",
    "source",
    "license",
    "precision",
    "trained",
)
# int8: quantised weights and activations (QuantizeLinear/DequantizeLinear); I/O as above.
PRECISIONS = ("fp32", "fp16", "int8")
# How a frame is brought to the model's input size:
# - "corners_linear": stretch the whole frame as MediaPipe does: output pixel (y, x) samples
#   the frame at (y*H/h, x*W/w), rounded to 1/32 pixel, bilinear, zero border.
# - "linear": stretch with cv2.resize INTER_LINEAR (half-pixel centres).
RESIZE_MODES = ("corners_linear", "linear")


@dataclass(frozen=True)
class ModelInfo:
    """Contract metadata of one model file."""

    name: str
    height: int
    width: int
    resize: str
    source: str
    license: str
    precision: str
    trained: bool
    has_labels: bool = False
    class_names: tuple[str, ...] = ()

    @property
    def input_size(self) -> str:
        return f"{self.height}x{self.width}"


def parse_size(text: str) -> tuple[int, int]:
    """Parse "HxW" into (height, width); raises ValueError on anything else."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"size must look like HxW (e.g. 256x256), got {text!r}")
    height, width = int(parts[0]), int(parts[1])
    if height <= 0 or width <= 0:
        raise ValueError(f"size must be positive, got {text!r}")
    return height, width


def metadata_dict(info: ModelInfo) -> dict[str, str]:
    """The `metadata_props` an exporter writes for `info`."""
    return {
        META_PREFIX + "contract": CONTRACT_VERSION,
        META_PREFIX + "name": info.name,
        META_PREFIX + "input_size": info.input_size,
        META_PREFIX + "resize": info.resize,
        META_PREFIX + "source": info.source,
        META_PREFIX + "license": info.license,
        META_PREFIX + "precision": info.precision,
        META_PREFIX + "trained": "true" if info.trained else "false",
    }


@dataclass(frozen=True)
class TensorSpec:
    """Name, element type (ONNX Runtime's spelling, e.g. "tensor(uint8)") and shape of one I/O."""

    name: str
    type: str
    shape: tuple[object, ...]


class ContractError(ValueError):
    """A model file that does not follow the contract; the message says what is wrong."""


def check(inputs: list[TensorSpec], outputs: list[TensorSpec], meta: dict[str, str]) -> ModelInfo:
    """Check a model's I/O and metadata against the contract and return its `ModelInfo`."""
    if len(inputs) != 1:
        names = ", ".join(i.name for i in inputs)
        raise ContractError(f"expected exactly one input named '{INPUT_NAME}', got [{names}]")
    image = inputs[0]
    if image.name != INPUT_NAME:
        raise ContractError(f"the input must be named '{INPUT_NAME}', got '{image.name}'")
    if image.type != "tensor(uint8)":
        raise ContractError(f"input '{INPUT_NAME}' must be uint8 RGB, got {image.type}")
    if len(image.shape) != 4 or image.shape[0] != 1 or image.shape[3] != 3:
        raise ContractError(f"input '{INPUT_NAME}' must be [1, H, W, 3], got {list(image.shape)}")
    if not all(isinstance(d, int) and d > 0 for d in image.shape[1:3]):
        raise ContractError(
            f"input '{INPUT_NAME}' needs a static height and width, got {list(image.shape)}"
        )
    out_names = [o.name for o in outputs]
    if not outputs or outputs[0].name != OUTPUT_NAME:
        raise ContractError(f"the first output must be named '{OUTPUT_NAME}', got {out_names}")
    extra = [o for o in outputs[1:] if o.name != LABELS_NAME]
    if extra or len(outputs) > 2:
        raise ContractError(
            f"outputs must be '{OUTPUT_NAME}' and optionally '{LABELS_NAME}', got {out_names}"
        )
    alpha = outputs[0]
    if alpha.type != "tensor(float)":
        raise ContractError(f"output '{OUTPUT_NAME}' must be float32, got {alpha.type}")
    expected = [1, 1, image.shape[1], image.shape[2]]
    if list(alpha.shape) != expected:
        raise ContractError(f"output '{OUTPUT_NAME}' must be {expected}, got {list(alpha.shape)}")
    has_labels = len(outputs) == 2
    if has_labels and outputs[1].type != "tensor(uint8)":
        raise ContractError(f"output '{LABELS_NAME}' must be uint8, got {outputs[1].type}")
    return _info_from_meta(meta, int(image.shape[1]), int(image.shape[2]), has_labels)


def _info_from_meta(meta: dict[str, str], height: int, width: int, has_labels: bool) -> ModelInfo:
    missing = [k for k in REQUIRED_META if META_PREFIX + k not in meta]
    if missing:
        keys = ", ".join(META_PREFIX + k for k in missing)
        raise ContractError(f"metadata_props lacks {keys}")

    def get(key: str) -> str:
        return meta[META_PREFIX + key]

    if get("contract") != CONTRACT_VERSION:
        raise ContractError(
            f"contract version {get('contract')!r} is not supported (want {CONTRACT_VERSION!r})"
        )
    try:
        size = parse_size(get("input_size"))
    except ValueError as exc:
        raise ContractError(f"{META_PREFIX}input_size: {exc}") from None
    if size != (height, width):
        raise ContractError(
            f"{META_PREFIX}input_size says {get('input_size')} but the input is {height}x{width}"
        )
    if get("resize") not in RESIZE_MODES:
        raise ContractError(f"{META_PREFIX}resize must be one of {RESIZE_MODES}")
    if get("precision") not in PRECISIONS:
        raise ContractError(f"{META_PREFIX}precision must be one of {PRECISIONS}")
    if get("trained") not in ("true", "false"):
        raise ContractError(f"{META_PREFIX}trained must be 'true' or 'false'")
    return ModelInfo(
        name=get("name"),
        height=height,
        width=width,
        resize=get("resize"),
        source=get("source"),
        license=get("license"),
        precision=get("precision"),
        trained=get("trained") == "true",
        has_labels=has_labels,
        class_names=tuple(meta.get(CLASS_NAMES_KEY, "").split(",")) if has_labels else (),
    )
