"""`rtseg.process_video` and the public names: the CLI's job, from Python."""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

import rtseg
from rtseg.pipeline.frame import Frame
from tests.conftest import ROOT, decode_frames
from tests.media import frame_times
from tests.onnx_models import rvm_signature_model


def test_the_public_names_are_all_there() -> None:
    """`__all__` lists each public name once, every one of them, and every `rtseg.NAME` the
    README and the docs use; each is rtseg's own (not a name of a library it imports)."""
    assert len(rtseg.__all__) == len(set(rtseg.__all__))
    public = {
        name
        for name, value in vars(rtseg).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert public | {"__version__"} == set(rtseg.__all__)
    star: dict[str, object] = {}
    exec("from rtseg import *", star)  # what a user's star import gets
    assert set(star) - {"__builtins__"} == set(rtseg.__all__)
    for name in public:
        assert getattr(rtseg, name).__module__.startswith("rtseg."), name
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    used = {m for page in pages for m in re.findall(r"\brtseg\.([A-Za-z_]\w*)", page.read_text())}
    modules = {name for name in used if importlib.util.find_spec(f"rtseg.{name}") is not None}
    assert used - modules, "the docs name no public API: the scan finds nothing"
    assert used - modules <= set(rtseg.__all__), used - modules - set(rtseg.__all__)


def test_a_file_to_a_file_with_frames_handed_to_python(tmp_path: Path, clip: Path, bright_model):
    seen: list[Frame] = []

    def on_frame(frame: Frame) -> None:
        seen.append(frame)
        frame.output = np.full_like(frame.image, (0, 0, 255))  # what the file will hold

    out = tmp_path / "out.mp4"
    stats = rtseg.process_video(
        clip, out, model=bright_model, effect=rtseg.Blur(31), on_frame=on_frame
    )
    assert stats.frames_in == stats.frames_out == 24 and stats.drops == 0
    assert stats.model == "brightness"
    assert 0 < stats.latency_ms.p50 <= stats.latency_ms.p99 and stats.fps_out > 0
    assert {"preprocess", "infer", "postprocess", "sink"} <= set(stats.stages)
    assert rtseg.RunStats.from_dict(json.loads(json.dumps(stats.as_dict()))) == stats
    assert [f.seq for f in seen] == list(range(24))
    assert seen[0].alpha.shape == seen[0].image.shape[:2] == (120, 160)
    written = decode_frames(out)
    assert len(written) == 24
    assert np.abs(written[5].reshape(-1, 3).mean(axis=0) - (0, 0, 255)).max() < 8


def test_objects_and_cli_strings_make_the_same_output(tmp_path: Path, clip: Path, bright_model):
    rtseg.process_video(clip, tmp_path / "strings", model=bright_model, effect="color:#00b140")
    rtseg.process_video(
        clip,
        [rtseg.ImageFolder(tmp_path / "objects")],
        model=bright_model,
        effect=rtseg.Color("#00b140"),
    )
    strings = sorted((tmp_path / "strings").glob("*.png"))
    objects = sorted((tmp_path / "objects").glob("*.png"))
    assert [p.name for p in strings] == [p.name for p in objects] and len(strings) == 24
    for a, b in zip(strings, objects, strict=True):
        assert np.array_equal(cv2.imread(str(a)), cv2.imread(str(b)))


def test_any_object_with_write_close_and_abort_is_a_sink(clip: Path, bright_model) -> None:
    class Collect:
        def __init__(self) -> None:
            self.frames: list[int] = []
            self.closed = False

        def write(self, frame: Frame) -> None:
            self.frames.append(frame.seq)

        def close(self) -> None:
            self.closed = True

        abort = close

    sink = Collect()
    rtseg.process_video(clip, sink, model=bright_model, max_frames=10)
    assert sink.frames == list(range(10)) and sink.closed
    with pytest.raises(rtseg.RtsegError, match="is not a sink"):
        rtseg.process_video(clip, object(), model=bright_model)


def test_options_are_jobconfig_fields_and_failures_raise(tmp_path: Path, clip: Path, bright_model):
    # every JobConfig field but the four process_video builds is a keyword of its own, so a
    # type checker sees a misspelt one and Python refuses it by name
    keywords = inspect.signature(rtseg.process_video).parameters
    fields = {f.name for f in dataclasses.fields(rtseg.JobConfig)}
    assert fields - set(keywords) == {"sinks"}  # `source` is the first argument
    with pytest.raises(TypeError, match="unexpected keyword argument 'overwite'"):
        rtseg.process_video(clip, tmp_path / "o.mp4", overwite=True)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'sinks'"):
        rtseg.process_video(clip, sinks=["null"])  # type: ignore[call-arg]
    out = tmp_path / "o.mp4"
    out.write_bytes(b"precious")
    with pytest.raises(rtseg.RtsegError, match="already exists"):
        rtseg.process_video(clip, out, model=bright_model)
    assert out.read_bytes() == b"precious"
    rtseg.process_video(clip, out, model=bright_model, overwrite=True, max_frames=5)
    assert len(decode_frames(out)) == 5


def test_importing_rtseg_loads_opencv_before_pyav() -> None:
    # PyAV loaded first makes OpenCV's window hang (tests/test_window.py shows it under Xvfb)
    code = "import sys, rtseg; m = list(sys.modules); print(m.index('cv2') < m.index('av'))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "True", done.stderr


def test_ctrl_c_raises_stopped_and_keeps_the_partial_output(tmp_path: Path, bright_model) -> None:
    # A program's Ctrl-C must not look like a finished video: process_video raises
    # rtseg.Stopped, and the frames written so far are kept under a name that says so.
    out = tmp_path / "out.mp4"
    code = f"""
import sys, rtseg
started = []
def tell(frame):
    if not started:
        started.append(1)
        print("started", flush=True)
try:
    rtseg.process_video("sample", {str(out)!r}, model={str(bright_model)!r},
                        on_frame=tell, max_frames=100000)
    print("returned")
except rtseg.Stopped as exc:
    print("stopped", exc.exit_status)
"""
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a shell's background job ignores SIGINT; this one must take it as a terminal would
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout.readline().strip() == "started", proc.stderr.read()
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=60)
    assert rest.split() == ["stopped", "130"], err
    assert not out.exists()
    partial = out.with_name("out.partial.mp4")
    assert len(decode_frames(partial)) > 0


