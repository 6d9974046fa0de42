"""The sweep on a Dask cluster (`sweep.executor: dask`).

`scheduler: local` starts a LocalCluster of `sweep.workers` processes for the build and
closes it after; an address (`tcp://host:8786`) uses a cluster the user runs (SLURM via
dask-jobqueue, Kubernetes, `dask scheduler` + `dask worker` by hand).

A build holds one session (`DaskSession`): the cluster is reached at the first
submission (never, when every run is cached), each hookpoint's runs are submitted as soon
as it is prepared, and results are read back as they finish.

What travels: each input array is scattered once, with the submission that first needs
it; while the arrays held stay within BROADCAST_BYTES they are replicated to every worker
at once (`broadcast`), beyond that (many hookpoints) spread over the workers, a worker
fetching an array the first time one of its tasks needs it. Either way a worker holds one
copy that all its tasks share, and an array is freed when its last task is read back. A
task is a `RunTask` (a spec and an array's hash, under a kilobyte); a result is a
`TaskResult` value. Nothing is read from or written to a shared filesystem: the client
stores results in the cache as they arrive. A worker that dies mid-run has its task
rescheduled by Dask on another worker; a run that raises is retried `retries` times.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from generator.errors import ClusterError
from generator.executors import RunTask, TaskResult, run_task

if TYPE_CHECKING:
    from generator.config import SweepConfig

log = logging.getLogger(__name__)


BROADCAST_BYTES = 2**30  # inputs up to this size in all are copied to every worker at once


def _run_on_worker(task: RunTask, X: np.ndarray) -> TaskResult:
    _pin_gpu()
    return run_task(task, {task.x_key: X})


def _pin_gpu() -> None:
    """On a worker that holds a GPU resource and sees several GPUs (a LocalCluster on a
    multi-GPU machine), use the GPU of its own number, so runs spread over the GPUs."""
    from distributed import get_worker

    try:
        worker = get_worker()
    except ValueError:  # not on a worker
        return
    if not worker.state.total_resources.get("GPU") or not isinstance(worker.name, int):
        return
    import torch

    if torch.cuda.device_count() > 1:
        torch.cuda.set_device(worker.name % torch.cuda.device_count())


def gpu_resources(client: Any) -> dict[str, float] | None:
    """`{GPU: 1}` when the cluster's workers declare GPUs (`--resources GPU=1`): then each
    run takes one, so a worker runs one at a time on its GPU. None on a CPU cluster."""
    workers = client.scheduler_info().get("workers", {})
    if any(w.get("resources", {}).get("GPU") for w in workers.values()):
        return {"GPU": 1}
    return None


def _local_gpus() -> int:
    """The GPUs torch sees here; 0 without importing torch (a second of the cluster's
    start) where `device: auto` already knows there is none."""
    from generator.errors import resolve_device

    if resolve_device("auto") == "cpu":
        return 0
    import torch

    return torch.cuda.device_count()


class DaskExecutor:
    """Runs tasks on a Dask cluster; see the module's docstring for what travels where."""

    def __init__(
        self,
        scheduler: str = "local",
        workers: int = 2,
        connect_timeout: float = 10.0,
        retries: int = 2,
        resources: dict[str, float] | None = None,
    ):
        self.scheduler = scheduler
        self.workers = workers
        self.connect_timeout = connect_timeout
        self.retries = retries
        self.resources = dict(resources or {})

    @contextlib.contextmanager
    def client(self) -> Iterator[Any]:
        """A connected `distributed.Client`: to a LocalCluster started here, or to the
        scheduler at `self.scheduler`."""
        try:
            from distributed import Client
        except ImportError as e:  # pragma: no cover - distributed is a dependency
            raise ClusterError(
                f"sweep.executor: dask needs the `distributed` package ({e}); "
                "install it with `pip install distributed`."
            ) from None
        from generator.progress import third_party_allowed

        quiet = not third_party_allowed()  # Dask's own warnings (a restarted worker) with -v
        if quiet:  # importing distributed set its loggers from its config (INFO)
            for name in ("distributed", "tornado", "bokeh"):
                logging.getLogger(name).setLevel(logging.ERROR)
        if self.scheduler == "local":
            cluster = local_cluster(
                self.workers, silence_logs=logging.ERROR if quiet else logging.WARNING
            )
            with cluster, Client(cluster) as client:
                yield client
            return
        try:
            client = Client(self.scheduler, timeout=self.connect_timeout)
        except (OSError, TimeoutError) as e:
            raise ClusterError(
                f"sweep.dask.scheduler: cannot reach the Dask scheduler at {self.scheduler} "
                f"within {self.connect_timeout:g} s ({type(e).__name__}: {e}). Start it "
                "(`dask scheduler`), check the address, or use `scheduler: local`."
            ) from None
        with client:
            yield client

    @contextlib.contextmanager
    def session(self) -> Iterator[DaskSession]:
        """A session (see `generator.executors.Session`) that connects, or starts the
        LocalCluster, at its first submission: a build whose runs are all cached never
        needs the cluster, and one still gets its first results while preparing more."""
        with contextlib.ExitStack() as stack:
            session = DaskSession(self, stack)
            try:
                yield session
            finally:
                session.cancel()

    def connect(self, stack: contextlib.ExitStack) -> Any:
        """A client with at least one worker, closed with `stack`."""
        client = stack.enter_context(self.client())
        if not client.scheduler_info().get("workers"):
            wait = self.connect_timeout * 6
            try:
                client.wait_for_workers(1, timeout=wait)
            except (OSError, TimeoutError):
                raise ClusterError(
                    f"the Dask scheduler at {self.scheduler} has no workers, and none "
                    f"joined within {wait:g} s; start some (`dask worker {self.scheduler}`)."
                ) from None
        return client

    def map(
        self, tasks: list[RunTask], arrays: dict[str, np.ndarray]
    ) -> Iterator[tuple[int, TaskResult]]:
        with self.session() as session:
            session.submit(tasks, arrays)
            yield from session.results()


