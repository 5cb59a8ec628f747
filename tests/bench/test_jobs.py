"""File mode through the real Job: every frame, in order, and the baseline does the same work."""

import numpy as np

from rtseg.bench.jobs import bottleneck, open_job, run_sequential
from rtseg.bench.sources import TimedSource
from rtseg.job import JobConfig
from rtseg.pipeline.channels import Policy
from tests.conftest import decode_frames


class SeqSink:
    def __init__(self):
        self.seqs = []

    def write(self, frame):
        self.seqs.append(frame.seq)

    def close(self):
        pass

    def abort(self):
        pass


def config(clip, model, out):
    return JobConfig(
        source=str(clip),
        model=str(model),
        sinks=[str(out)],
        device="cpu",
        overwrite=True,
        policy=Policy.BLOCK,
        capacity=2,
    )


def test_file_mode_keeps_every_frame_in_order_and_matches_the_baseline(
    clip, bright_model, tmp_path
):
    piped, sequential = tmp_path / "piped.mp4", tmp_path / "seq.mp4"
    job = open_job(config(clip, bright_model, piped), lambda s: TimedSource(s, (320, 240)))
    seen = SeqSink()
    job.add_sink(seen)
    job.run()
    assert seen.seqs == list(range(24))
    run = run_sequential(open_job(config(clip, bright_model, sequential), TimedSource))
    assert run.frames == 24 and run.fps > 0
    a, b = decode_frames(piped), decode_frames(sequential)
    assert len(a) == len(b) == 24
    assert a[0].shape == (240, 320, 3) and b[0].shape == (120, 160, 3)
    # Same components, same work: the baseline's frames equal the pipeline's at equal size.
    same = run_sequential(
        open_job(
            config(clip, bright_model, tmp_path / "same.mp4"), lambda s: TimedSource(s, (320, 240))
        )
    )
    assert same.frames == 24
    assert all(
        np.array_equal(x, y) for x, y in zip(a, decode_frames(tmp_path / "same.mp4"), strict=True)
    )


def test_bottleneck_is_the_step_with_the_highest_mean():
    stages = {"a": {"mean": 1.0}, "b": {"mean": 3.0}, "c": {"mean": 2.0}}
    assert bottleneck(stages) == "b"
