"""A MkDocs hook: rtseg's public names in the guides link to their API reference entry.

The guides stay plain Markdown (readable as files): `` `rtseg.Segmenter` `` or
`` `VideoWriter` `` in a page outside reference/ becomes a cross-reference that mkdocs-autorefs
resolves to the entry the reference pages render; code blocks are left alone.
"""

from __future__ import annotations

import re
from typing import Any

import rtseg

NAMES = {name for name in rtseg.__all__ if not name.startswith("_")}
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE = re.compile(r"(?<![\[`])`(rtseg\.)?([A-Za-z_]\w*)(\(\))?`(?![\]`])")


def _link(match: re.Match[str]) -> str:
    name = match.group(2)
    if name not in NAMES:
        return match.group(0)
    return f"[{match.group(0)}][rtseg.{name}]"


def link_names(markdown: str) -> str:
    """`markdown` with each inline-code public name made a reference link (not in fences)."""
    parts, last = [], 0
    for fence in FENCE.finditer(markdown):
        parts.append(CODE.sub(_link, markdown[last : fence.start()]))
        parts.append(fence.group(0))
        last = fence.end()
    parts.append(CODE.sub(_link, markdown[last:]))
    return "".join(parts)


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    if page.file.src_uri.startswith("reference"):
        return markdown
    return link_names(markdown)
