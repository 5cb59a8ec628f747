import threading
import time

import numpy as np
import pytest

from rtseg.errors import RtsegError, StageError, Stopped
from rtseg.io.sinks import NullSink
from rtseg.pipeline import pipeline
from rtseg.pipeline.channels import Policy
from rtseg.pipeline.frame import Frame
from rtseg.pipeline.pipeline import Pipeline, Stage


class CountingSource:
    """Frames numbered from 0, optionally paced like a live camera."""

    def __init__(self, n: int, live: bool = False, period_s: float = 0.0) -> None:
        self.n, self.live, self.period_s, self.fps = n, live, period_s, 30.0
        self.seq = 0
        self.closed = False

    def read(self) -> Frame | None:
        if self.seq >= self.n:
            return None
        if self.period_s:
            time.sleep(self.period_s)
        frame = Frame(self.seq, np.full((4, 4, 3), self.seq % 256, np.uint8))
        self.seq += 1
        return frame

    def close(self) -> None:
        self.closed = True


class ListSink:
    def __init__(self) -> None:
        self.seqs: list[int] = []
        self.closed_ok: bool | None = None

    def write(self, frame: Frame) -> None:
        self.seqs.append(frame.seq)

    def close(self) -> None:
        self.closed_ok = True

    def abort(self) -> None:
        self.closed_ok = False


def identity(frame: Frame) -> None:
    frame.output = frame.image


def sleeper(seconds: float):
    def run(frame: Frame) -> None:
        time.sleep(seconds)
        frame.output = frame.image

    return run


def rtseg_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("rtseg-")]


def test_block_mode_delivers_every_frame_in_order():
    sink = ListSink()
    source = CountingSource(300)
    stages = [Stage("a", identity), Stage("slow", sleeper(0.0005)), Stage("c", identity)]
    p = Pipeline(source, stages, [sink], Policy.BLOCK, capacity=2)
    stats = p.run()
    assert sink.seqs == list(range(300))
    assert stats.frames_in == stats.frames_out == 300
    assert p.drops == {}
    assert sink.closed_ok is True and source.closed
    assert not rtseg_threads()


def test_latest_mode_drops_when_a_stage_is_slower_than_the_source():
    sink = ListSink()
    source = CountingSource(60, live=True, period_s=0.002)
    p = Pipeline(source, [Stage("slow", sleeper(0.02))], [sink], Policy.LATEST)
    stats = p.run()
    dropped = sum(p.drops.values())
    assert dropped > 0
    assert stats.frames_out + dropped == 60
    assert sink.seqs == sorted(set(sink.seqs))  # no duplicates, no reordering
    # latency stays bounded: a frame waits for at most one slow step, never a queue of them
    # (a FIFO would let it grow to the whole backlog, about 1 s here)
    assert max(stats.latency_ms) < 250


@pytest.mark.parametrize("where", ["capture", "a", "b", "sink"])
def test_first_error_in_any_stage_surfaces_within_a_second(where):
    class Boom(Exception):
        pass

    def fail(frame: Frame) -> None:
        if frame.seq == 5:
            raise Boom("injected")
        frame.output = frame.image

    source = CountingSource(10**9, live=False)
    if where == "capture":
        real_read = source.read

        def read():
            frame = real_read()
            fail(frame)
            return frame

        source.read = read
    sink = ListSink()
    if where == "sink":
        real_write = sink.write
        sink.write = lambda f: (fail(f), real_write(f))
    stages = [
        Stage("a", fail if where == "a" else identity),
        Stage("b", fail if where == "b" else identity),
    ]
    p = Pipeline(source, stages, [sink], Policy.BLOCK)
    started = time.monotonic()
    with pytest.raises(StageError) as info:
        p.run()
    assert time.monotonic() - started < 1.0
    assert isinstance(info.value.__cause__, Boom)
    assert where in str(info.value)
    assert sink.closed_ok is False
    assert not rtseg_threads()


def test_expected_errors_surface_unwrapped():
    def fail(frame: Frame) -> None:
        raise RtsegError("disk full")

    p = Pipeline(CountingSource(5), [Stage("a", fail)], [NullSink()], Policy.BLOCK)
    with pytest.raises(RtsegError, match="disk full"):
        p.run()


def test_stop_drains_frames_in_flight_to_the_sinks():
    sink = ListSink()
    # a live source: stopping it is how its run ends, complete
    source = CountingSource(10**9, live=True, period_s=0.001)
    p = Pipeline(source, [Stage("slow", sleeper(0.005))], [sink], Policy.BLOCK, capacity=4)
    p.start()
    deadline = time.monotonic() + 30
    while len(sink.seqs) < 10:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    p.stop()
    written_at_stop = len(sink.seqs)
    p.close()
    assert sink.closed_ok is True
    # the frames captured before the stop, queued in the channels, still reached the sink
    assert len(sink.seqs) > written_at_stop
    assert p.stats.frames_out == p.stats.frames_in == len(sink.seqs)
    assert sink.seqs == list(range(len(sink.seqs)))
    assert not rtseg_threads()


