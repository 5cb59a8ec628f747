"""The checkout itself: no tracked file holds a merge's conflict markers (the strict docs
build renders them as text, so nothing else notices)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

# A conflict's first and last lines (its middle line, seven "=", is also a Markdown heading's
# underline). Built from parts, so this file holds no marker of its own.
MARKER = re.compile("^(" + "<" * 7 + "|" + ">" * 7 + ")( |$)", re.MULTILINE)


def conflict_markers(paths: list[str]) -> list[str]:
    """`path:line` of each conflict marker in the text files `paths` (relative to ROOT)."""
    found = []
    for name in paths:
        try:
            text = (ROOT / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue  # a binary file, or one deleted but not yet staged
        for match in MARKER.finditer(text):
            found.append(f"{name}:{text.count(chr(10), 0, match.start()) + 1}")
    return found


def tracked_files() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
    )
    return [name for name in listed.stdout.decode().split("\0") if name]


def test_no_tracked_file_holds_conflict_markers():
    assert conflict_markers(tracked_files()) == []


def test_the_check_finds_a_marker(tmp_path, monkeypatch):
    monkeypatch.setattr("tests.test_repository.ROOT", tmp_path)
    (tmp_path / "page.md").write_text(f"a\n{'<' * 7} HEAD\nb\n{'=' * 7}\nc\n{'>' * 7} main\n")
    (tmp_path / "fine.md").write_text(f"Heading\n{'=' * 7}\n\n    {'<' * 7} quoted\n")
    assert conflict_markers(["page.md", "fine.md"]) == ["page.md:2", "page.md:6"]
