"""`rtseg batch`: many files, or one long file in segments, over worker processes or Ray.

Every file goes through the same `Job` as `rtseg run`; this package only finds the files,
hands them to workers that keep their model loaded, and reports what happened to each.
"""
