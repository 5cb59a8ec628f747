"""`Job` under live controls: real model switches during real runs, the way the preview's
buttons make them."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from rtseg.errors import RtsegError
from rtseg.io.sources import open_source
from rtseg.job import Job, JobConfig
from rtseg.matte.compose import blend
from rtseg.models.contract import ModelInfo, metadata_dict
from rtseg.models.transforms import to_model_input
from rtseg.pipeline.frame import Frame
from tests.conftest import write_clip
from tests.onnx_models import brightness_model, rvm_signature_model

FRAMES, GATE = 30, 10


class GatedSource:
    """A real clip whose frame `at` waits until the test opens the gate, so a control can
    land at a known point of the run."""

    def __init__(self, path: Path, at: int) -> None:
        self.inner = open_source(str(path))
        self.live, self.fps = False, self.inner.fps
        self.at = at
        self.gate = threading.Event()

    def read(self) -> Frame | None:
        frame = self.inner.read()
        if frame is not None and frame.seq == self.at:
            self.gate.wait(60)
        return frame

    def close(self) -> None:
        self.gate.set()
        self.inner.close()


class RecordingSink:
    """Keeps what each frame reached the sinks with."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []

    def write(self, frame: Frame) -> None:
        self.frames.append(frame)

    def close(self) -> None:
        pass

    abort = close


class Running:
    """`job.run()` on a thread, with its outcome."""

    def __init__(self, job: Job, sink: RecordingSink) -> None:
        self.job, self.sink = job, sink
        self.error: BaseException | None = None
        self.before: set[threading.Thread] = set()  # the threads there before the job
        self.thread = threading.Thread(target=self._run, name="test-run")
        self.thread.start()

    def _run(self) -> None:
        try:
            self.job.run()
        except BaseException as exc:
            self.error = exc

    def wait_for_frames(self, count: int) -> None:
        deadline = time.monotonic() + 60
        while len(self.sink.frames) < count:
            assert time.monotonic() < deadline and self.thread.is_alive(), self.error
            time.sleep(0.01)

    def finish(self) -> None:
        self.job.source.gate.set()
        self.thread.join(120)
        assert not self.thread.is_alive()
        if self.error is not None:
            raise self.error


def start(tmp_path: Path, model: Path, effect: str, sinks: tuple[str, ...] = ()) -> Running:
    clip = write_clip(tmp_path / "clip.mp4", frames=FRAMES)
    before = set(threading.enumerate())
    sink = RecordingSink()
    config = JobConfig(source=clip, model=model, effect=effect, sinks=[*sinks, sink])
    job = Job(config, source=GatedSource(clip, GATE))
    # the answer, not a "still loading", whatever the machine's load
    job.controls.switch.wait_s = 60
    running = Running(job, sink)
    running.before = before
    running.wait_for_frames(GATE)  # frames 0..9 are out; frame 10 waits at the gate
    return running


@pytest.fixture
def labelled(tmp_path: Path) -> Path:
    return brightness_model(tmp_path / "voc.onnx", 32, 32, labels=True, name="voc_test")


def test_a_person_model_is_refused_under_the_classes_effect_and_the_run_goes_on(
    tmp_path: Path, labelled: Path
) -> None:
    run = start(tmp_path, labelled, "classes")
    job = run.job
    first = job.engine
    with pytest.raises(RtsegError, match="segments people only"):
        # what used to kill the run on the next frame
        job.controls.control("model", "selfie_general")
    assert job.engine is first
    assert job.controls.control("effect", "blur") == "effect blur"
    assert job.controls.control("model", "selfie_general") == "switching to selfie_general"
    run.finish()
    frames = run.sink.frames
    assert [f.seq for f in frames] == list(range(FRAMES))
    assert all(f.labels is not None for f in frames[:GATE])  # the labelled model, classes
    assert all(f.labels is None for f in frames[GATE:])  # selfie_general from frame 10 on
    centre = frames[0].output[60, 35]  # of the bright square, "person" to the model
    np.testing.assert_allclose(centre, [179, 179, 217], atol=3)  # VOC person over white
    assert job.summary()["model"] == "selfie_general"
    assert first.session is None  # the old engine was closed after the swap
    assert job.controls.live_stats()["switch"] == "running selfie_general"
    with pytest.raises(RtsegError, match="switch the model first"):
        job.controls.control("effect", "classes")  # and selfie_general can't show classes
    shown = []
    for _ in range(3):  # the window's e key steps past it too
        job.controls.on_key("effect")
        shown.append(job.controls.live_stats()["effect"])
    assert shown == ["color", "mask", "blur"]


