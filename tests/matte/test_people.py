"""Choosing and following the main person on drawn masks: who is kept, for how long, and
when someone else takes over."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from benchmarks import webcam
from benchmarks.quality import load_portraits, read_frames
from rtseg.matte.people import LOST_S, SWITCH_S, MainPerson, find_people
from tests.conftest import shared_file

H, W = 144, 256


def mask(*people: tuple[int, int, int, int]) -> np.ndarray:
    """A mask with a solid rectangle (x, y, w, h) per person."""
    alpha = np.zeros((H, W), np.float32)
    for x, y, w, h in people:
        alpha[y : y + h, x : x + w] = 1.0
    return alpha


MAIN = (100, 40, 60, 104)  # central, large
SIDE = (10, 60, 30, 60)  # at the side, small


def kept(alpha: np.ndarray, person: tuple[int, int, int, int]) -> float:
    x, y, w, h = person
    return float(alpha[y : y + h, x : x + w].mean())


def test_the_largest_most_central_person_is_kept_and_the_other_cleared():
    out, box = MainPerson().keep(mask(MAIN, SIDE), 0.0)
    assert kept(out, MAIN) == 1.0 and kept(out, SIDE) == 0.0
    assert (box.x0, box.y0, box.x1, box.y1) == (100, 40, 160, 144)


def test_a_hand_held_apart_from_the_body_stays_with_it_and_soft_edges_are_kept():
    hand = (165, 60, 8, 8)  # 5 px from the body, under JOIN of the diagonal
    alpha = mask(MAIN, hand, SIDE)
    alpha[40:144, 95:100] = 0.3  # a soft edge below one half, beside the body
    out, _ = MainPerson().keep(alpha, 0.0)
    assert kept(out, hand) == 1.0
    assert out[40:144, 95:100].mean() == pytest.approx(0.3)
    assert kept(out, SIDE) == 0.0
    people, _, _ = find_people(alpha)
    assert len(people) == 2


@pytest.mark.parametrize("bridge", [(60, 130, 40, 4), (70, 60, 30, 6)], ids=["desk", "arm"])
def test_people_joined_by_a_thin_bridge_are_cut_apart(bridge):
    """A desk edge the model half-keeps, or an arm reaching over, joins them in the mask:
    each pixel goes to the nearer core, so the other person is still cleared."""
    out, _ = MainPerson().keep(mask(MAIN, (20, 40, 50, 104), bridge), 0.0)
    assert kept(out, MAIN) == 1.0 and kept(out, (20, 40, 45, 104)) == 0.0


def test_a_close_up_head_on_a_thin_neck_stays_with_its_shoulders():
    """The head's core is cut from the shoulders' at the neck, but one above the other they
    are one person: nothing of the main person is cleared."""
    alpha = np.zeros((360, 640), np.float32)
    cv2.circle(alpha, (320, 120), 75, 1.0, -1)
    alpha[180:230, 300:340] = 1.0  # the neck
    alpha[220:, 140:500] = 1.0  # shoulders to the bottom edge
    people, _, _ = find_people(alpha)
    assert len(people) == 1
    out, _ = MainPerson().keep(alpha, 0.0)
    assert out[alpha >= 0.5].min() == 1.0


def test_the_choice_holds_while_someone_else_outscores_it_for_less_than_switch_s():
    """The main person walks to the side and shrinks; the other grows in the middle: the
    choice holds until the other scores twice as high for SWITCH_S on end."""
    first = (10, 60, 30, 60)  # the first main person, now small at the side
    second = (90, 20, 80, 124)  # the other, large and central
    times = np.arange(1, 120) / 30
    chooser = MainPerson()
    chooser.keep(mask(first, (200, 100, 20, 30)), 0.0)  # first is the largest then
    switched_at = None
    for t in times:
        out, _ = chooser.keep(mask(first, second), t)
        if kept(out, second) > 0.9 and switched_at is None:
            switched_at = t
        if switched_at is None:
            assert kept(out, first) == 1.0 and kept(out, second) == 0.0
    assert switched_at == pytest.approx(times[0] + SWITCH_S, abs=0.05)


def test_when_the_main_person_leaves_nobody_is_shown_then_the_next_is_chosen():
    chooser = MainPerson()
    chooser.keep(mask(MAIN, SIDE), 0.0)
    out, box = chooser.keep(mask(SIDE), 0.5)  # the main person left
    assert box is None and not out.any()
    out, _ = chooser.keep(mask(MAIN, SIDE), 0.8)  # back within LOST_S: found again
    assert kept(out, MAIN) == 1.0 and kept(out, SIDE) == 0.0
    chooser.keep(mask(SIDE), 1.0)  # last seen at 0.8
    out, _ = chooser.keep(mask(SIDE), 0.8 + LOST_S - 0.05)
    assert not out.any()
    out, _ = chooser.keep(mask(SIDE), 0.8 + LOST_S + 0.05)  # gone long enough
    assert kept(out, SIDE) == 1.0
    out, _ = chooser.keep(mask(MAIN, SIDE), 0.8 + LOST_S + 0.1)  # the new one is followed
    assert kept(out, SIDE) == 1.0 and kept(out, MAIN) == 0.0


def test_an_empty_mask_and_a_reset():
    chooser = MainPerson()
    out, box = chooser.keep(np.zeros((H, W), np.float32), 0.0)
    assert box is None and not out.any()
    chooser.keep(mask(SIDE), 0.1)
    chooser.reset()
    out, _ = chooser.keep(mask(MAIN, SIDE), 0.2)  # chooses afresh
    assert kept(out, MAIN) == 1.0


def test_a_second_person_pasted_into_a_real_clip_goes_to_the_background():
    """The issue's measure: a P3M portrait pasted into the doctor clip, swaying in the
    background. With `people="main"` its region's mean alpha falls below 0.08 while the
    clip's own person stays above 0.75; with "all" both are kept."""
    shared_file("videos/doctor_960x540.mp4")
    shared_file(f"portraits/p3m/original/{webcam.PORTRAIT}.jpg")
    portraits = load_portraits(webcam.DATA / "portraits" / "p3m", None)
    names = sorted((webcam.DATA / "portraits" / "p3m" / "original").glob("*.jpg"))
    portrait = portraits[[n.stem for n in names].index(webcam.PORTRAIT)]
    figures, _ = webcam.people_figures(read_frames(webcam.DOCTOR, 30), portrait)
    assert figures["all"]["second person"] > 0.3, figures  # kept without the rule
    assert figures["main"]["second person"] < 0.08, figures
    assert figures["main"]["main person"] > 0.75, figures
