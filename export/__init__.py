"""Model zoo exporter: PyTorch segmentation models to the rtseg ONNX contract (FP32/FP16).

The only part of the project that imports torch; the runtime loads what this writes.
"""
