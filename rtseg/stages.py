"""The three stage bodies of a segmentation job: model input, mask, output.

Each takes a `Frame` and adds to it: `preprocess` the model's input tensor, `infer` the mask
(through `MaskSource`, which decides which frames run the model and smooths between them),
`postprocess` the alpha at frame size and the output the sinks write. The engine and effect
come from `LiveControls`, which the window and preview may change between two frames.
"""

from __future__ import annotations

from rtseg.controls import LiveControls
from rtseg.matte.effects import draw
from rtseg.matte.masks import MaskSource
from rtseg.matte.refine import EdgeRefiner
from rtseg.models.transforms import to_model_input
from rtseg.pipeline.frame import Frame
from rtseg.pipeline.pipeline import Stage
from rtseg.segmenter import alpha_at_frame_size


class SegmentationStages:
    """preprocess -> infer -> postprocess for one job, as pipeline `Stage`s."""

    def __init__(
        self, controls: LiveControls, masks: MaskSource, refiner: EdgeRefiner | None
    ) -> None:
        self.controls = controls
        self.masks = masks
        self.refiner = refiner

    def stages(self) -> list[Stage]:
        """The stages in pipeline order."""
        return [
            Stage("preprocess", self.preprocess),
            Stage("infer", self.infer),
            Stage("postprocess", self.postprocess),
        ]

    def preprocess(self, frame: Frame) -> None:
        """The model's input tensor, made on its own thread while the model runs."""
        info = self.controls.engine.info
        frame.tensor, frame.tensor_info = to_model_input(frame.image, info), info

    def infer(self, frame: Frame) -> None:
        """The mask at model size; a model switched to meanwhile takes over here."""
        engine = self.controls.take_switch()
        if frame.tensor_info is not engine.info:  # made for the model before the switch
            frame.tensor, frame.tensor_info = to_model_input(frame.image, engine.info), engine.info
        frame.alpha, frame.labels, frame.mask_seq, frame.zoomed = self.masks.mask_for(
            engine, frame.tensor, frame.seq, frame.image, new_stream=frame.name is not None
        )

    def postprocess(self, frame: Frame) -> None:
        """The alpha at frame size (refined), then the output under the active effect."""
        frame.alpha = alpha_at_frame_size(frame.image, frame.alpha, self.refiner, frame.zoomed)
        frame.output = draw(self.controls.effect, frame)
