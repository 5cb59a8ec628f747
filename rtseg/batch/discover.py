"""Which inputs a batch processes and where each one's output goes.

A SOURCE is a video or image file, a directory (searched recursively: every video in it, and
every folder holding images as one image sequence), a glob, or `@list.txt` with one SOURCE per
line. Each output mirrors its input's path relative to the root it was found under, so a tree
of recordings comes out as the same tree; an input whose name would climb out of `--out`
(a key like `in/../x.mp4` in a bucket), or whose output or its partial name is another
input, is reported and left alone.

In a folder a file is a video by its suffix (camera cards' `.mts`, `.dv`, `.mod`... included),
and where its suffix says nothing (no suffix, or one rtseg does not know), by what FFmpeg
finds in it. What is passed over is kept with the reason (`Skipped`), for the summary:
files that are not video, and rtseg's own unfinished outputs, told from a user's file of a
similar name by the tag rtseg writes in them or the lock of the run writing them.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from rtseg.errors import RtsegError
from rtseg.io import remote
from rtseg.io.location import Location
from rtseg.io.outputs import final_name, lock_path, partial_name
from rtseg.io.sources import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from rtseg.io.video.reader import holds_video
from rtseg.io.video.writer import CONTAINERS, written_by_rtseg
from rtseg.redaction import redact

FORMATS = ("mp4", "webm", "mov", "png")
# With --format png, where a folder's images would be written around the frame folders of
# its videos (a phone's DCIM folder), they go into a folder of this name in it instead, so no
# input's output lies inside another's.
IMAGES_FOLDER = "images"
GLOB_CHARS = set("*?[")
# Suffixes that say a file is not video: sound, text, subtitles, and what cameras and discs
# write beside their clips (thumbnails, clip and playlist information, DVD menus' data).
NOT_VIDEO_SUFFIXES = {
    ".txt", ".md", ".json", ".jsonl", ".xml", ".csv", ".log", ".ini", ".pdf", ".html",
    ".srt", ".vtt", ".ass", ".ssa", ".sub", ".idx",
    ".mp3", ".m4a", ".aac", ".wav", ".flac", ".opus", ".ogg", ".wma", ".ac3",
    ".thm", ".moi", ".cpi", ".mpl", ".bdm", ".bdmv", ".clpi", ".mpls", ".ifo", ".bup",
    ".xmp", ".db", ".lock",
}  # fmt: skip
# The low-resolution copies action cameras and drones write beside each clip (GoPro's .LRV,
# DJI's .LRF): videos, but the same clips again, and DJI's share the clip's name.
PROXY_SUFFIXES = {".lrv", ".lrf"}
# Why a file in a folder was not taken (`Skipped.reason`).
NOT_VIDEO = "not a video"
PROXY = "a camera's low-resolution copy of a clip"
OWN_PARTIAL = "rtseg's unfinished output"
OWN_SEGMENTS = "rtseg's unfinished split segments"
# A split's segment files (`split.segments_dir`): 000.mp4, 001.mp4...
SEGMENT_NAME = re.compile(r"\d{3}\.[a-z0-9]+")


@dataclass(frozen=True)
class Item:
    """One input (a video, an image, or a folder of images) and the output it gets; either
    may be a URL (see `rtseg.io.remote`)."""

    source: Location
    output: Location


@dataclass(frozen=True)
class Skipped:
    """A file or folder found under a SOURCE and passed over, with the reason."""

    path: str
    reason: str


@dataclass(frozen=True)
class Missing:
    """A SOURCE that named nothing usable; reported as a failure while the rest go on."""

    source: str
    reason: str


def output_for(relative: PurePosixPath, out: Location, fmt: str) -> Location:
    """Where the input at `relative` (to its root) is written: a file, or for png a folder.

    Raises:
        RtsegError: `relative` would climb out of `out`.
    """
    out.join(relative.as_posix())  # refuses what climbs, before any name is made from it
    stem = relative.with_suffix("") if relative.suffix else relative
    name = stem if fmt == "png" else stem.with_name(f"{stem.name}.{fmt}")
    return out.join(name.as_posix())


def is_own_partial(path: Path) -> bool:
    """Whether `path` is rtseg's unfinished output: a partial name (`x.partial.mp4`) of a
    video rtseg writes, and either the lock of the run writing it or rtseg's tag inside."""
    final = final_name(path)
    if final is None or final.suffix.lower() not in CONTAINERS:
        return False
    return lock_path(final).exists() or written_by_rtseg(path)