class DaskSession:
    """Tasks on the executor's cluster: each submission's new arrays are scattered and
    its tasks submitted at once; results are read back in completion order."""

    def __init__(self, executor: DaskExecutor, stack: contextlib.ExitStack):
        self.executor, self.stack = executor, stack
        self.client: Any = None  # connected at the first submission
        self.resources: dict[str, float] | None = None
        self.ready: Any = None
        self.build = uuid.uuid4().hex[:8]  # keys unique on a cluster shared by several builds
        self.tasks: list[RunTask] = []
        self.futures: dict[Any, int] = {}  # submitted, not yet read back
        self.shared: dict[str, Any] = {}  # scattered arrays still needed
        self.nbytes: dict[str, int] = {}
        self.left: dict[str, int] = {}  # tasks still to read back, per array
        self.batch: list[Any] = []  # finished, taken from `ready`, not yet read back

    def _connect(self) -> None:
        from distributed import as_completed

        self.client = self.executor.connect(self.stack)
        self.resources = self.executor.resources or gpu_resources(self.client)
        self.ready = as_completed()

    def submit(self, tasks: list[RunTask], arrays: dict[str, np.ndarray]) -> None:
        if not tasks:
            return
        if self.client is None:
            self._connect()
        new = {k: arrays[k] for k in sorted({t.x_key for t in tasks}) if k not in self.shared}
        if new:
            # small inputs go to every worker up front; large ones (many hookpoints) are
            # spread, and a worker fetches an array the first time it runs a task on it
            size = sum(a.nbytes for a in new.values()) + sum(self.nbytes.values())
            self.shared.update(
                self.client.scatter(new, broadcast=size <= BROADCAST_BYTES, hash=False)
            )
            self.nbytes.update({k: a.nbytes for k, a in new.items()})
        for t in tasks:
            i = len(self.tasks)
            self.tasks.append(t)
            self.left[t.x_key] = self.left.get(t.x_key, 0) + 1
            f = self.client.submit(
                _run_on_worker,
                t,
                self.shared[t.x_key],
                key=f"saetax-{self.build}-{i}-{t.spec.run_id}",
                retries=self.executor.retries,
                resources=self.resources,
                pure=False,
            )
            self.futures[f] = i
            self.ready.add(f)

    def results(self, wait: bool = True) -> Iterator[tuple[int, TaskResult]]:
        from distributed.client import FutureCancelledError
        from distributed.scheduler import KilledWorker

        while self.futures:
            if not self.batch:
                if not wait and not self.ready.has_ready():
                    return
                self.batch = self.ready.next_batch(block=wait)
            f = self.batch.pop()
            i = self.futures.pop(f)
            run_id = self.tasks[i].spec.run_id
            try:
                done = f.result()
            except KilledWorker as e:
                raise ClusterError(
                    f"run {run_id} killed every worker it was sent to ({e}); the worker's "
                    "memory is the usual cause (see docs/scale.md). Finished runs are "
                    "cached; rerun to continue."
                ) from None
            except FutureCancelledError as e:
                raise ClusterError(
                    f"the Dask cluster at {self.executor.scheduler} cancelled run {run_id} "
                    f"({e}); finished runs are cached."
                ) from None
            key = self.tasks[i].x_key
            self.left[key] -= 1
            if not self.left[key]:  # no task needs it: free the workers' copies
                self.shared.pop(key).release()
                self.nbytes.pop(key)
            f.release()  # the result's copy on the worker is not needed
            yield i, done

    def cancel(self) -> None:
        """Drop what is still running or held on the cluster (the session ends)."""
        if self.client is None:
            return
        self.client.cancel(list(self.futures), force=True)
        self.client.cancel(list(self.shared.values()), force=True)
        self.futures.clear()
        self.shared.clear()


