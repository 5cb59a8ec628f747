from pathlib import Path

import pytest

from rtseg import ImageFolder, Null, Preview, VideoFile, VirtualCamera, Window
from rtseg.errors import RtsegError
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
    [("http:abc", "port must be a number"), ("out.gif", "unknown sink 'out.gif'")],
)
def test_bad_sink_strings(spec: str, message: str) -> None:
    with pytest.raises(RtsegError, match=message):
        parse_sink(spec)


def test_a_video_file_must_be_a_container_rtseg_writes() -> None:
    with pytest.raises(RtsegError, match="a video file is one of"):
        VideoFile("out.gif")
    assert VideoFile("out.mov").path == Path("out.mov")
