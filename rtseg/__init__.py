"""rtseg: real-time person segmentation of live and recorded video on ONNX Runtime.

Two calls cover most uses:

```python
import rtseg

rtseg.process_video("talk.mp4", "out.mp4", effect=rtseg.Blur(31))

with rtseg.Segmenter() as segmenter:
    alpha = segmenter.segment(image_bgr).alpha
```

`rtseg run` is a thin layer over the same objects (`rtseg.cli`).
"""

__version__ = "0.1.0"

# OpenCV is loaded before PyAV on purpose: the other way round, the libraries bundled in
# PyAV's wheel make OpenCV's Qt window hang in its first imshow (av 18, opencv-python 5.0).
import cv2  # noqa: F401

from rtseg.api import process_video
from rtseg.errors import CameraUnavailable, RtsegError, StageError, Stopped
from rtseg.io.destinations import (
    Callback,
    Destination,
    ImageFolder,
    Null,
    Preview,
    SinkContext,
    VideoFile,
    VirtualCamera,
    Window,
)
from rtseg.io.location import Location
from rtseg.io.video.reader import AudioTrack, DecodedFrame, VideoInfo, VideoReader, read_video
from rtseg.io.video.writer import VideoWriter
from rtseg.job import Job, JobConfig
from rtseg.matte.effects import (
    AlphaOut,
    Blur,
    Classes,
    Color,
    Effect,
    Foreground,
    GivesAlpha,
    MaskView,
    NeedsForeground,
    NeedsLabels,
    Replace,
    TakesForeground,
)
from rtseg.matte.tuning import Tuning
from rtseg.pipeline.frame import Frame
from rtseg.pipeline.memory import keep_freed_memory
from rtseg.pipeline.run_stats import Percentiles, RunStats
from rtseg.segmenter import Segmentation, Segmenter

__all__ = [
    "AlphaOut",
    "AudioTrack",
    "Blur",
    "Callback",
    "CameraUnavailable",
    "Classes",
    "Color",
    "DecodedFrame",
    "Destination",
    "Effect",
    "Foreground",
    "Frame",
    "GivesAlpha",
    "ImageFolder",
    "Job",
    "JobConfig",
    "Location",
    "MaskView",
    "NeedsForeground",
    "NeedsLabels",
    "Null",
    "Percentiles",
    "Preview",
    "Replace",
    "RtsegError",
    "RunStats",
    "Segmentation",
    "Segmenter",
    "SinkContext",
    "StageError",
    "Stopped",
    "TakesForeground",
    "Tuning",
    "VideoFile",
    "VideoInfo",
    "VideoReader",
    "VideoWriter",
    "VirtualCamera",
    "Window",
    "__version__",
    "keep_freed_memory",
    "process_video",
    "read_video",
]
