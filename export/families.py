"""The model families the exporter knows, as one table (name, head, weights, licence, sizes).

One table keeps `--list`, argument checks and the export itself in agreement, the way
ultralytics' exporter keeps its formats in a single table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rtseg.errors import RtsegError

# The 21 Pascal VOC classes the torchvision COCO-VOC heads predict, in output order.
VOC_CLASSES = (
    "background",
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
)
PERSON_CLASS = VOC_CLASSES.index("person")

HEAD_VOC21 = "voc21"  # 21 class logits: softmax, keep "person"
HEAD_BINARY = "binary"  # one person logit: sigmoid


@dataclass(frozen=True)
class Family:
    """One exportable model family.

    `build` makes the bare network (random init, no download) shaped for the state_dict it
    will receive, if any; `weights_enum` names the torchvision weights behind
    `--weights default` (None when the family has none published).
    """

    name: str
    head: str
    build: Callable[[dict[str, Any] | None], Any]
    default_size: tuple[int, int]
    size_multiple: int
    source: str
    license: str
    weights_enum: str | None

    @property
    def has_labels(self) -> bool:
        return self.head == HEAD_VOC21


def _torchvision(builder: str) -> Callable[[dict[str, Any] | None], Any]:
    """A builder that never downloads: no weights, no ImageNet backbone, no aux head."""

    def build(state: dict[str, Any] | None) -> Any:
        from torchvision.models import segmentation

        fn = getattr(segmentation, builder)
        return fn(weights=None, weights_backbone=None, num_classes=len(VOC_CLASSES), aux_loss=False)

    return build


def _unet(state: dict[str, Any] | None) -> Any:
    from export.unet.model import DEFAULT_WIDTH, UNet, width_of

    return UNet(width_of(state) if state else DEFAULT_WIDTH)


_TV_LICENSE = "BSD-3-Clause"


def _tv_family(name: str, size: int, enum: str) -> Family:
    return Family(
        name=name,
        head=HEAD_VOC21,
        build=_torchvision(name),
        default_size=(size, size),
        size_multiple=1,
        source=f"torchvision {name}",
        license=_TV_LICENSE,
        weights_enum=enum,
    )


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        _tv_family("deeplabv3_mobilenet_v3_large", 256, "DeepLabV3_MobileNet_V3_Large_Weights"),
        _tv_family("deeplabv3_resnet50", 512, "DeepLabV3_ResNet50_Weights"),
        _tv_family("deeplabv3_resnet101", 512, "DeepLabV3_ResNet101_Weights"),
        _tv_family("fcn_resnet50", 512, "FCN_ResNet50_Weights"),
        _tv_family("fcn_resnet101", 512, "FCN_ResNet101_Weights"),
        _tv_family("lraspp_mobilenet_v3_large", 256, "LRASPP_MobileNet_V3_Large_Weights"),
        Family(
            name="unet",
            head=HEAD_BINARY,
            build=_unet,
            default_size=(256, 256),
            size_multiple=16,
            source="rtseg portrait U-Net",
            license="Apache-2.0",
            weights_enum=None,
        ),
    )
}

# Models converted from other formats rather than exported from PyTorch; `--list` names them.
BUNDLED = {
    "selfie_general": "bundled MediaPipe selfie segmenter, see export.selfie",
    "selfie_landscape": "bundled MediaPipe selfie segmenter, see export.selfie",
}


def get_family(name: str) -> Family:
    """The family called `name`, or an RtsegError listing the known ones."""
    try:
        return FAMILIES[name]
    except KeyError:
        if name in BUNDLED:
            raise RtsegError(f"{name} is not exported from PyTorch: {BUNDLED[name]}") from None
        known = ", ".join(FAMILIES)
        raise RtsegError(f"unknown model family {name!r}; choose one of: {known}") from None


def check_size(family: Family, size: tuple[int, int]) -> None:
    """Refuse input sizes the family's network cannot take."""
    height, width = size
    m = family.size_multiple
    if height < 32 or width < 32 or height % m or width % m:
        need = f"multiples of {m}, " if m > 1 else ""
        raise RtsegError(
            f"{family.name} needs height and width {need}at least 32, got {height}x{width}"
        )
