import itertools

import numpy as np
import pytest

from rtseg.errors import RtsegError
from rtseg.matte.roi import (
    Box,
    RoiSettings,
    RoiTracker,
    crop_around,
    group_boxes,
    match_boxes,
    person_boxes,
)

W, H = 1280, 720


def person_at(cx: float, cy: float = 420, w: float = 120, h: float = 300) -> np.ndarray:
    """A frame-size mask with one upright "person" (a filled rectangle) centred at (cx, cy)."""
    alpha = np.zeros((H, W), np.float32)
    alpha[round(cy - h / 2) : round(cy + h / 2), round(cx - w / 2) : round(cx + w / 2)] = 1.0
    return alpha


THUMB = np.full((32, 32), 100, np.uint8)


def test_person_boxes_finds_each_blob_and_drops_specks():
    alpha = person_at(300) + person_at(900, w=200)
    alpha[10:12, 10:12] = 1.0  # a speck of noise
    boxes = person_boxes(alpha)
    assert boxes == [Box(800, 270, 1000, 570), Box(240, 270, 360, 570)]  # largest first


def test_crop_is_square_with_margin_centred_on_the_person():
    crop = crop_around(Box(600, 200, 700, 500), W, H, aspect=1.0, margin=0.25, min_side=64)
    assert crop is not None
    assert crop.width == crop.height == 450  # 300 * (1 + 2 * 0.25)
    assert (crop.x0 + crop.x1) / 2 == 650 and (crop.y0 + crop.y1) / 2 == 350


def test_crop_keeps_the_model_aspect_and_is_clamped_to_the_frame():
    crop = crop_around(Box(1200, 600, 1280, 720), W, H, aspect=16 / 9, margin=0.3, min_side=64)
    assert crop is not None
    assert crop.width / crop.height == pytest.approx(16 / 9, rel=0.01)
    assert crop.x1 == W and crop.y1 == H  # pushed back inside, not cut


def test_no_crop_when_the_person_fills_the_frame():
    assert crop_around(Box(100, 0, 1200, 720), W, H, 1.0, 0.3, 64) is None
    # as tall as the frame and as wide as a square crop: no room for a margin beside them
    assert crop_around(Box(300, 0, 1010, 720), W, H, 1.0, 0.3, 64) is None


def test_small_people_get_at_least_the_minimum_crop():
    crop = crop_around(Box(600, 300, 610, 320), W, H, 1.0, 0.3, min_side=96)
    assert crop is not None and crop.height == 96


def test_groups_are_one_box_or_one_per_person():
    boxes = [Box(100, 100, 200, 400), Box(900, 100, 1000, 400), Box(205, 200, 230, 230)]
    assert group_boxes(boxes, 0.3, together=True) == [Box(100, 100, 1000, 400)]
    # the hand beside the first person joins them; the far person keeps a crop of their own
    assert group_boxes(boxes, 0.3, together=False) == [
        Box(100, 100, 230, 400),
        Box(900, 100, 1000, 400),
    ]


def tracked(settings: RoiSettings | None = None) -> RoiTracker:
    tracker = RoiTracker(W, H, 1.0, settings or RoiSettings(full_every=1000))
    assert tracker.needs_full(THUMB)
    tracker.retarget(person_at(300))
    return tracker


def test_the_crop_follows_a_person_walking_across_and_holds_still_when_they_do():
    tracker = tracked()
    full_passes, centres = 0, []
    for cx in np.linspace(300, 1000, 80):
        if tracker.needs_full(THUMB):
            tracker.retarget(person_at(cx))
            full_passes += 1
        crop = tracker.crops[0]
        assert crop.contains(Box(cx - 60, 270, cx + 60, 570))  # the person is always inside
        centres.append((crop.x0 + crop.x1) / 2)
        tracker.follow(person_at(cx))
    assert centres[-1] > 900  # it went along
    assert full_passes <= 4  # mostly on crop passes alone
    moves = sum(a != b for a, b in itertools.pairwise(centres))
    assert moves < 40  # held still between steps, not moved on every frame
    still = tracker.crops[0]
    for _ in range(10):
        assert not tracker.needs_full(THUMB)
        tracker.follow(person_at(1000))
    assert tracker.crops[0] == still


