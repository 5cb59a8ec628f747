"""The local executor: worker processes on this machine, each with its model loaded once.

Each worker is a `multiprocessing` process with its own pipe and takes one task at a time, so
the batch always knows which task a worker holds. That is what retrying needs: a worker that
dies (killed, out of memory, a crash in native code) is replaced, and only its own task goes
back in the queue, for whichever worker is free next. `concurrent.futures`' process pool
cannot do this: one dead worker marks the whole pool broken and fails every task in flight.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from collections import deque
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from rtseg.batch.tasks import OnFrames, OnResult, Result, Task
from rtseg.batch.work import Worker
from rtseg.job import JobConfig

# Seconds a worker gets to end after being told to.
STOP_GRACE_S = 10.0


# Cores per worker by default. Each worker's pipeline overlaps decoding, inference,
# compositing and encoding, yet two workers on two cores still beat one: measured with
# `python -m benchmarks batch`'s clips (40 x 2 s at 540p) on 2 cores, three runs each, one worker
# 20.8 to 21.6 s, two workers 19.6 to 19.8 s.
CORES_PER_WORKER = 1


def default_workers(threads: int | None, cores: int | None = None) -> int:
    """Workers for this machine: one per CORES_PER_WORKER cores, or per `threads` cores when
    each worker's engine is given more threads than that."""
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(CORES_PER_WORKER, threads or 1))


def _serve(conn: Connection, config: JobConfig) -> None:
    """A worker process: load the model, then run each task the batch sends until told to end."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the batch's to handle
    worker = Worker(config)
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        result = worker.run(task, on_frames=lambda n: conn.send(("frames", n)))
        conn.send(("result", result))


class _Slot:
    """One worker process, its pipe, and the index of the task it holds (None when idle)."""

    def __init__(self, context: multiprocessing.context.BaseContext, config: JobConfig) -> None:
        self.conn, child = context.Pipe()
        self.process: BaseProcess = context.Process(
            target=_serve, args=(child, config), name="rtseg-batch-worker", daemon=True
        )
        self.process.start()
        child.close()
        self.index: int | None = None

    def give(self, index: int, task: Task) -> None:
        self.index = index
        self.conn.send(task)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(STOP_GRACE_S)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


class LocalExecutor:
    """Runs tasks on `workers` local processes; a task whose worker died is retried on a new
    worker up to `max_attempts` times in all."""

    name = "local"

    def __init__(self, config: JobConfig, workers: int, max_attempts: int = 3) -> None:
        self.config = config
        self.workers = workers
        self.max_attempts = max_attempts
        # forkserver: workers fork from a clean process that has imported rtseg once, not
        # from this one (whose threads fork would copy in an undefined state).
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(["rtseg.batch.work"])
        self._slots: list[_Slot] = []

    def start(self, count: int) -> None:
        """Start up to `count` workers now, so they load their model while the batch plans."""
        while len(self._slots) < min(self.workers, count):
            self._slots.append(_Slot(self.context, self.config))

    def run(
        self,
        tasks: list[Task],
        on_result: OnResult,
        on_frames: OnFrames,
    ) -> None:
        """Run every task, calling `on_result(index, result)` as each ends and `on_frames(n)`
        as frames are written (negative when a dead worker's frames are taken back)."""
        pending = deque(range(len(tasks)))
        attempts = [0] * len(tasks)
        frames = [0] * len(tasks)
        self.start(len(tasks))
        slots = self._slots
        try:
            while pending or any(s.index is not None for s in slots):
                for slot in slots:
                    if slot.index is None and pending:
                        index = pending.popleft()
                        attempts[index] += 1
                        slot.give(index, tasks[index])
                wait([s.conn for s in slots] + [s.process.sentinel for s in slots], timeout=1.0)
                for i, slot in enumerate(slots):
                    if self._drain(slot, frames, attempts, on_result, on_frames):
                        continue
                    index = slot.index
                    if index is not None:
                        on_frames(-frames[index])
                        frames[index] = 0
                        if attempts[index] < self.max_attempts:
                            pending.appendleft(index)
                        else:
                            on_result(index, self._died(tasks[index], attempts[index], slot))
                    slot.close()
                    slots[i] = _Slot(self.context, self.config)
        except KeyboardInterrupt:
            # Workers end at once: a file cut short stays under its partial name, and a
            # rerun processes it again.
            for slot in slots:
                slot.process.kill()
            raise
        finally:
            for slot in slots:
                slot.close()
            self._slots = []

    @staticmethod
    def _drain(
        slot: _Slot,
        frames: list[int],
        attempts: list[int],
        on_result: OnResult,
        on_frames: OnFrames,
    ) -> bool:
        """Handle what `slot` sent; False when its worker has died."""
        try:
            while slot.conn.poll():
                kind, value = slot.conn.recv()
                assert slot.index is not None
                if kind == "frames":
                    frames[slot.index] += value
                    on_frames(value)
                else:
                    value.attempts = attempts[slot.index]
                    on_result(slot.index, value)
                    slot.index = None
        except (EOFError, OSError):
            return False
        return slot.process.is_alive()

    @staticmethod
    def _died(task: Task, attempts: int, slot: _Slot) -> Result:
        code = slot.process.exitcode
        how = f"killed by signal {-code}" if code and code < 0 else f"exit status {code}"
        return Result.of(
            task,
            "failed",
            error=f"worker process died ({how}) on each of {attempts} attempts",
            attempts=attempts,
        )
