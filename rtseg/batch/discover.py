"""Which inputs a batch processes and where each one's output goes.

A SOURCE is a video or image file, a directory (searched recursively: every video in it, and
every folder holding images as one image sequence), a glob, or `@list.txt` with one SOURCE per
line. Each output mirrors its input's path relative to the root it was found under, so a tree
of recordings comes out as the same tree; an input whose name would climb out of `--out`
(a key like `in/../x.mp4` in a bucket), or whose output or its partial name is another
input, is reported and left alone.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from rtseg.errors import RtsegError
from rtseg.io import remote
from rtseg.io.location import Location
from rtseg.io.outputs import partial_name
from rtseg.io.sources import IMAGE_SUFFIXES, VIDEO_SUFFIXES

FORMATS = ("mp4", "webm", "mov", "png")
# With --format png, where a folder's images would be written around the frame folders of
# its videos (a phone's DCIM folder), they go into a folder of this name in it instead, so no
# input's output lies inside another's.
IMAGES_FOLDER = "images"
GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class Item:
    """One input (a video, an image, or a folder of images) and the output it gets; either
    may be a URL (see `rtseg.io.remote`)."""

    source: Location
    output: Location


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


def _is_partial(path: PurePosixPath) -> bool:
    """Outputs rtseg is writing or left unfinished (`x.partial.mp4`, `x.partial-video.mp4`)."""
    return ".partial" in path.name


def _walk(root: Path, skip: Location) -> list[tuple[Path, Path]]:
    """(input, root) pairs under a directory: its videos, and each folder with images."""
    found: list[tuple[Path, Path]] = []
    skip = None if skip.is_remote else skip.path.resolve()
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (here / d).resolve() != skip)
        names = sorted(f for f in files if not f.startswith("."))
        if any(Path(f).suffix.lower() in IMAGE_SUFFIXES for f in names):
            found.append((here, root.parent if here == root else root))
        for name in names:
            path = here / name
            if path.suffix.lower() in VIDEO_SUFFIXES and not _is_partial(path):
                found.append((path, root))
    return found


def _expand_url(spec: str, skip: Location, missing: list[Missing]) -> list:
    """(input, its path relative to the prefix) for the videos a URL names; an object
    whose key climbs (`in/../x.mp4`) goes into `missing`."""
    try:
        where = Location.of(spec)
        if where.is_web:  # one file: its name is the path's, whatever the query says
            found = [(where.url, where.name)] if remote.exists(where) else None
        else:
            found = remote.find(where)
    except RtsegError as exc:
        missing.append(Missing(str(exc).partition(": ")[0] or spec, str(exc)))
        return []
    if found is None:
        missing.append(Missing(str(where), "input not found"))
        return []
    inside = skip.url.rstrip("/") + "/"
    pairs, refused = [], len(missing)
    for url, relative in found:
        name = PurePosixPath(relative)
        if name.suffix.lower() not in VIDEO_SUFFIXES or _is_partial(name):
            continue
        try:
            source = Location.of(url)
        except RtsegError as exc:
            missing.append(Missing(str(exc).partition(": ")[0], str(exc)))
            continue
        if not url.startswith(inside):
            pairs.append((source, name))
    if not pairs and len(missing) == refused:
        missing.append(Missing(str(where), "no video found here"))
    return pairs


def _expand(spec: str, base: Path, skip: Location, missing: list[Missing]) -> list:
    """(input, path relative to its root) pairs for one SOURCE; what names nothing goes
    into `missing`."""
    if remote.is_remote(spec):
        return _expand_url(spec, skip, missing)
    return [
        (
            Location.of(source),
            PurePosixPath((source.relative_to(root) if source != root else Path(source.name))
                          .as_posix()),
        )
        for source, root in _expand_local(spec, base, skip, missing)
    ]  # fmt: skip


def _expand_local(spec: str, base: Path, skip: Location, missing: list[Missing]) -> list:
    """(input, root) pairs for one local SOURCE; what names nothing goes into `missing`."""
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
                pairs += _expand_local(line, listing.parent, skip, missing)
        return pairs
    path = base / spec
    if path.is_dir():
        return _walk(path, skip)
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
                pairs += _walk(hit, skip)
            elif hit.suffix.lower() in VIDEO_SUFFIXES | IMAGE_SUFFIXES and not _is_partial(hit):
                pairs.append((hit, root))
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
) -> tuple[list[Item], list[Missing]]:
    """The batch's inputs with their outputs, in a stable order, and the SOURCEs that failed.
    SOURCEs and `out` may be URLs: a prefix (`s3://bucket/talks/`) is searched for videos
    as a folder is.

    Raises RtsegError when two inputs would write the same output.
    """
    if fmt not in FORMATS:
        raise RtsegError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    out = Location.of(out)
    if fmt == "png" and out.is_remote:
        raise RtsegError("--format png writes a local folder; a URL --out takes mp4, webm or mov")
    items: dict[Location, Item] = {}
    missing: list[Missing] = []
    for spec in sources:
        for source, relative in _expand(spec, Path(), out, missing):
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
    return _apart_from_inputs(list(items.values()), missing), missing


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
