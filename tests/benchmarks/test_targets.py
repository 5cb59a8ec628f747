from benchmarks.targets import evaluate


def _stages(**means):
    return {k: {"p50": v, "p99": v, "mean": v} for k, v in means.items()}


def test_file_target_uses_the_720p_rows_and_names_the_bottleneck():
    rows = [
        {"height": "native", "ratio": 1.0},
        {
            "height": "720",
            "source": "a.mp4",
            "ratio": 1.7,
            "pipeline_fps": 85.0,
            "sequential_fps": 50.0,
            "stages_ms": _stages(capture=2, infer=5, sink=9),
        },
    ]
    [t] = evaluate({"pipeline": rows})
    assert t["met"] and "sink" in t["why"]


def test_live_target_needs_no_drops_and_a_low_p99():
    run = {
        "fps_target": 30.0,
        "size": "1280x720",
        "source": "a.mp4",
        "drops": 1,
        "latency_ms": {"p99": 10.0},
        "stages_ms": _stages(infer=4, postprocess=3),
    }
    assert not evaluate({"live": [run]})[0]["met"]
    assert evaluate({"live": [run | {"drops": 0}]})[0]["met"]
    assert not evaluate({"live": [run | {"drops": 0, "latency_ms": {"p99": 30.0}}]})[0]["met"]


def test_overload_target_needs_a_real_overload():
    check = {
        "p99_ms": 50.0,
        "bound_ms": 90.0,
        "drops": 4,
        "max_high_water": 1,
        "bounded": True,
        "queues_bounded": True,
        "overloaded": False,
    }
    [t] = evaluate({"overload": {"check": check}})
    assert not t["met"] and "not an overload" in t["why"]
    assert evaluate({"overload": {"check": check | {"overloaded": True}}})[0]["met"]


def test_matting_targets_at_the_defaults():
    live = {
        "dropped_share": 0.04, "drops": 12, "frames_in": 300, "quality": "fast",
        "mask_age_frames": {"p99": 2.0}, "stages_ms": _stages(infer=30, postprocess=9),
    }  # fmt: skip
    matting = {
        "model": "rvm_mobilenetv3",
        "speedup": 2.1,
        "speedup_rounds": [2.0, 2.1, 2.3],
        "file": {"fps": 20.0, "cpu_ms_per_frame": 80.0, "thread_cpu_ms": _stages(infer=40)},
        "live": live,
        "photos": {"seconds_per_photo": 0.45, "photos": 15, "quality": "best",
                   "cpu_s_per_photo": 0.7},
    }  # fmt: skip
    assert [t["met"] for t in evaluate({"matting": matting})] == [True, True, True]
    worse = matting | {
        "speedup": 1.9,
        "live": live | {"dropped_share": 0.06},
        "photos": matting["photos"] | {"seconds_per_photo": 0.6},
    }
    assert [t["met"] for t in evaluate({"matting": worse})] == [False, False, False]
