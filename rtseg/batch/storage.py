"""A split video's segments in object storage: joined where they can all be read (the
batch's own process), then removed.

Each segment is uploaded by the node that made it, as it finishes (`rtseg.io.remote`), under
a `.partial-segments` prefix beside the output. Nodes share no disk, so the join streams the
segment objects here, copies their packets into a local file (`split.join`), uploads it, and
deletes the segment objects, whether the join worked or not (a rerun makes them again).
"""

from __future__ import annotations

import logging
import shutil

from rtseg.batch import split
from rtseg.errors import RtsegError
from rtseg.io import remote
from rtseg.io.location import Location

log = logging.getLogger(__name__)


def join(source: Location, segments: list[Location], output: Location) -> None:
    """`split.join` for segments and an output that may be URLs."""
    if not output.is_remote:
        split.join(source, segments, output.path)
        return
    work = remote.temporary_dir()
    try:
        joined = work / output.name
        split.join(source, segments, joined)
        remote.upload(joined, output)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        discard(output)


def discard(output: Location) -> None:
    """Remove the segment objects of a split output in storage (nothing for a local one,
    whose segments a rerun replaces)."""
    if output.is_remote:
        try:
            remote.remove(split.segments_dir(output), recursive=True)
        except RtsegError as exc:
            log.warning("could not remove the segments of %s: %s", output, exc)
