"""The ONNX model contract: what every model the runtime loads must look like.

One contract means the runtime never special-cases a model. Exporters write it
(`export/`), the engine checks it on load and refuses a file that breaks it with a
message saying what is wrong.

Two kinds of file pass:
- rtseg's own: input `image` uint8 [1,H,W,3] RGB, output `alpha` [1,1,H,W] (and optionally
  `labels`), `rtseg.*` metadata. Such a model may also declare recurrent state (`rtseg.state`:
  "in:out,in:out", each state output fed back into its input on the next frame, zeros
  [1,1,1,1] on the first) and foreground colours (`rtseg.foreground`: the name of an output
  [1,3,H,W] float32 RGB in 0..1).
- Robust Video Matting's ONNX release, taken as it is, recognised by its signature alone:
  `src` [1,3,H,W] float RGB in 0..1 of any size, states `r1i`..`r4i`, `downsample_ratio` [1]
  float32; outputs `fgr`, `pha`, `r1o`..`r4o`; fp32 or fp16 (src, states and outputs).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

CONTRACT_VERSION = "1"
INPUT_NAME = "image"
OUTPUT_NAME = "alpha"
LABELS_NAME = "labels"
CLASS_NAMES_KEY = "rtseg.class_names"  # optional: comma-separated legend for `labels`
STATE_KEY = "rtseg.state"  # optional: recurrent state pairs, "in:out,in:out"
FOREGROUND_KEY = "rtseg.foreground"  # optional: the output with foreground colours
RVM_RATIO_KEY = "rtseg.rvm.ratio"  # optional: the ratio an RVM variant was built for

RVM_STATES = (("r1i", "r1o"), ("r2i", "r2o"), ("r3i", "r3o"), ("r4i", "r4o"))
RVM_INPUTS = ("src", *(i for i, _ in RVM_STATES), "downsample_ratio")
RVM_OUTPUTS = ("fgr", "pha", *(o for _, o in RVM_STATES))
EXPECTED = (
    f"rtseg's contract (input '{INPUT_NAME}' uint8 [1,H,W,3], output '{OUTPUT_NAME}' "
    "float32 [1,1,H,W], rtseg.* metadata) or Robust Video Matting's ONNX release (inputs "
    f"{', '.join(RVM_INPUTS)}; outputs {', '.join(RVM_OUTPUTS)})"
)

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
    # Recurrent state: (input, output) pairs; the engine feeds each output back next frame.
    states: tuple[tuple[str, str], ...] = ()
    foreground: str | None = None  # the output with foreground colours [1,3,H,W], if any
    # RVM's layout: input `src` float [1,3,H,W] in 0..1 of any size (height and width are 0),
    # `downsample_ratio` beside it, alpha in `pha`.
    rvm: bool = False
    half: bool = False  # an RVM file in fp16: src, states and outputs are float16
    fixed_ratio: float | None = None  # the only ratio this RVM variant runs at

    @property
    def input_size(self) -> str:
        return "any" if self.dynamic else f"{self.height}x{self.width}"

    @property
    def dynamic(self) -> bool:
        """The model takes frames of any size (a matting network), not one fixed size."""
        return self.height == 0

    @property
    def stateful(self) -> bool:
        return bool(self.states)


def parse_size(text: str) -> tuple[int, int]:
    """Parse "HxW" into (height, width); raises ValueError on anything else."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdecimal() for p in parts):
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


