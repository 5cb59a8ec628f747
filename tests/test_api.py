"""`rtseg.process_video` and the public names: the CLI's job, from Python."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import rtseg
from rtseg.pipeline.frame import Frame
from tests.conftest import decode_frames


def test_the_public_names_are_all_there() -> None:
    assert sorted(rtseg.__all__) == sorted(set(rtseg.__all__))
    for name in rtseg.__all__:
        assert getattr(rtseg, name) is not None


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
    strings = sorted((tmp_path / "strings").iterdir())
    objects = sorted((tmp_path / "objects").iterdir())
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
    with pytest.raises(TypeError, match="unknown options \\['overwite'\\]"):
        rtseg.process_video(clip, tmp_path / "o.mp4", overwite=True)
    with pytest.raises(TypeError, match="unknown options \\['sinks'\\]"):
        rtseg.process_video(clip, sinks=["null"])
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
