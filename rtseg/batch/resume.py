"""Which outputs a rerun can skip: complete ones, and only those.

rtseg writes every output under a temporary name and gives it its final name only when the
run finished, so an output under its final name was complete when written. That is checked
again here (the file may have been cut or replaced since): its frame count, read by demuxing
without decoding, must equal the input's.
"""

from __future__ import annotations

from pathlib import Path

from rtseg.io import remote
from rtseg.io.location import Location
from rtseg.io.video.frame_stamps import frame_count


def is_complete(source: Location | Path, output: Location | Path) -> bool:
    """Whether `output` exists under its final name with as many frames as `source` (an
    object exists under its final key only once its upload completed)."""
    output = Location.of(output)
    if not remote.exists(output):
        return False
    done = frame_count(output)
    return done is not None and done > 0 and done == frame_count(source)