def check(
    inputs: list[TensorSpec], outputs: list[TensorSpec], meta: dict[str, str], stem: str = "model"
) -> ModelInfo:
    """Check a model's I/O and metadata against the contract and return its `ModelInfo`;
    `stem` names a Robust Video Matting file without an `rtseg.name`."""
    if (
        sorted(i.name for i in inputs) == sorted(RVM_INPUTS)
        and META_PREFIX + "contract" not in meta
    ):
        return _check_rvm(inputs, outputs, meta, stem)
    states = _declared_states(meta)
    state_ins = {i for i, _ in states}
    image_inputs = [i for i in inputs if i.name not in state_ins]
    if len(image_inputs) != 1:
        names = ", ".join(i.name for i in inputs)
        raise ContractError(
            f"expected exactly one input named '{INPUT_NAME}', got [{names}]; expected {EXPECTED}"
        )
    missing_in = state_ins - {i.name for i in inputs}
    if missing_in:
        raise ContractError(f"{STATE_KEY} names inputs the model lacks: {sorted(missing_in)}")
    image = image_inputs[0]
    if image.name != INPUT_NAME:
        raise ContractError(
            f"the input must be named '{INPUT_NAME}', got '{image.name}'; expected {EXPECTED}"
        )
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
        raise ContractError(
            f"the first output must be named '{OUTPUT_NAME}', got {out_names}; expected {EXPECTED}"
        )
    foreground = meta.get(FOREGROUND_KEY) or None
    declared = {o for _, o in states} | ({foreground} if foreground else set())
    missing_out = declared - set(out_names)
    if missing_out:
        raise ContractError(f"the metadata names outputs the model lacks: {sorted(missing_out)}")
    outputs = [o for o in outputs if o.name not in declared]
    out_names = [o.name for o in outputs]
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
    info = _info_from_meta(meta, int(image.shape[1]), int(image.shape[2]), has_labels)
    return replace(info, states=states, foreground=foreground)


def _declared_states(meta: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The `rtseg.state` pairs, ("in", "out") each."""
    text = meta.get(STATE_KEY, "").strip()
    if not text:
        return ()
    pairs = [p.split(":") for p in text.split(",")]
    if not all(len(p) == 2 and all(n.strip() for n in p) for p in pairs):
        raise ContractError(f"{STATE_KEY} must look like 'in:out,in:out', got {text!r}")
    return tuple((i.strip(), o.strip()) for i, o in pairs)


def _check_rvm(
    inputs: list[TensorSpec], outputs: list[TensorSpec], meta: dict[str, str], stem: str
) -> ModelInfo:
    """A Robust Video Matting ONNX file with the release's signature, fp32 or fp16."""
    by_name = {t.name: t for t in inputs}
    out_names = sorted(o.name for o in outputs)
    if out_names != sorted(RVM_OUTPUTS):
        raise ContractError(
            f"has Robust Video Matting's inputs but outputs {out_names}; expected {EXPECTED}"
        )
    src = by_name["src"]
    if src.type not in ("tensor(float)", "tensor(float16)"):
        raise ContractError(f"input 'src' must be float32 or float16, got {src.type}")
    if len(src.shape) != 4 or src.shape[1] != 3:
        raise ContractError(f"input 'src' must be [1, 3, H, W], got {list(src.shape)}")
    ratio = by_name["downsample_ratio"]
    if ratio.type != "tensor(float)":
        raise ContractError(f"input 'downsample_ratio' must be float32, got {ratio.type}")
    half = src.type == "tensor(float16)"
    fixed = meta.get(RVM_RATIO_KEY)
    try:
        fixed_ratio = float(fixed) if fixed else None
    except ValueError as exc:
        raise ContractError(f"{RVM_RATIO_KEY} must be a number, got {fixed!r}") from exc
    return ModelInfo(
        name=meta.get(META_PREFIX + "name") or meta.get(META_PREFIX + "rvm.name") or stem,
        height=0,
        width=0,
        resize="linear",
        source=meta.get(META_PREFIX + "source") or "Robust Video Matting (Lin et al., WACV 2022)",
        license=meta.get(META_PREFIX + "license") or meta.get("license") or "GPL-3.0",
        precision="fp16" if half else "fp32",
        trained=True,
        states=RVM_STATES,
        foreground="fgr",
        rvm=True,
        half=half,
        fixed_ratio=fixed_ratio,
    )


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
        raise ContractError(f"{META_PREFIX}input_size: {exc}") from exc
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
