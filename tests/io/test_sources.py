from fractions import Fraction

import cv2
import numpy as np
import pytest

import rtseg
from rtseg.errors import RtsegError
from rtseg.io.sources import (
    ImageSource,
    SampleSource,
    open_source,
    to_bgr,
)
from rtseg.io.video.reader import VideoReader
from tests.conftest import write_clip


def read_all(source) -> list:
    frames = []
    while (frame := source.read()) is not None:
        frames.append(frame)
    source.close()
    return frames


def test_video_file_yields_every_frame_numbered(clip):
    source = open_source(str(clip))
    assert isinstance(source, VideoReader) and not source.live
    frames = read_all(source)
    assert [f.seq for f in frames] == list(range(24))
    assert frames[0].image.shape == (120, 160, 3)


def test_realtime_paces_at_the_file_rate_and_is_live(tmp_path):
    path = write_clip(tmp_path / "c.mp4", frames=10, fps=50.0)
    source = open_source(str(path), realtime=True)
    assert source.live
    frames = read_all(source)
    span_s = (frames[-1].capture_ns - frames[0].capture_ns) / 1e9
    assert span_s == pytest.approx(9 / 50.0, abs=0.03)


def test_numbered_images_come_in_natural_order(tmp_path):
    names = ["img_10.png", "img_2.png", "IMG_1.png", "img_1b.png", "img_11.png"]
    for name in names:
        cv2.imwrite(str(tmp_path / name), np.zeros((8, 8, 3), np.uint8))
    frames = read_all(open_source(str(tmp_path)))
    assert [f.name for f in frames] == ["IMG_1", "img_1b", "img_2", "img_10", "img_11"]


def test_a_printf_pattern_reads_its_numbered_files_in_number_order(tmp_path):
    for name in ["f_0010.png", "f_0002.png", "f_12345.png", "f_7.png", "g_0001.png"]:
        cv2.imwrite(str(tmp_path / name), np.zeros((8, 8, 3), np.uint8))
    frames = read_all(open_source(str(tmp_path / "f_%04d.png")))
    assert [f.name for f in frames] == ["f_0002", "f_0010", "f_12345"]  # %04d: 4+ digits
    assert not any(f.still for f in frames)  # the frames of one video, not photos
    assert all(f.still for f in read_all(open_source(str(tmp_path))))  # a folder's are
    frames = read_all(open_source(str(tmp_path / "f_%d.png")))
    assert [f.name for f in frames] == ["f_0002", "f_7", "f_0010", "f_12345"]
    with pytest.raises(RtsegError, match="no files match"):
        open_source(str(tmp_path / "h_%03d.png"))


def test_a_path_that_exists_is_a_path_even_with_a_word_and_colon(tmp_path):
    path = write_clip(tmp_path / "take:2.mp4", frames=5)
    source = open_source(str(path))
    assert isinstance(source, VideoReader) and len(read_all(source)) == 5
    with pytest.raises(RtsegError, match="input not found"):
        open_source(str(tmp_path / "take:3.mp4"))


def test_a_url_is_a_stream_read_by_arrival_time():
    with pytest.raises(RtsegError, match="is the stream up"):
        open_source("http://127.0.0.1:9/live.ts")


def test_frames_carry_their_time(tmp_path):
    path = write_clip(tmp_path / "c.mp4", frames=4, fps=25.0)
    times = [float(f.time_s()) for f in read_all(open_source(str(path)))]
    assert times == pytest.approx([0, 0.04, 0.08, 0.12], abs=1e-6)
    sample = read_all(SampleSource(frames=3, width=64, height=48, fps=30000 / 1001))
    assert [f.time_s() for f in sample] == [0, Fraction(1001, 30000), Fraction(2002, 30000)]