def test_a_model_of_the_same_size_gets_its_own_preprocessing(tmp_path: Path) -> None:
    linear = brightness_model(tmp_path / "linear.onnx", 32, 32, name="linear32")
    info = ModelInfo("corners32", 32, 32, "corners_linear", "tests", "MIT", "fp32", True)
    corners = brightness_model(tmp_path / "corners.onnx", 32, 32, meta=metadata_dict(info))
    run = start(tmp_path, linear, "blur")
    assert run.job.controls.control("model", str(corners)) == f"switching to {corners}"
    run.finish()
    frames = run.sink.frames
    assert [f.seq for f in frames] == list(range(FRAMES))
    for frame in frames[GATE:]:
        made = to_model_input(frame.image, frame.model_input.model)
        assert frame.model_input.model.resize == "corners_linear"
        np.testing.assert_array_equal(frame.model_input.tensor, made)
    old = to_model_input(frames[-1].image, frames[0].model_input.model)
    assert not np.array_equal(frames[-1].model_input.tensor, old)  # the resize modes differ here


def post(url: str, payload: dict) -> tuple[int, dict]:
    body = json.dumps(payload).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_the_preview_buttons_refuse_and_switch_without_breaking_the_run(
    tmp_path: Path, labelled: Path
) -> None:
    run = start(tmp_path, labelled, "classes", sinks=("http:0",))
    preview = run.job.sinks[0]
    url = f"http://127.0.0.1:{preview.port}/control"
    status, reply = post(url, {"model": "selfie_general"})
    assert status == 400 and "segments people only" in reply["error"]
    assert post(url, {"effect": "mask"}) == (200, {"effect": "mask", "note": "effect mask"})
    status, reply = post(url, {"model": "selfie_general"})
    assert status == 200 and reply["note"] == "switching to selfie_general"
    # every thread the run started is named for the leak check: stages, preview, loader
    started = {t.name for t in set(threading.enumerate()) - run.before} - {"test-run"}
    assert {"rtseg-capture", "rtseg-infer", "rtseg-sink", "rtseg-preview"} <= started
    assert all(name.startswith("rtseg-") for name in started), started
    run.finish()
    assert [f.seq for f in run.sink.frames] == list(range(FRAMES))
    assert run.job.summary()["model"] == "selfie_general"


def test_a_matting_model_gives_each_frame_its_foreground_and_effects_use_it(
    tmp_path: Path,
) -> None:
    rvm = rvm_signature_model(tmp_path / "rvm_like.onnx")
    run = start(tmp_path, brightness_model(tmp_path / "b.onnx"), "color:#00ff00")
    assert run.job.controls.control("model", str(rvm)) == f"switching to {rvm}"
    run.finish()
    frames = run.sink.frames
    assert [f.seq for f in frames] == list(range(FRAMES))
    assert all(f.fgr is None for f in frames[:GATE])
    for frame in frames[GATE:]:
        assert frame.fgr.dtype == np.uint8 and frame.fgr.shape == frame.image.shape
    last = frames[-1]
    alpha = last.alpha if last.alpha.dtype == np.float32 else last.alpha / np.float32(255)
    solid, soft = alpha > 0.999, (alpha > 0.1) & (alpha < 0.9)
    assert solid.any() and soft.any()
    # where the person is solid its colours are the frame's; where it is transparent the
    # network's, which halve blue, count in proportion
    np.testing.assert_array_equal(last.fgr[solid], last.image[solid])
    blue, was = last.fgr[soft][:, 0], last.image[soft][:, 0]
    assert blue.mean() < 0.9 * was.mean() and (blue < was).mean() > 0.8
    green = np.empty_like(last.image)
    green[:] = (0, 255, 0)
    np.testing.assert_array_equal(last.output, blend(last.fgr, green, last.alpha))


