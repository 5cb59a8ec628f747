"""Frame counts and stamps read without decoding, against what the decoder gives."""

from pathlib import Path

import cv2
import numpy as np

from rtseg.io.video.frame_stamps import frame_count, frame_stamps
from rtseg.io.video.reader import VideoReader
from tests.conftest import write_clip


def test_the_stamps_are_the_times_the_decoder_gives_each_frame(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "c.mp4", frames=9)
    stamps, time_base = frame_stamps(clip)
    with VideoReader(clip) as reader:
        decoded = [(frame.pts, frame.time_base) for frame in iter(reader.read, None)]
    assert [(pts, time_base) for pts in stamps] == decoded
    assert frame_count(clip) == 9


def test_a_folder_counts_its_images_and_a_file_that_is_no_video_counts_none(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a.png", "b.jpg"):
        cv2.imwrite(str(folder / name), np.zeros((8, 8, 3), np.uint8))
    (folder / "notes.txt").write_text("not an image")
    assert frame_count(folder) == 2
    assert frame_count(folder / "a.png") == 1
    assert frame_count(folder / "notes.txt") is None
    assert frame_count(tmp_path / "missing.png") is None
