"""Issue 31, files from cameras and players: front-camera mirroring, cover art, raw DV, camera
cards in batches, audio languages and titles, damaged files in batches and `--split` over a
change of frame size.

Every input is built by FFmpeg around the master clip (burnt-in frame numbers, a flash and a
beep); every check measures the files left on disk with PyAV.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from tests.media import ffmpeg, marker_clip
from tests.reliability import run_cli

# An output as close to its input as the pipeline writes: a blur of 1 pixel changes nothing,
# and CRF 0 keeps the colours.
AS_IS = ("--effect", "blur:1", "--crf", "0", "--no-refine", "--no-smooth", "-q")


def run_to(source: Path, model: Path, sink: Path, *extra: str):
    """`rtseg run` writing each frame as it came in."""
    return run_cli("run", "--source", str(source), "--model", str(model), "--sink", str(sink),
                   *AS_IS, *extra)  # fmt: skip


def shown(path: Path) -> list[np.ndarray]:
    """Every frame as FFmpeg's own player logic shows it (autorotation: the display matrix,
    flips included), in grey."""
    upright = path.with_name(f"shown-{path.stem}.mkv")
    ffmpeg("-i", str(path), "-an", "-c:v", "ffv1", str(upright))
    return grey_frames(upright)


def grey_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="gray").astype(float) for f in container.decode(video=0)]


# -- 1: the whole display matrix -------------------------------------------------------------
@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "matrix",
    [("-display_rotation", "90", "-display_hflip"), ("-display_hflip",), ("-display_vflip",),
     ("-display_rotation", "180", "-display_vflip")],
    ids=["front-camera-90-hflip", "hflip", "vflip", "180-vflip"],
)  # fmt: skip
def test_a_flipped_display_matrix_comes_out_as_players_show_it(tmp_path, bright_model, matrix):
    clip = marker_clip(tmp_path / "clip.mp4", seconds=1.0, numbered=True, audio=None)
    front = tmp_path / "front.mp4"
    ffmpeg(*matrix, "-i", str(clip), "-c", "copy", str(front))
    out = tmp_path / "out.mp4"
    outcome = run_to(front, bright_model, out)
    assert outcome.returncode == 0, outcome.stderr
    want, got = shown(front), grey_frames(out)
    assert len(got) == len(want) == 30
    assert got[0].shape == want[0].shape
    assert max(np.abs(g - w).mean() for g, w in zip(got, want, strict=True)) < 3
