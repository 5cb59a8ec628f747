import cv2
import numpy as np
import pytest

from rtseg.errors import RtsegError
from rtseg.matte.refine import EdgeRefiner


def window_mean(x: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window, edges mirrored without repeating the edge pixel."""
    padded = np.pad(x, radius, mode="reflect")
    c = np.cumsum(np.cumsum(padded, axis=0), axis=1)
    c = np.pad(c, ((1, 0), (1, 0)))
    k = 2 * radius + 1
    h, w = x.shape
    sums = c[k : k + h, k : k + w] - c[0:h, k : k + w] - c[k : k + h, 0:w] + c[0:h, 0:w]
    return sums / (k * k)


def guided_filter_reference(guide: np.ndarray, p: np.ndarray, radius: int, eps: float):
    """He et al.'s guided filter, written out in float64."""
    mean_i = window_mean(guide, radius)
    mean_p = window_mean(p, radius)
    var_i = window_mean(guide * guide, radius) - mean_i**2
    cov_ip = window_mean(guide * p, radius) - mean_i * mean_p
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return window_mean(a, radius) * guide + window_mean(b, radius)


def color_guided_filter_reference(guide: np.ndarray, p: np.ndarray, radius: int, eps: float):
    """The colour-guide variant: a 3x3 solve per pixel, numpy's own solver, float64."""
    mean_i = np.stack([window_mean(guide[..., c], radius) for c in range(3)], axis=-1)
    mean_p = window_mean(p, radius)
    cov = np.stack([window_mean(guide[..., c] * p, radius) for c in range(3)], axis=-1)
    cov -= mean_i * mean_p[..., None]
    sigma = np.empty((*p.shape, 3, 3))
    for r in range(3):
        for c in range(3):
            sigma[..., r, c] = window_mean(guide[..., r] * guide[..., c], radius)
            sigma[..., r, c] -= mean_i[..., r] * mean_i[..., c]
    a = np.linalg.solve(sigma + eps * np.eye(3), cov[..., None])[..., 0]
    b = mean_p - (a * mean_i).sum(axis=-1)
    mean_a = np.stack([window_mean(a[..., c], radius) for c in range(3)], axis=-1)
    return (mean_a * guide).sum(axis=-1) + window_mean(b, radius)


def test_window_mean_matches_explicit_loops():
    x = np.random.default_rng(0).random((7, 9))
    r = 2
    padded = np.pad(x, r, mode="reflect")
    expected = np.empty_like(x)
    for y in range(7):
        for xx in range(9):
            expected[y, xx] = padded[y : y + 2 * r + 1, xx : xx + 2 * r + 1].mean()
    np.testing.assert_allclose(window_mean(x, r), expected, atol=1e-12)


@pytest.mark.parametrize(("radius", "eps"), [(1, 1e-3), (3, 1e-2), (5, 1e-4)])
def test_guided_filter_matches_reference_at_full_resolution(radius, eps):
    rng = np.random.default_rng(radius)
    smooth = cv2.GaussianBlur(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8), (7, 7), 2)
    image = np.clip(smooth.astype(int) + rng.integers(-20, 21, smooth.shape), 0, 255)
    image = image.astype(np.uint8)
    alpha = rng.random((60, 80), dtype=np.float32)
    refiner = EdgeRefiner(radius=radius, eps=eps, work_short_side=None)

    got = refiner.refine(image, alpha)

    guide = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float64) / 255.0
    expected = np.clip(guided_filter_reference(guide, alpha.astype(np.float64), radius, eps), 0, 1)
    assert got.dtype == np.float32 and got.shape == (60, 80)
    np.testing.assert_allclose(got, expected, atol=2e-4)


