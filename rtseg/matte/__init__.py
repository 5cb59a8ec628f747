"""From model output to composed frame: passes, smoothing, edge refinement, effects."""
