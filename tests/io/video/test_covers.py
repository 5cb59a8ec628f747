"""Covers and attachments carried into a video output, or said to be left out."""

from __future__ import annotations

import logging
from pathlib import Path

import av
import numpy as np
import pytest

from rtseg.io.video.writer import VideoWriter
from rtseg.pipeline.frame import Frame
from tests.media import ffmpeg, marker_clip


@pytest.fixture
def with_cover(tmp_path: Path) -> Path:
    """The master clip with a PNG cover, as an MP4's cover art."""
    clip = marker_clip(tmp_path / "clip.mp4", seconds=0.5)
    cover = tmp_path / "cover.png"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=32x32", "-frames:v", "1", str(cover))
    film = tmp_path / "film.mp4"
    ffmpeg("-i", str(clip), "-i", str(cover), "-map", "0", "-map", "1", "-c", "copy",
           "-c:v:1", "png", "-disposition:v:1", "attached_pic", str(film))  # fmt: skip
    return film


def write_like(source: Path, out: Path) -> None:
    sink = VideoWriter(out, fps=30, audio_from=source)
    for seq in range(3):
        sink.write(Frame(seq=seq, image=np.zeros((16, 16, 3), np.uint8)))
    sink.close()


@pytest.mark.parametrize(
    ("suffix", "kept"),
    [(".mp4", [None]), (".mkv", ["cover.png"]), (".webm", []), (".mov", [])],
)
def test_a_cover_is_kept_where_the_container_holds_it_and_said_otherwise(
    tmp_path: Path, with_cover: Path, caplog, suffix: str, kept: list[str | None]
):
    """`kept`: the covers read back (as attached pictures), by their attachment's file name
    (Matroska's `cover.png`; None in MP4, whose cover art has none)."""
    out = tmp_path / f"out{suffix}"
    with caplog.at_level(logging.WARNING, logger="rtseg"):
        write_like(with_cover, out)
    with av.open(str(out)) as container:
        found = [
            s.metadata.get("filename")
            for s in container.streams.video
            if s.disposition & av.stream.Disposition.attached_pic
        ]
        assert len(container.streams.audio) == 1
    assert found == kept
    said = [r.getMessage() for r in caplog.records if "left out" in r.getMessage()]
    assert said == ([] if kept else [f"{with_cover}: its cover picture left out: "
                    f"{'webm' if suffix == '.webm' else 'mov'} holds no covers or attachments "
                    "(.mkv keeps both, .mp4 covers)"])  # fmt: skip