@pytest.mark.parametrize(("radius", "eps"), [(2, 1e-3), (4, 1e-2)])
def test_colour_guided_filter_matches_reference_at_full_resolution(radius, eps):
    rng = np.random.default_rng(radius)
    image = cv2.GaussianBlur(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8), (5, 5), 1)
    alpha = rng.random((40, 50), dtype=np.float32)
    refiner = EdgeRefiner(radius=radius, eps=eps, work_short_side=None, color=True)

    got = refiner.refine(image, alpha)

    guide = image.astype(np.float64) / 255.0
    expected = color_guided_filter_reference(guide, alpha.astype(np.float64), radius, eps)
    np.testing.assert_allclose(got, np.clip(expected, 0, 1), atol=2e-4)


def disc_scene(height: int = 360, width: int = 640):
    """A bright disc on a dark, slightly textured background, and its true mask."""
    yy, xx = np.mgrid[0:height, 0:width]
    truth = ((yy - height / 2) ** 2 + (xx - width / 2) ** 2 < (height / 3) ** 2).astype(np.float32)
    rng = np.random.default_rng(1)
    image = (40 + 160 * truth)[..., None] + rng.normal(0, 3, (height, width, 3))
    return np.clip(image, 0, 255).astype(np.uint8), truth


def edge_band(truth: np.ndarray, width: int = 12) -> np.ndarray:
    kernel = np.ones((2 * width + 1, 2 * width + 1), np.uint8)
    mask = truth.astype(np.uint8)
    return cv2.dilate(mask, kernel) != cv2.erode(mask, kernel)


@pytest.mark.parametrize("color", [False, True])
def test_refinement_snaps_a_blocky_mask_to_the_image_edge(color):
    image, truth = disc_scene()
    h, w = truth.shape
    # What a model returns: a 32x32 mask, which stretched back to 640x360 is blocky and soft.
    small = cv2.resize(truth, (32, 32), interpolation=cv2.INTER_AREA)
    raw = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    refiner = EdgeRefiner(radius=8, eps=1e-3, work_short_side=90, color=color)
    refined = refiner.refine(image, small)

    band = edge_band(truth)
    raw_error = np.abs(raw - truth)[band].mean()
    refined_error = np.abs(refined - truth)[band].mean()
    assert refined.shape == (h, w)
    assert refined_error < 0.6 * raw_error, (raw_error, refined_error)


def test_threshold_is_a_clamped_linear_remap():
    image, truth = disc_scene(120, 160)
    alpha = cv2.GaussianBlur(truth, (31, 31), 8)
    plain = EdgeRefiner(work_short_side=30).refine(image, alpha)
    hard = EdgeRefiner(work_short_side=30, threshold=(0.3, 0.7)).refine(image, alpha)
    np.testing.assert_allclose(hard, np.clip((plain - 0.3) / 0.4, 0, 1), atol=1e-5)


def test_feather_softens_the_steepest_step():
    image, truth = disc_scene(120, 160)
    plain = EdgeRefiner(work_short_side=30).refine(image, truth)
    soft = EdgeRefiner(work_short_side=30, feather=5).refine(image, truth)
    assert np.abs(np.diff(soft, axis=1)).max() < 0.5 * np.abs(np.diff(plain, axis=1)).max()
    assert soft.min() >= 0.0 and soft.max() <= 1.0


@pytest.mark.parametrize("color", [False, True])
def test_repeated_calls_do_not_share_output_buffers(color):
    image, truth = disc_scene(120, 160)
    refiner = EdgeRefiner(work_short_side=30, color=color)
    first = refiner.refine(image, truth)
    kept = first.copy()
    refiner.refine(image, 1.0 - truth)
    refiner.refine(image[:100, :150].copy(), truth[:100, :150].copy())  # a new frame size
    np.testing.assert_array_equal(first, kept)
    np.testing.assert_array_equal(refiner.refine(image, truth), kept)


