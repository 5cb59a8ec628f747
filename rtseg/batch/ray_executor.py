"""The Ray executor: the same tasks as the local pool, on a local Ray instance or a cluster.

Tasks, not actors. A batch is a bag of independent files, which is what Ray's task scheduler
is for: it places each task on whichever node has a free CPU (or a share of a GPU) as nodes
join and leave, and when a worker process or a whole node dies it reruns the task elsewhere
(`max_retries`), with no queue of ours to keep. The model still loads once per worker
process: Ray reuses a worker process for the next task of the same function, and the process
keeps its `Worker` (model loaded) in `_held` between tasks. Actors would pin files to
workers chosen up front and need our own queue to balance them and to resubmit a dead
actor's file, the hand-written machinery this module exists to avoid.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

from rtseg.batch.local import CORES_PER_WORKER
from rtseg.batch.tasks import OnFrames, OnResult, Result, Task
from rtseg.batch.work import Worker, worker_name
from rtseg.errors import RtsegError, describe
from rtseg.job import JobConfig

# Share of one GPU each worker asks for when the cluster has GPUs: four workers per GPU.
GPU_SHARE = 0.25

# The worker this Ray worker process holds, with the config it was loaded for.
_held: tuple[JobConfig, Worker] | None = None


def _worker_for(config: JobConfig) -> Worker:
    global _held
    if _held is None or _held[0] != config:
        _held = (config, Worker(config))
    return _held[1]


def run_task(config: JobConfig, task: Task) -> Result:
    """What a Ray worker runs for one task (a module function, so workers import it)."""
    import ray

    result = _worker_for(config).run(task)
    result.worker = f"{ray.get_runtime_context().get_node_id()[:12]}/{worker_name()}"
    return result


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail in one line, at once, when a HOST:PORT address does not answer (Ray itself keeps
    retrying for minutes)."""
    host, _, port = address.rpartition(":")
    if "://" in address or not port.isdecimal():
        return  # "auto", ray://: Ray's own resolution
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise RtsegError(f"cannot reach the Ray cluster at {address}: {reason}") from exc


def import_ray():
    """The `ray` module, or one line naming the extra that brings it."""
    try:
        import ray
    except ImportError as exc:
        raise RtsegError("--ray needs Ray: pip install 'rtseg[cluster]'") from exc
    return ray


class RayExecutor:
    """Runs tasks as Ray tasks: at most `workers` at once (None: as many as the cluster's
    CPUs allow), each retried by Ray up to `max_attempts` times in all if its worker dies."""

    name = "ray"

    def __init__(
        self, config: JobConfig, address: str, workers: int | None, max_attempts: int = 3
    ) -> None:
        self.ray = import_ray()
        self.config = config
        self.address = address or None
        self.workers = workers
        self.max_attempts = max_attempts
        self._started_here = False

    def start(self, count: int) -> None:
        """Start a local Ray instance, or connect to the cluster (once)."""
        ray = self.ray
        if ray.is_initialized():
            return
        if self.address:
            check_reachable(self.address)
        try:
            ray.init(
                address=self.address,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.WARNING,
                configure_logging=False,
            )
        except (ConnectionError, ray.exceptions.RayError) as exc:
            where = f"the Ray cluster at {self.address}" if self.address else "Ray"
            raise RtsegError(f"cannot start or reach {where}: {describe(exc)}") from exc
        self._started_here = True

    def _remote(self) -> Callable:
        """`run_task` as a Ray task with this batch's resources: CPUs as a local worker takes
        (no more than the smallest node has), a share of a GPU when the cluster has GPUs."""
        ray = self.ray
        nodes = [n["Resources"] for n in ray.nodes() if n["Alive"]]
        smallest = min((n.get("CPU", 1) for n in nodes), default=1)
        cpus = max(1, min(max(CORES_PER_WORKER, self.config.threads or 1), smallest))
        wants_gpu = self.config.device != "cpu" and ray.cluster_resources().get("GPU", 0) > 0
        return ray.remote(
            num_cpus=cpus,
            num_gpus=GPU_SHARE if wants_gpu else 0,
            max_retries=self.max_attempts - 1,
            retry_exceptions=False,
            scheduling_strategy="SPREAD",
        )(run_task)

    def run(
        self,
        tasks: list[Task],
        on_result: OnResult,
        on_frames: OnFrames,
    ) -> None:
        """Submit the tasks (keeping at most `workers` in flight) and report each as it ends."""
        ray = self.ray
        self.start(len(tasks))
        try:
            remote = self._remote()
            config = ray.put(self.config)
            limit = self.workers or len(tasks)
            waiting = list(range(len(tasks)))
            running: dict = {}
            try:
                while waiting or running:
                    while waiting and len(running) < limit:
                        index = waiting.pop(0)
                        running[remote.remote(config, tasks[index])] = index
                    done, _ = ray.wait(list(running), num_returns=1)
                    for ref in done:
                        index = running.pop(ref)
                        result = self._get(ref, tasks[index])
                        on_frames(result.frames_out)
                        on_result(index, result)
            except KeyboardInterrupt:
                for ref in running:
                    ray.cancel(ref)
                raise
        finally:
            if self._started_here:
                ray.shutdown()

    def _get(self, ref, task: Task) -> Result:
        exceptions = self.ray.exceptions
        try:
            return self.ray.get(ref)
        except exceptions.RayTaskError as exc:  # the task itself raised: Ray does not retry
            # that (retry_exceptions=False), so it ran once; its own error is the reason
            return Result.of(task, "failed").fail(exc.cause)
        except exceptions.RayError as exc:  # its worker or node died on every try
            return Result.of(
                task,
                "failed",
                error=f"Ray gave up after {self.max_attempts} attempts: {describe(exc)}",
                error_type=type(exc).__name__,
                attempts=self.max_attempts,
            )