# glibc's malloc in each worker, read when the process starts (so Dask's pre-spawn
# environment, not `env`, which is set after). Dask's default MALLOC_TRIM_THRESHOLD_ of
# 64 KiB also fixes the mmap threshold at 128 KiB: every larger array (a run's blocks,
# its working copies) would then be fresh pages from the kernel, faulted in and zeroed
# each time. These keep arrays up to 16 MiB, and up to 64 MiB freed, in the heap.
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(16 * 2**20), "MALLOC_TRIM_THRESHOLD_": str(64 * 2**20)}


# Dask's housekeeping in the LocalCluster saetax starts, which serves no dashboard: each
# of its processes (scheduler, nannies, workers) otherwise wakes 50 times a second to time
# its event loop (`tick`), 10 times to read its memory, twice for system statistics, and
# the workers sample their stacks 100 times a second for the profiler; on a machine whose
# cores all run fits, every wakeup preempts one. Measured on 2 cores, 8 runs of 32,768 x
# 512 (3 pairs, the profiler off in both): context switches per worker, involuntary
# 1,900-2,700 -> 410-710, voluntary 1,300-2,400 -> 150-400; the sweep 11.5-12.9 s ->
# 10.8-12.0 s. Memory is still checked every second (the nanny's terminate threshold acts
# within a second), and an event loop blocked for 3 s still warns.
QUIET_CLUSTER = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}


def local_cluster(workers: int, **kwargs: Any) -> Any:
    """A started LocalCluster of `workers` single-threaded processes, set up for runs:
    malloc as MALLOC_ENV, numba's and BLAS's threads a share of the cores each, Dask's
    housekeeping as QUIET_CLUSTER (no profiler, few wakeups), a quick exit (QuickExit),
    and on a GPU machine one GPU per worker."""
    import dask
    from distributed import LocalCluster

    from generator.executors.dask_plugins import QuickExit

    before = {k: os.environ.get(k) for k in MALLOC_ENV}
    pre = {**dask.config.get("distributed.nanny.pre-spawn-environ"), **MALLOC_ENV}
    try:
        # this process's environment overrides Dask's config, and an earlier cluster's
        # nannies left Dask's defaults in it: set ours there too while the nannies start
        os.environ.update(MALLOC_ENV)
        # the nannies pass this config on to their workers
        settings = {"distributed.nanny.pre-spawn-environ": pre, **QUIET_CLUSTER}
        with dask.config.set(settings):
            return LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                env=_worker_env(workers),
                plugins=(QuickExit(),),
                **({"resources": {"GPU": 1}} if _local_gpus() else {}),
                **kwargs,
            )
    finally:  # as it was before
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _worker_env(workers: int) -> dict[str, str]:
    """Each local worker gets its share of the cores for numba's and BLAS's threads, so
    `workers` processes do not oversubscribe the machine (numba reads it at import, after
    the worker has started)."""
    per = str(max(1, (os.cpu_count() or 1) // workers))
    return {
        "NUMBA_NUM_THREADS": per,
        "OMP_NUM_THREADS": per,
        "OPENBLAS_NUM_THREADS": per,
        "MKL_NUM_THREADS": per,
    }


def from_config(sweep: SweepConfig) -> DaskExecutor:
    d = sweep.dask
    return DaskExecutor(d.scheduler, sweep.workers, d.connect_timeout, d.retries, d.resources)