@pytest.mark.parametrize("color", [False, True])
@pytest.mark.parametrize(
    ("work", "faint", "threshold", "layout"),
    [
        (180, 0.0, (0.1, 0.9), "one"),
        (360, 0.0, (0.0, 1.0), "one"),
        (180, 1.0 / 600, (0.0, 1.0), "one"),
        (180, 0.0, (0.1, 0.9), "apart"),
        (360, 1.0 / 600, (0.0, 1.0), "apart"),
        (180, 0.0, (0.0, 1.0), "close"),
    ],
)
def test_refining_around_each_person_gives_the_whole_frame_result(
    monkeypatch, color, work, faint, threshold, layout
):
    # A person in one corner of a textured 720p frame; "apart": a second one at the right
    # edge and a speck at the left one, each in a box of its own; "close": a second one
    # within reach of the first, so they share a box. Alpha elsewhere 0, or faint noise
    # below the level the crop treats as 0.
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (720, 1280, 3), np.uint8)
    image[100:500, 150:450] //= 3
    alpha = rng.uniform(0, faint, (90, 160)).astype(np.float32)
    more = {"one": [], "apart": [(30, 80, 135, 160), (70, 74, 0, 2)], "close": [(5, 50, 74, 90)]}
    people = [(10, 60, 30, 70), *more[layout]]
    for y0, y1, x0, x1 in people:
        alpha[y0:y1, x0:x1] = cv2.GaussianBlur(
            rng.uniform(0, 1, (y1 - y0, x1 - x0)).astype(np.float32), (5, 5), 2
        )
    refiner = EdgeRefiner(work_short_side=work, color=color, threshold=threshold)
    cropped = refiner.refine(image, alpha)
    working = cv2.resize(alpha, (work * 16 // 9, work))
    boxes = refiner._boxes(working, 720, 1280, refiner.radius) or []
    assert len(boxes) == (3 if layout == "apart" else 1)  # the crop path ran
    monkeypatch.setattr("rtseg.matte.refine._whole_share", lambda scale: 0.0)  # never crop
    whole = EdgeRefiner(work_short_side=work, color=color, threshold=threshold).refine(image, alpha)
    assert whole[:, 800:1000].max() > 0 or faint == 0  # the faint alpha shows without the crop
    np.testing.assert_allclose(cropped, whole, atol=1e-5 if faint == 0 else 1.0 / 128)
    assert np.abs(cropped - whole).mean() < max(1e-6, faint)


@pytest.mark.parametrize("fine", [True, False])
def test_a_coarse_mask_is_fitted_at_the_coarse_size_with_the_same_window(fine):
    # At half the working size the radius halves too: the window stays as wide in frame pixels.
    image, truth = disc_scene(360, 640)
    coarse = cv2.resize(truth, (64, 36), interpolation=cv2.INTER_AREA)
    both = EdgeRefiner(radius=4, work_short_side=180, coarse_short_side=90).refine(
        image, coarse, fine
    )
    alone = EdgeRefiner(radius=4 if fine else 2, work_short_side=180 if fine else 90)
    np.testing.assert_array_equal(both, alone.refine(image, coarse))
    for radius, side in ((4, 90), (2, 180)) if fine else ((4, 90), (4, 180)):
        other = EdgeRefiner(radius=radius, work_short_side=side).refine(image, coarse)
        assert np.abs(both - other).max() > 0.02  # other sizes and windows give other masks


@pytest.mark.parametrize(
    ("image", "alpha"),
    [
        (np.zeros((10, 10), np.uint8), np.zeros((10, 10), np.float32)),
        (np.zeros((10, 10, 3), np.float32), np.zeros((10, 10), np.float32)),
        (np.zeros((10, 10, 3), np.uint8), np.zeros((1, 1, 10, 10), np.float32)),
        (np.zeros((10, 10, 3), np.uint8), np.zeros((10, 10), np.float64)),
    ],
)
def test_bad_inputs_are_refused_with_a_clear_error(image, alpha):
    with pytest.raises(RtsegError, match="refine needs"):
        EdgeRefiner().refine(image, alpha)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"radius": 0},
        {"eps": 0.0},
        {"feather": -1},
        {"threshold": (0.6, 0.4)},
        {"work_short_side": 2},
    ],
)
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(RtsegError):
        EdgeRefiner(**kwargs)