def moving_square(count: int, size=(96, 64)):
    """Frames a program makes itself: a bright square moving over a dark background."""
    w, h = size
    for i in range(count):
        image = np.full((h, w, 3), 30, np.uint8)
        image[10:40, 4 + 2 * i : 34 + 2 * i] = 220
        yield image


def test_frames_from_a_generator_come_out_in_a_file(tmp_path: Path, bright_model) -> None:
    out = tmp_path / "made.mp4"
    stats = rtseg.process_video(moving_square(17), out, model=bright_model, fps=25)
    assert stats.frames_in == stats.frames_out == 17
    assert frame_times(out) == pytest.approx([i / 25 for i in range(17)], abs=1e-3)


def test_frames_with_times_keep_them(tmp_path: Path, bright_model) -> None:
    times = [0.0, 0.04, 0.08, 0.5, 0.54, 1.25]  # two gaps
    frames = zip(moving_square(len(times)), times, strict=True)
    out = tmp_path / "timed.mkv"
    seen: list[float] = []
    rtseg.process_video(
        frames, out, model=bright_model, on_frame=lambda f: seen.append(float(f.time_s()))
    )
    assert seen == pytest.approx(times, abs=1e-4)
    assert frame_times(out) == pytest.approx(times, abs=1e-3)


def test_a_reader_feeds_process_video(tmp_path: Path, clip: Path, bright_model) -> None:
    out = tmp_path / "again.mp4"
    with rtseg.read_video(clip) as reader:
        stats = rtseg.process_video(reader, out, model=bright_model)
    assert stats.frames_out == 24
    assert frame_times(out) == pytest.approx(frame_times(clip), abs=1e-3)


