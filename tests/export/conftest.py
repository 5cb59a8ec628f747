"""Shared inputs for the exporter tests: images the tests make, real photos, decisive weights.

Fresh random weights give torchvision heads a near-constant alpha (about 1/21 everywhere;
DeepLabV3-MobileNet's output does not vary at all across a 64x64 image), which would make every
mask comparison pass trivially. `decisive_state` stays random but gives the BatchNorm layers
random statistics (as trained ones have) and rescales the final classifier so alpha spans
0..1 with about half the pixels "person": parity checks at 0.5 then really compare masks.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

PHOTOS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "portraits" / "p3m"


def made_images(size: tuple[int, int], count: int = 2, seed: int = 0) -> list[np.ndarray]:
    """Synthetic portraits: a textured background, a head-and-shoulders shape, noise."""
    rng = np.random.default_rng(seed)
    height, width = size
    images = []
    for _ in range(count):
        xx = np.mgrid[0:height, 0:width][1]
        bg = rng.integers(0, 256, 3)
        image = np.zeros((height, width, 3), np.float32)
        image[:] = bg * (0.5 + 0.5 * xx[..., None] / width)
        fg = rng.integers(0, 256, 3).tolist()
        cx = int(width * rng.uniform(0.35, 0.65))
        cv2.ellipse(image, (cx, height // 3), (width // 6, height // 5), 0, 0, 360, fg, -1)
        cv2.ellipse(image, (cx, height), (width // 3, height // 3), 0, 180, 360, fg, -1)
        image += rng.normal(0, 12, image.shape)
        images.append(np.clip(image, 0, 255).astype(np.uint8))
    return images


def real_photos(size: tuple[int, int], count: int = 2) -> list[np.ndarray]:
    """P3M portraits stretched to `size` like the runtime does; skips when the data is absent."""
    paths = sorted((PHOTOS / "original").glob("*.jpg"))[:count]
    if not paths:
        pytest.skip(f"real portraits not found under {PHOTOS} (shared test data absent)")
    photos = []
    for path in paths:
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        photos.append(cv2.resize(rgb, (size[1], size[0]), interpolation=cv2.INTER_AREA))
    return photos


def decisive_state(family, images: list[np.ndarray], seed: int = 0) -> dict:
    """A random-init state_dict of `family` whose person output actually varies (see above)."""
    import torch

    from export.families import HEAD_VOC21, PERSON_CLASS
    from export.wrapper import logits_of, normalize

    torch.manual_seed(seed)
    net = family.build(None).eval()
    for bn in (m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        bn.running_mean.normal_(0, 0.1)
        bn.running_var.uniform_(0.5, 1.5)
        bn.weight.data.uniform_(0.5, 1.5)
        bn.bias.data.normal_(0, 0.2)
    classes = 21 if family.head == HEAD_VOC21 else 1
    finals = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    finals = [m for m in finals if m.out_channels == classes]
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        logits = logits_of(net, normalize(x))
        per_class = logits.transpose(0, 1).reshape(classes, -1)
        person = PERSON_CLASS if classes > 1 else 0
        spread = float(per_class[person].std()) + 1e-12
        scale = 3.0 / spread
        centre = per_class.median(dim=1).values * scale
        for conv in finals:
            conv.weight.mul_(scale)
            conv.bias.mul_(scale)
        finals[-1].bias.sub_(centre)
        # The person logit alone now has median 0; lift it so it wins about half the pixels.
        scaled = per_class * scale - centre[:, None]
        if classes > 1:
            others = torch.cat([scaled[:person], scaled[person + 1 :]]).max(dim=0).values
            finals[-1].bias[person] -= float((scaled[person] - others).median())
    return net.state_dict()


@pytest.fixture(scope="session")
def small_size() -> tuple[int, int]:
    return (64, 64)
