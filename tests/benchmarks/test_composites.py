import numpy as np

from benchmarks.composites import Portrait, background, composite, inset, make_sets


def portrait(width: int = 200, height: int = 300, left: int = 120) -> Portrait:
    """A "photo": a red person standing on its bottom edge at the right, a green wall left."""
    image = np.zeros((height, width, 3), np.uint8)
    image[...] = (0, 160, 0)
    matte = np.zeros((height, width), np.float32)
    matte[100:, left : left + 60] = 1.0
    matte[100:, left - 1] = 0.5  # a soft edge
    image[matte > 0] = (0, 0, 220)
    return Portrait(image, matte)


def test_the_background_holds_nobody():
    ground = background(portrait())
    assert ground is not None and ground.shape == (720, 1280, 3)
    assert (ground[..., 2] < 50).all()  # only the green wall left of the person


def test_the_truth_is_the_pasted_matte_and_the_person_stands_on_the_bottom():
    ground = np.full((720, 1280, 3), 90, np.uint8)
    frame, truth = composite(ground, [(portrait(), 0.5, 0.5)])
    ys, xs = np.nonzero(truth > 0.5)
    assert ys.max() == 719 and ys.min() == 360  # half the frame's height, on its bottom
    assert abs((xs.min() + xs.max()) / 2 - 640) <= 2
    solid = truth == 1.0
    assert (frame[solid][:, 2] > 200).all()  # where the truth says person, the person is
    assert (frame[truth == 0.0] == 90).all()  # and nowhere else changed


def test_sets_and_insets():
    sets = make_sets([portrait(), portrait(left=20)])
    assert len(sets["one person"]) == 6 and len(sets["two people"]) == 2
    frame, truth = sets["two people"][0]
    assert frame.shape == (720, 1280, 3) and truth.shape == (720, 1280)
    small = inset(
        np.full((100, 200, 3), 255, np.uint8), np.zeros((720, 1280, 3), np.uint8), 0.5, 0.5
    )
    ys, xs = np.nonzero(small[..., 0])
    assert ys.min() == 360 and ys.max() == 719 and xs.min() == 640 - 360
