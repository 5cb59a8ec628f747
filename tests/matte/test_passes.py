import itertools

import cv2
import numpy as np
import pytest
from matplotlib import cbook

from rtseg.matte.masks import MaskSource
from rtseg.matte.passes import PHOTO_PASSES, Passes, infer
from rtseg.matte.roi import Box, RoiSettings
from rtseg.matte.stream import StreamState
from rtseg.matte.temporal import TemporalSmoother
from rtseg.models.engine import Engine
from rtseg.models.registry import resolve
from rtseg.models.transforms import to_model_input
from tests.onnx_models import brightness_model, rvm_signature_model


@pytest.fixture(scope="module")
def selfie() -> Engine:
    return Engine(resolve("selfie_general"), device="cpu", threads=1)


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    """A real photograph of a person (matplotlib's public-domain Grace Hopper)."""
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        data = np.frombuffer(f.read(), np.uint8)
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def small_in_wide(person: np.ndarray, x: int = 700, height: int = 360) -> np.ndarray:
    """The photo shrunk to `height` and put in a 1280x720 frame of plain wall, on its bottom."""
    frame = np.full((720, 1280, 3), (90, 110, 120), np.uint8)
    scale = height / person.shape[0]
    small = cv2.resize(person, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = small.shape[:2]
    frame[720 - h :, x : x + w] = small
    return frame


def test_flip_averages_the_mirrored_pass_mirrored_back(selfie, portrait):
    tensor = to_model_input(portrait, selfie.info)
    plain = selfie.infer(tensor)
    mirrored = selfie.infer(np.ascontiguousarray(tensor[:, :, ::-1]))
    flipped, *_ = infer(selfie, tensor, flip=True)
    np.testing.assert_allclose(flipped, (plain + mirrored[:, ::-1]) / 2, atol=1e-6)
    assert np.abs(flipped - plain).max() > 0.01  # the mirrored pass really adds something
    # and the flip's answer for the mirror image is the mirror of its answer
    other, *_ = infer(selfie, np.ascontiguousarray(tensor[:, :, ::-1]), flip=True)
    np.testing.assert_allclose(other[:, ::-1], flipped, atol=1e-5)


def test_the_zoomed_alpha_lands_where_the_frame_was_sampled(bright_model):
    """With the brightness model alpha is the picture itself, so a crop pasted a pixel off
    would show against the frame scaled to the canvas."""
    engine = Engine(bright_model, device="cpu")
    frame = np.zeros((360, 640, 3), np.uint8)
    cv2.circle(frame, (400, 200), 60, (255, 255, 255), -1)
    frame = cv2.GaussianBlur(frame, (0, 0), 4)
    passes = Passes(roi=RoiSettings(margin=0.3, min_side=32), canvas_long=640)
    state = StreamState()
    alpha, _, view, zoomed, _ = passes.run(engine, frame, to_model_input(frame, engine.info), state)
    assert alpha.shape == view.shape[:2] == (360, 640)
    assert zoomed
    (crop,) = state.tracker.crops
    x0, y0, x1, y1 = crop.pixels()
    truth = frame[..., 0].astype(np.float32) / 255.0
    error = np.abs(alpha - truth)[y0 + 4 : y1 - 4, x0 + 4 : x1 - 4]
    assert error.mean() < 0.01  # at 32x32 model pixels, only interpolation error is left
    shifted = np.abs(alpha - np.roll(truth, 3, axis=1))[y0 + 4 : y1 - 4, x0 + 4 : x1 - 4]
    assert shifted.mean() > 3 * error.mean()  # three pixels off would be seen


def test_a_person_small_in_the_frame_gets_a_crop_pass(selfie, portrait):
    frame = small_in_wide(portrait)
    passes, state = Passes(roi=RoiSettings()), StreamState()
    alpha, _, _, zoomed, _ = passes.run(selfie, frame, to_model_input(frame, selfie.info), state)
    (crop,) = state.tracker.crops
    assert zoomed
    assert crop.width == crop.height < 720
    assert crop.contains(Box(700 + 40, 420, 700 + 200, 720))  # her face and shoulders
    person = alpha[210:360, 350:500] >= 0.5  # the canvas is the frame halved
    wall = alpha[:, :300]
    assert person.mean() > 0.5 and wall.max() < 0.1


def test_a_frame_zoomed_on_says_so_even_when_the_next_one_will_not_be(selfie, portrait):
    frame = small_in_wide(portrait)
    passes, state = Passes(roi=RoiSettings()), StreamState()
    tensor = to_model_input(frame, selfie.info)
    passes.run(selfie, frame, tensor, state)  # the whole frame, then the crop
    crops = state.tracker.crops
    assert crops
    follow = state.tracker.follow

    def drop_crops(alpha):  # as when the person grows too big to zoom on
        follow(alpha)
        state.tracker.crops, state.tracker.ids = [], []

    state.tracker.follow = drop_crops
    zoomed = passes.run(selfie, frame, tensor, state).zoomed
    assert zoomed  # this frame's mask came from the crop pass


def test_a_person_filling_the_frame_gets_the_whole_frame_pass_only(selfie, portrait):
    frame = cv2.resize(portrait, (1280, 720), interpolation=cv2.INTER_AREA)
    for roi in (RoiSettings(), None):
        passes = Passes(roi=roi)
        tensor = to_model_input(frame, selfie.info)
        alpha, _, _, zoomed, _ = passes.run(selfie, frame, tensor, StreamState())
        assert not zoomed  # nothing finer than the whole frame's pass for the refiner to keep
        assert (alpha >= 0.5).mean() > 0.2


def test_moving_the_crop_does_not_make_the_mask_jump(selfie, portrait):
    """A still scene whose crop is moved: the smoothed mask must stay where it was."""
    frame = small_in_wide(portrait)
    masks = MaskSource(sync=True, passes=Passes(roi=RoiSettings(full_every=1000)))
    state = StreamState(TemporalSmoother())
    rng = np.random.default_rng(0)
    outputs, used = [], []
    for seq in range(16):
        noisy = cv2.add(frame, rng.normal(0, 2, frame.shape), dtype=cv2.CV_8U)
        if seq == 8:  # the crop moves by a sixth of its side, the person still inside it
            tracker = state.tracker
            (crop,) = tracker.crops
            d = round(crop.width / 6)
            tracker.crops = [Box(crop.x0 - d, crop.y0, crop.x1 - d, crop.y1)]
        if seq:
            used.append(state.tracker.crops[0])
        tensor = to_model_input(noisy, selfie.info)
        alpha = masks.mask_for(selfie, tensor, seq, state, noisy).alpha
        outputs.append(alpha)
    changes = [float(np.abs(b - a).mean()) for a, b in itertools.pairwise(outputs)]
    assert used[7].x0 == crop.x0 - d  # the crop really moved (and may move back after)
    # Unsmoothed, the move changes the mask by 0.006 (mean abs) at once; a paste in the wrong
    # place or a person cut by the crop, by ten times that.
    assert max(changes[7:]) < 3e-3, changes


def test_fine_noise_on_a_still_scene_is_no_scene_cut(tmp_path):
    """The scene-cut thumbnail averages the frame (INTER_AREA): noise that changes every
    frame but leaves the scene as it was must not bring a whole-frame pass each frame.
    Sampled bilinearly instead, each thumbnail pixel would see 4 of the 64 pixels it covers,
    and the noise would read as a cut."""
    engine = Engine(brightness_model(tmp_path / "b.onnx", 256, 256), device="cpu")
    rng = np.random.default_rng(0)
    # Blue or green-ish pixels: their grey levels differ by 150, their brightness (the test
    # model's alpha) stays under 0.5, so the noise is background and only the square a person.
    blue, green = np.array((255, 0, 0), np.uint8), np.array((0, 255, 100), np.uint8)
    passes, state = Passes(roi=RoiSettings(margin=0.3, min_side=32), canvas_long=256), StreamState()
    for _ in range(12):
        frame = np.where(rng.random((256, 256, 1)) < 0.5, blue, green).astype(np.uint8)
        frame[150:230, 100:150] = 255
        passes.run(engine, frame, to_model_input(frame, engine.info), state)
    tracker = state.tracker
    assert tracker is not None and tracker.crops  # the square was zoomed on...
    assert tracker.full_passes == 1  # ...and the noise never read as a scene cut


def rvm_frame(level: int) -> np.ndarray:
    """A BGR frame: white on the left, `level` grey elsewhere."""
    frame = np.full((72, 128, 3), level, np.uint8)
    frame[:, :32] = 255
    return frame


def test_a_recurrent_state_starts_afresh_at_a_scene_cut_and_a_new_stream(tmp_path):
    engine = Engine(rvm_signature_model(tmp_path / "rvm.onnx"), device="cpu", threads=1)
    passes, state = Passes(), StreamState()
    grey = rvm_frame(100)

    def alpha(image: np.ndarray) -> float:
        state.begin_step()
        tensor = to_model_input(image, engine.info)
        return float(passes.run(engine, image, tensor, state).alpha[36, 80])

    built = [alpha(grey) for _ in range(4)]
    assert built[0] < built[-1]  # the state builds up over a still shot...
    alpha(rvm_frame(0))  # ...a cut to black...
    assert alpha(grey) == pytest.approx(alpha_after_reset(engine, grey), abs=1e-6)
    for _ in range(3):
        alpha(grey)
    state.restart()  # ...and a new stream each start the state from zeros
    assert alpha(grey) == pytest.approx(built[0], abs=1e-6)


def alpha_after_reset(engine: Engine, image: np.ndarray) -> float:
    """What a fresh state gives on `image` after one frame of black (the state after the cut
    frame), computed from zeros."""
    after_black = engine.run(to_model_input(rvm_frame(0), engine.info)).state
    return float(engine.run(to_model_input(image, engine.info), after_black).alpha[36, 80])


def test_a_matting_model_s_foreground_is_pasted_with_its_crops(tmp_path):
    engine = Engine(rvm_signature_model(tmp_path / "rvm.onnx"), device="cpu", threads=1)
    frame = np.full((256, 256, 3), 30, np.uint8)
    frame[150:230, 100:150] = 255  # a bright "person", small in the frame
    passes = Passes(roi=RoiSettings(margin=0.3, min_side=32), canvas_long=256)
    result = passes.run(engine, frame, to_model_input(frame, engine.info), StreamState())
    assert result.zoomed and result.fgr.shape == (256, 256, 3)
    # the test network halves blue: inside the crop the foreground says so, outside it the
    # frame's own colours stand
    np.testing.assert_allclose(result.fgr[190, 125], [1.0, 1.0, 0.5], atol=0.02)
    np.testing.assert_allclose(result.fgr[10, 10], [30 / 255] * 3, atol=0.01)


def test_each_photo_gets_warm_passes_from_a_fresh_state(tmp_path):
    engine = Engine(rvm_signature_model(tmp_path / "rvm.onnx"), device="cpu", threads=1)
    masks, state = MaskSource(), StreamState()
    grey = rvm_frame(100)
    tensor = to_model_input(grey, engine.info)
    photo = [
        float(masks.mask_for(engine, tensor, i, state, grey, True, still=True).alpha[36, 80])
        for i in range(2)
    ]
    assert photo[0] == photo[1]  # each photo on its own: no state from the one before
    recurrent = None
    for _ in range(PHOTO_PASSES):
        alpha, _, _, recurrent = engine.run(tensor, recurrent)
    assert photo[0] == pytest.approx(float(alpha[36, 80]), abs=1e-6)  # the last warm pass


def crossing(step: int) -> np.ndarray:
    """Frame `step` of two people passing each other: a white one along the top, walking
    right, and a dim one along the bottom, walking left (a grey the test matting network
    takes for a person only once its state has built up)."""
    frame = np.zeros((240, 320, 3), np.uint8)
    a, b = 20 + 10 * step, 260 - 10 * step
    frame[20:60, a : a + 40] = 255
    frame[170:210, b : b + 40] = DIM
    return frame


DIM = 89  # brightness 0.35: alpha 0.88 once the state has settled on it, 1.0 with white's


def test_two_people_who_pass_each_other_keep_their_own_crop_state(tmp_path):
    """Each crop's recurrent state follows its person: when the two swap sides (and their
    crops their places in the list), the dim one must not take on the white one's state."""
    engine = Engine(rvm_signature_model(tmp_path / "rvm.onnx"), device="cpu", threads=1)
    masks = MaskSource(passes=Passes(roi=RoiSettings(full_every=5)))
    state = StreamState()
    dim, crops = [], []
    for step in range(26):
        frame = crossing(step)
        b = 260 - 10 * step
        alpha = masks.mask_for(engine, to_model_input(frame, engine.info), step, state, frame)
        dim.append(float(alpha.alpha[175:205, b + 5 : b + 35].max()))
        crops.append(len(state.tracker.crops))
    assert crops[-1] == 2 and min(dim[8:]) > 0.5  # both were zoomed on, the dim one found
    assert max(dim) < 0.95, dim  # and never given the white one's state
