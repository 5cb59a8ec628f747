"""ONNX Runtime session wrapper: picks providers, says which one really runs, checks the contract.

The engine only runs tensors. Pre- and post-processing live in `rtseg.models.transforms`, so the
same engine serves the pipeline, the benchmarks and the exporters' parity checks.

On a GPU it keeps the model's input and output in device buffers bound once (IO binding), so a
frame crosses to the device as one small uint8 copy and comes back as one float copy, and it
keeps TensorRT engines on disk, because building one takes tens of seconds.

The engine holds no state of any stream, so one engine serves any number of streams and
threads. A recurrent model (RVM, or one declaring `rtseg.state`) takes its state as an
argument of `run` and gives the next one back (`Inference.state`); the caller keeps it for the
next frame of the same stream (`rtseg.matte.stream.StreamState` does). On a GPU the state
never leaves the device: its tensors are bound there as outputs and rebound as the next
frame's inputs.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import onnxruntime as ort

from rtseg.errors import RtsegError, describe
from rtseg.models import contract
from rtseg.models.contract import ContractError, ModelInfo, TensorSpec
from rtseg.options import DEVICES

log = logging.getLogger(__name__)

TRT = "TensorrtExecutionProvider"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
_GPU_PROVIDERS = {"tensorrt": [TRT, CUDA], "cuda": [CUDA]}

ProviderSpec = str | tuple[str, dict[str, object]]
WARMUP_SIZE = (288, 512)  # the input a model of any size (RVM) warms up on


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
        return [CPU]
    if device == "auto":
        if not (nvidia_gpu_present() if gpu_present is None else gpu_present):
            return [CPU]
        have = set(available if available is not None else ort.get_available_providers())
        gpu = [p for p in _GPU_PROVIDERS["tensorrt"] if p in have]
        return [*gpu, CPU]
    return [*_GPU_PROVIDERS[device], CPU]


def trt_cache_root() -> Path:
    """Where TensorRT engines are kept: `$RTSEG_TRT_CACHE`, else `~/.cache/rtseg/trt`."""
    env = os.environ.get("RTSEG_TRT_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "rtseg" / "trt"


def trt_cache_dir(path: Path, fp16: bool, root: Path | None = None) -> Path:
    """One cache folder per model file content and precision, so a re-export never reuses a
    stale engine and fp32 and fp16 engines of one model live side by side."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    name = f"{path.stem}-{digest.hexdigest()[:12]}-{'fp16' if fp16 else 'fp32'}"
    return (root or trt_cache_root()) / name


def provider_options(
    providers: list[str], trt_cache: Path | None = None, fp16: bool = False, device_id: int = 0
) -> list[ProviderSpec]:
    """`providers` with the options rtseg runs them with (engine cache, FP16, device)."""
    specs: list[ProviderSpec] = []
    for name in providers:
        if name == TRT:
            options: dict[str, object] = {"device_id": device_id, "trt_fp16_enable": fp16}
            if trt_cache is not None:
                options |= {
                    "trt_engine_cache_enable": True,
                    "trt_engine_cache_path": str(trt_cache),
                    "trt_timing_cache_enable": True,
                    "trt_timing_cache_path": str(trt_cache),
                }
            specs.append((name, options))
        elif name == CUDA:
            specs.append((name, {"device_id": device_id}))
        else:
            specs.append(name)
    return specs


def _tensor_specs(args: list[ort.NodeArg]) -> list[TensorSpec]:
    return [TensorSpec(a.name, a.type, tuple(a.shape)) for a in args]


def load_session(
    path: Path, providers: list[ProviderSpec], threads: int | None = None
) -> tuple[ort.InferenceSession, ModelInfo]:
    """Open `path` as an ONNX Runtime session and check it against the model contract."""
    if not path.is_file():
        raise RtsegError(f"model file not found: {path}")
    options = ort.SessionOptions()
    # Errors reach the caller as exceptions; ONNX Runtime's own log lines would only repeat
    # them on stderr around rtseg's one-line message.
    options.log_severity_level = 4
    # Idle intra-op threads would otherwise spin and take the cores the other stages (and the
    # encoder) need: measured on 2 cores, file mode at 540p ran 34.5 fps spinning, 45 without.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
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
            stem=path.stem,
        )
    except ContractError as exc:
        raise RtsegError(f"{path} does not follow the rtseg model contract: {exc}") from exc
    return session, info