def test_max_frames_limits_capture():
    sink = ListSink()
    p = Pipeline(CountingSource(100), [Stage("a", identity)], [sink], Policy.BLOCK, max_frames=7)
    p.run()
    assert sink.seqs == list(range(7))


def test_frames_carry_stage_stamps_in_order():
    stamps: list[dict] = []

    class StampSink(ListSink):
        def write(self, frame: Frame) -> None:
            stamps.append(dict(frame.stamps, capture=frame.capture_ns))

    p = Pipeline(
        CountingSource(3),
        [Stage("a", identity), Stage("b", identity)],
        [StampSink()],
        Policy.BLOCK,
    )
    p.run()
    assert len(stamps) == 3
    for s in stamps:
        assert s["capture"] <= s["a"] <= s["b"]


def test_many_start_stop_cycles_leave_no_threads():
    for _ in range(30):
        p = Pipeline(CountingSource(20), [Stage("a", identity)], [NullSink()], Policy.BLOCK)
        p.run()
    assert not rtseg_threads()


class BlockingSink(ListSink):
    """A sink whose first write takes as long as the test says: a slow disk or encoder."""

    def __init__(self) -> None:
        super().__init__()
        self.writing = threading.Event()
        self.release = threading.Event()
        self.closed_while_writing: bool | None = None

    def write(self, frame: Frame) -> None:
        self.writing.set()
        self.release.wait(60)
        super().write(frame)
        self.writing.clear()

    def close(self) -> None:
        self.closed_while_writing = self.writing.is_set()
        super().close()

    def abort(self) -> None:
        self.closed_while_writing = self.writing.is_set()
        super().abort()


def stopped_mid_write() -> tuple[Pipeline, BlockingSink, CountingSource]:
    """A pipeline told to stop while its sink is inside a write that has not returned."""
    sink = BlockingSink()
    source = CountingSource(10**9, period_s=0.001)
    p = Pipeline(source, [Stage("a", identity)], [sink], Policy.BLOCK)
    p.start()
    assert sink.writing.wait(30)
    p.stop()
    return p, sink, source


def test_a_sink_is_closed_only_after_its_write_returns():
    p, sink, _ = stopped_mid_write()
    # the write outlasts the pipeline's first join timeout, then returns
    threading.Timer(pipeline.JOIN_TIMEOUT_S + 0.5, sink.release.set).start()
    with pytest.raises(Stopped, match="after writing 1 frames"):
        p.close()
    assert sink.closed_while_writing is False
    # the threads had to be aborted after the stop: the output is partial, never complete
    assert sink.closed_ok is False and sink.seqs == [0]


def run_ended_by(end: str) -> tuple[Pipeline, ListSink]:
    """A file-like (not live) run of 1000 frames that `end` ends after its 20th frame."""
    sink = ListSink()
    p = Pipeline(CountingSource(1000), [Stage("a", identity)], [sink], Policy.BLOCK)

    def stage(frame: Frame) -> None:
        frame.output = frame.image
        if frame.seq == 20:
            getattr(p, end)()

    p.stages[0] = Stage("a", stage)
    return p, sink


@pytest.mark.parametrize("end", ["abort", "stop"])
def test_a_run_ended_before_its_file_does_is_stopped_never_complete(end):
    p, sink = run_ended_by(end)
    with pytest.raises(Stopped, match="stopped early by") as raised:
        p.run()
    assert sink.closed_ok is False  # aborted: a file sink keeps it as .partial
    assert raised.value.exit_status == 1
    assert 0 < len(sink.seqs) < 1000


def test_the_end_of_the_source_and_max_frames_are_complete():
    for frames, limit in ((50, None), (1000, 50)):
        sink = ListSink()
        p = Pipeline(CountingSource(frames), [Stage("a", identity)], [sink], Policy.BLOCK)
        p.max_frames = limit
        p.run()
        assert sink.closed_ok is True and len(sink.seqs) == 50


def test_a_failing_pump_leaves_the_output_partial():
    class PumpSink(ListSink):
        def pump(self) -> None:
            if len(self.seqs) > 5:
                raise RuntimeError("window gone")

    sink = PumpSink()
    source = CountingSource(10**9, period_s=0.001)
    p = Pipeline(source, [Stage("a", identity)], [sink], Policy.BLOCK)
    with pytest.raises(StageError, match="window gone"):
        p.run()
    assert sink.closed_ok is False


def test_a_sink_stuck_in_a_write_is_left_open_and_the_run_says_so(monkeypatch):
    monkeypatch.setattr(pipeline, "JOIN_TIMEOUT_S", 0.2)
    monkeypatch.setattr(pipeline, "STUCK_TIMEOUT_S", 0.3)
    p, sink, source = stopped_mid_write()
    try:
        with pytest.raises(RtsegError, match="a sink did not return"):
            p.close()
        assert sink.closed_ok is None  # not closed under the writer
        assert source.closed  # the source's thread had ended: it was closed
    finally:
        sink.release.set()
        p.wait(5)
