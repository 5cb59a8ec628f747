"""The README's "Use it from Python" snippets, run as written."""

from __future__ import annotations

import re
import shutil

import cv2
import numpy as np

from tests.conftest import ROOT, decode_frames, write_clip


def python_snippets() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Use it from Python\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_readme_snippets_run(tmp_path, monkeypatch):
    snippets = python_snippets()
    assert len(snippets) == 2
    # The files the snippets name: a clip, a background, a portrait.
    write_clip(tmp_path / "talk.mp4", frames=24, size=(320, 240))
    cv2.imwrite(str(tmp_path / "beach.jpg"), np.full((90, 160, 3), (200, 180, 40), np.uint8))
    shutil.copy(ROOT / "rtseg" / "data" / "grace_hopper.jpg", tmp_path / "portrait.jpg")
    monkeypatch.chdir(tmp_path)
    ran = []
    for code in snippets:
        namespace: dict = {}
        exec(compile(code, "README.md", "exec"), namespace)
        ran.append(namespace)
    videos, images = ran
    assert videos["stats"]["frames_out"] == 24
    assert len(decode_frames(tmp_path / "talk-blurred.mp4")) == 24
    assert len(decode_frames(tmp_path / "talk-beach.mp4")) == 24
    assert len(list((tmp_path / "talk-frames").glob("*.png"))) == 24
    assert len(videos["person_share"]) == 24
    assert all(0.0 <= share <= 1.0 for share in videos["person_share"])
    matte = cv2.imread(str(tmp_path / "portrait-matte.png"), cv2.IMREAD_GRAYSCALE)
    assert matte.shape == (600, 512)
    assert matte[200, 256] > 200 and matte[20, 20] < 30  # her face is "person", the wall not
    assert images["result"].model == "selfie_general"
    assert images["alpha"].shape == (240, 320)  # the last frame of the video loop