def test_frames_given_badly_are_one_clear_error(tmp_path: Path, bright_model) -> None:
    with pytest.raises(rtseg.RtsegError, match="fps="):
        rtseg.process_video(moving_square(3), tmp_path / "a.mp4", model=bright_model)
    closed = []

    def frames_then_a_float_image():
        try:
            yield from moving_square(3)
            yield np.zeros((64, 96, 3), np.float32)
            yield from moving_square(3)
        finally:
            closed.append(True)

    with pytest.raises(rtseg.RtsegError, match=r"frame 3 of the frames given.*float32"):
        rtseg.process_video(
            frames_then_a_float_image(), tmp_path / "b.mp4", model=bright_model, fps=10
        )
    assert closed == [True]  # the generator was closed, not left suspended
    assert not (tmp_path / "b.mp4").exists()


def test_a_run_gives_opencv_s_thread_count_back(bright_model: Path) -> None:
    """A run sets OpenCV to one thread (process-wide) and gives the caller's count back
    when it ends; setting up a job that is not run, and a Segmenter, leave it alone."""
    previous = cv2.getNumThreads()
    cv2.setNumThreads(3)
    try:
        during: list[int] = []
        rtseg.process_video(
            "sample",
            model=bright_model,
            max_frames=2,
            width=64,
            height=48,
            on_frame=lambda frame: during.append(cv2.getNumThreads()),
        )
        assert during == [1, 1]
        assert cv2.getNumThreads() == 3
        job = rtseg.Job(rtseg.JobConfig(source="sample", model=str(bright_model), sinks=[]))
        job.source.close()
        assert cv2.getNumThreads() == 3
        with rtseg.Segmenter(bright_model, device="cpu") as segmenter:
            segmenter.segment(np.zeros((48, 64, 3), np.uint8))
        assert cv2.getNumThreads() == 3
    finally:
        cv2.setNumThreads(previous)


def test_progress_is_reported_as_frames_are_written(tmp_path: Path, clip: Path, bright_model):
    calls: list[tuple[int, int | None]] = []
    rtseg.process_video(
        clip, tmp_path / "p.mp4", model=bright_model, progress=lambda *a: calls.append(a)
    )
    assert calls and calls[-1] == (24, 24)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    calls.clear()
    rtseg.process_video(
        moving_square(7),
        rtseg.Null(),
        model=bright_model,
        fps=10,
        progress=lambda *a: calls.append(a),
    )
    assert calls[-1] == (7, None)  # a generator's length is not known in advance
    stats = rtseg.process_video(clip, tmp_path / "bar.mp4", model=bright_model, progress=True)
    assert stats.frames_out == 24


def test_fps_out_is_timed_from_the_first_frame(bright_model: Path) -> None:
    """Setting a job up (opening the source, loading the model) is not running time: a job
    that waits a second before `run()` reports the rate of its frames, not of that second."""
    first: list[int] = []
    job = rtseg.Job(
        rtseg.JobConfig(
            source="sample", model=str(bright_model), max_frames=30, width=64, height=48,
            sinks=[rtseg.Callback(lambda frame: first or first.append(frame.capture_ns))],
        )
    )  # fmt: skip
    time.sleep(1.0)
    job.run()
    ran_s = (time.monotonic_ns() - first[0]) / 1e9  # from the first frame's capture
    stats = job.summary()
    assert 0 < stats["elapsed_s"] <= ran_s + 0.001
    assert stats["fps_out"] == pytest.approx(30 / stats["elapsed_s"], rel=0.05)  # ms rounding


