import threading
import time

import cv2
import numpy as np
import pytest

from rtseg.matte.masks import MaskSource
from rtseg.matte.passes import Passes
from rtseg.matte.roi import RoiSettings
from rtseg.matte.stream import StreamState
from rtseg.matte.temporal import TemporalSmoother
from rtseg.models.engine import Engine


class SlowEngine:
    """A real engine whose runs take at least `delay` seconds, like a slow model."""

    def __init__(self, engine: Engine, delay: float) -> None:
        self.engine, self.delay = engine, delay
        self.info = engine.info

    def run(self, tensor: np.ndarray, state=None):
        time.sleep(self.delay)
        return self.engine.run(tensor, state)


def tensor_for(seq: int) -> np.ndarray:
    """A model input whose brightness encodes its frame number."""
    return np.full((1, 32, 32, 3), seq, np.uint8)


def test_sync_pairs_each_frame_with_its_own_mask(bright_model):
    engine = Engine(bright_model, device="cpu")
    masks, state = MaskSource(sync=True), StreamState()
    for seq in range(20):
        mask = masks.mask_for(engine, tensor_for(seq), seq, state)
        alpha, mask_seq = mask.alpha, mask.seq
        assert mask_seq == seq
        assert alpha[0, 0] == pytest.approx(seq / 255.0)  # computed from this frame's pixels
    masks.close()


def test_mask_every_reuses_the_mask_in_between(bright_model):
    engine = Engine(bright_model, device="cpu")
    masks, state = MaskSource(sync=True, every=3), StreamState()
    got = [masks.mask_for(engine, tensor_for(seq), seq, state).seq for seq in range(9)]
    assert got == [0, 0, 0, 3, 3, 3, 6, 6, 6]


def test_async_keeps_frames_flowing_and_reports_the_lag(bright_model):
    engine = SlowEngine(Engine(bright_model, device="cpu"), delay=0.05)
    masks, state = MaskSource(sync=False), StreamState()
    lags = []
    started = time.monotonic()
    for seq in range(30):
        mask = masks.mask_for(engine, tensor_for(seq), seq, state)
        alpha, mask_seq = mask.alpha, mask.seq
        assert mask_seq <= seq
        assert alpha[0, 0] == pytest.approx(mask_seq / 255.0)  # the mask is that frame's
        lags.append(seq - mask_seq)
        time.sleep(0.01)  # a 100 fps camera
    masks.close()
    assert lags[0] == 0  # the first frame waits for a mask
    assert max(lags) >= 3  # later ones take the newest finished mask instead of waiting
    # 30 frames at 10 ms went by far faster than 30 inferences of 50 ms would
    assert time.monotonic() - started < 30 * 0.05
    assert not [t for t in threading.enumerate() if t.name.startswith("rtseg-infer-async")]


def test_async_surfaces_an_inference_error(bright_model):
    class Broken:
        info = Engine(bright_model, device="cpu").info

        def run(self, tensor, state=None):
            raise RuntimeError("model crashed")

    masks = MaskSource(sync=False)
    with pytest.raises(RuntimeError, match="model crashed"):
        masks.mask_for(Broken(), tensor_for(0), 0, StreamState())
    masks.close()


def test_smoothing_is_applied_to_new_masks(bright_model):
    engine = Engine(bright_model, device="cpu")
    masks, state = MaskSource(sync=True), StreamState(TemporalSmoother())
    first = masks.mask_for(engine, tensor_for(100), 0, state).alpha.copy()
    second = masks.mask_for(engine, tensor_for(101), 1, state).alpha
    assert first[0, 0] == pytest.approx(100 / 255)
    # a one-level change of a still image is mostly held back, not followed at once
    assert first[0, 0] < second[0, 0] < 101 / 255


@pytest.mark.parametrize("sync", [True, False])
def test_reset_starts_afresh_after_the_inference_in_progress(bright_model, sync):
    engine = Engine(bright_model, device="cpu")
    slow = SlowEngine(engine, 0.05)
    masks = MaskSource(sync=sync, every=5)
    state = StreamState(TemporalSmoother(strength=0.6))
    try:
        for seq in range(3):
            masks.mask_for(slow, tensor_for(100), seq, state)
        masks.drain()  # as after a model switch
        state.restart()
        mask = masks.mask_for(engine, tensor_for(200), 3, state)
        alpha, mask_seq = mask.alpha, mask.seq
        assert mask_seq == 3  # not the mask of frame 0, though `every` would reuse it
        # and not smoothed towards the old model's masks: the new alpha, whole
        assert alpha[0, 0] == pytest.approx(200 / 255.0)
    finally:
        masks.close()


def test_zoomed_masks_keep_the_newest_mask_mode_and_its_lag(bright_model):
    """Without sync the zoom runs in the inference worker on the frame it was given: the
    mask is that frame's (its canvas shows that frame's bright square) and the lag is told."""
    engine = SlowEngine(Engine(bright_model, device="cpu"), delay=0.03)
    engine.info = engine.engine.info
    masks = MaskSource(sync=False, passes=Passes(roi=RoiSettings(min_side=16)))
    state = StreamState()
    lags = []
    for seq in range(20):
        image = np.zeros((90, 160, 3), np.uint8)
        image[30:60, 10 + 4 * seq : 40 + 4 * seq] = 255  # a bright "person" walking right
        tensor = cv2.resize(image, (32, 32))[np.newaxis]
        mask = masks.mask_for(engine, tensor, seq, state, image)
        alpha, mask_seq = mask.alpha, mask.seq
        assert alpha.shape == (90, 160)  # the canvas: frame coordinates
        left = int(np.argmax(alpha[45] > 0.5))
        assert abs(left - (10 + 4 * mask_seq)) <= 2  # the square where mask_seq had it
        lags.append(seq - mask_seq)
        time.sleep(0.01)
    masks.close()
    assert max(lags) >= 1
