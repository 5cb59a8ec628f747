"""Benchmarks (`rtseg bench`, `python -m benchmarks`): figures printed and written as JSON,
Markdown and plots, never asserted."""
