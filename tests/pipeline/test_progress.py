"""The batch's progress: plain lines without a terminal, frames taken back from a dead worker."""

from __future__ import annotations

import io
import re
import time

from rtseg.pipeline import progress
from rtseg.pipeline.progress import Progress


def test_without_a_terminal_it_prints_plain_lines_with_frames_files_and_rate(monkeypatch):
    monkeypatch.setattr(progress, "LINE_PERIOD_S", 0.0)
    stream = io.StringIO()
    bar = Progress(200, files=4, stream=stream)
    bar.frames(50)
    bar.file_done()
    bar.frames(30)
    bar.frames(-30)  # a worker died: its frames are counted again by the retry
    bar.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("rtseg: 50/200 frames (25%), ") and "files 0/4" in lines[0]
    assert lines[-1].startswith("rtseg: 50/200 frames (25%), ") and "files 1/4" in lines[-1]
    assert "\r" not in stream.getvalue() and "█" not in stream.getvalue()
    assert "frame/s" in lines[-1] and "ETA" in lines[-1]


def test_lines_come_no_more_often_than_the_period(monkeypatch):
    monkeypatch.setattr(progress, "LINE_PERIOD_S", 60.0)
    stream = io.StringIO()
    bar = Progress(None, stream=stream)
    for _ in range(100):
        bar.frames(1)
    bar.close()
    assert stream.getvalue() == ""
    assert bar.line().startswith("100 frames, ")


def test_a_stall_is_said_and_so_is_the_end_of_it():
    stream = io.StringIO()
    bar = Progress(100, stream=stream, stall_s=0.3)
    bar.frames(10)
    time.sleep(1.5)  # a read that hangs: no frame for longer than stall_s
    said = stream.getvalue()
    bar.frames(10)
    bar.close()
    assert said.count("no frame written for") == 1  # once, not every second
    assert "still waiting" in said
    (back,) = [line for line in stream.getvalue().splitlines() if "frames again" in line]
    assert re.fullmatch(r"rtseg: frames again after \d+ s", back)
