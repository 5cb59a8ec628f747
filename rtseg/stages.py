"""The three stage bodies of a segmentation job: model input, mask, output.

Each takes a `Frame` and adds to it: `preprocess` the model's input tensor, `infer` the mask
(through `MaskSource`, which decides which frames run the model and smooths between them),
`postprocess` the alpha at frame size and the output the sinks write. The engine and effect
come from `LiveControls`, which the window and preview may change between two frames.
"""

from __future__ import annotations

from rtseg.controls import LiveControls
from rtseg.matte.effects import draw
from rtseg.matte.foreground import foreground_at_frame_size
from rtseg.matte.masks import MaskSource
from rtseg.matte.refine import EdgeRefiner, alpha_at_frame_size
from rtseg.models.transforms import to_model_input
from rtseg.pipeline.frame import Frame
from rtseg.pipeline.pipeline import Stage


class SegmentationStages:
    """preprocess -> infer -> postprocess for one job, as pipeline `Stage`s."""

    def __init__(
        self,
        controls: LiveControls,
        masks: MaskSource,
        refiner: EdgeRefiner | None,
        downsample_ratio: float | None = None,
    ) -> None:
        self.controls = controls
        self.masks = masks
        self.refiner = refiner
        self.downsample_ratio = downsample_ratio  # a matting model's; None: by RVM's rule

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
        frame.tensor = to_model_input(frame.image, info, self.downsample_ratio)
        frame.tensor_info = info

    def infer(self, frame: Frame) -> None:
        """The mask (and a matting model's foreground) at model size; a model switched to
        meanwhile takes over here. Each photo of a folder is matted on its own."""
        engine = self.controls.take_switch()
        if frame.tensor_info is not engine.info:  # made for the model before the switch
            self.preprocess(frame)
        photo = frame.name is not None
        mask = self.masks.mask_for(
            engine, frame.tensor, frame.seq, frame.image, new_stream=photo, still=photo
        )
        frame.alpha, frame.labels, frame.mask_seq, frame.zoomed, frame.fgr = mask

    def postprocess(self, frame: Frame) -> None:
        """The alpha (and foreground) at frame size, grown and feathered as tuned, then the
        output under the active effect."""
        frame.alpha = alpha_at_frame_size(frame.image, frame.alpha, self.refiner, frame.zoomed)
        frame.alpha = self.controls.tuning.apply(frame.alpha)  # grow, feather
        if frame.input_alpha is not None:  # an RGBA image's own transparency
            frame.alpha = frame.alpha * frame.input_alpha
        if frame.fgr is not None:
            frame.fgr = foreground_at_frame_size(frame.image, frame.fgr, frame.alpha)
        frame.output = draw(self.controls.effect, frame)
