import sys

from benchmarks.peer import format_peer, median_run, peer_python
from benchmarks.targets import evaluate


def test_a_missing_peer_venv_is_named_with_the_make_target(tmp_path):
    python, why = peer_python(str(tmp_path / "no-venv" / "bin" / "python"))
    assert python is None and "make peer-venv" in why


def test_a_python_without_mediapipe_is_not_a_peer():
    python, why = peer_python(sys.executable)
    assert python is None and "not installed" in why and "mediapipe" in why


def test_the_tiny_run_measures_rtseg_beside_the_peer_or_says_why_not(tiny_run):
    _, results = tiny_run
    peer = results["peer"]
    assert peer["input"]["frames"] == 5 and not peer["input"]["upscaled"]
    assert peer["rtseg_file"]["frames"] == 5 and peer["rtseg_file"]["bytes"] > 0
    assert peer["rtseg_file_fast"]["frames"] == 5  # the plain whole-frame level, beside it
    assert set(peer["rtseg_file"]["thread_cpu_ms"]) >= {"capture", "infer", "sink"}
    assert 0.0 < peer["rtseg_live"]["cpu_share"] < 4.0
    if "peer_skipped" in peer:
        assert any("peer: skipped" in note for note in results["notes"])
    else:
        assert peer["peer_file"]["frames"] == 5 and peer["fps_ratio"] > 0


def _peer(fps_ratio, size_ratio, share, own, p99=12.0):
    return {
        "input": {"size": "1280x720"},
        "fps_ratio": fps_ratio,
        "size_ratio": size_ratio,
        "rtseg_file": {"fps": 90.0, "cpu_ms_per_frame": 15.0, "own_cpu_ms": own},
        "peer_file": {"fps": 60.0, "cpu_ms_per_frame": 20.0},
        "rtseg_live": {"cpu_share": share, "latency_ms": {"p99": p99}, "drops": 0},
        "peer_live": {"cpu_share": 0.6, "latency_ms": {"p99": 20.0}, "drops": 0},
    }


def test_peer_targets_need_speed_a_smaller_file_half_the_peer_s_cpu_and_little_own_work():
    met = [t["met"] for t in evaluate({"peer": _peer(2.0, 0.5, 0.3, 5.0)})]
    assert met == [True, True, True]
    met = [t["met"] for t in evaluate({"peer": _peer(1.9, 1.1, 0.31, 5.1)})]
    assert met == [False, False, False]
    # within half the peer's CPU, but a frame's p99 over one frame period
    assert not evaluate({"peer": _peer(2.0, 0.5, 0.3, 5.0, p99=34.0)})[1]["met"]


def test_encoder_candidates_are_measured_on_the_same_frames(tiny_run):
    _, results = tiny_run
    rows = results["encoder"]["rows"]
    assert len({(r["preset"], r["tune"], r["crf"], r["threads"]) for r in rows}) == len(rows)
    assert all(r["bytes"] > 0 and r["cpu_ms_per_frame"] > 0 for r in rows)
    assert all(25.0 < r["psnr_db"] < 99.0 for r in rows)
    # a faster preset at the same CRF spends less CPU and more bytes on this clip
    by = {(r["preset"], r["tune"], r["crf"], r["threads"]): r for r in rows}
    assert (
        by[("ultrafast", "none", 20, "auto")]["bytes"]
        > by[("veryfast", "none", 20, "auto")]["bytes"]
    )


def test_each_file_run_is_shown_by_its_median_round():
    runs = [{"fps": 90.0, "bytes": 1}, {"fps": 70.0, "bytes": 2}, {"fps": 80.0, "bytes": 3}]
    middle = median_run(runs)
    assert middle["bytes"] == 3 and middle["fps_runs"] == [90.0, 70.0, 80.0]
    assert median_run(runs[:2])["fps"] == 70.0  # an even count: the lower middle run
    assert median_run(runs[:1])["fps_runs"] == [90.0]


def test_the_table_names_the_rounds_and_the_spread_of_their_ratios():
    def file_run(fps):
        return {"fps": fps, "cpu_ms_per_frame": 19.0, "bytes": 100, "thread_cpu_ms": {}}

    live = {"cpu_share": 0.3, "latency_ms": {"p99": 10.0}, "drops": 0}
    rt = median_run([file_run(f) for f in (95.0, 90.0, 99.0)])
    mp = median_run([file_run(f) for f in (60.0, 62.0, 58.0)])
    result = {
        "input": {"from": "c.mp4", "from_size": "960x540", "upscaled": True, "size": "1280x720",
                  "frames": 300},
        "rtseg_file": rt, "rtseg_file_fast": rt, "peer_file": mp,
        "rtseg_live": live, "peer_live": live,
        "fps_ratio": 1.5, "fps_ratio_fast": 1.5, "size_ratio": 1.0,
        "fps_ratio_rounds": [1.583, 1.452, 1.707],
    }  # fmt: skip
    table = format_peer(result)
    assert "the median of 3 alternated rounds" in table
    assert "1.50x fps (rounds 1.45-1.71x;" in table
