"""The threaded pipeline: frames, the channels between stages, the stages' threads, their stats."""
