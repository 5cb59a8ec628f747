"""`rtseg.Segmenter`: the mask `rtseg run` gives, one image at a time."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

import rtseg
from rtseg.errors import RtsegError
from rtseg.matte.frame_path import build_frame_path
from rtseg.matte.quality import LEVELS
from rtseg.matte.refine import EdgeRefiner
from rtseg.matte.stream import GAP_S
from rtseg.models.transforms import upscale_alpha
from tests.media import timed_clip
from tests.onnx_models import PERSON, brightness_model, rvm_signature_model

PORTRAIT = Path(rtseg.__file__).parent / "data" / "grace_hopper.jpg"


def test_the_mask_is_the_one_a_job_gives_the_same_image() -> None:
    from_job = []
    rtseg.process_video(PORTRAIT, on_frame=lambda frame: from_job.append(frame.alpha))
    image = cv2.imread(str(PORTRAIT))
    with rtseg.Segmenter(device="cpu") as segmenter:
        result = segmenter.segment(image)
    assert result.model == "selfie_general" and result.provider == "CPUExecutionProvider"
    assert result.alpha.dtype == np.float32 and result.alpha.shape == image.shape[:2]
    assert result.alpha.min() >= 0.0 and result.alpha.max() <= 1.0
    assert result.labels is None
    np.testing.assert_allclose(result.alpha, from_job[0], atol=1e-6)


# A clip's frame times: 30 fps, a one-second pause, then a variable rate (30 and 20 fps).
GAPPED_TIMES = [i / 30 for i in range(10)] + [
    1.3 + sum((1 / 30, 1 / 20)[k % 2] for k in range(i)) for i in range(14)
]


def walking(person: np.ndarray, background: tuple[int, int, int]) -> list[np.ndarray]:
    """`person` small, walking across a 480x270 wall, one frame per `GAPPED_TIMES`."""
    frames = []
    for i in range(len(GAPPED_TIMES)):
        frame = np.full((270, 480, 3), background, np.uint8)
        h, w = person.shape[:2]
        x = 60 + 9 * i
        frame[270 - h :, x : x + w] = person
        frames.append(frame)
    return frames


def job_and_segmenter_alphas(clip: Path, model: Path | str) -> tuple[list, list]:
    """Alpha of every frame of `clip` from `rtseg run`'s job and from a video-mode
    Segmenter fed the same decoded frames with their times."""
    from_job: list[np.ndarray] = []
    rtseg.process_video(
        clip, model=model, device="cpu", on_frame=lambda f: from_job.append(f.alpha.copy())
    )
    found, times = [], []
    with rtseg.Segmenter(model, device="cpu", mode="video") as video, rtseg.read_video(clip) as r:
        for frame in r:
            found.append(video.segment(frame.image, time_s=frame.time_s).alpha)
            times.append(frame.time_s)
    np.testing.assert_allclose(times, GAPPED_TIMES, atol=2e-3)
    return from_job, found


@pytest.mark.parametrize("matting", [False, True], ids=["selfie", "matting"])
def test_video_mode_gives_rtseg_run_s_masks_through_a_gap_and_a_variable_rate(
    tmp_path: Path, matting: bool
) -> None:
    """Frame for frame, with the zoom on (the files' default level), a one-second pause and
    a rate that changes: the time gap starts both afresh, and both weigh their smoothing by
    the time between frames."""
    if matting:  # a bright square the test matting network calls a person, on a dark wall
        model: Path | str = rvm_signature_model(tmp_path / "rvm_like.onnx")
        frames = walking(np.full((60, 40, 3), 255, np.uint8), (20, 20, 20))
    else:
        model = "selfie_general"
        person = cv2.resize(cv2.imread(str(PORTRAIT)), (96, 112), interpolation=cv2.INTER_AREA)
        frames = walking(person, (90, 110, 120))
    clip = timed_clip(tmp_path / "gapped.mp4", frames, GAPPED_TIMES)
    from_job, found = job_and_segmenter_alphas(clip, model)
    assert len(from_job) == len(found) == len(GAPPED_TIMES)
    for i, (a, b) in enumerate(zip(from_job, found, strict=True)):
        assert float(np.abs(a - b).max()) <= 3 / 255, f"frame {i}"
    assert float(np.abs(found[10] - found[9]).max()) > 0.05  # the frames do differ


def test_refine_on_is_the_quality_level_s_own_refinement() -> None:
    """`refine=True` refines with the level's own working sizes: on "best" (a zoomed mask)
    at 360 pixels, which keeps detail a refiner built apart from the level (at 180) blurs;
    `refine=False` upscales instead."""
    image = np.full((720, 1280, 3), (90, 110, 120), np.uint8)  # a person small in the frame
    image[360:, 700:1007] = cv2.resize(cv2.imread(str(PORTRAIT)), (307, 360))
    level = LEVELS["best"]
    path = build_frame_path(quality="best", stills=True, refine=False)
    with rtseg.Segmenter(device="cpu", quality="best", refine=True) as refined:
        mask = path.mask(refined.engine, path.model_input(image, refined.engine.info),
                         image, 0, path.new_stream(), still=True)  # fmt: skip
        got = refined.segment(image).alpha
    assert mask.zoomed  # the person was zoomed on: a mask with fine detail
    np.testing.assert_array_equal(got, level.refiner(True).refine(image, mask.alpha, fine=True))
    apart = EdgeRefiner().refine(image, mask.alpha, fine=True)
    assert float(np.abs(got - apart).max()) > 0.1
    with rtseg.Segmenter(device="cpu", quality="best", refine=False) as plain:
        np.testing.assert_array_equal(
            plain.segment(image).alpha, upscale_alpha(mask.alpha, *image.shape[:2])
        )


def test_labels_come_at_the_image_size_for_a_semantic_model(tmp_path: Path) -> None:
    model = brightness_model(tmp_path / "voc.onnx", 16, 16, labels=True, name="voc_test")
    image = np.zeros((48, 64, 3), np.uint8)
    image[:, 32:] = 255
    with rtseg.Segmenter(model, device="cpu") as segmenter:
        result = segmenter.segment(image)
    assert result.model == "voc_test" and result.labels.shape == (48, 64)
    assert (result.labels[:, 32:] == PERSON).all() and (result.labels[:, :32] == 0).all()


def grey(level: int) -> np.ndarray:
    return np.full((32, 32, 3), level, np.uint8)


def test_video_mode_smooths_across_calls_and_reset_starts_afresh(bright_model: Path) -> None:
    with rtseg.Segmenter(bright_model, device="cpu", refine=False) as still:
        still.segment(grey(100))
        plain = still.segment(grey(103)).alpha
    np.testing.assert_allclose(plain, 103 / 255, atol=1e-6)  # no memory between images
    with rtseg.Segmenter(bright_model, device="cpu", refine=False, mode="video") as video:
        video.segment(grey(100), time_s=0.0)
        smoothed = video.segment(grey(103), time_s=0.04)
        assert 100 / 255 < smoothed.alpha.mean() < 102 / 255  # held towards the previous frame
        assert smoothed.time_s == 0.04
        video.reset()
        np.testing.assert_allclose(video.segment(grey(103), 0.0).alpha, 103 / 255, atol=1e-6)


def video_alphas(bright_model: Path, times: list[float], levels: list[int]) -> list[float]:
    with rtseg.Segmenter(bright_model, device="cpu", refine=False, mode="video") as video:
        results = [video.segment(grey(v), time_s=t) for v, t in zip(levels, times, strict=True)]
    assert [r.time_s for r in results] == times
    return [float(r.alpha.mean()) * 255 for r in results]


def test_video_mode_smoothing_follows_the_time_between_frames(bright_model: Path) -> None:
    levels = [100, 100, 100, 103]  # a small change: smoothed, not taken whole
    regular = video_alphas(bright_model, [0.0, 0.04, 0.08, 0.12], levels)[-1]
    skipped = video_alphas(bright_model, [0.0, 0.04, 0.08, 0.16], levels)[-1]  # one frame lost
    after_a_gap = video_alphas(bright_model, [0.0, 0.04, 0.08, 0.08 + GAP_S + 0.01], levels)[-1]
    assert 100 < regular < skipped < 103  # two periods' worth of catching up, not one
    assert after_a_gap == pytest.approx(103, abs=1e-3)  # a gap starts afresh


def test_video_mode_needs_times_that_advance(bright_model: Path) -> None:
    with rtseg.Segmenter(bright_model, device="cpu", mode="video") as video:
        with pytest.raises(RtsegError, match="time_s"):
            video.segment(grey(0))
        video.segment(grey(0), time_s=1.0)
        with pytest.raises(RtsegError, match="must advance"):
            video.segment(grey(0), time_s=1.0)


def test_live_mode_drops_frames_while_busy_and_answers_in_time_order(bright_model) -> None:
    results: list[rtseg.Segmentation] = []
    first_done, release = threading.Event(), threading.Event()

    def on_result(result: rtseg.Segmentation) -> None:
        results.append(result)
        first_done.set()
        assert release.wait(30), "the test never let the worker go on"

    with rtseg.Segmenter(bright_model, device="cpu", mode="live", on_result=on_result) as live:
        live.submit(grey(10), time_s=0.0)
        assert first_done.wait(30)
        # The worker is held inside on_result: every submit must return without waiting,
        # and each frame replaces the one before it instead of queueing behind it.
        for i in range(1, 30):
            live.submit(grey(10 + i), time_s=i / 30)
        assert live.dropped == 28 and len(results) == 1
        release.set()
    assert [r.time_s for r in results] == [0.0, 29 / 30]  # the newest frame, in time order
    np.testing.assert_allclose(results[0].alpha, 10 / 255, atol=1e-6)


def test_live_mode_reports_a_failure_on_the_next_call(bright_model: Path) -> None:
    def on_result(result: rtseg.Segmentation) -> None:
        raise ValueError("the app's own bug")

    live = rtseg.Segmenter(bright_model, device="cpu", mode="live", on_result=on_result)
    live.submit(grey(0), time_s=0.0)
    with pytest.raises(RtsegError, match="the app's own bug"):
        live.close()
    with pytest.raises(RtsegError, match="segment"):
        live.segment(grey(0))


def test_modes_and_their_arguments_are_checked(bright_model: Path) -> None:
    with pytest.raises(RtsegError, match="unknown mode 'stream'"):
        rtseg.Segmenter(bright_model, mode="stream")
    with pytest.raises(RtsegError, match="on_result"):
        rtseg.Segmenter(bright_model, mode="live")
    with pytest.raises(RtsegError, match="on_result"):
        rtseg.Segmenter(bright_model, on_result=print)
    with (
        rtseg.Segmenter(bright_model, device="cpu") as images,
        pytest.raises(RtsegError, match="submit"),
    ):
        images.submit(grey(0), time_s=0.0)


def test_rgb_input_and_uint8_alpha() -> None:
    image = cv2.imread(str(PORTRAIT))
    with rtseg.Segmenter(device="cpu") as bgr:
        expected = bgr.segment(image).alpha
    rgb_image = np.ascontiguousarray(image[..., ::-1])
    with rtseg.Segmenter(device="cpu", color="rgb", alpha_dtype="uint8") as rgb:
        got = rgb.segment(rgb_image).alpha
    assert got.dtype == np.uint8 and got.shape == expected.shape
    np.testing.assert_allclose(got, np.round(expected * 255), atol=1)


def test_a_segmenter_leaves_opencv_s_thread_count_alone(bright_model: Path) -> None:
    before = cv2.getNumThreads()
    cv2.setNumThreads(3)
    try:
        with rtseg.Segmenter(bright_model, device="cpu", mode="video") as video:
            video.segment(grey(0), time_s=0.0)
            assert cv2.getNumThreads() == 3
    finally:
        cv2.setNumThreads(before)


def test_bad_images_and_a_closed_segmenter_are_refused(bright_model: Path) -> None:
    segmenter = rtseg.Segmenter(bright_model, device="cpu")
    with pytest.raises(RtsegError, match="BGR or BGRA uint8"):
        segmenter.segment(np.zeros((32, 32), np.uint8))
    with pytest.raises(RtsegError, match="BGR or BGRA uint8"):
        segmenter.segment(np.zeros((32, 32, 3), np.float32))
    segmenter.close()
    with pytest.raises(RtsegError, match="closed"):
        segmenter.segment(grey(0))


def test_an_unknown_model_is_refused() -> None:
    with pytest.raises(RtsegError, match="unknown model 'nope'"):
        rtseg.Segmenter("nope")


def test_a_matting_model_s_foreground_comes_at_the_image_size(tmp_path: Path) -> None:
    model = rvm_signature_model(tmp_path / "rvm_like.onnx")
    image = np.full((72, 128, 3), 73, np.uint8)  # a grey the test network half believes
    with rtseg.Segmenter(model, device="cpu", downsample_ratio=0.5, refine=False) as segmenter:
        first, again = segmenter.segment(image), segmenter.segment(image)
    assert first.fgr.shape == image.shape and first.fgr.dtype == np.uint8
    alpha = float(first.alpha[36, 64])
    assert 0.2 < alpha < 0.8
    # the network halves blue; that counts where the person is transparent
    np.testing.assert_allclose(first.fgr[36, 64], [73 - (1 - alpha) * 36.5, 73, 73], atol=1)
    np.testing.assert_array_equal(first.alpha, again.alpha)  # each image on its own
    with rtseg.Segmenter(brightness_model(tmp_path / "b.onnx"), device="cpu") as plain:
        assert plain.segment(image).fgr is None


def test_an_rgb_segmenter_gives_the_foreground_in_rgb(tmp_path: Path) -> None:
    model = rvm_signature_model(tmp_path / "rvm_like.onnx")
    image = np.full((72, 128, 3), 73, np.uint8)  # grey: the same in either order
    with rtseg.Segmenter(
        model, device="cpu", downsample_ratio=0.5, color="rgb", refine=False
    ) as segmenter:
        found = segmenter.segment(image)
    alpha = float(found.alpha[36, 64])
    assert 0.2 < alpha < 0.8  # transparent enough for the network's colours to count
    expected = [73, 73, 73 - (1 - alpha) * 36.5]  # blue halved where transparent, last
    np.testing.assert_allclose(found.fgr[36, 64], expected, atol=1)


def test_a_gap_in_time_restarts_a_recurrent_model_s_state(tmp_path: Path) -> None:
    model = rvm_signature_model(tmp_path / "rvm_like.onnx")
    image = np.full((72, 128, 3), 200, np.uint8)
    with rtseg.Segmenter(model, device="cpu", mode="video", refine=False) as video:
        steady = [float(video.segment(image, time_s=i / 25).alpha.mean()) for i in range(4)]
        after_gap = float(video.segment(image, time_s=3 / 25 + GAP_S + 0.1).alpha.mean())
    assert steady[0] < steady[1] < steady[3]  # the state builds up frame after frame
    assert after_gap == pytest.approx(steady[0], abs=1e-6)  # and starts again after the gap


def test_labels_and_an_image_s_own_transparency_are_as_a_job_gives_them(tmp_path: Path) -> None:
    """A semantic model on a BGRA photo: its labels come at the image's size and its own
    transparency is multiplied into the alpha, from a job as from a segmenter."""
    model = brightness_model(tmp_path / "voc.onnx", 16, 16, labels=True, name="voc_test")
    photo = np.zeros((48, 64, 4), np.uint8)
    photo[:, 32:, :3] = 255  # bright, "person", on the right
    photo[:, :, 3] = 255
    photo[:24, :, 3] = 0  # the top half transparent
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), photo)
    from_job = []
    rtseg.process_video(path, model=model, device="cpu", on_frame=from_job.append)
    (frame,) = from_job
    with rtseg.Segmenter(model, device="cpu") as segmenter:
        found = segmenter.segment(photo)
    assert found.labels.shape == frame.labels.shape == (48, 64)
    np.testing.assert_array_equal(found.labels, frame.labels)
    np.testing.assert_allclose(found.alpha, frame.alpha, atol=1e-6)
    assert found.alpha[:24].max() == 0.0 and found.alpha[30:, 40:].min() > 0.9


def test_four_threads_on_one_segmenter_get_their_own_masks() -> None:
    """Calls from several threads take turns: each result is its own image's, as a call from
    one thread gives it (unserialised, the shared per-stream state mixed images up)."""
    portrait = cv2.imread(str(PORTRAIT))
    images = [cv2.resize(portrait, (w, h)) for w, h in ((160, 200), (200, 160), (120, 120))]
    images.append(np.ascontiguousarray(images[0][:, ::-1]))  # the mirror image
    with rtseg.Segmenter(device="cpu", threads=1) as segmenter:
        expected = [segmenter.segment(image).alpha for image in images]
        wrong: list[tuple[int, float]] = []
        start = threading.Barrier(4)

        def work(index: int) -> None:
            start.wait()
            for _ in range(12):
                got = segmenter.segment(images[index]).alpha
                if got.shape != expected[index].shape or not np.allclose(got, expected[index]):
                    wrong.append((index, float(np.abs(got - expected[index]).max())))

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    assert wrong == []


def test_an_exception_in_a_live_block_is_not_replaced(bright_model: Path) -> None:
    failed = threading.Event()

    def on_result(result: rtseg.Segmentation) -> None:
        failed.set()
        raise ValueError("the app's callback failed")

    live = rtseg.Segmenter(bright_model, device="cpu", mode="live", on_result=on_result)
    with pytest.raises(KeyError) as raised, live:
        live.submit(grey(0), time_s=0.0)
        assert failed.wait(30)
        live._worker.join(30)  # the worker has recorded its failure: close() would raise it
        raise KeyError("the app's own error")
    assert raised.value.args == ("the app's own error",)


def test_after_a_callback_failed_submit_says_so_not_closed(bright_model: Path) -> None:
    def on_result(result: rtseg.Segmentation) -> None:
        raise ValueError("the app's callback failed")

    live = rtseg.Segmenter(bright_model, device="cpu", mode="live", on_result=on_result)
    live.submit(grey(0), time_s=0.0)
    live._worker.join(30)  # the worker ended on the callback's exception
    with pytest.raises(RtsegError, match="ValueError: the app's callback failed") as first:
        live.submit(grey(0), time_s=0.1)
    assert isinstance(first.value.__cause__, ValueError)
    with pytest.raises(RtsegError, match=r"stopped when its worker failed.*make a new one"):
        live.submit(grey(0), time_s=0.2)
    live.close()  # the failure was said: closing is quiet
    with pytest.raises(RtsegError, match="stopped when its worker failed"):
        live.submit(grey(0), time_s=0.3)


def test_a_cutout_is_the_image_with_its_alpha(tmp_path: Path) -> None:
    image = cv2.resize(cv2.imread(str(PORTRAIT)), (120, 150))
    with rtseg.Segmenter(device="cpu") as segmenter:
        result = segmenter.segment(image)
    cutout = result.cutout()
    assert cutout.shape == (150, 120, 4) and cutout.dtype == np.uint8
    np.testing.assert_array_equal(cutout[..., :3], image)
    np.testing.assert_array_equal(cutout[..., 3], np.round(result.alpha * 255))
    rgb = np.ascontiguousarray(image[..., ::-1])
    with rtseg.Segmenter(device="cpu", color="rgb", alpha_dtype=np.uint8) as segmenter:
        rgba = segmenter.segment(rgb).cutout()
    np.testing.assert_array_equal(rgba[..., :3], rgb)  # RGBA for an RGB segmenter
    np.testing.assert_allclose(rgba[..., 3], cutout[..., 3], atol=1)
    path = tmp_path / "person.png"
    assert cv2.imwrite(str(path), cutout)
    np.testing.assert_array_equal(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), cutout)


def test_a_matting_model_s_cutout_has_its_foreground_colours(tmp_path: Path) -> None:
    model = rvm_signature_model(tmp_path / "rvm.onnx")
    image = np.full((48, 64, 3), 90, np.uint8)
    with rtseg.Segmenter(model, device="cpu") as segmenter:
        result = segmenter.segment(image)
    assert result.fgr is not None
    np.testing.assert_array_equal(result.cutout()[..., :3], result.fgr)


def test_results_and_segmenters_print_short(bright_model: Path) -> None:
    with rtseg.Segmenter(bright_model, device="cpu", alpha_dtype=np.dtype("uint8")) as segmenter:
        result = segmenter.segment(np.zeros((48, 64, 3), np.uint8), time_s=None)
        shown = repr(segmenter)
    assert repr(result) == (
        "Segmentation(alpha=uint8 48x64, labels=None, model='brightness', "
        "provider='CPUExecutionProvider', time_s=None, fgr=None)"
    )
    assert shown == "Segmenter('brightness', mode='image', CPUExecutionProvider)"
    assert repr(segmenter) == "Segmenter('brightness', mode='image', closed)"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"alpha_dtype": np.int16}, "unknown alpha_dtype"),
        ({"alpha_dtype": "float64"}, "unknown alpha_dtype"),
        ({"downsample_ratio": 0}, r"downsample_ratio= must be a number in \(0, 1\]"),
        ({"downsample_ratio": 1.5}, r"downsample_ratio= must be a number in \(0, 1\]"),
        ({"threads": 0}, r"threads= must be a whole number >= 1"),
    ],
)
def test_bad_settings_are_refused(bright_model: Path, options: dict, message: str) -> None:
    with pytest.raises(RtsegError, match=message):
        rtseg.Segmenter(bright_model, device="cpu", **options)


def test_an_empty_image_is_refused(bright_model: Path, tmp_path: Path) -> None:
    with rtseg.Segmenter(bright_model, device="cpu") as segmenter:
        for empty in (np.zeros((0, 0, 3), np.uint8), np.zeros((0, 64, 3), np.uint8)):
            with pytest.raises(RtsegError, match="takes a BGR or BGRA uint8"):
                segmenter.segment(empty)
    frames = [np.zeros((48, 64, 3), np.uint8), np.zeros((0, 64, 3), np.uint8)]
    with pytest.raises(RtsegError, match="frame 1 of the frames given"):
        rtseg.process_video(frames, tmp_path / "o.mp4", model=bright_model, fps=10)
