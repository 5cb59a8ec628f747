"""Finding a batch's inputs: folders searched recursively, globs, lists, mirrored outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rtseg.batch.discover import discover
from rtseg.errors import RtsegError
from rtseg.io.video.writer import VideoWriter
from rtseg.pipeline.frame import Frame
from tests.conftest import write_clip


def touch(*paths: Path) -> None:
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def test_a_folder_gives_its_videos_and_image_folders_with_mirrored_outputs(tmp_path: Path):
    root = tmp_path / "shoot"
    touch(
        root / "a.mp4",
        root / "day1" / "b.MOV",
        root / "day1" / "frames" / "0001.png",
        root / "day1" / "frames" / "0002.png",
        root / "notes.txt",
        root / "c.partial.mp4",
        root / ".c.mp4.lock",  # the run writing c.mp4 holds it
        root / ".hidden" / "d.mp4",
    )
    out = tmp_path / "out"
    items, missing, skipped = discover([str(root)], out, "webm")
    assert missing == []
    assert {(Path(s.path).name, s.reason) for s in skipped} == {
        ("notes.txt", "not a video"),
        ("c.partial.mp4", "rtseg's unfinished output"),
    }
    assert {(Path(i.source), Path(i.output)) for i in items} == {
        (root / "a.mp4", out / "a.webm"),
        (root / "day1" / "b.MOV", out / "day1" / "b.webm"),
        (root / "day1" / "frames", out / "day1" / "frames.webm"),
    }


def test_png_outputs_are_folders_and_the_output_folder_is_not_searched(tmp_path: Path):
    touch(tmp_path / "a.mp4", tmp_path / "out" / "a" / "000000.png", tmp_path / "out" / "x.mp4")
    items, _, _ = discover([str(tmp_path)], tmp_path / "out", "png")
    expected = [(tmp_path / "a.mp4", tmp_path / "out" / "a")]
    assert [(Path(i.source), Path(i.output)) for i in items] == expected


def test_globs_and_lists_keep_paths_relative_to_their_root(tmp_path: Path):
    touch(tmp_path / "clips" / "x" / "1.mp4", tmp_path / "clips" / "y" / "2.mkv")
    touch(tmp_path / "more" / "3.mp4")
    listing = tmp_path / "list.txt"
    listing.write_text("# inputs\nmore/3.mp4\n\nmissing.mp4\n")
    out = tmp_path / "out"
    items, missing, _ = discover([f"{tmp_path}/clips/**/*.m*", f"@{listing}"], out, "mp4")
    assert sorted(Path(i.output) for i in items) == [
        out / "more" / "3.mp4",
        out / "x" / "1.mp4",
        out / "y" / "2.mp4",
    ]
    assert [(m.source, m.reason) for m in missing] == [("missing.mp4", "input not found")]


def test_sources_that_name_nothing_are_reported_not_fatal(tmp_path: Path):
    touch(tmp_path / "a.mp4")
    items, missing, _ = discover(
        [str(tmp_path / "a.mp4"), str(tmp_path / "gone.mp4"), f"{tmp_path}/*.avi"],
        tmp_path / "out",
        "mp4",
    )
    assert [Path(i.source) for i in items] == [tmp_path / "a.mp4"]
    assert [(m.source.rsplit("/", 1)[-1], m.reason) for m in missing] == [
        ("gone.mp4", "input not found"),
        ("*.avi", "no file matches this pattern"),
    ]


def test_two_inputs_for_one_output_are_refused_before_any_work(tmp_path: Path):
    touch(tmp_path / "a" / "clip.mp4", tmp_path / "b" / "clip.mov")
    with pytest.raises(RtsegError, match="would both write"):
        discover(
            [str(tmp_path / "a" / "clip.mp4"), str(tmp_path / "b" / "clip.mov")],
            tmp_path / "out",
            "mp4",
        )


def test_png_outputs_never_nest_when_a_folder_holds_images_and_videos(tmp_path: Path):
    dcim = tmp_path / "phone" / "DCIM"
    touch(dcim / "IMG_0001.jpg", dcim / "VID_0002.mp4", dcim / "trip" / "IMG_0003.jpg")
    out = tmp_path / "out"
    items, _, _ = discover([str(tmp_path / "phone")], out, "png")
    assert {(Path(i.source), Path(i.output)) for i in items} == {
        (dcim, out / "DCIM" / "images"),
        (dcim / "VID_0002.mp4", out / "DCIM" / "VID_0002"),
        (dcim / "trip", out / "DCIM" / "trip"),
    }
    outputs = [Path(i.output) for i in items]
    assert not any(a != b and b.is_relative_to(a) for a in outputs for b in outputs)


def test_only_rtseg_own_partial_files_are_passed_over_and_names_that_say_nothing_are_probed(
    tmp_path: Path,
):
    root = tmp_path / "card"
    root.mkdir()
    write_clip(root / "holiday.partial.mp4", frames=2)  # a user's file, named so
    write_clip(root / "clip.mp4", frames=2).rename(root / "CLIP0001")  # no suffix
    (root / "README").write_text("not a video")
    write_clip(root / "clip.mp4", frames=2).rename(root / "DJI_0001.LRF")  # a drone's proxy
    kept = VideoWriter(root / "take.mp4", fps=30)  # a stopped run keeps take.partial.mp4
    kept.write(Frame(seq=0, image=np.zeros((16, 16, 3), np.uint8)))
    kept.abort()
    assert kept.partial_path == root / "take.partial.mp4"
    (root / "long.partial-segments").mkdir()
    segments = VideoWriter(root / "long.partial-segments" / "000.mp4", fps=30)
    segments.write(Frame(seq=0, image=np.zeros((16, 16, 3), np.uint8)))
    segments.close()
    items, _, skipped = discover([str(root)], tmp_path / "out", "mp4")
    assert sorted(Path(i.source).name for i in items) == ["CLIP0001", "holiday.partial.mp4"]
    assert sorted((Path(s.path).name, s.reason) for s in skipped) == [
        ("DJI_0001.LRF", "a camera's low-resolution copy of a clip"),
        ("README", "not a video"),
        ("long.partial-segments", "rtseg's unfinished split segments"),
        ("take.partial.mp4", "rtseg's unfinished output"),
    ]
