"""`keep_freed_memory`: frame-sized blocks come from malloc's heap, and a freed one stays
there for the next frame instead of going back to the kernel (to be faulted in again).

The speed this buys is measured, not tested: docs/efficiency.md (page faults and system
time of a 720p file run, with and without it)."""

import subprocess
import sys

import pytest

from tests.conftest import ROOT

# Whether an 8 MB block (a 1080p float32 alpha), once freed, still lies whole inside malloc's
# heap (/proc/self/maps): served from the heap and kept there rather than handed back.
PROBE = """
import sys
import numpy as np
from rtseg.pipeline.memory import keep_freed_memory
if sys.argv[1] == "tuned":
    assert keep_freed_memory()
block = np.ones(8 << 20, np.uint8)
start = block.ctypes.data
del block
spans = [  # the kernel may list the heap as several adjacent areas
    [int(x, 16) for x in line.split()[0].split("-")]
    for line in open("/proc/self/maps")
    if line.rstrip().endswith("[heap]")
]
lo, hi = min((a for a, _ in spans), default=0), max((b for _, b in spans), default=0)
print(lo <= start and hi - start >= 8 << 20)
"""


def kept_in_heap(mode: str) -> bool:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip() == "True"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="tunes glibc's malloc")
def test_a_freed_frame_sized_block_is_kept_for_the_next_frame():
    assert kept_in_heap("tuned")
    # glibc's defaults map such a block on its own and unmap it when it is freed
    assert not kept_in_heap("default")
