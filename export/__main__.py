"""`python -m export NAME -o OUT.onnx [...]` and `python -m export --list`.

Expected failures (unknown family, missing weights, bad size) print one line and exit 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from export.families import BUNDLED, FAMILIES
from export.onnx_export import PRECISIONS, export
from rtseg.errors import RtsegError
from rtseg.models.contract import parse_size


def families_table() -> str:
    """The families and the options each allows, as a plain-text table."""
    header = ("family", "head", "default size", "weights", "precision", "--labels", "source")
    rows = [header]
    for f in FAMILIES.values():
        weights = "default|none|PATH" if f.weights_enum else "none|PATH"
        size = f"{f.default_size[0]}x{f.default_size[1]}"
        if f.size_multiple > 1:
            size += f" (x{f.size_multiple})"
        labels = "yes" if f.has_labels else "no"
        rows.append((f.name, f.head, size, weights, "|".join(PRECISIONS), labels, f.source))
    rows += [(name, "bundled", "-", "-", "-", "-", what) for name, what in BUNDLED.items()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m export", description="Export a model family to the rtseg ONNX contract."
    )
    p.add_argument("name", nargs="?", help="model family (see --list)")
    p.add_argument("--list", action="store_true", help="list the families and their options")
    p.add_argument("--weights", default="default", help="default, none, or a checkpoint PATH")
    p.add_argument("--precision", default="fp32", choices=PRECISIONS)
    p.add_argument("--size", help="input size HxW (default: the family's own)")
    p.add_argument("--labels", action="store_true", help="also output VOC class labels")
    p.add_argument("-o", "--output", type=Path, help="the .onnx file to write")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.list:
        print(families_table())
        return 0
    try:
        if not args.name or args.output is None:
            raise RtsegError("give a family NAME and -o OUT.onnx (or --list)")
        try:
            size = parse_size(args.size) if args.size else None
        except ValueError as exc:
            raise RtsegError(f"--size: {exc}") from None
        result = export(args.name, args.output, args.weights, args.precision, size, args.labels)
    except RtsegError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    info = result.info
    trained = "" if info.trained else " (random weights: output means nothing)"
    print(
        f"wrote {result.path} ({result.size_bytes / 1e6:.1f} MB, {result.seconds:.1f} s): "
        f"{info.name} {info.input_size} {info.precision}{trained}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
