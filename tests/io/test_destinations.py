from pathlib import Path

import pytest

from rtseg import ImageFolder, Null, Preview, VideoFile, VirtualCamera, Window
from rtseg.errors import RtsegError, cli_words
from rtseg.io.destinations import parse_sink


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
    assert VideoFile("out.mov").path == Path("out.mov")


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


def test_an_unknown_output_is_said_in_the_caller_s_words() -> None:
    with pytest.raises(RtsegError, match=r"give a video file \(.*\), a folder for PNG frames"):
        parse_sink("out.gif")  # from Python: no --sink syntax in the answer
    with cli_words(), pytest.raises(RtsegError, match="use window, null, virtualcam"):
        parse_sink("out.gif")