def _own_segments(folder: Path, files: list[str]) -> bool:
    """Whether `folder` is a split's segments folder (`x.partial-segments`) of rtseg's."""
    return (
        folder.name.endswith(".partial-segments")
        and all(SEGMENT_NAME.fullmatch(f.lower()) for f in files)
        and all(written_by_rtseg(folder / f) for f in files[:1])
    )


def skip_reason(path: Path) -> str | None:
    """Why the file at `path`, found in a folder, is not an input; None when it is a video."""
    suffix = path.suffix.lower()
    if is_own_partial(path):
        return OWN_PARTIAL
    if suffix in VIDEO_SUFFIXES:
        return None
    if suffix in NOT_VIDEO_SUFFIXES:
        return NOT_VIDEO
    if suffix in PROXY_SUFFIXES:
        return PROXY
    return None if holds_video(path) else NOT_VIDEO


def _walk(root: Path, skip: Location, skipped: list[Skipped]) -> list[tuple[Path, Path]]:
    """(input, root) pairs under a directory: its videos, and each folder with images."""
    found: list[tuple[Path, Path]] = []
    skip = None if skip.is_remote else skip.path.resolve()
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        names = sorted(f for f in files if not f.startswith("."))
        if _own_segments(here, names):
            skipped.append(Skipped(str(here), OWN_SEGMENTS))
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (here / d).resolve() != skip)
        if any(Path(f).suffix.lower() in IMAGE_SUFFIXES for f in names):
            found.append((here, root.parent if here == root else root))
        for name in names:
            path = here / name
            if path.suffix.lower() in IMAGE_SUFFIXES:
                continue
            reason = skip_reason(path)
            if reason is None:
                found.append((path, root))
            else:
                skipped.append(Skipped(str(path), reason))
    return found


def _refused(exc: RtsegError) -> Missing:
    """A URL `Location.of` refused, as a failed SOURCE: the message names it first."""
    where, _, reason = str(exc).partition(": ")
    return Missing(where, reason)


def _own_segment_url(relative: PurePosixPath) -> bool:
    """Whether an object is one of a split's segments (rtseg uploads no other partial)."""
    parent = relative.parent.name
    return parent.endswith(".partial-segments") and bool(SEGMENT_NAME.fullmatch(relative.name))


def _expand_url(spec: str, skip: Location, missing: list[Missing], skipped: list[Skipped]) -> list:
    """(input, its path relative to the prefix) for the videos a URL names, by suffix (an
    object is not probed); an object whose key climbs (`in/../x.mp4`) goes into `missing`,
    what is passed over into `skipped`."""
    try:
        where = Location.of(spec)
        if where.is_web:  # one file: its name is the path's, whatever the query says
            found = [(where.url, where.name)] if remote.exists(where) else None
        else:
            found = remote.find(where)
    except RtsegError as exc:
        missing.append(_refused(exc))
        return []
    if found is None:
        missing.append(Missing(str(where), "input not found"))
        return []
    inside = skip.url.rstrip("/") + "/"
    pairs, refused = [], len(missing)
    for url, relative in found:
        name = PurePosixPath(relative)
        if url.startswith(inside):
            continue
        if _own_segment_url(name) or name.suffix.lower() not in VIDEO_SUFFIXES:
            why = OWN_SEGMENTS if _own_segment_url(name) else NOT_VIDEO
            skipped.append(Skipped(redact(url), why))  # a web URL may carry credentials
            continue
        try:
            pairs.append((Location.of(url), name))
        except RtsegError as exc:
            missing.append(_refused(exc))
    if not pairs and len(missing) == refused:
        missing.append(Missing(str(where), "no video found here"))
    return pairs


def _expand(
    spec: str, base: Path, skip: Location, missing: list[Missing], skipped: list[Skipped]
) -> list:
    """(input, path relative to its root) pairs for one SOURCE; what names nothing goes
    into `missing`, what is passed over into `skipped`."""
    if remote.is_remote(spec):
        return _expand_url(spec, skip, missing, skipped)
    return [
        (
            Location.of(source),
            PurePosixPath((source.relative_to(root) if source != root else Path(source.name))
                          .as_posix()),
        )
        for source, root in _expand_local(spec, base, skip, missing, skipped)
    ]  # fmt: skip