def test_image_directory_in_name_order_keeps_stems(tmp_path):
    for name in ["b", "a", "c"]:
        cv2.imwrite(str(tmp_path / f"{name}.png"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "notes.txt").write_text("skip me")
    frames = read_all(open_source(str(tmp_path)))
    assert [f.name for f in frames] == ["a", "b", "c"]


@pytest.mark.parametrize(
    "image",
    [
        np.full((9, 7), 200, np.uint8),
        np.full((9, 7, 4), 200, np.uint8),
        np.full((9, 7, 3), 200 * 257, np.uint16),
    ],
    ids=["gray", "bgra", "16-bit"],
)
def test_any_image_becomes_8bit_bgr(tmp_path, image):
    path = tmp_path / "x.png"
    cv2.imwrite(str(path), image)
    (frame,) = read_all(ImageSource(str(path)))
    assert frame.image.shape == (9, 7, 3) and frame.image.dtype == np.uint8
    assert int(frame.image[0, 0, 0]) == 200


def test_to_bgr_passes_bgr_through():
    image = np.zeros((2, 2, 3), np.uint8)
    assert to_bgr(image) is image


def test_sample_moves_over_a_changing_background():
    source = SampleSource(frames=20, width=320, height=180)
    frames = read_all(source)
    assert len(frames) == 20
    first, last = frames[0].image, frames[-1].image
    assert first.shape == (180, 320, 3)
    assert np.mean(cv2.absdiff(first, last)) > 5  # it moves


def bad_input(tmp_path, kind: str):
    path = tmp_path / {"dir": "d"}.get(kind, f"{kind}.mp4")
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("hello " * 100)
    elif kind == "dir":
        path.mkdir()
    return path


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing", "input not found"),
        ("empty", "empty"),
        ("text", "cannot decode"),
        ("dir", "no images"),
    ],
)
def test_bad_inputs_get_a_clear_error(tmp_path, kind, message):
    with pytest.raises(RtsegError, match=message):
        open_source(str(bad_input(tmp_path, kind)))


def test_a_camera_that_does_not_exist_is_refused():
    with pytest.raises(RtsegError, match="cannot open camera"):
        open_source("/dev/video99")


def sideways_photo(path, orientation: int = 6):
    """A JPEG stored 64 wide and 32 high with a red corner top-left, whose EXIF orientation
    says how to show it upright (6: turn it 90 degrees clockwise, as phones held upright
    write it)."""
    Image = pytest.importorskip("PIL.Image")
    stored = np.full((32, 64, 3), 40, np.uint8)
    stored[:8, :8] = (255, 0, 0)  # RGB red
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(path, quality=95, exif=exif)
    return path


def test_a_photo_is_processed_upright_as_its_exif_orientation_says(tmp_path, bright_model):
    photo = sideways_photo(tmp_path / "phone.jpg")
    out = tmp_path / "out"
    seen = []
    rtseg.process_video(
        photo, out, model=bright_model, on_frame=lambda frame: seen.append(frame.image)
    )
    assert seen[0].shape == (64, 32, 3)  # upright: 32 wide, 64 high
    written = cv2.imread(str(out / "phone.png"), cv2.IMREAD_UNCHANGED)
    assert written.shape == (64, 32, 3)
    # turned clockwise, the stored top-left corner is now the top-right one
    b, g, r = seen[0][:6, -6:].reshape(-1, 3).mean(axis=0)
    assert r > 200 and g < 40 and b < 40


def test_every_orientation_of_a_photo_is_turned_upright(tmp_path):
    corners = {1: (0, 0), 3: (-1, -1), 6: (0, -1), 8: (-1, 0)}  # where the red corner lands
    for orientation, (row, col) in corners.items():
        photo = sideways_photo(tmp_path / f"o{orientation}.jpg", orientation)
        (frame,) = read_all(ImageSource(str(photo)))
        assert frame.image.shape[:2] == ((32, 64) if orientation in (1, 3) else (64, 32))
        y = slice(0, 6) if row == 0 else slice(-6, None)
        x = slice(0, 6) if col == 0 else slice(-6, None)
        assert frame.image[y, x, 2].mean() > 200, orientation


def test_inputs_that_share_a_stem_get_outputs_of_their_own(tmp_path, bright_model):
    folder = tmp_path / "in"
    folder.mkdir()
    colours = {"a.jpg": 60, "a.png": 120, "b.png": 180}
    for name, level in colours.items():
        cv2.imwrite(str(folder / name), np.full((16, 16, 3), level, np.uint8))
    out = tmp_path / "out"
    stats = rtseg.process_video(folder, out, model=bright_model, effect="mask")
    written = {p.name: p for p in out.glob("*.png")}
    assert stats.frames_out == 3 and len(written) == 3
    assert set(written) == {"a.jpg.png", "a.png.png", "b.png"}  # a lone stem stays as it was
    for name, level in colours.items():
        output = written["b.png" if name == "b.png" else f"{name}.png"]
        assert abs(int(cv2.imread(str(output))[8, 8, 0]) - level) <= 2  # the mask of its input
