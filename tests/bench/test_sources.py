import numpy as np
import pytest

from rtseg.bench.sources import PacedSource, TimedSource, frame_bank, scaled_size
from rtseg.io.video.reader import VideoReader


def test_timed_source_upscales_and_times_every_frame(clip):
    source = TimedSource(VideoReader(str(clip)), (320, 240))
    frames = []
    while (f := source.read()) is not None:
        frames.append(f)
    source.close()
    assert len(frames) == 24 == len(source.read_ms)
    assert {f.image.shape for f in frames} == {(240, 320, 3)}
    assert [f.seq for f in frames] == list(range(24))


def test_scaled_size_keeps_aspect_and_even_width():
    assert scaled_size(960, 540, 720) == (1280, 720)
    assert scaled_size(640, 360, 1080) == (1920, 1080)
    assert scaled_size(101, 100, 100)[0] % 2 == 0


def test_frame_bank_holds_at_most_count_frames(clip):
    bank = frame_bank(VideoReader(str(clip)), 5, None)
    assert len(bank) == 5 and bank[0].shape == (120, 160, 3)


def test_paced_source_releases_frames_on_its_clock():
    images = [np.full((2, 2, 3), i, np.uint8) for i in range(3)]
    source = PacedSource(images, fps=200.0, frames=8)
    frames = []
    while (f := source.read()) is not None:
        frames.append(f)
    assert [f.seq for f in frames] == list(range(8))
    assert [int(f.image[0, 0, 0]) for f in frames] == [0, 1, 2, 0, 1, 2, 0, 1]
    gaps = np.diff([f.capture_ns for f in frames])
    assert gaps.min() > 0
    assert source.live


def test_paced_source_needs_images():
    with pytest.raises(ValueError, match="at least one image"):
        PacedSource([], 30.0, 1)
