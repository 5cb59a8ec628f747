from pathlib import Path

import cv2
import numpy as np
import pytest
from matplotlib import cbook

from rtseg.cli import build_parser, config_from_args
from rtseg.errors import RtsegError
from rtseg.job import Job, JobConfig
from rtseg.matte.quality import LEVELS, quality_level
from tests.conftest import decode_frames


def walking_clip(path: Path, frames: int = 24) -> Path:
    """A real encoded clip: a photographed person, small, moving across a plain 640x360 wall."""
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        person = cv2.imdecode(np.frombuffer(f.read(), np.uint8), cv2.IMREAD_COLOR)
    person = cv2.resize(person, (128, 150), interpolation=cv2.INTER_AREA)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 24.0, (640, 360))
    for i in range(frames):
        frame = np.full((360, 640, 3), (90, 110, 120), np.uint8)
        x = 100 + 8 * i
        frame[210:360, x : x + 128] = person
        writer.write(frame)
    writer.release()
    return path


def job_for(source: Path, **kwargs) -> Job:
    return Job(JobConfig(source=str(source), sinks=["null"], model="selfie_general", **kwargs))


def test_levels_turn_on_what_they_say(tmp_path):
    clip = walking_clip(tmp_path / "walk.mp4", frames=2)
    fast = job_for(clip, quality="fast")
    assert fast.masks.passes.roi is None and not fast.masks.passes.flip
    assert fast.refiner is not None and fast.masks.smoother is not None
    best = job_for(clip, quality="best")
    assert best.masks.passes.roi is not None and best.masks.passes.flip
    bare = job_for(clip, quality="best", refine=False, smooth=False)  # explicit flags win
    assert bare.refiner is None and bare.masks.smoother is None
    for job in (fast, best, bare):
        job.source.close()


def test_each_source_kind_gets_its_default(tmp_path):
    clip = walking_clip(tmp_path / "walk.mp4", frames=2)
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), decode_frames(clip)[0])
    jobs = [job_for(clip), job_for(clip, realtime=True), job_for(photo)]
    assert [job.quality for job in jobs] == [LEVELS["balanced"], LEVELS["fast"], LEVELS["best"]]
    for job in jobs:
        job.source.close()


def test_a_zoomed_job_runs_crop_passes_and_keeps_every_frame(tmp_path):
    clip = walking_clip(tmp_path / "walk.mp4")
    out = tmp_path / "out.mp4"
    job = Job(JobConfig(source=str(clip), sinks=[str(out)], quality="best", effect="mask"))
    job.run()
    tracker = job.masks.passes.tracker
    assert tracker is not None and tracker.crops  # the person was zoomed on...
    assert tracker.full_passes < 24 // 2  # ...and most frames needed the crop pass only
    frames = decode_frames(out)
    assert len(frames) == 24
    last = frames[-1][..., 1] > 128  # the mask view: the person white, the rest black
    assert last[250:350, 100 + 8 * 23 + 20 : 100 + 8 * 23 + 100].mean() > 0.6
    assert last[:, :80].mean() < 0.05


def test_unknown_quality_is_refused():
    with pytest.raises(RtsegError, match="unknown quality"):
        quality_level("ultra")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--quality", "ultra"])


def test_the_cli_passes_quality_and_leaves_refine_to_it():
    args = build_parser().parse_args(["run", "--quality", "fast", "--no-smooth"])
    config = config_from_args(args)
    assert (config.quality, config.refine, config.smooth) == ("fast", None, False)
