"""The API reference is generated from docstrings: every public name and every public method
or property of a public class must have one of its own (mkdocstrings renders a blank entry
for one that has none, and `mkdocs build --strict` would not notice). Each name is on one
grouped page, the built pages show what a reader needs (a class's parameters, attributes'
types), and the guides link names into them."""

from __future__ import annotations

import html
import inspect
import os
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import rtseg
from tests.conftest import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


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


def reference_pages() -> dict[str, list[str]]:
    """Each grouped reference page and the names it renders (`::: rtseg.NAME`)."""
    pages = sorted((ROOT / "docs" / "reference").glob("*.md"))
    return {p.stem: re.findall(r"^::: rtseg\.(\w+)$", p.read_text(), re.MULTILINE) for p in pages}


def test_every_public_name_is_on_one_reference_page():
    rendered = [name for names in reference_pages().values() for name in names]
    assert sorted(rendered) == sorted(n for n in rtseg.__all__ if not n.startswith("__"))
    index = (ROOT / "docs" / "reference.md").read_text()
    assert [name for name in rendered if f"][rtseg.{name}]" not in index] == []
    assert set(reference_pages()) == {
        "running", "segmenting", "reading-and-writing", "effects", "statistics", "errors"
    }  # fmt: skip


def test_guides_link_public_names_but_not_code_blocks():
    link_names = runpy.run_path(str(ROOT / "docs" / "hooks" / "reference_links.py"))["link_names"]
    page = "Use `rtseg.Segmenter` or `VideoWriter`, not `cv2.VideoWriter` or `other`.\n"
    page += "```python\nx = `Segmenter`\n```\nAnd `read_video()`.\n"
    assert link_names(page) == (
        "Use [`rtseg.Segmenter`][rtseg.Segmenter] or [`VideoWriter`][rtseg.VideoWriter], not "
        "`cv2.VideoWriter` or `other`.\n```python\nx = `Segmenter`\n```\n"
        "And [`read_video()`][rtseg.read_video].\n"
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("mkdocstrings", reason="the docs extra builds the site")
    out = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    return out


def shown_text(page: Path, tmp_path: Path) -> str:
    """The page as headless Chromium renders it: its DOM's text, tags stripped."""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom"]  # fmt: skip
    done = subprocess.run([CHROMIUM, *flags, page.as_uri()], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return html.unescape(re.sub(r"<[^>]+>", " ", done.stdout))


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")
def test_the_built_reference_shows_segmenter_s_parameters(site: Path, tmp_path: Path):
    text = " ".join(shown_text(site / "reference" / "segmenting" / "index.html", tmp_path).split())
    table = text[text.index("Parameters:") : text.index("Raises:")]
    for name in inspect.signature(rtseg.Segmenter).parameters:
        assert f" {name} " in table, name
    assert 'mode Mode "image", "video" or "live"' in table  # its type, and the values
    assert "Engine(" not in text  # an attribute shows its type, not the code that set it


def test_the_guides_link_into_the_reference(site: Path):
    page = (site / "python" / "index.html").read_text()
    assert 'href="../reference/segmenting/#rtseg.Segmenter"' in page
    assert 'href="../reference/running/#rtseg.process_video"' in page
