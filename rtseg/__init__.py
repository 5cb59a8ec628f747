"""rtseg: real-time person segmentation of live and recorded video on ONNX Runtime."""

__version__ = "0.1.0"
