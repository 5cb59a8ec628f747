"""ONNX Runtime session wrapper: picks providers, says which one really runs, checks the contract.

The engine only runs tensors. Pre- and post-processing live in `rtseg.transforms`, so the same
engine serves the pipeline, the benchmarks and the exporters' parity checks.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

from rtseg import contract
from rtseg.contract import ContractError, ModelInfo, TensorSpec
from rtseg.errors import RtsegError

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda", "tensorrt")
_GPU_PROVIDERS = {
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider"],
    "cuda": ["CUDAExecutionProvider"],
}


def nvidia_gpu_present() -> bool:
    """Whether an NVIDIA driver is visible; onnxruntime-gpu lists its GPU providers regardless."""
    if sys.platform.startswith("linux"):
        return Path("/proc/driver/nvidia/version").exists()
    return shutil.which("nvidia-smi") is not None


def providers_for(
    device: str, available: list[str] | None = None, gpu_present: bool | None = None
) -> list[str]:
    """Execution providers to ask for, in order of preference, for `device`.

    `auto` prefers TensorRT, then CUDA, then the CPU, and asks for GPU providers only when a
    GPU is there, so a CPU-only machine gets no failed-library noise.
    """
    if device not in DEVICES:
        raise RtsegError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device == "auto":
        if not (nvidia_gpu_present() if gpu_present is None else gpu_present):
            return ["CPUExecutionProvider"]
        have = set(available if available is not None else ort.get_available_providers())
        gpu = [p for p in _GPU_PROVIDERS["tensorrt"] if p in have]
        return [*gpu, "CPUExecutionProvider"]
    return [*_GPU_PROVIDERS[device], "CPUExecutionProvider"]


def _tensor_specs(args: list[ort.NodeArg]) -> list[TensorSpec]:
    return [TensorSpec(a.name, a.type, tuple(a.shape)) for a in args]


def load_session(
    path: Path, providers: list[str], threads: int | None = None
) -> tuple[ort.InferenceSession, ModelInfo]:
    """Open `path` as an ONNX Runtime session and check it against the model contract."""
    if not path.is_file():
        raise RtsegError(f"model file not found: {path}")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(os.fspath(path), options, providers=providers)
    except Exception as exc:  # ORT raises several private types for unreadable models
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RtsegError(f"cannot load model {path}: {first}") from exc
    try:
        info = contract.check(
            _tensor_specs(session.get_inputs()),
            _tensor_specs(session.get_outputs()),
            dict(session.get_modelmeta().custom_metadata_map),
        )
    except ContractError as exc:
        raise RtsegError(f"{path} does not follow the rtseg model contract: {exc}") from None
    return session, info


class Engine:
    """One model, ready to run: `infer(tensor)` maps uint8 [1,h,w,3] RGB to alpha [h,w]."""

    def __init__(
        self, path: Path, device: str = "auto", threads: int | None = None, warmup: int = 3
    ) -> None:
        self.path = path
        self.device = device
        self.requested = providers_for(device)
        self.session, self.info = load_session(path, self.requested, threads)
        self.providers: list[str] = self.session.get_providers()
        self.fell_back = self.requested[0] != "CPUExecutionProvider" and (
            self.providers[0] == "CPUExecutionProvider"
        )
        if self.fell_back:
            log.warning(
                "requested %s but ONNX Runtime runs %s: inference is on the CPU",
                self.requested[0],
                self.providers[0],
            )
        if not self.info.trained:
            log.warning(
                "model %s has random weights (rtseg.trained=false): its masks mean nothing",
                self.info.name,
            )
        self._outputs = [o.name for o in self.session.get_outputs()]
        zeros = np.zeros((1, self.info.height, self.info.width, 3), np.uint8)
        for _ in range(warmup):
            self.run(zeros)

    @property
    def provider(self) -> str:
        """The provider that runs the model's first node, e.g. "CPUExecutionProvider"."""
        return self.providers[0]

    def run(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Alpha [h, w] float32 and, for semantic models, class labels [h, w] uint8."""
        results = self.session.run(self._outputs, {contract.INPUT_NAME: tensor})
        labels = results[1][0] if len(results) > 1 else None
        return results[0][0, 0], labels

    def infer(self, tensor: np.ndarray) -> np.ndarray:
        """Alpha [h, w] float32 only."""
        return self.run(tensor)[0]
