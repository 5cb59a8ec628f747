"""The Python examples of README.md and of every page under docs/, run as written.

Each page's examples run in order, in a folder of their own that holds the files they name
(a clip `talk.mp4`, a background `beach.jpg`, a portrait `portrait.jpg`); a page whose
results are known has them checked below, and every other page must at least run.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import ROOT, decode_frames, write_clip
from tests.media import frame_times

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def python_examples(page: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", page.read_text(), re.S | re.M)


def check_effect_per_output(folder: Path) -> None:
    assert len(decode_frames(folder / "talk-blur.mp4")) == 24
    pngs = sorted((folder / "talk-alpha").glob("*.png"))
    assert len(pngs) == 24 and cv2.imread(str(pngs[0]), cv2.IMREAD_UNCHANGED).shape[2] == 4


def check_readme(folder: Path, ran: list[dict]) -> None:
    (blurred,) = ran
    assert blurred["stats"].frames_out == 24
    assert len(decode_frames(folder / "talk-blurred.mp4")) == 24
    check_effect_per_output(folder)


def check_python_page(folder: Path, ran: list[dict]) -> None:
    videos, images, frames_in, read_write, live, job = ran
    assert videos["stats"].frames_out == 24
    assert len(decode_frames(folder / "talk-blurred.mp4")) == 24
    assert len(decode_frames(folder / "talk-beach.mp4")) == 24
    assert len(list((folder / "talk-frames").glob("*.png"))) == 24
    assert len(videos["person_share"]) == 24
    check_effect_per_output(folder)
    assert all(0.0 <= share <= 1.0 for share in videos["person_share"])
    matte = cv2.imread(str(folder / "portrait-matte.png"), cv2.IMREAD_GRAYSCALE)
    assert matte.shape == (600, 512)
    assert matte[200, 256] > 200 and matte[20, 20] < 30  # her face is "person", the wall not
    assert images["result"].model == "selfie_general"
    assert images["alpha"].shape == (240, 320)  # the last frame of the video loop
    assert frames_in["stats"].frames_out == 48
    assert frame_times(folder / "made.mp4") == pytest.approx([i / 24 for i in range(48)], abs=1e-3)
    paused = frame_times(folder / "paused.mp4")
    assert len(paused) == 48 and paused[24] - paused[23] == pytest.approx(0.5 + 1 / 24, abs=1e-3)
    assert (read_write["reader"].info.width, read_write["reader"].info.height) == (320, 240)
    assert frame_times(folder / "talk-edges.mp4") == frame_times(folder / "talk.mp4")
    times = [t for t, _ in live["shares"]]
    assert times and times == sorted(times) and len(times) + live["live"].dropped == 30
    assert all(0.0 <= share <= 1.0 for _, share in live["shares"])
    assert job["seen"] == list(range(30))


def check_webcam_page(folder: Path, ran: list[dict]) -> None:
    (example,) = ran
    assert len(decode_frames(folder / "talk-main.mp4")) == 24
    first, second, framed = example["first"], example["second"], example["framed"]
    assert framed.shape == example["portrait"].shape  # a crop, at the image's size
    assert second.alpha.shape == framed.shape[:2]
    assert (second.alpha >= 0.5).mean() < (first.alpha >= 0.5).mean()  # grow -4 shrank it


CHECKS = {
    "README.md": check_readme,
    "python.md": check_python_page,
    "webcam.md": check_webcam_page,
}


@pytest.mark.parametrize(
    "page", [p for p in PAGES if python_examples(p)], ids=lambda page: page.name
)
def test_the_examples_run(page: Path, tmp_path, monkeypatch):
    write_clip(tmp_path / "talk.mp4", frames=24, size=(320, 240))
    cv2.imwrite(str(tmp_path / "beach.jpg"), np.full((90, 160, 3), (200, 180, 40), np.uint8))
    shutil.copy(ROOT / "rtseg" / "data" / "grace_hopper.jpg", tmp_path / "portrait.jpg")
    monkeypatch.chdir(tmp_path)
    ran = []
    for code in python_examples(page):
        namespace: dict = {}
        exec(compile(code, str(page.relative_to(ROOT)), "exec"), namespace)
        ran.append(namespace)
    if page.name in CHECKS:
        CHECKS[page.name](tmp_path, ran)


def test_the_pages_with_checks_have_examples():
    names = {p.name for p in PAGES if python_examples(p)}
    assert set(CHECKS) <= names