def test_photos_of_a_folder_are_matted_each_on_its_own(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    grey = np.full((72, 128, 3), 100, np.uint8)
    grey[:, :32] = 255
    for name in ("a", "c"):
        cv2.imwrite(str(folder / f"{name}.png"), grey)
    cv2.imwrite(str(folder / "b.png"), np.full((72, 128, 3), 255, np.uint8))
    sink = RecordingSink()
    model = rvm_signature_model(tmp_path / "rvm_like.onnx")
    Job(JobConfig(source=folder, model=model, effect="mask", sinks=[sink])).run()
    first, white, again = (f.output for f in sink.frames)
    np.testing.assert_array_equal(first, again)  # the white photo between left nothing behind
    assert not np.array_equal(first, white)


def portrait_then_grey(folder: Path) -> Path:
    """A folder of two photos: a real portrait, then a flat grey wall."""
    folder.mkdir()
    portrait = cv2.imread(str(Path(rtseg_data(), "grace_hopper.jpg")))
    cv2.imwrite(str(folder / "1.png"), cv2.resize(portrait, (256, 320)))
    cv2.imwrite(str(folder / "2.png"), np.full((320, 256, 3), 128, np.uint8))
    return folder


def rtseg_data() -> Path:
    import rtseg

    return Path(rtseg.__file__).parent / "data"


def test_mask_every_never_lends_a_photo_another_photo_s_mask(tmp_path: Path) -> None:
    folder = portrait_then_grey(tmp_path / "photos")
    masks = {}
    for every in (1, 2):
        sink = RecordingSink()
        config = JobConfig(source=folder, effect="mask", sinks=[sink], mask_every=every)
        Job(config).run()
        masks[every] = [f.alpha for f in sink.frames]
    person, wall = masks[2]
    assert person.mean() > 0.2  # the portrait's person...
    assert wall.max() < 0.05  # ...is not lent to the wall
    np.testing.assert_array_equal(wall, masks[1][1])


def test_a_numbered_frame_pattern_is_a_video_not_photos(tmp_path: Path) -> None:
    """`img_%04d.png` frames are one stream: the files' default level, and a recurrent
    model's state carried from frame to frame (the folder's photos each start afresh)."""
    frames = tmp_path / "frames"
    frames.mkdir()
    grey = np.full((72, 128, 3), 100, np.uint8)
    for i in range(1, 4):
        cv2.imwrite(str(frames / f"img_{i:04d}.png"), grey)
    model = rvm_signature_model(tmp_path / "rvm_like.onnx")
    alphas = {}
    for spec in (str(frames / "img_%04d.png"), str(frames)):
        sink = RecordingSink()
        job = Job(JobConfig(source=spec, model=model, effect="mask", sinks=[sink], refine=False))
        level = job.path.level_name
        job.run()
        alphas[spec == str(frames)] = (level, [float(f.alpha[36, 64]) for f in sink.frames])
    (video_level, video), (photo_level, photos) = alphas[False], alphas[True]
    assert (video_level, photo_level) == ("balanced", "best")
    assert video[0] < video[1] < video[2]  # the state builds up over the frames
    assert photos[0] == photos[1] == photos[2]  # each photo on its own


def test_a_matting_model_leaves_a_video_s_stages_a_core_and_gives_photos_every_core(
    tmp_path: Path,
) -> None:
    model = rvm_signature_model(tmp_path / "rvm_like.onnx")
    clip = write_clip(tmp_path / "in.mp4", frames=2)
    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "a.png"), np.full((72, 128, 3), 100, np.uint8))
    cores = os.cpu_count() or 1
    for source, threads in ((clip, max(1, min(cores - 1, 4))), (photos, min(cores, 4))):
        with Job(JobConfig(source=str(source), model=model, sinks=["null"])) as job:
            assert job.engine.threads == threads
            assert job.summary()["inference_threads"] == threads
    with Job(JobConfig(source=str(clip), sinks=["null"])) as job:  # the bundled model
        assert job.engine.threads == 1
