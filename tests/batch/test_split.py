"""`--split`: one video in frame-exact segments on several workers, joined without a seam."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rtseg.batch.split import plan, segments_dir
from tests.batch.media import FPS, make_clip, make_fading_clip, video_frames
from tests.media import audio_seconds, frame_times
from tests.onnx_models import rvm_signature_model
from tests.test_cli import rtseg

# The mask effect writes alpha as grey and CRF 0 encodes it losslessly, so decoded outputs
# compare alpha itself.
MASK_ARGS = ("--effect", "mask", "--crf", "0")


def test_segments_cover_every_frame_once_and_warm_up_on_the_frames_before(tmp_path: Path):
    clip = make_clip(tmp_path / "clip.mp4", 12.0, audio=False)
    tasks = plan(clip, tmp_path / "out.mp4", 300, 3, every=4)
    assert [(t.start, t.stop) for t in tasks] == [(0, 100), (100, 200), (200, 300)]
    assert [t.warmup for t in tasks] == [0, 52, 52]  # 2 s at 25 fps, rounded up to a multiple of 4
    assert {Path(t.output).parent for t in tasks} == {segments_dir(tmp_path / "out.mp4")}


@pytest.mark.parametrize("recurrent", [False, True], ids=["model", "recurrent-model"])
def test_split_output_has_every_frame_its_audio_and_no_seam(
    tmp_path: Path, bright_model: Path, recurrent: bool
):
    """With a recurrent model (RVM's signature) too: each segment starts its state from zeros
    at its warm-up, which rebuilds it, so the seam matches the single run."""
    clip = make_fading_clip(tmp_path / "in" / "long.mp4", 300)
    out, single = tmp_path / "out", tmp_path / "single.mp4"
    path = rvm_signature_model(tmp_path / "rvm_like.onnx") if recurrent else bright_model
    model = ("--model", str(path))
    split = rtseg("batch", str(clip), "--out", str(out), "--split", "2", *model, *MASK_ARGS)
    assert split.returncode == 0, split.stderr
    whole = rtseg("run", "--source", str(clip), "--sink", str(single), *model, *MASK_ARGS)
    assert whole.returncode == 0, whole.stderr

    joined = out / "long.mp4"
    times = frame_times(clip)
    assert frame_times(joined) == frame_times(single)
    assert len(times) == 300 and frame_times(joined)[-1] == times[-1]
    assert abs(audio_seconds(joined) - len(times) / FPS) <= 1 / FPS
    a, b = video_frames(joined), video_frames(single)
    seam = 150
    for i in range(seam - 2, seam + 10):
        difference = np.abs(a[i].astype(np.float32) - b[i].astype(np.float32)).mean() / 255
        assert difference < 1 / 255, f"frame {i}: mean |alpha difference| {difference:.4f}"
    assert not segments_dir(joined).exists()