def test_one_pass_writes_a_blurred_video_and_rgba_pngs(tmp_path: Path, clip: Path, bright_model):
    alphas: list[np.ndarray] = []
    stats = rtseg.process_video(
        clip,
        [
            rtseg.VideoFile(tmp_path / "blur.mp4", effect="blur"),
            rtseg.ImageFolder(tmp_path / "alpha", effect=rtseg.AlphaOut()),
            rtseg.VideoFile(tmp_path / "run.mp4"),  # the run's own effect
        ],
        model=bright_model,
        effect="mask",
        on_frame=lambda frame: alphas.append(frame.alpha.copy()),
    )
    assert stats.frames_in == stats.frames_out == 24
    pngs = sorted((tmp_path / "alpha").glob("*.png"))
    assert len(pngs) == 24
    rgba = cv2.imread(str(pngs[5]), cv2.IMREAD_UNCHANGED)
    assert rgba.shape == (120, 160, 4)  # BGRA: colour and the person's alpha
    np.testing.assert_allclose(rgba[..., 3], np.round(alphas[5] * 255), atol=1)
    # The blurred file is the one a run with blur for every output writes: same masks.
    rtseg.process_video(clip, tmp_path / "all-blur.mp4", model=bright_model, effect="blur")
    blurred, reference = (
        decode_frames(tmp_path / "blur.mp4"),
        decode_frames(tmp_path / "all-blur.mp4"),
    )
    assert len(blurred) == 24 and all(map(np.array_equal, blurred, reference))
    mask_view = decode_frames(tmp_path / "run.mp4")[5]
    assert cv2.absdiff(mask_view[..., 0], mask_view[..., 2]).max() < 8  # grey: the mask view


def test_an_output_s_effect_the_model_cannot_show_is_refused(tmp_path, clip, bright_model):
    for effect, reason in (("classes", "--labels"), ("foreground", "foreground colours")):
        with pytest.raises(rtseg.RtsegError, match=reason):
            rtseg.process_video(
                clip, rtseg.ImageFolder(tmp_path / effect, effect=effect), model=bright_model
            )
        assert not (tmp_path / effect).exists()


