"""Exporters: PyTorch segmentation models and the MediaPipe selfie models to the rtseg ONNX
contract, in FP32 and FP16.

The only part of the project that imports torch; the runtime loads what this writes.
"""
