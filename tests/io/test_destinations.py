from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from rtseg import Blur, ImageFolder, MaskView, Null, Preview, VideoFile, VirtualCamera, Window
from rtseg.errors import RtsegError, cli_words
from rtseg.io.destinations import Destination, SinkContext, parse_sink
from rtseg.io.location import Location
from rtseg.job import Job, JobConfig
from tests.conftest import write_clip


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("null", Null()),
        ("window", Window()),
        ("virtualcam", VirtualCamera()),
        ("virtualcam:/dev/video10", VirtualCamera("/dev/video10")),
        ("http", Preview(8080)),
        ("http:9000", Preview(9000)),
        ("out.mp4", VideoFile(Path("out.mp4"))),
        ("clips/out.WEBM", VideoFile(Path("clips/out.WEBM"))),
        ("frames", ImageFolder(Path("frames"))),
    ],
)
def test_each_sink_string_names_its_destination(spec: str, expected: object) -> None:
    assert parse_sink(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [("http:abc", "port must be a number"), ("out.gif", "unknown output 'out.gif'")],
)
def test_bad_sink_strings(spec: str, message: str) -> None:
    with pytest.raises(RtsegError, match=message):
        parse_sink(spec)


def test_a_video_file_must_be_a_container_rtseg_writes() -> None:
    with pytest.raises(RtsegError, match="a video file is one of"):
        VideoFile("out.gif")
    assert VideoFile("out.mov").path.path == Path("out.mov")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("blur.mp4@blur:31", VideoFile("blur.mp4", effect="blur:31")),
        ("cutouts/@alpha", ImageFolder("cutouts", effect="alpha")),
        ("virtualcam:/dev/video7@color:#00b140", VirtualCamera("/dev/video7", "color:#00b140")),
        ("out@2x.mp4", VideoFile("out@2x.mp4")),  # an @ without an effect after it is the path's
        ("out@2x.mp4@mask", VideoFile("out@2x.mp4", effect="mask")),
        ("o.mp4@replace:bg@2x.jpg", VideoFile("o.mp4", effect="replace:bg@2x.jpg")),
    ],
)
def test_a_sink_string_can_end_with_its_own_effect(spec: str, expected: object) -> None:
    assert parse_sink(spec) == expected


def test_only_files_and_the_virtual_camera_take_an_effect() -> None:
    with pytest.raises(RtsegError, match="only files and virtualcam"):
        parse_sink("window@blur")


class Recorder:
    """A sink of the user's own: keeps each frame's output, and how the run ended."""

    def __init__(self) -> None:
        self.outputs: list[np.ndarray] = []
        self.ended: str | None = None

    def write(self, frame) -> None:
        self.outputs.append(frame.output)

    def close(self) -> None:
        self.ended = "complete"

    def abort(self) -> None:
        self.ended = "aborted"


@dataclass(frozen=True)
class Recording(Destination):
    """A destination of the user's own: opens a `Recorder` and keeps what it was given."""

    effect: str | None = None
    opened: list = field(default_factory=list, compare=False)

    def open(self, context: SinkContext) -> Recorder:
        sink = Recorder()
        self.opened.append((context, sink))
        return sink


def test_a_destination_opens_its_own_sink_with_the_run_s_context(tmp_path, bright_model):
    clip = write_clip(tmp_path / "clip.mp4", frames=6, fps=12.0)
    own, plain = Recording(effect="mask"), Recording()
    config = JobConfig(
        source=str(clip), model=bright_model, effect="blur", sinks=[plain, own], overwrite=True
    )
    Job(config).run()
    (context, sink), (own_context, own_sink) = plain.opened + own.opened
    where = Location.of(clip)
    assert (context.fps, context.audio_from, context.input_path) == (12.0, where, where)
    assert context.overwrite and context.controls is not None
    assert isinstance(context.effect, Blur) and isinstance(own_context.effect, MaskView)
    assert sink.ended == own_sink.ended == "complete"
    assert len(sink.outputs) == len(own_sink.outputs) == 6
    grey = own_sink.outputs[0]  # drawn with its own effect: the mask, in grey
    assert (grey[..., 0] == grey[..., 2]).all() and not np.array_equal(grey, sink.outputs[0])


def test_a_sink_object_goes_in_as_it_is_and_anything_else_is_refused(tmp_path, bright_model):
    clip = write_clip(tmp_path / "clip.mp4", frames=3)
    recorder = Recorder()
    Job(JobConfig(source=str(clip), model=bright_model, sinks=[recorder])).run()
    assert len(recorder.outputs) == 3 and recorder.ended == "complete"
    with pytest.raises(RtsegError, match="is not a sink"):
        Job(JobConfig(source=str(clip), model=bright_model, sinks=[object()]))


def test_an_unknown_output_is_said_in_the_caller_s_words() -> None:
    with pytest.raises(RtsegError, match=r"give a video file \(.*\), a folder for PNG frames"):
        parse_sink("out.gif")  # from Python: no --sink syntax in the answer
    with cli_words(), pytest.raises(RtsegError, match="use window, null, virtualcam"):
        parse_sink("out.gif")
