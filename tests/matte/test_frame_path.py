"""The webcam features on the frame path, with every kind of model and in both modes: the
crop reaches the frame, its alpha, labels and foreground alike, and the costs reach the
stats."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import rtseg
from tests.onnx_models import rvm_signature_model


def off_centre(count: int = 12, width: int = 320, height: int = 180):
    """Frames of a bright person-sized block at 0.75 of the width, on a dark ground."""
    for i in range(count):
        image = np.full((height, width, 3), 20, np.uint8)
        x = int(0.75 * width) + i % 2  # a pixel of wavering
        image[height // 3 :, x - 30 : x + 30] = 230
        yield image, i / 30


@pytest.mark.parametrize(
    ("model", "effect"),
    [("selfie_general", "blur"), ("deeplabv3_mnv2_dm05_voc", "classes"), ("rvm", "foreground")],
)
def test_auto_frame_and_people_main_with_every_kind_of_model(model, effect, tmp_path: Path):
    if model == "rvm":
        model = str(rvm_signature_model(tmp_path / "rvm.onnx"))
    seen = []
    stats = rtseg.process_video(
        off_centre(),
        effect=effect,
        model=model,
        people="main",
        auto_frame=True,
        grow=2,
        on_frame=seen.append,
        device="cpu",
    )
    assert stats.frames_out == 12
    for frame in seen:
        height, width = frame.image.shape[:2]
        assert (height, width) == (180, 320)  # the crop at the frame's size
        assert frame.alpha.shape == (height, width) and frame.output.shape[:2] == (height, width)
        if frame.labels is not None:
            assert frame.labels.shape == (height, width)
        if frame.fgr is not None:
            assert frame.fgr.shape == frame.image.shape
        assert frame.mask.crop is not None
    assert set(stats.steps) >= {"people", "auto-frame", "grow/feather"}


def test_a_live_run_is_framed_too(bright_model: Path):
    """Newest-mask mode (a live source): the crop follows each frame, not each mask."""
    seen = []
    rtseg.process_video(
        off_centre(30), model=bright_model, realtime=True, auto_frame=True, on_frame=seen.append
    )
    crops = [f.mask.crop for f in seen]
    assert all(c is not None for c in crops)
    x0, _, x1, _ = crops[-1]
    assert x0 > 0.1 and x1 == pytest.approx(1.0)  # zoomed in on the right-hand side


def test_the_segmenter_frames_and_keeps_the_main_person(bright_model: Path):
    with rtseg.Segmenter(bright_model, mode="video", people="main", auto_frame=True) as segmenter:
        for image, time_s in off_centre(4):
            result = segmenter.segment(image, time_s=time_s)
    assert result.image is not None and result.image.shape == image.shape
    _, xs = np.nonzero(result.alpha >= 0.5)
    assert len(xs) and abs((xs.min() + xs.max()) / 2 / image.shape[1] - 0.5) < 0.1
    with pytest.raises(rtseg.RtsegError, match="unknown people"):
        rtseg.Segmenter(people="everyone")
