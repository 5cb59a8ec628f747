"""The three stage bodies of a segmentation job: model input, mask, matte and output.

Each is one phase of `FramePath` (`rtseg.matte.frame_path`), the path `rtseg.Segmenter` runs
too, on its own thread: `preprocess` adds the frame's `ModelInput`, `infer` its `Mask`
(the next of the job's stream, whose `StreamState` the stages hold), `postprocess` its
`Matte` at frame size and the output the sinks write. The engine and effect come from
`LiveControls`, which the window and preview may change between two frames.
"""

from __future__ import annotations

from rtseg.controls import LiveControls
from rtseg.matte.drop_watch import DropWatch
from rtseg.matte.effects import draw
from rtseg.matte.frame_path import FramePath
from rtseg.pipeline.frame import Frame
from rtseg.pipeline.pipeline import Stage


class SegmentationStages:
    """preprocess -> infer -> postprocess for one job, as pipeline `Stage`s.

    `state` is the stream's state; only the infer stage touches it. A frame flagged `still`
    (a photo of a folder) starts a stream of its own; a time gap in the frames' times, a
    scene cut and a model switch (`restart`) start it afresh too.
    """

    def __init__(self, controls: LiveControls, path: FramePath, live: bool = False) -> None:
        self.controls = controls
        self.path = path
        self.state = path.new_stream()
        # live, the model runs less often while the video drops frames (see DropWatch)
        self.drop_watch = DropWatch(path.masks) if live and not path.masks.sync else None

    def stages(self) -> list[Stage]:
        """The stages in pipeline order."""
        return [
            Stage("preprocess", self.preprocess),
            Stage("infer", self.infer),
            Stage("postprocess", self.postprocess),
        ]

    def preprocess(self, frame: Frame) -> None:
        """The model's input, made on its own thread while the model runs."""
        frame.model_input = self.path.model_input(frame.image, self.controls.engine.info)

    def infer(self, frame: Frame) -> None:
        """The mask at the model's size; a model switched to meanwhile takes over here."""
        engine = self.controls.take_switch()
        if frame.model_input is None or frame.model_input.model is not engine.info:
            self.preprocess(frame)  # made for the model before the switch
        time_s = frame.time_s()
        frame.mask = self.path.mask(
            engine,
            frame.model_input,
            frame.image,
            frame.seq,
            self.state,
            None if time_s is None else float(time_s),
            frame.still,
        )
        pipeline = self.controls.pipeline
        if self.drop_watch is not None and pipeline is not None:
            self.drop_watch.check(frame.seq, sum(pipeline.drops.values()))

    def postprocess(self, frame: Frame) -> None:
        """The matte at frame size (cut, grown and feathered as the path says), then the
        output under the active effect; an auto-framed frame is shown as its crop."""
        assert frame.mask is not None, "postprocess runs after infer"
        frame.matte = self.path.matte(frame.image, frame.mask, frame.input_alpha)
        if frame.matte.image is not None:
            frame.image = frame.matte.image
        frame.output = draw(self.controls.effect, frame)

    def restart(self) -> None:
        """A new model took over: the stream starts afresh. On the infer stage's thread."""
        self.path.restart(self.state)
