import json
import threading

import numpy as np

from rtseg.pipeline.frame import Frame, Mask
from rtseg.pipeline.stats import Stats, Window, format_table, percentiles, write_json


def test_percentiles_match_numpy():
    samples = list(np.random.default_rng(0).exponential(5.0, 1000))
    got = percentiles(samples)
    for p in (50, 95, 99):
        assert got[f"p{p}"] == round(float(np.percentile(samples, p)), 2)
    assert percentiles([]) == {"p50": 0.0, "p95": 0.0, "p99": 0.0}


def test_summary_schema_and_table(tmp_path):
    stats = Stats(["infer", "sink"])
    for seq in range(3):
        frame = Frame(seq, np.zeros((1, 1, 3), np.uint8), capture_ns=1_000_000)
        stats.add_input(frame)
        stats.add_stage("infer", 0, 2_000_000)
        stats.add_output(frame, 1_000_000 + 5_000_000 * (seq + 1))
    stats.finish()
    summary = stats.summary({"infer->postprocess": 2}, ["CPUExecutionProvider"], "m")
    assert (summary["frames_in"], summary["frames_out"], summary["drops"]) == (3, 3, 2)
    assert summary["latency_ms"]["p50"] == 10.0
    assert summary["stages"]["infer"]["p99"] == 2.0
    assert summary["steps"] == {}
    table = format_table(summary)
    assert "capture->sink" in table and "2 dropped" in table
    assert "the latency a viewer sees" in " ".join(table.split())
    read_ahead = " ".join(format_table(summary, read_ahead=True).split())
    assert "mostly time spent queued" in read_ahead and "--realtime" in read_ahead
    path = tmp_path / "s.json"
    write_json(summary, path)
    assert json.loads(path.read_text()) == summary


def test_memory_is_bounded_by_the_window_and_totals_still_count():
    stats = Stats(["infer"], window=100)
    for seq in range(1000):
        stats.add_stage("infer", 0, seq * 1_000_000)
        stats.add_output(Frame(seq, np.zeros((1, 1, 3), np.uint8), capture_ns=0), seq * 1_000_000)
    assert stats.frames_out == 1000
    np.testing.assert_array_equal(stats.latency_ms, np.arange(900, 1000, dtype=float))
    np.testing.assert_array_equal(stats.stage_ms["infer"], np.arange(900, 1000, dtype=float))
    np.testing.assert_array_equal(stats.recent_latency_ms(3), [997.0, 998.0, 999.0])
    assert stats.summary({}, [], "m")["latency_ms"]["p50"] == 949.5  # of the last 100


def test_window_reads_oldest_first_before_and_after_it_wraps():
    window = Window(4)
    assert len(window.values()) == 0
    for value in range(3):
        window.add(value)
    np.testing.assert_array_equal(window.values(), [0, 1, 2])
    for value in range(3, 7):
        window.add(value)
    np.testing.assert_array_equal(window.values(), [3, 4, 5, 6])
    np.testing.assert_array_equal(window.values(2), [5, 6])


def test_reading_while_the_pipeline_writes_is_consistent():
    stats = Stats(["infer"], window=64)
    stop = threading.Event()

    def write() -> None:
        seq = 0
        while not stop.is_set():
            stats.add_output(Frame(seq, np.zeros((1, 1, 3), np.uint8), capture_ns=0), 7_000_000)
            seq += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        for _ in range(2000):  # what the preview's HTTP thread reads, while frames arrive
            latency = stats.recent_latency_ms(300)
            assert len(latency) <= 64 and (latency == 7.0).all()
            stats.live_fps()
    finally:
        stop.set()
        writer.join()
    assert stats.frames_out > 0


def test_optional_steps_are_timed_from_any_thread_and_shown_under_the_stages():
    stats = Stats(["infer", "postprocess"])
    workers = [threading.Thread(target=stats.add_step, args=("people", 0.5 + i)) for i in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    stats.add_step("auto-frame", 2.0)
    summary = stats.summary({}, [], "m")
    assert summary["steps"]["people"]["p50"] == 1.5
    assert summary["steps"]["auto-frame"]["p99"] == 2.0
    lines = format_table(summary).splitlines()
    assert any(line.startswith("  people ") for line in lines)


def test_the_mask_s_age_and_the_inference_threads_are_in_the_summary():
    stats = Stats(["infer"])
    for seq, mask_seq in enumerate([0, 0, 0, 3, 3, 5]):  # masks 0, 1, 2, 0, 1, 0 frames old
        frame = Frame(seq, np.zeros((1, 1, 3), np.uint8), capture_ns=1_000_000)
        frame.mask = Mask(np.zeros((1, 1), np.float32), None, mask_seq, False)
        stats.add_input(frame)
        stats.add_output(frame, 2_000_000)
    summary = stats.summary({}, ["CPUExecutionProvider"], "m", threads=2)
    assert summary["mask_age_frames"]["p50"] == 0.5
    assert summary["mask_age_frames"]["p99"] == 1.95
    assert summary["mask_lag_max"] == 2
    assert summary["inference_threads"] == 2
    assert "(2 inference threads)" in format_table(summary)
    assert "masks 0.5 frames old (p50), 1.95 (p99)" in format_table(summary)
    summary["mask_every"] = 2
    assert "the model run on 1 frame in 2" in format_table(summary)
