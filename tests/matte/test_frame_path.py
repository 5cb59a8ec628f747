"""`FramePath`: one frame of one stream in three phases, built alike for jobs and segmenters;
the webcam features on it, with every kind of model and in both modes: the crop reaches the
frame, its alpha, labels and foreground alike, and the costs reach the stats."""

from pathlib import Path

import numpy as np
import pytest

import rtseg
from rtseg.matte.frame_path import build_frame_path
from rtseg.matte.quality import LEVELS
from rtseg.matte.stream import GAP_S
from rtseg.models.engine import Engine
from tests.onnx_models import PERSON, brightness_model, rvm_signature_model


@pytest.fixture(scope="module")
def labelled(tmp_path_factory) -> Engine:
    folder = Path(tmp_path_factory.mktemp("models"))
    return Engine(brightness_model(folder / "voc.onnx", 16, 16, labels=True), "cpu", 1)


def grey(level: int, size: tuple[int, int] = (48, 64)) -> np.ndarray:
    return np.full((*size, 3), level, np.uint8)


def test_the_source_kind_picks_the_level_and_the_mask_mode() -> None:
    cases = {(False, False): "balanced", (True, False): "fast", (False, True): "best"}
    for (live, stills), name in cases.items():
        path = build_frame_path(live=live, stills=stills)
        assert path.level == LEVELS[name] and path.masks.sync is not live
        path.close()
    forced = build_frame_path(quality="fast", refine=False, smooth=0, sync=True, live=True)
    assert forced.refiner is None and forced.masks.sync
    assert forced.new_stream().smoother.still_weight == 1.0  # strength 0: alpha passes through


def test_the_three_phases_give_typed_results_at_their_own_sizes(labelled: Engine) -> None:
    path = build_frame_path(quality="fast", refine=False)
    image = grey(40)
    image[:, 32:] = 255
    model_input = path.model_input(image, labelled.info)
    assert model_input.tensor.shape == (1, 16, 16, 3) and model_input.model is labelled.info
    state = path.new_stream()
    mask = path.mask(labelled, model_input, image, 0, state, time_s=0.0)
    assert mask.alpha.shape == mask.labels.shape == (16, 16) and mask.seq == 0
    transparent_top = np.ones((48, 64), np.float32)
    transparent_top[:24] = 0.0
    matte = path.matte(image, mask, transparent_top)
    assert matte.alpha.shape == matte.labels.shape == (48, 64) and matte.fgr is None
    assert matte.alpha[:24].max() == 0.0 and matte.alpha[30:, 40:].min() > 0.99
    assert (matte.labels[:, 40:] == PERSON).all() and (matte.labels[:, :24] == 0).all()


def test_an_input_made_for_another_model_is_refused(labelled: Engine, tmp_path: Path) -> None:
    other = Engine(brightness_model(tmp_path / "other.onnx", 16, 16), "cpu", 1)
    path = build_frame_path(quality="fast")
    with pytest.raises(ValueError, match="another model"):
        path.mask(labelled, path.model_input(grey(0), other.info), grey(0), 0, path.new_stream())


def test_a_still_or_a_time_gap_starts_the_stream_afresh(labelled: Engine) -> None:
    """`--mask-every 3` reuses a mask within a stream only: not for the next photo, and not
    across a pause in the frames' times; smoothing does not reach across either."""
    path = build_frame_path(quality="fast", refine=False, mask_every=3)
    state = path.new_stream()

    def mask(level: int, seq: int, time_s: float | None = None, still: bool = False):
        image = grey(level)
        made = path.model_input(image, labelled.info)
        return path.mask(labelled, made, image, seq, state, time_s, still)

    assert mask(200, 0, still=True).seq == 0
    assert mask(10, 1, still=True).seq == 1  # a photo of its own: its own mask
    assert mask(10, 2, time_s=0.0).seq == 2  # a video begins
    assert mask(200, 3, time_s=0.04).seq == 2  # reused within the stream
    after = mask(200, 4, time_s=0.04 + GAP_S + 0.01)
    assert after.seq == 4 and after.alpha.mean() == pytest.approx(200 / 255, abs=1e-6)


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
