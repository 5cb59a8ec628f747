"""Engine, pipeline, live and overload benchmarks: `python -m benchmarks` (or `rtseg bench`)."""
