from pathlib import Path

import cv2
import numpy as np
import pytest
from matplotlib import cbook

import rtseg
from rtseg.cli import build_parser, config_from_args
from rtseg.errors import RtsegError
from rtseg.job import Job, JobConfig
from rtseg.matte.quality import LEVELS, MATTING_LEVELS, quality_level
from rtseg.models.engine import Engine
from rtseg.models.transforms import model_input_size
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


def refiner_settings(job: Job) -> tuple | None:
    """What a job's edge refinement fits with (None: no refinement, a plain upscale)."""
    r = job.path.refiner
    if r is None:
        return None
    return (r.radius, r.eps, r.work_short_side, r.coarse_short_side, r.feather, r.threshold)


def level_refiner_settings(name: str) -> tuple:
    level = LEVELS[name]
    return (4, 1e-3, level.refine_short_side, level.coarse_short_side, 0, (0.0, 1.0))


def test_levels_turn_on_what_they_say(tmp_path):
    clip = walking_clip(tmp_path / "walk.mp4", frames=2)
    jobs = []
    for name, level in LEVELS.items():
        job = job_for(clip, quality=name)
        jobs.append(job)
        passes = job.path.masks.passes
        assert (passes.flip, passes.roi, passes.canvas_long) == (
            level.flip,
            level.zoom,
            level.canvas_long,
        )
        assert refiner_settings(job) == level_refiner_settings(name)
        assert job.stages.state.smoother.strength == level.smooth
        # --refine turns on the level's own refinement, --smooth sets the strength
        forced = job_for(clip, quality=name, refine=True, smooth=0.8)
        jobs.append(forced)
        assert refiner_settings(forced) == level_refiner_settings(name)
        assert forced.stages.state.smoother.strength == 0.8
    bare = job_for(clip, quality="best", refine=False, smooth=0)  # explicit flags win
    jobs.append(bare)
    assert bare.path.refiner is None and bare.stages.state.smoother.still_weight == 1.0
    for job in jobs:
        job.source.close()


def test_refine_on_gives_the_masks_of_the_level_itself():
    """`refine=True` asks for what the level already does, so the masks are the same."""
    alphas: dict[object, list[np.ndarray]] = {None: [], True: []}
    for refine, seen in alphas.items():
        rtseg.process_video(
            "sample",
            model="selfie_general",
            quality="balanced",
            refine=refine,
            max_frames=3,
            on_frame=lambda frame, seen=seen: seen.append(frame.alpha.copy()),
        )
    assert len(alphas[None]) == len(alphas[True]) == 3
    for level, forced in zip(alphas[None], alphas[True], strict=True):
        np.testing.assert_array_equal(forced, level)


def test_each_source_kind_gets_its_default(tmp_path):
    clip = walking_clip(tmp_path / "walk.mp4", frames=2)
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), decode_frames(clip)[0])
    jobs = [job_for(clip), job_for(clip, realtime=True), job_for(photo)]
    assert [job.path.level for job in jobs] == [LEVELS["balanced"], LEVELS["fast"], LEVELS["best"]]
    for job in jobs:
        job.source.close()


def test_a_zoomed_job_runs_crop_passes_and_keeps_every_frame(tmp_path):
    clip = walking_clip(tmp_path / "walk.mp4")
    out = tmp_path / "out.mp4"
    job = Job(JobConfig(source=str(clip), sinks=[str(out)], quality="best", effect="mask"))
    job.run()
    tracker = job.stages.state.tracker
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


def test_the_cli_passes_quality_and_leaves_refine_to_it(tmp_path):
    clip = walking_clip(tmp_path / "walk.mp4", frames=2)
    base = ["run", "--source", str(clip), "--sink", "null", "--model", "selfie_general"]
    args = build_parser().parse_args([*base, "--quality", "fast", "--no-smooth"])
    config = config_from_args(args)
    assert (config.quality, config.refine, config.smooth) == ("fast", None, 0.0)
    for flags in (["--quality", "fast"], ["--quality", "balanced", "--refine"]):
        job = Job(config_from_args(build_parser().parse_args([*base, *flags])))
        job.source.close()
        assert refiner_settings(job) == level_refiner_settings(flags[1])
    job = Job(config_from_args(build_parser().parse_args([*base, "--no-refine"])))
    job.source.close()
    assert job.path.refiner is None


def test_a_matting_model_gets_the_matting_levels(tmp_path):
    from tests.onnx_models import rvm_signature_model

    clip = walking_clip(tmp_path / "walk.mp4", frames=2)
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), decode_frames(clip)[0])
    model = rvm_signature_model(tmp_path / "rvm.onnx")
    for source, realtime, name in (
        (clip, False, "balanced"),
        (clip, True, "fast"),
        (photo, False, "best"),
    ):
        job = Job(JobConfig(source=str(source), sinks=["null"], model=model, realtime=realtime))
        job.source.close()
        assert job.path.level == MATTING_LEVELS[name] and job.path.level_name == name
        assert not job.path.masks.passes.flip  # a second pass of the network bought no better mask
    zoom = MATTING_LEVELS["balanced"].zoom
    assert zoom is not None and zoom.together  # one crop, one pass, however many people
    with rtseg.Segmenter(model, "cpu", mode="video") as segmenter:
        assert segmenter._path.masks.passes.roi == zoom
    # video: any frame or crop at 320x180's area; photos: the longer side at 384 px
    info = Engine(model, "cpu", threads=1).info
    assert model_input_size(info, 720, 1280, MATTING_LEVELS["balanced"].ratio()) == (180, 320)
    assert model_input_size(info, 1500, 1000, MATTING_LEVELS["best"].ratio()) == (384, 256)
    assert model_input_size(info, 1500, 1000, MATTING_LEVELS["balanced"].ratio()) == (294, 196)
