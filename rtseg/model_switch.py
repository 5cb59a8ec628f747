"""Switching a running job's model without stopping, or breaking, the run.

A new engine takes from a fraction of a second (CPU) to tens of seconds (a TensorRT build),
so it is built on a thread of its own, never on the thread that asked (the preview's HTTP
request) and never on a pipeline stage. Once built, it waits until the inference stage takes
it between two frames. One switch at a time: a request while another model is loading is
refused rather than building two.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from rtseg.errors import RtsegError, describe
from rtseg.models.engine import Engine

log = logging.getLogger(__name__)

# How long a request waits for the new model before answering that it is still loading.
ANSWER_WAIT_S = 5.0


class ModelSwitch:
    """Builds engines off the caller's thread and hands the newest over with `take()`.

    `build(name)` makes the engine; `refusal(engine)` says why it can't run now (it doesn't
    fit the active effect), or None. Both raise or answer RtsegError's message to the caller
    of `request` when the build ends within `wait_s`, and to the log (and `status`) otherwise.
    """

    def __init__(
        self,
        build: Callable[[str], Engine],
        refusal: Callable[[Engine], str | None],
        wait_s: float = ANSWER_WAIT_S,
    ) -> None:
        self._build = build
        self._refusal = refusal
        self.wait_s = wait_s
        self.status = ""  # what the last switch did, for the live stats
        self._lock = threading.Lock()
        self._loader: threading.Thread | None = None
        self._loading = ""
        self._ready: Engine | None = None
        self._failure: str | None = None

    def request(self, name: str) -> str:
        """Start loading model `name`; a line saying what happened.

        Raises:
            RtsegError: another model is still loading, or this one failed to load or does
                not fit the active effect (when that is known within `wait_s`).
        """
        with self._lock:
            if self._loader is not None and self._loader.is_alive():
                raise RtsegError(f"{self._loading} is still loading; switch again once it runs")
            self._loading, self._failure = name, None
            self.status = f"loading {name}"
            self._loader = threading.Thread(
                target=self._load, args=(name,), name="rtseg-model-load", daemon=True
            )
            self._loader.start()
            loader = self._loader
        loader.join(self.wait_s)
        if loader.is_alive():
            return f"loading {name}; it takes over when ready"
        if self._failure is not None:
            raise RtsegError(self._failure)
        return f"switching to {name}"

    def _load(self, name: str) -> None:
        try:
            engine = self._build(name)
        except Exception as exc:  # rtseg's or ONNX Runtime's own (a GPU out of memory): the
            # answer or the status says so, and the run goes on with its model
            self._fail(f"cannot switch to {name}: {describe(exc)}")
            return
        refusal = self._refusal(engine)
        if refusal is not None:
            engine.close()
            self._fail(refusal)
            return
        with self._lock:
            if self._ready is not None:
                self._ready.close()
            self._ready = engine

    def _fail(self, message: str) -> None:
        self._failure = message
        self.status = message
        log.warning("%s", message)

    def take(self) -> Engine | None:
        """The engine built since the last call, if any; for the inference stage."""
        if self._ready is None:  # the common case, without the lock
            return None
        with self._lock:
            engine, self._ready = self._ready, None
        return engine

    def close(self) -> None:
        """Wait for a load in progress and release an engine nobody took."""
        loader = self._loader
        if loader is not None:
            loader.join()
        engine = self.take()
        if engine is not None:
            engine.close()