def _model_info(path: Path) -> ModelInfo | None:
    """The model's contract metadata, read before the real session is built (TensorRT needs
    its precision up front); None for an unreadable model, left for `load_session` to report."""
    try:
        return load_session(path, [CPU], threads=1)[1]
    except RtsegError:
        return None


class Bound:
    """A session run through IO binding: the input lives in one buffer on the model's device,
    refilled in place each frame, and outputs come back as fresh host arrays.

    One binding serves one run at a time: runs from several threads take turns.
    """

    def __init__(self, session: ort.InferenceSession, info: ModelInfo, device: str) -> None:
        self.session = session
        self.device = device
        self._lock = threading.Lock()
        self.binding = session.io_binding()
        self.outputs = [o.name for o in session.get_outputs()]
        self.input: ort.OrtValue | None = None
        if device != "cpu":
            shape = [1, info.height, info.width, 3]
            self.input = ort.OrtValue.ortvalue_from_shape_and_type(shape, np.uint8, device, 0)
            self.binding.bind_ortvalue_input(contract.INPUT_NAME, self.input)
        for name in self.outputs:
            self.binding.bind_output(name, device)

    def run(self, tensor: np.ndarray) -> list[np.ndarray]:
        with self._lock:
            if self.input is None:
                self.binding.bind_cpu_input(contract.INPUT_NAME, np.ascontiguousarray(tensor))
            else:
                self.input.update_inplace(np.ascontiguousarray(tensor))
            self.session.run_with_iobinding(self.binding)
            return self.binding.copy_outputs_to_cpu()


class RecurrentState(NamedTuple):
    """A recurrent model's state after one frame of one stream: what its next frame takes."""

    shape: tuple[int, ...]  # the input it was computed on; an input of another size starts anew
    values: list  # one per state input: numpy arrays, or OrtValues on the model's device


class Inference(NamedTuple):
    """What one model pass gives, at the model input's size."""

    alpha: np.ndarray  # float32 [h, w] in [0, 1]
    labels: np.ndarray | None  # uint8 class ids [h, w], for semantic models
    fgr: np.ndarray | None  # float32 RGB [h, w, 3] in [0, 1], for models with foreground colours
    state: RecurrentState | None = None  # a recurrent model's state for the stream's next frame


class Recurrent:
    """Runs a stateful model: the state outputs of one frame are the state inputs of the next.

    With `device` "cuda" every state stays in device memory through IO binding (it is bound
    as an output there and rebound as the next frame's input); alpha and foreground are bound
    to host memory. With `device` None it feeds numpy arrays through `session.run`. It keeps
    no state itself: the caller hands each stream's in and takes the next one out.
    """

    def __init__(self, session: ort.InferenceSession, info: ModelInfo, device: str | None) -> None:
        self.session = session
        self.info = info
        self.device = device
        self.dtype = np.float16 if info.half else np.float32
        self.host_outputs = [
            o.name for o in session.get_outputs() if o.name not in {out for _, out in info.states}
        ]

    def _zeros(self) -> list:
        zero = np.zeros((1, 1, 1, 1), self.dtype)
        if self.device is None:
            return [zero] * len(self.info.states)
        return [ort.OrtValue.ortvalue_from_numpy(zero, self.device, 0) for _ in self.info.states]

    def run(
        self, feeds: dict[str, np.ndarray], state: RecurrentState | None, shape: tuple[int, ...]
    ) -> tuple[dict[str, np.ndarray], RecurrentState]:
        """The host outputs by name, and the state moved on by one frame (from zeros when
        there was none, or it was computed on an input of another `shape`)."""
        values = self._zeros() if state is None or state.shape != shape else state.values
        if self.device is None:
            feeds = feeds | {i: v for (i, _), v in zip(self.info.states, values, strict=True)}
            names = self.host_outputs + [o for _, o in self.info.states]
            results = self.session.run(names, feeds)
            count = len(self.host_outputs)
            outputs = dict(zip(self.host_outputs, results[:count], strict=True))
            return outputs, RecurrentState(shape, results[count:])
        binding = self.session.io_binding()
        for name, value in feeds.items():
            binding.bind_cpu_input(name, np.ascontiguousarray(value))
        for (name, _), value in zip(self.info.states, values, strict=True):
            binding.bind_ortvalue_input(name, value)
        for name in self.host_outputs:
            binding.bind_output(name, "cpu")
        for _, name in self.info.states:
            binding.bind_output(name, self.device, 0)
        self.session.run_with_iobinding(binding)
        results = binding.get_outputs()  # in the order bound
        count = len(self.host_outputs)
        outputs = {name: results[i].numpy() for i, name in enumerate(self.host_outputs)}
        return outputs, RecurrentState(shape, list(results[count:]))


