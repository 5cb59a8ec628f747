"""A Griffe extension for the API reference: attributes shown with a type and a sentence.

rtseg documents a dataclass field or a class attribute with a comment beside it (or on the
lines just above it), the way its source is read; Griffe reads only string docstrings, and
shows an attribute without an annotation with no type at all. This extension gives each
public attribute of a class its comment as docstring and, when it has no annotation, the
type of its literal value or of the `__init__` parameter it is set from.
"""

from __future__ import annotations

import ast
import io
import tokenize
from typing import Any

import griffe


def _comment(lines: list[str], lineno: int) -> str:
    """The comment on line `lineno` (1-based) of `lines`, and the comment lines just above."""
    above = []
    index = lineno - 2
    while index >= 0 and lines[index].strip().startswith("#"):
        above.insert(0, lines[index].strip().lstrip("#").strip())
        index -= 1
    beside = ""
    try:
        for token in tokenize.generate_tokens(io.StringIO(lines[lineno - 1]).readline):
            if token.type == tokenize.COMMENT:
                beside = token.string.lstrip("#").strip()
    except (tokenize.TokenError, IndentationError):
        pass  # a line that continues a bracket: no comment of its own to read
    text = " ".join([*above, beside]).strip()
    first = text.split(" ", 1)[0]
    return text[0].upper() + text[1:] if first.isalpha() else text


def _literal_type(value: object) -> str | None:
    try:
        literal = ast.literal_eval(str(value))
    except (ValueError, SyntaxError):
        return None
    return None if literal is None else type(literal).__name__


class AttributeDocs(griffe.Extension):
    """Docstrings from comments, and types from literal values or `__init__` parameters."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        self._walk(pkg)

    def _walk(self, obj: griffe.Object) -> None:
        for member in obj.members.values():
            if member.is_alias:
                continue
            if member.is_class:
                self._document(member)
            if member.is_module or member.is_class:
                self._walk(member)

    def _document(self, cls: griffe.Class) -> None:
        init = cls.members.get("__init__")
        params = {p.name: p for p in init.parameters} if isinstance(init, griffe.Function) else {}
        lines = cls.module.lines  # the whole file: attributes are numbered in it
        for name, attr in cls.members.items():
            if name.startswith("_") or attr.is_alias or not attr.is_attribute:
                continue
            if attr.docstring is None and attr.lineno and lines:
                text = _comment(lines, attr.lineno)
                if text:
                    attr.docstring = griffe.Docstring(text, parent=attr, lineno=attr.lineno)
            if attr.annotation is None:
                given = params.get(str(attr.value)) if attr.value is not None else None
                attr.annotation = given.annotation if given else _literal_type(attr.value)
