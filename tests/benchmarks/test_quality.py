import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmarks import quality
from benchmarks.quality import (
    FrameChange,
    boundary_fscore,
    flicker,
    frame_change,
    iou,
    lag,
)
from tests.conftest import write_clip
from tests.onnx_models import brightness_model


def disc(size: int = 100, cx: float = 50, cy: float = 50, r: float = 30) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size]
    return (((yy - cy) ** 2 + (xx - cx) ** 2) < r**2).astype(np.float32)


def test_iou_of_known_shapes():
    a = np.zeros((10, 10), np.float32)
    b = np.zeros((10, 10), np.float32)
    a[:, :6] = 1.0  # 60 pixels
    b[:, 4:] = 1.0  # 60 pixels, 20 shared
    assert iou(a, b) == pytest.approx(20 / 100)
    assert iou(a, a) == 1.0
    assert iou(np.zeros((4, 4), np.float32), np.zeros((4, 4), np.float32)) == 1.0


def test_iou_cuts_at_one_half():
    ref = np.ones((4, 4), np.float32)
    assert iou(np.full((4, 4), 0.49, np.float32), ref) == 0.0
    assert iou(np.full((4, 4), 0.51, np.float32), ref) == 1.0


@pytest.mark.parametrize(("shift", "low", "high"), [(0, 1.0, 1.0), (1, 1.0, 1.0), (2, 0.99, 1.0)])
def test_boundary_fscore_tolerates_shifts_up_to_two_pixels(shift, low, high):
    assert low <= boundary_fscore(disc(cx=50 + shift), disc()) <= high


def test_boundary_fscore_drops_when_the_edge_is_off_by_more():
    assert boundary_fscore(disc(cx=56), disc()) < 0.3
    assert boundary_fscore(np.zeros((100, 100), np.float32), disc()) == 0.0


def test_boundary_fscore_is_blind_to_the_inside_but_not_to_a_ragged_edge():
    ref = disc()
    ragged = ref.copy()
    ragged[::4, :] = np.roll(ref, 4, axis=1)[::4, :]
    assert boundary_fscore(ragged, ref) < 0.9 < iou(ragged, ref)


def test_frame_change_and_flicker_only_count_still_pixels():
    gray0 = np.full((20, 20), 100, np.uint8)
    gray1 = gray0.copy()
    gray1[:, 10:] = 200  # the right half moved
    a0 = np.zeros((20, 20), np.float32)
    a1 = a0.copy()
    a1[:, 12:] = 1.0  # alpha changes only where the image moved...
    a1[:, :4] += 0.1  # ...and a little flicker on the still left
    change = frame_change(gray0, gray1, a0, a1)
    # The 3x3 average spreads the motion by one column: columns 0..8 are still.
    assert change.still_pixels == 20 * 9
    assert change.still_alpha_sum == pytest.approx(20 * 4 * 0.1, rel=1e-5)
    assert change.image_change == pytest.approx(50.0)
    assert flicker([change, change]) == pytest.approx(0.1 * 4 / 9, rel=1e-5)


def series(alpha_changes, image_changes) -> list[FrameChange]:
    return [
        FrameChange(float(i), float(a), 0.0, 1)
        for i, a in zip(image_changes, alpha_changes, strict=True)
    ]


@pytest.mark.parametrize("delay", [0, 1, 3])
def test_lag_finds_a_known_delay(delay):
    rng = np.random.default_rng(delay)
    image = rng.random(200) * (rng.random(200) > 0.8)
    alpha = np.roll(image, delay)
    assert lag(series(alpha, image)) == pytest.approx(delay, abs=0.1)


def test_lag_of_a_moving_average_is_a_fraction_of_a_frame():
    rng = np.random.default_rng(0)
    image = rng.random(300) * (rng.random(300) > 0.8)
    smoothed = np.convolve(image, [0.5, 0.5])[:300]  # half now, half a frame later
    assert 0.2 < lag(series(smoothed, image)) < 0.8


def test_lag_is_nan_without_enough_frames():
    assert np.isnan(lag(series([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])))


def fake_data(root: Path) -> Path:
    """Real files in the shared-data layout: two portraits with reference alphas, one clip."""
    folder = root / "portraits" / "p3m"
    (folder / "original").mkdir(parents=True)
    (folder / "alpha_pred").mkdir()
    for name, r in (("a", 60), ("b", 90)):
        ref = disc(300, 150, 170, r)
        image = (30 + 200 * ref[..., None] * np.ones(3)).astype(np.uint8)
        cv2.imwrite(str(folder / "original" / f"{name}.jpg"), image)
        cv2.imwrite(str(folder / "alpha_pred" / f"{name}.png"), (ref * 255).astype(np.uint8))
    (root / "videos").mkdir()
    write_clip(root / "videos" / "square.mp4", frames=16)
    return root


def test_quick_run_writes_json_table_and_picture_without_mediapipe(tmp_path):
    data = fake_data(tmp_path / "data")
    model = brightness_model(tmp_path / "bright.onnx", 64, 64)
    out = tmp_path / "out"
    picture = tmp_path / "docs" / "edges.png"
    args = ["--out", str(out), "--quick", "--model", str(model), "--data", str(data)]
    # this interpreter has no mediapipe: the column is left out, and the table says why
    args += ["--mediapipe-python", sys.executable, "--picture", str(picture), "--compare"]

    assert quality.main(args) == 0

    result = json.loads((out / "quality.json").read_text())
    table = result["table"]
    assert list(table) == [quality.PLAIN, "fast", "balanced", "best", *quality.COMPARE]
    # The brightness model is a fair segmenter of a bright disc on a dark ground.
    assert table["fast"]["sets"]["P3M"]["iou"] > 0.8
    assert set(table["best"]["sets"]) == {"P3M", "one person", "two people"}
    assert set(table["best"]["clips"]) == {"square", "square small"}
    assert table["best"]["cost_ms"]["small"]["cpu"][0] > 0
    text = (out / "quality.md").read_text()
    assert "| best |" in text and "MediaPipe column skipped" in text
    assert cv2.imread(str(picture)).shape[0] == 300


def test_missing_data_is_skipped_with_a_note(tmp_path):
    model = brightness_model(tmp_path / "bright.onnx", 32, 32)
    result = quality.run(tmp_path / "out", True, str(model), tmp_path / "nothing", sys.executable)
    assert all(not row["sets"] and not row["clips"] for row in result["table"].values())
    assert any("portraits skipped" in note for note in result["notes"])
    assert any("clips skipped" in note for note in result["notes"])
