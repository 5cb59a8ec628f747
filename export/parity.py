"""Checks on exported files: the runtime's contract check, and how far two outputs differ.

The contract is read through an ONNX Runtime session, exactly as the runtime will see the
file, so an export that passes here loads there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from rtseg.models.contract import ModelInfo, TensorSpec, check


def open_session(path: Path, threads: int = 2) -> ort.InferenceSession:
    """A CPU session with a fixed thread count (reproducible timings, polite on shared CPUs)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def contract_info(session: ort.InferenceSession) -> ModelInfo:
    """Run the runtime's contract check on a session; raises ContractError on a bad file."""

    def specs(args: list[ort.NodeArg]) -> list[TensorSpec]:
        return [TensorSpec(a.name, a.type, tuple(a.shape)) for a in args]

    meta = session.get_modelmeta().custom_metadata_map
    return check(specs(session.get_inputs()), specs(session.get_outputs()), meta)


def run(session: ort.InferenceSession, image: np.ndarray) -> list[np.ndarray]:
    """All outputs for one uint8 HxWx3 RGB image (alpha first)."""
    return session.run(None, {session.get_inputs()[0].name: image[None]})


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def iou(a: np.ndarray, b: np.ndarray, threshold: float = 0.5) -> float:
    """IoU of the two masks `> threshold`; two empty masks agree perfectly (1.0)."""
    ma, mb = a > threshold, b > threshold
    union = np.logical_or(ma, mb).sum()
    return float(np.logical_and(ma, mb).sum() / union) if union else 1.0
