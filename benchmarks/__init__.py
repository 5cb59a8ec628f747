"""Benchmarks: figures printed and written as JSON + Markdown, never asserted."""