def _expand_local(
    spec: str, base: Path, skip: Location, missing: list[Missing], skipped: list[Skipped]
) -> list:
    """(input, root) pairs for one local SOURCE (see `_expand`)."""
    if spec.startswith("@"):
        listing = base / spec[1:]
        try:
            lines = listing.read_text().splitlines()
        except OSError as exc:
            missing.append(Missing(spec, f"cannot read list: {exc.strerror}"))
            return []
        pairs: list[tuple[Path, Path]] = []
        for line in lines:
            line = line.strip()
            if line and not line.startswith("#"):
                pairs += _expand_local(line, listing.parent, skip, missing, skipped)
        return pairs
    path = base / spec
    if path.is_dir():
        return _walk(path, skip, skipped)
    if path.is_file():
        # A file named inside a list keeps its folders relative to the list.
        inside = base != Path() and path.resolve().is_relative_to(base.resolve())
        return [(path, base if inside else path.parent)]
    if GLOB_CHARS & set(spec):
        prefix = min((spec.split(c)[0] for c in GLOB_CHARS), key=len)
        root = base / prefix if prefix.endswith(("/", os.sep)) else (base / prefix).parent
        pairs = []
        for match in sorted(glob.glob(str(base / spec), recursive=True)):
            hit = Path(match)
            if hit.is_dir():
                pairs += _walk(hit, skip, skipped)
            elif hit.suffix.lower() in IMAGE_SUFFIXES or (reason := skip_reason(hit)) is None:
                pairs.append((hit, root))
            else:
                skipped.append(Skipped(str(hit), reason))
        if not pairs:
            missing.append(Missing(spec, "no file matches this pattern"))
        return pairs
    missing.append(Missing(spec, "input not found"))
    return []


def _same(a: Location, b: Location) -> bool:
    if a.is_remote or b.is_remote:
        return a == b
    return a.path.resolve() == b.path.resolve()


def discover(
    sources: list[str], out: Location | Path | str, fmt: str
) -> tuple[list[Item], list[Missing], list[Skipped]]:
    """The batch's inputs with their outputs, in a stable order, the SOURCEs that failed,
    and what the folders held that is not an input. SOURCEs and `out` may be URLs: a
    prefix (`s3://bucket/talks/`) is searched for videos as a folder is.

    Raises RtsegError when two inputs would write the same output.
    """
    if fmt not in FORMATS:
        raise RtsegError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    out = Location.of(out)
    if fmt == "png" and out.is_remote:
        raise RtsegError("--format png writes a local folder; a URL --out takes mp4, webm or mov")
    items: dict[Location, Item] = {}
    missing: list[Missing] = []
    skipped: list[Skipped] = []
    for spec in sources:
        for source, relative in _expand(spec, Path(), out, missing, skipped):
            try:
                output = output_for(relative, out, fmt)
            except RtsegError as exc:
                missing.append(Missing(str(source), str(exc)))
                continue
            earlier = items.get(output)
            if earlier is not None and not _same(earlier.source, source):
                raise RtsegError(
                    f"{earlier.source} and {source} would both write {output}; "
                    "give them separate roots or rename one"
                )
            items[output] = Item(source, output)
    if fmt == "png":
        items = _unnested(items)
    return _apart_from_inputs(list(items.values()), missing), missing, skipped


def _apart_from_inputs(items: list[Item], missing: list[Missing]) -> list[Item]:
    """The items whose output, and its partial name, are no input of the batch (a rerun
    clears a partial name: it must never be someone's input); the others go into `missing`."""
    inputs = {item.source.path.resolve() for item in items if not item.source.is_remote}
    kept = []
    for item in items:
        if not item.output.is_remote:
            output = item.output.path.resolve()
            hit = next((p for p in (output, partial_name(output)) if p in inputs), None)
            if hit is not None:
                reason = f"its output {item.output} would replace the input {hit}"
                missing.append(Missing(str(item.source), f"{reason}; choose another --out"))
                continue
        kept.append(item)
    return kept


def _unnested(items: dict[Location, Item]) -> dict[Location, Item]:
    """PNG outputs moved so that none holds another's (see IMAGES_FOLDER); each output folder
    is claimed whole by its run, so a nested one would be refused or replaced by it."""
    moved: dict[Location, Item] = {}
    for output, item in items.items():
        if any(o != output and o.path.is_relative_to(output.path) for o in items):
            output = output.join(IMAGES_FOLDER)
            if output in items:
                raise RtsegError(
                    f"{items[output].source} and the images of {item.source} would both "
                    f"write {output}; give them separate roots or rename one"
                )
        moved[output] = Item(item.source, output)
    return moved
