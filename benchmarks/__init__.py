"""The repository's benchmarks (`python -m benchmarks`): the peer, profile, encoder, matting,
quality, cloud, batch and soak comparisons, built on the installed `rtseg bench` (rtseg/bench/).
Figures are printed and written as JSON, Markdown and plots, never asserted."""
