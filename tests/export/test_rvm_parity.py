"""The RVM models `make rvm` built, against RVM's TF.js graph run by TF.js in node, over the
first frames of a shared clip, so the recurrent state is carried and compared.

Needs node with @tensorflow/tfjs (`npm install --prefix export`), ../shared (the TF.js graph
and the clip) and the built models in the user model directory; skips, saying which is
missing, otherwise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from export import rvm_parity
from rtseg.models import registry

ROOT = Path(__file__).resolve().parents[2]
RVM = ROOT.parent / "shared" / "models" / "rvm"
CLIP = ROOT.parent / "shared" / "data" / "videos" / "doctor_960x540.mp4"
FRAMES = 6
SIZE = (256, 144)


def needed(name: str) -> Path:
    try:
        rvm_parity.node_modules()
    except rvm_parity.ParityUnavailable as exc:
        pytest.skip(str(exc))
    for path in (RVM / "rvm.json", CLIP):
        if not path.is_file():
            pytest.skip(f"{path} is absent (../shared)")
    model = registry.user_dir() / f"{name}.onnx"
    if not model.is_file():
        pytest.skip(f"no {model} (make rvm builds it)")
    return model


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    if not CLIP.is_file():
        pytest.skip(f"{CLIP} is absent (../shared)")
    return rvm_parity.read_frames(CLIP, FRAMES, *SIZE)


@pytest.mark.parametrize(
    ("name", "ratio"),
    [("rvm_mobilenetv3", 0.5), ("rvm_mobilenetv3_r1", 1.0)],
)
def test_built_models_match_tfjs_over_a_sequence(
    frames: np.ndarray, name: str, ratio: float
) -> None:
    model = needed(name)
    ref_pha, ref_fgr = rvm_parity.run_tfjs(RVM, frames, ratio, rvm_parity.node_modules())
    pha, fgr = rvm_parity.run_onnx(model, frames, ratio)
    diffs = rvm_parity.compare(pha, fgr, ref_pha, ref_fgr)
    assert rvm_parity.within_tolerance(diffs), diffs
    assert max(d.fgr_max for d in diffs) < 0.01
    # The check can fail: the same model with its state dropped every frame is told apart.
    pha, fgr = rvm_parity.run_onnx(model, frames, ratio, carry_state=False)
    stateless = rvm_parity.compare(pha, fgr, ref_pha, ref_fgr)
    assert not rvm_parity.within_tolerance(stateless)
    assert stateless[0].alpha_max <= rvm_parity.MAX_ALPHA_TOLERANCE  # the first frame agrees
