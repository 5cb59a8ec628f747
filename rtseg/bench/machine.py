"""What a result was measured on; every benchmark result carries it."""

from __future__ import annotations

import os
import platform
import subprocess

import cv2
import numpy as np
import onnxruntime as ort

from rtseg.models.engine import nvidia_gpu_present


def cpu_model() -> str:
    """The CPU's marketing name, from /proc/cpuinfo on Linux, else what platform says."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_names() -> list[str]:
    """NVIDIA GPU names via nvidia-smi; empty without a GPU."""
    if not nvidia_gpu_present():
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ["NVIDIA GPU (nvidia-smi unavailable)"]
    return [line.strip() for line in out.splitlines() if line.strip()]


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages: other work on the machine skews every figure."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def machine_info() -> dict:
    """CPU, cores, GPU, library versions and providers, as a JSON-ready dict."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "gpus": gpu_names(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "onnxruntime": ort.__version__,
        "ort_device": ort.get_device(),
        "providers_available": ort.get_available_providers(),
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "load_average_start": load_average(),
    }


def describe(machine: dict) -> str:
    """One line naming the machine, for report headings."""
    gpu = ", ".join(machine.get("gpus") or []) or "no GPU"
    cores = machine.get("usable_cores") or machine.get("cores")
    return (
        f"{machine['cpu']} ({cores} cores), {gpu}; ONNX Runtime {machine['onnxruntime']}, "
        f"OpenCV {machine['opencv']}, Python {machine['python']}"
    )
