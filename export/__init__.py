"""Exporters: turn source models into ONNX files that follow the rtseg model contract."""
