"""The API reference is generated from docstrings: every public name and every public method
or property of a public class must have one of its own (mkdocstrings renders a blank entry
for one that has none, and `mkdocs build --strict` would not notice)."""

from __future__ import annotations

import inspect

import rtseg


def own_doc(obj: object) -> str:
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else getattr(obj, "__doc__", None)
    if inspect.isclass(obj) and doc and doc.startswith(f"{obj.__name__}("):
        return ""  # the signature a dataclass writes for itself
    return (doc or "").strip()


def undocumented() -> list[str]:
    missing = []
    for name in rtseg.__all__:
        obj = getattr(rtseg, name)
        if name.startswith("__"):
            continue
        if not own_doc(obj):
            missing.append(name)
        if not inspect.isclass(obj) or not obj.__module__.startswith("rtseg"):
            continue
        for attr, value in vars(obj).items():
            if attr.startswith("_") and attr != "__init__":
                continue
            member = value.fget if isinstance(value, property) else value
            member = getattr(member, "__func__", member)
            if not inspect.isfunction(member) or not member.__module__.startswith("rtseg"):
                continue  # e.g. the __init__ typing.Protocol gives its classes
            if not (member.__doc__ or "").strip():
                if attr == "__init__" and own_doc(obj):
                    continue  # the class's docstring says how to make one
                missing.append(f"{name}.{attr}")
    return missing


def test_every_public_name_has_a_docstring():
    assert undocumented() == []
