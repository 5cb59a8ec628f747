"""`rtseg bench`: the engine, file, live and overload benchmarks of an installed rtseg.

The repository's `benchmarks/` package (peer, quality, cloud, batch, matting and soak
comparisons) builds on these modules.
"""
