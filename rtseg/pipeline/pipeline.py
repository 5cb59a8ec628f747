"""Threaded stages joined by channels: capture -> stages... -> sinks.

Each stage is a thread; OpenCV and ONNX Runtime release the GIL, so stages overlap on cores.
Stopping has two speeds. `stop()` (a key) ends capture and lets frames already in flight
drain to the sinks; `interrupt()` (Ctrl-C, SIGTERM) does the same, and a second interrupt
stops without draining. Only a run that reached the end of its source (or `max_frames`, or a
live source's stop) is complete: one stopped before a file's end, interrupted, aborted, or
whose threads had to be aborted after a stop, finalises its sinks with `abort()`, so file
outputs stay under their partial name, and raises `Stopped`.
A stage error aborts at once: every wait is timed and watches the abort event, the threads
are joined within a second, sinks are finalised, and the error is re-raised in the caller.
Sinks and the source are closed only after the threads that use them have ended.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from rtseg.errors import RtsegError, StageError, Stopped
from rtseg.pipeline.channels import EOS, Channel, EndOfStream, Policy
from rtseg.pipeline.frame import Frame
from rtseg.pipeline.ports import Sink, Source
from rtseg.pipeline.stats import Stats

JOIN_TIMEOUT_S = 2.0  # for the threads to end by themselves, before an abort
STUCK_TIMEOUT_S = 30.0  # after the abort, for a sink write or source read in progress


@dataclass
class Stage:
    """A named step that updates a frame in place (e.g. adds its tensor, alpha or output)."""

    name: str
    run: Callable[[Frame], None]


class Pipeline:
    """Runs `source` through `stages` into `sinks` with the channel `policy` between them."""

    def __init__(
        self,
        source: Source,
        stages: list[Stage],
        sinks: list[Sink],
        policy: Policy,
        capacity: int = 4,
        max_frames: int | None = None,
    ) -> None:
        self.source = source
        self.stages = stages
        self.sinks = sinks
        self.policy = policy
        self.max_frames = max_frames
        self.stats = Stats([s.name for s in stages] + ["sink"])
        self._stop = threading.Event()
        self._abort = threading.Event()
        names = ["capture"] + [s.name for s in stages]
        self.channels: list[Channel[Frame]] = [
            Channel(f"{a}->{b}", policy, self._abort, capacity)
            for a, b in zip(names, [*names[1:], "sink"], strict=True)
        ]
        self._threads: list[threading.Thread] = []  # capture first, the sinks' thread last
        self._errors: list[tuple[str, BaseException]] = []
        self._closed = False
        self.interrupted: signal.Signals | None = None  # the signal that stopped the run
        self.cut_short = False  # capture ended on a stop before a non-live source's end

    # -- control ---------------------------------------------------------------------------
    def stop(self) -> None:
        """End capture and let frames in flight drain to the sinks."""
        self._stop.set()

    def abort(self) -> None:
        """Stop every stage now, without draining."""
        self._stop.set()
        self._abort.set()

    def interrupt(self, signum: int = signal.SIGINT) -> None:
        """Stop early because of a signal: drain the first time, abort the second."""
        if self.interrupted is not None:
            self.abort()
        self.interrupted = signal.Signals(signum)
        self.stop()

    @property
    def drops(self) -> dict[str, int]:
        return {c.name: c.drops for c in self.channels if c.drops}

    # -- running ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start the stage threads; `wait()` or `run()` then collects the outcome."""
        workers: list[tuple[str, Callable[[], None]]] = [("capture", self._capture)]
        for i, stage in enumerate(self.stages):
            workers.append((stage.name, self._stage_loop(stage, i)))
        workers.append(("sink", self._sink_loop))
        for name, body in workers:
            thread = threading.Thread(
                target=self._guard, args=(name, body), name=f"rtseg-{name}", daemon=True
            )
            self._threads.append(thread)
        for thread in self._threads:
            thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the threads to end; True when all have."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(left)
        return not any(t.is_alive() for t in self._threads)

    def run(self) -> Stats:
        """Start, wait until the end (Ctrl-C drains, a second Ctrl-C aborts), finalise."""
        self.start()
        try:
            self._wait_interruptibly()
        finally:
            self.close()
        return self.stats

    def _wait_interruptibly(self) -> None:
        # Sinks with GUI work (the window) expose `pump()`, run here in the main thread.
        pumps = [s.pump for s in self.sinks if hasattr(s, "pump")]
        while True:
            try:
                while not self.wait(0.005 if pumps else 0.1):
                    for pump in pumps:
                        pump()
                return
            except KeyboardInterrupt:
                self.interrupt(signal.SIGINT)
            except Exception as exc:  # a sink's pump failed: the run cannot be complete
                self._errors.append(("sink", exc))
                self.abort()

    def close(self) -> None:
        """Join the threads, finalise sinks and source, re-raise the first stage error."""
        if self._closed:
            return
        self._closed = True
        if not self.wait(JOIN_TIMEOUT_S):
            self.abort()
            self.wait(STUCK_TIMEOUT_S)
        self.stats.finish()
        # A sink (or the source) is only finalised once no thread uses it any more: one stuck
        # in a write is left as it is, and said so, rather than closed under the writer.
        capture_alive, sink_alive = (
            (self._threads[0].is_alive(), self._threads[-1].is_alive())
            if self._threads
            else (False, False)
        )
        complete = not (self._errors or self._abort.is_set() or self.interrupted or self.cut_short)
        if sink_alive:
            self._errors.append(("sink", RtsegError(self._stuck_message("a sink"))))
        else:
            self._finalise_sinks(ok=complete)
        if capture_alive:
            self._errors.append(("capture", RtsegError(self._stuck_message("the source"))))
        else:
            self.source.close()
        if self._errors:
            stage, exc = self._errors[0]
            kept = self._kept_partials()
            if isinstance(exc, RtsegError):
                if kept:
                    raise RtsegError(f"{exc}{kept}") from exc
                raise exc
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            cause = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
            raise StageError(f"stage {stage} failed: {cause}{kept}") from exc
        if not complete:
            raise Stopped(self._stopped_message(), self.interrupted)

    def _stopped_message(self) -> str:
        """Why the run ended early, what it wrote, and where that was kept, in one line."""
        if self.interrupted is not None:
            cause = self.interrupted.name
        elif self.cut_short and not self._abort.is_set():
            cause = "a stop before the end of the input"
        else:
            cause = "an abort"
        stats = self.stats
        unwritten = stats.frames_in - stats.frames_out - sum(self.drops.values())
        lost = f"; {unwritten} frames in flight were not written" if unwritten > 0 else ""
        kept = self._kept_partials() or " (no file output was written)"
        return f"stopped early by {cause} after writing {stats.frames_out} frames{lost}{kept}"

    def _finalise_sinks(self, ok: bool) -> None:
        for sink in self.sinks:
            try:
                if ok:
                    sink.close()
                else:
                    sink.abort()
            except Exception as exc:
                self._errors.append(("sink close", exc))

    @staticmethod
    def _stuck_message(what: str) -> str:
        return (
            f"{what} did not return within {STUCK_TIMEOUT_S:g} s of the stop and was left "
            "unfinished; check the device or disk it uses"
        )

    def _kept_partials(self) -> str:
        """Where failed sinks left their playable partial output, as a clause for the error."""
        paths = [getattr(sink, "partial_path", None) for sink in self.sinks]
        kept = [str(path) for path in paths if path is not None and path.exists()]
        return f" (the partial output is kept as {', '.join(kept)})" if kept else ""

    # -- thread bodies ---------------------------------------------------------------------
    def _guard(self, name: str, body: Callable[[], None]) -> None:
        try:
            body()
        except BaseException as exc:
            self._errors.append((name, exc))
            self.abort()

    def _capture(self) -> None:
        out = self.channels[0]
        count = 0
        while not self._stop.is_set():
            if self.max_frames is not None and count >= self.max_frames:
                break
            cpu = time.thread_time_ns()
            frame = self.source.read()
            if frame is None:
                self.stats.frames_expected = getattr(self.source, "frames_expected", None)
                break
            count += 1
            self.stats.add_cpu("capture", time.thread_time_ns() - cpu)
            self.stats.add_input(frame)
            if not out.put(frame):
                return
        else:
            self.cut_short = not self.source.live  # a file stopped before its end
        out.put(EOS)

    def _stage_loop(self, stage: Stage, index: int) -> Callable[[], None]:
        inbox, outbox = self.channels[index], self.channels[index + 1]

        def loop() -> None:
            while not self._abort.is_set():
                item = inbox.get()
                if item is None:
                    continue
                if isinstance(item, EndOfStream):
                    outbox.put(EOS)
                    return
                start, cpu = time.monotonic_ns(), time.thread_time_ns()
                stage.run(item)
                item.stamps[stage.name] = end = time.monotonic_ns()
                self.stats.add_stage(stage.name, start, end, time.thread_time_ns() - cpu)
                if not outbox.put(item):
                    return

        return loop

    def _sink_loop(self) -> None:
        inbox = self.channels[-1]
        while not self._abort.is_set():
            item = inbox.get()
            if item is None:
                continue
            if isinstance(item, EndOfStream):
                return
            start, cpu = time.monotonic_ns(), time.thread_time_ns()
            for sink in self.sinks:
                sink.write(item)
            item.stamps["sink"] = end = time.monotonic_ns()
            self.stats.add_stage("sink", start, end, time.thread_time_ns() - cpu)
            self.stats.add_output(item, end)
