"""Where a benchmark leaves its figures: NAME.json (every figure) and NAME.md (the tables
the docs quote) in its --out folder."""

from __future__ import annotations

import json
from pathlib import Path


def write_results(out: Path, name: str, result: dict, markdown: str) -> None:
    """Write `result` as `out/NAME.json` and `markdown` as `out/NAME.md`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / f"{name}.md").write_text(markdown)
