"""`keep_freed_memory`: a running pipeline reuses freed frame-sized memory instead of paying
page faults for it every frame."""

import subprocess
import sys

import pytest

from tests.conftest import ROOT, write_clip

# Page faults of the whole process per frame once a job runs steadily (from its 40th frame to
# its 100th: the queues are full and the heap has grown), a 720p file blurred into an .mp4,
# with malloc's defaults or tuned.
RUN = """
import resource, sys
import rtseg
from rtseg.memory import keep_freed_memory
if sys.argv[1] == "tuned":
    assert keep_freed_memory()
faults = []
def count(frame):
    if frame.seq in (40, 100):
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt)
job = rtseg.Job(
    rtseg.JobConfig(source=sys.argv[2], sinks=[rtseg.Callback(count), sys.argv[3]], device="cpu")
)
job.run()
print((faults[1] - faults[0]) / 60)
"""


def page_faults_per_frame(mode: str, clip, out) -> float:
    done = subprocess.run(
        [sys.executable, "-c", RUN, mode, str(clip), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return float(done.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="tunes glibc's malloc")
def test_a_running_job_reuses_freed_memory(tmp_path):
    clip = write_clip(tmp_path / "in.mp4", frames=110, size=(1280, 720))
    default = page_faults_per_frame("default", clip, tmp_path / "a.mp4")
    tuned = page_faults_per_frame("tuned", clip, tmp_path / "b.mp4")
    # A 720p frame's arrays span about 2500 pages; with malloc's defaults a good part of them
    # is faulted in afresh every frame.
    assert tuned < default / 3, (tuned, default)
