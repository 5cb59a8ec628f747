"""Export parity: every family, exported with random (decisive) weights, matches PyTorch.

fp32 ONNX vs eager: max |alpha diff| <= 1e-4; fp16 vs fp32 ONNX: <= 2e-2 and IoU >= 0.99.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch (the export extra) is not installed")

from export.families import FAMILIES, get_family  # noqa: E402
from export.fp16 import convert_file  # noqa: E402
from export.onnx_export import build_wrapper, export  # noqa: E402
from export.parity import contract_info, iou, max_abs_diff, open_session, run  # noqa: E402
from export.weights import Weights  # noqa: E402
from rtseg.errors import RtsegError  # noqa: E402
from rtseg.models.contract import CLASS_NAMES_KEY  # noqa: E402
from tests.export.conftest import decisive_state, made_images, real_photos  # noqa: E402

SIZE = (64, 64)
# With random BatchNorm statistics, activations grow through ResNet-101's 23-block stage past
# the fp16 range (NaN alpha, measured); trained weights keep them bounded. For these families
# the fp16 parity needs trained weights, so only fp32 parity is checked here.
FP16_UNCHECKED = {"deeplabv3_resnet101", "fcn_resnet101"}


@dataclass
class Exported:
    fp32: Path
    fp16: Path
    eager: torch.nn.Module


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Export each family once (fp32 through the full path, fp16 converted from it)."""
    cache: dict[str, Exported] = {}

    def get(name: str) -> Exported:
        if name not in cache:
            family = get_family(name)
            folder = tmp_path_factory.mktemp(name)
            state = decisive_state(family, made_images(SIZE, seed=1))
            torch.save({"model": state}, folder / "weights.pt")
            fp32 = export(name, folder / "fp32.onnx", str(folder / "weights.pt"), size=SIZE).path
            convert_file(fp32, folder / "fp16.onnx")
            wrapper = build_wrapper(family, Weights(state, "test", trained=True))
            cache[name] = Exported(fp32, folder / "fp16.onnx", wrapper)
        return cache[name]

    return get


def _images(source: str) -> list[np.ndarray]:
    return made_images(SIZE, seed=2) if source == "made" else real_photos(SIZE)


@pytest.mark.parametrize("source", ["made", "photos"])
@pytest.mark.parametrize("name", list(FAMILIES))
def test_fp32_matches_eager_and_fp16_matches_fp32(exported, name, source):
    model = exported(name)
    fp32, fp16 = open_session(model.fp32), open_session(model.fp16)
    for image in _images(source):
        with torch.no_grad():
            eager = model.eager(torch.from_numpy(image)[None]).numpy()
        alpha32, alpha16 = run(fp32, image)[0], run(fp16, image)[0]
        assert 0.05 < (alpha32 > 0.5).mean() < 0.95, "the test weights must give a real mask"
        assert max_abs_diff(alpha32, eager) <= 1e-4
        if name in FP16_UNCHECKED:
            continue
        assert max_abs_diff(alpha16, alpha32) <= 2e-2
        assert iou(alpha16, alpha32) >= 0.99


@pytest.mark.parametrize("name", list(FAMILIES))
def test_exported_files_pass_the_contract(exported, name):
    model = exported(name)
    for path, precision in ((model.fp32, "fp32"), (model.fp16, "fp16")):
        info = contract_info(open_session(path))
        assert (info.name, info.input_size, info.precision) == (name, "64x64", precision)
        assert info.trained and info.resize == "linear" and not info.has_labels
        assert info.license == "user-supplied weights"
        assert not list(path.parent.glob("*.data")), "no external-data side files"


def test_random_weights_are_marked_untrained(tmp_path):
    result = export("unet", tmp_path / "u.onnx", "none", size=(32, 32))
    assert result.info.trained is False
    assert result.info.source == "rtseg portrait U-Net random init"
    assert result.info.license == "Apache-2.0"


def test_labels_output_is_the_eager_argmax(tmp_path):
    family = get_family("lraspp_mobilenet_v3_large")
    images = made_images(SIZE, seed=3)
    state = decisive_state(family, images)
    torch.save(state, tmp_path / "w.pt")
    out = tmp_path / "labels.onnx"
    result = export(family.name, out, str(tmp_path / "w.pt"), "fp16", SIZE, labels=True)
    assert result.info.has_labels and result.info.precision == "fp16"
    session = open_session(out)
    assert session.get_modelmeta().custom_metadata_map[CLASS_NAMES_KEY].split(",")[15] == "person"
    wrapper = build_wrapper(family, Weights(state, "test", trained=True), labels=True)
    for image in images:
        alpha, labels = run(session, image)
        with torch.no_grad():
            _, eager = wrapper(torch.from_numpy(image)[None])
        assert labels.dtype == np.uint8 and labels.shape == (1, *SIZE)
        assert (labels == eager.numpy()).mean() >= 0.98  # fp16 flips near-ties (measured 0.989)
        assert alpha.dtype == np.float32


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"name": "nope"}, "unknown model family"),
        ({"name": "selfie_general"}, "export.selfie"),
        ({"name": "unet", "labels": True}, "person-only"),
        ({"name": "unet", "size": (72, 64)}, "multiples of 16"),
        ({"name": "lraspp_mobilenet_v3_large", "size": (16, 16)}, "at least 32"),
        ({"name": "unet", "precision": "int8"}, "precision"),
        ({"name": "unet", "weights": "default"}, "no published weights"),
    ],
)
def test_bad_requests_are_refused_clearly(tmp_path, args, message):
    kwargs = {"weights": "none", "size": (32, 32), **args}
    name = kwargs.pop("name")
    with pytest.raises(RtsegError, match=message):
        export(name, tmp_path / "x.onnx", **kwargs)


def test_missing_output_folder_is_refused(tmp_path):
    with pytest.raises(RtsegError, match="output folder does not exist"):
        export("unet", tmp_path / "no" / "x.onnx", "none", size=(32, 32))