def test_someone_near_the_crops_edge_triggers_a_full_pass():
    tracker = tracked()
    crop = tracker.crops[0]
    assert not tracker.needs_full(THUMB)
    reaching = person_at(300)
    reaching[400:420, round(crop.x1) - 10 : round(crop.x1)] = 1.0  # an arm at the crop's edge
    tracker.follow(reaching)
    assert tracker.needs_full(THUMB)


def test_an_area_jump_a_scene_cut_and_the_period_trigger_full_passes():
    tracker = tracked()
    assert not tracker.needs_full(THUMB)
    tracker.follow(person_at(300))
    tracker.follow(person_at(300, h=150))  # half the area: the mask jumped
    assert tracker.needs_full(THUMB)

    tracker = tracked()
    assert not tracker.needs_full(THUMB)
    assert tracker.needs_full(np.full((32, 32), 200, np.uint8))  # another scene

    tracker = tracked(RoiSettings(full_every=5))
    due = []
    for _ in range(12):
        due.append(tracker.needs_full(THUMB))
        if due[-1]:
            tracker.retarget(person_at(300))
        tracker.follow(person_at(300))
    assert due == [False, False, False, False, True] * 2 + [False, False]


def test_a_second_person_walking_in_is_found_by_the_next_full_pass():
    tracker = tracked(RoiSettings(full_every=10))
    for _ in range(9):
        assert not tracker.needs_full(THUMB)
        tracker.follow(person_at(300))  # the crop pass sees only the first person
    assert tracker.needs_full(THUMB)
    tracker.retarget(person_at(300) + person_at(1000))
    assert len(tracker.crops) == 2
    assert tracker.crops[1].contains(Box(940, 270, 1060, 570))


def test_nobody_means_whole_frame_passes():
    tracker = RoiTracker(W, H, 1.0, RoiSettings())
    tracker.retarget(np.zeros((H, W), np.float32))
    assert tracker.crops == [] and tracker.needs_full(THUMB)


def test_bad_settings_are_refused():
    with pytest.raises(RtsegError):
        RoiSettings(margin=-0.1)
    with pytest.raises(RtsegError):
        RoiSettings(full_every=0)


def test_each_person_keeps_their_id_as_they_pass_each_other():
    """Two people on different rows swap sides: the crops swap places in the list (they are
    kept left to right), but each keeps the id of the person it follows."""
    tracker = tracked(RoiSettings(full_every=4))
    a_id = None
    for step in range(40):
        a, b = person_at(200 + 22 * step, 200, 80, 150), person_at(1080 - 22 * step, 560, 80, 150)
        if tracker.needs_full(THUMB):
            tracker.retarget(a + b)
        if a_id is None and len(tracker.crops) == 2:
            a_id = tracker.ids[0]  # the left one, at first
        crops = dict(zip(tracker.ids, tracker.crops, strict=True))
        centre_a = (crops[a_id].x0 + crops[a_id].x1) / 2 if a_id is not None else None
        if centre_a is not None:
            assert abs(centre_a - (200 + 22 * step)) < 100, step  # A's crop is around A
        tracker.follow(a + b)
    assert tracker.crops[0].x0 < tracker.crops[1].x0 and tracker.ids[1] == a_id  # swapped


def test_match_boxes_pairs_by_overlap_not_by_order():
    old = [Box(0, 0, 10, 10), Box(100, 0, 110, 10)]
    assert match_boxes(old, [Box(98, 0, 108, 10), Box(2, 0, 12, 10)]) == [1, 0]
    assert match_boxes(old, [Box(50, 0, 60, 10)]) == [None]  # someone new
    assert match_boxes([Box(0, 0, 10, 10)], [Box(0, 5, 10, 15), Box(1, 0, 11, 10)]) == [None, 0]


def test_a_network_of_any_size_gets_the_person_s_own_shape():
    crop = crop_around(Box(600, 200, 700, 500), W, H, aspect=None, margin=0.25, min_side=64)
    assert crop is not None
    assert (crop.width, crop.height) == (250, 450)  # each side grown by 0.25 of the longer
    assert (crop.x0 + crop.x1) / 2 == 650 and (crop.y0 + crop.y1) / 2 == 350
