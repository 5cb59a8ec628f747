import logging
import time

from rtseg.job import Job, JobConfig
from rtseg.matte.drop_watch import WINDOW, DropWatch
from rtseg.matte.masks import MaskSource


def test_the_model_runs_less_often_while_frames_are_dropped(caplog):
    masks = MaskSource(sync=False)
    watch = DropWatch(masks)
    try:
        with caplog.at_level(logging.WARNING, logger="rtseg.matte.drop_watch"):
            watch.check(0, 0)
            watch.check(WINDOW, 3)  # 3 of 60 dropped: within 5%
            assert masks.every == 1 and not caplog.records
            watch.check(2 * WINDOW, 3 + 4)  # 4 of 60
            assert masks.every == 2 and "every second frame" in caplog.text
            watch.check(2 * WINDOW + 30, 40)  # half a window: not judged yet
            assert masks.every == 2
            watch.check(3 * WINDOW, 40)
            assert masks.every == 4 and "--mask-every 4" in caplog.text
            watch.check(4 * WINDOW, 80)
            assert masks.every == 4  # no further
    finally:
        masks.close()


class SlowSink:
    """A sink that takes 15 ms a frame: a live source at 200 fps has to drop frames."""

    def write(self, frame) -> None:
        time.sleep(0.015)

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


def test_a_live_run_that_drops_frames_says_how_often_the_model_then_ran(caplog):
    config = JobConfig(
        source="sample", realtime=True, fps=200.0, max_frames=300, sinks=[SlowSink()]
    )
    with caplog.at_level(logging.WARNING, logger="rtseg.matte.drop_watch"), Job(config) as job:
        job.run()
        summary = job.summary()
    assert summary["drops"] > 0.05 * summary["frames_in"]
    assert summary["mask_every"] >= 2 and "the model now runs on every" in caplog.text
    with Job(JobConfig(source="sample", max_frames=5, sinks=[SlowSink()])) as job:
        job.run()  # a file-like run (not live) is never throttled
        assert job.summary()["mask_every"] == 1