def test_a_matting_model_writes_its_foreground_beside_the_alpha(tmp_path: Path, clip: Path):
    model = rvm_signature_model(tmp_path / "rvm_like.onnx")
    rtseg.process_video(
        clip,
        [
            rtseg.ImageFolder(tmp_path / "fgr", effect="foreground"),
            rtseg.ImageFolder(tmp_path / "alpha", effect="alpha"),
        ],
        model=model,
        quality="fast",  # the whole frame through the model, so all of it has foreground
    )
    fgr = cv2.imread(str(sorted((tmp_path / "fgr").glob("*.png"))[3]))
    alpha = cv2.imread(str(sorted((tmp_path / "alpha").glob("*.png"))[3]), cv2.IMREAD_UNCHANGED)
    frame = decode_frames(clip)[3].astype(int)
    # the test model's foreground is the frame with its blue channel halved; it counts where
    # the person is transparent (here: all but the bright square), the frame where solid
    clear, solid = alpha[..., 3] < 8, alpha[..., 3] > 250
    assert clear.mean() > 0.5 and solid.any()
    assert abs(fgr[..., 0].astype(int) - frame[..., 0] // 2)[clear].mean() < 3
    assert abs(fgr[..., 0].astype(int) - frame[..., 0])[solid].mean() < 3
    assert abs(fgr[..., 2].astype(int) - frame[..., 2]).mean() < 3
    assert len(list((tmp_path / "alpha").glob("*.png"))) == 24


def test_a_failing_frame_source_raises_an_rtseg_error_with_its_cause(tmp_path: Path, bright_model):
    def frames(fail_at: int):
        yield from moving_square(fail_at)
        raise ValueError("camera unplugged")

    for fail_at in (0, 3):  # before the run starts, and inside the capture thread
        try:
            rtseg.process_video(frames(fail_at), tmp_path / "o.mp4", model=bright_model, fps=10)
        except rtseg.RtsegError as exc:
            assert f"frame {fail_at}" in str(exc) and "ValueError: camera unplugged" in str(exc)
            assert isinstance(exc.__cause__, ValueError)
        else:
            pytest.fail("the failing source raised nothing")
        assert not (tmp_path / "o.mp4").exists()
    assert issubclass(rtseg.StageError, rtseg.RtsegError)


def test_a_stop_is_a_keyboard_interrupt_that_except_exception_lets_through() -> None:
    assert issubclass(rtseg.Stopped, KeyboardInterrupt)
    assert not issubclass(rtseg.Stopped, Exception)
    with pytest.raises(KeyboardInterrupt):
        try:
            raise rtseg.Stopped("stopped early by SIGINT after writing 3 frames", 2)
        except Exception:  # an app's catch-all must not swallow a Ctrl-C
            pytest.fail("except Exception caught a Stopped")


@pytest.mark.parametrize("fps", [0, -5, float("nan"), float("inf"), "30"])
def test_a_frame_rate_not_above_zero_is_refused(tmp_path: Path, bright_model, fps) -> None:
    with pytest.raises(rtseg.RtsegError, match=r"^fps= must be a finite number above 0"):
        rtseg.process_video(moving_square(3), tmp_path / "o.mp4", model=bright_model, fps=fps)
    with pytest.raises(rtseg.RtsegError, match=r"^fps= must be a finite number above 0"):
        rtseg.process_video("sample", rtseg.Null(), model=bright_model, fps=fps, max_frames=1)
    assert not (tmp_path / "o.mp4").exists()


@pytest.mark.parametrize("ratio", [0, -0.5, 1.5, float("nan")])
def test_a_downsample_ratio_outside_zero_to_one_is_refused(bright_model, ratio) -> None:
    with pytest.raises(rtseg.RtsegError, match=r"^downsample_ratio= must be a number in \(0, 1\]"):
        rtseg.process_video("sample", rtseg.Null(), model=bright_model, downsample_ratio=ratio)


def test_an_empty_source_and_no_target_are_refused(tmp_path: Path, bright_model) -> None:
    out = tmp_path / "o.mp4"
    with pytest.raises(rtseg.RtsegError, match="the frames given are empty"):
        rtseg.process_video(iter([]), out, model=bright_model, fps=30)
    assert not out.exists()
    with pytest.raises(rtseg.RtsegError, match=r"needs a target .* or on_frame="):
        rtseg.process_video(moving_square(3), model=bright_model, fps=30)
    with pytest.raises(rtseg.RtsegError, match="unknown policy 'stream'"):
        rtseg.process_video(moving_square(3), out, policy="stream", fps=30)  # type: ignore[arg-type]


def test_messages_use_python_s_words_and_a_path_is_taken_as_it_is(
    tmp_path: Path, clip: Path, bright_model
) -> None:
    out = tmp_path / "o.mp4"
    out.write_bytes(b"precious")
    with pytest.raises(rtseg.RtsegError, match=r"pass overwrite=True to replace it$"):
        rtseg.process_video(clip, out, model=bright_model)
    # the CLI's spelling `FOLDER@EFFECT` is the CLI's: a Path is the folder of that name
    rtseg.process_video(clip, tmp_path / "take@mask", model=bright_model, max_frames=2)
    assert len(list((tmp_path / "take@mask").glob("*.png"))) == 2
    assert not (tmp_path / "take").exists()
    with pytest.raises(rtseg.RtsegError, match=r"unknown output '.*o\.gif': give a video file"):
        rtseg.process_video(clip, tmp_path / "o.gif", model=bright_model)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"threads": 0}, r"^threads= must be a whole number >= 1, got 0"),
        ({"width": 0}, r"^width= must be a whole number >= 1, got 0"),
        ({"crf": "x"}, r"^crf= must be a whole number >= 0, got 'x'"),
        ({"max_frames": 2.5}, r"^max_frames= must be a whole number >= 1, got 2\.5"),
    ],
)
def test_numbers_out_of_range_are_refused_before_any_work(tmp_path, bright_model, options, message):
    with pytest.raises(rtseg.RtsegError, match=message):
        rtseg.process_video("sample", tmp_path / "o.mp4", model=bright_model, **options)
    assert not (tmp_path / "o.mp4").exists()


def test_a_source_that_is_none_of_the_kinds_is_refused(bright_model) -> None:
    with pytest.raises(rtseg.RtsegError, match="an iterable of frames; got float"):
        rtseg.process_video(1.5, rtseg.Null(), model=bright_model)  # type: ignore[arg-type]