# A model of any input size (a matting network) gets up to this many intra-op threads when
# none are asked for: at 320x180 RVM runs in 36 against 53 ms with 2 threads against 1 on the
# 2-core reference machine, and a network of this size stops gaining at a few cores.
MAX_AUTO_THREADS = 4


def auto_threads(info: ModelInfo, cores: int | None = None, shared: bool = False) -> int:
    """The intra-op threads rtseg gives a model when none are asked for, sized to what runs
    beside it: one for a fixed-size model (the bundled ones take 1.5-2.5 ms, a second
    thread's hand-offs cost more CPU than they save, and the pipeline's other stages have the
    other cores); for a model of any size (RVM), which takes several times longer than
    everything else a frame needs together, every core up to `MAX_AUTO_THREADS`, or with
    `shared` (a video's pipeline, file or live, decoding, compositing and encoding beside the
    inference all the time) every core but one, which those stages then have to themselves:
    on 2 cores a 720p file run took 8% less CPU a frame with one thread than with two."""
    cores = cores or os.cpu_count() or 1
    if not info.dynamic:
        return 1
    return max(1, min(cores - 1 if shared else cores, MAX_AUTO_THREADS))


class Engine:
    """One model, ready to run: `infer(tensor)` maps uint8 [1,h,w,3] RGB to alpha [h,w].

    It holds no stream's state, so one engine may serve several streams and threads.
    `threads` None gives the model `auto_threads` intra-op threads (`shared`: other stages
    run beside the inference); `threads` says how many.

    `io_binding` None binds on GPU providers and not on the CPU, where the benchmarks measure
    no gain; `fp16` None runs TensorRT in FP16 exactly when the model itself is FP16.
    """

    def __init__(
        self,
        path: Path,
        device: str = "auto",
        threads: int | None = None,
        warmup: int = 3,
        *,
        io_binding: bool | None = None,
        fp16: bool | None = None,
        shared: bool = False,
    ) -> None:
        self.path = path
        self.device = device
        self.requested = providers_for(device)
        self.fp16 = False
        trt_cache = None
        if TRT in self.requested:
            first = _model_info(path)
            if first is not None and first.dynamic and device == "auto":
                # A model of any input size would need a TensorRT engine per size (a zoomed
                # crop changes it); CUDA runs it at every size as it comes.
                self.requested.remove(TRT)
        if TRT in self.requested:
            precision = first.precision if first is not None else "fp32"
            self.fp16 = precision == "fp16" if fp16 is None else fp16
            trt_cache = trt_cache_dir(path, self.fp16)
            self._announce_trt_build(trt_cache)
        started = time.monotonic()
        specs = provider_options(self.requested, trt_cache, self.fp16)
        self.session: ort.InferenceSession | None
        self.session, self.info = load_session(path, specs, threads or 1)
        self.threads = threads or auto_threads(self.info, shared=shared)
        if self.threads != (threads or 1):  # known only once the model is read
            self.session, self.info = load_session(path, specs, self.threads)
        self.providers: list[str] = self.session.get_providers()
        self.fell_back = self.requested[0] != CPU and self.providers[0] == CPU
        if self.providers[0] != self.requested[0]:
            log.warning(
                "requested %s but ONNX Runtime runs %s%s",
                self.requested[0],
                self.providers[0],
                ": inference is on the CPU" if self.fell_back else "",
            )
        if not self.info.trained:
            log.warning(
                "model %s has random weights (rtseg.trained=false): its masks mean nothing",
                self.info.name,
            )
        on_gpu = self.providers[0] in (TRT, CUDA)
        self.io_binding = on_gpu if io_binding is None else io_binding
        self._outputs = [o.name for o in self.session.get_outputs()]
        device_name = "cuda" if on_gpu else "cpu"
        self._bound: Bound | None = None
        self._recurrent: Recurrent | None = None
        if self.info.stateful:
            self._recurrent = Recurrent(
                self.session, self.info, device_name if self.io_binding else None
            )
        elif self.io_binding:
            self._bound = Bound(self.session, self.info, device_name)
        height, width = WARMUP_SIZE if self.info.dynamic else (self.info.height, self.info.width)
        zeros = np.zeros((1, height, width, 3), np.uint8)
        try:
            for _ in range(warmup):
                self.run(zeros)
        except Exception as exc:  # ONNX Runtime's own types: a broken graph, a GPU out of memory
            self.close()
            raise RtsegError(f"model {path} fails on a blank frame: {describe(exc)}") from exc
        if self.providers[0] == TRT:
            log.info("TensorRT ready after %.1f s", time.monotonic() - started)

    @staticmethod
    def _announce_trt_build(cache: Path) -> None:
        cache.mkdir(parents=True, exist_ok=True)
        if not any(cache.glob("*.engine")):
            log.warning(
                "building a TensorRT engine; this takes tens of seconds once, "
                "then it is reused from %s",
                cache,
            )

    @property
    def provider(self) -> str:
        """The provider that runs the model's first node, e.g. "CPUExecutionProvider"."""
        return self.providers[0]

    def close(self) -> None:
        """Release the session and its buffers (device memory on a GPU) now rather than when
        the engine is collected; `info` and `providers` stay readable, `run` refuses."""
        self._bound = None
        self._recurrent = None
        self.session = None

    def run(
        self, tensor: np.ndarray, state: RecurrentState | None = None, ratio: float = 1.0
    ) -> Inference:
        """The model's pass over one uint8 [1, h, w, 3] RGB input.

        `state` is, for a recurrent model, the `Inference.state` of the frame before in the
        same stream of frames (None, or one computed on an input of another size: start from
        zeros); the result carries the next one. `ratio` is RVM's `downsample_ratio` (the
        network works on the input scaled by it and upsamples with its own refiner).
        """
        if self.session is None:
            raise RtsegError(f"the engine of {self.info.name} was closed")
        if self._recurrent is not None:
            return self._run_recurrent(tensor, state, ratio)
        if self._bound is not None:
            results = self._bound.run(tensor)
        else:
            results = self.session.run(self._outputs, {contract.INPUT_NAME: tensor})
        labels = results[1][0] if len(results) > 1 else None
        return Inference(results[0][0, 0], labels, None)

    def _run_recurrent(
        self, tensor: np.ndarray, state: RecurrentState | None, ratio: float
    ) -> Inference:
        assert self._recurrent is not None
        info = self.info
        if info.rvm:
            src = np.empty((1, 3, *tensor.shape[1:3]), self._recurrent.dtype)
            np.multiply(tensor[0].transpose(2, 0, 1), np.float32(1 / 255), out=src[0])
            feeds = {"src": src, "downsample_ratio": np.array([ratio], np.float32)}
            alpha_name = "pha"
        else:
            feeds = {contract.INPUT_NAME: tensor}
            alpha_name = contract.OUTPUT_NAME
        out, state = self._recurrent.run(feeds, state, tensor.shape)
        alpha = out[alpha_name][0, 0].astype(np.float32, copy=False)
        fgr = None
        if info.foreground is not None:
            fgr = out[info.foreground][0].transpose(1, 2, 0).astype(np.float32)
        labels = out[contract.LABELS_NAME][0] if info.has_labels else None
        return Inference(alpha, labels, fgr, state)

    def infer(self, tensor: np.ndarray) -> np.ndarray:
        """Alpha [h, w] float32 only."""
        return self.run(tensor)[0]
