"""Executors: where the sweep's runs are fitted.

The contract: a `RunTask` is a value (a `RunSpec` plus the content hash of its input
array); the arrays travel separately, once per worker, as `{hash: array}`; an executor
yields each task's `TaskResult` (a value) with the task's index as it completes, and never
touches the cache. Only the driver writes the cache, storing each result as it arrives, so
an executor can be a process pool or a cluster without a shared filesystem, and an
interrupted sweep keeps every run that finished.

A new executor is one module with a class that has `map` and an entry in `EXECUTORS`
(a factory from the `sweep` config section). An executor that can start tasks while the
driver is still preparing others (a cluster) also has `session`: a build submits each
hookpoint's runs to it as soon as that hookpoint is prepared and stores results as they
finish (`open_session`; an executor with only `map` runs every submission at the end).
"""

from __future__ import annotations

import contextlib
import importlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from generator.config import SweepConfig
    from generator.methods import RunResult
    from generator.sweep import RunSpec


@dataclass(frozen=True)
class RunTask:
    """One run to fit: what to fit, and which shared input array (by content hash)."""

    spec: RunSpec
    x_key: str


@dataclass
class TaskResult:
    """What a task sends back: the fitted run and the seconds it took where it ran."""

    result: RunResult
    seconds: float


def run_task(task: RunTask, arrays: dict[str, np.ndarray]) -> TaskResult:
    """Fit one run (what every executor calls, wherever it runs)."""
    from generator.methods import fit_run

    t0 = time.perf_counter()
    result = fit_run(task.spec, arrays[task.x_key])
    return TaskResult(result, time.perf_counter() - t0)


class Executor(Protocol):
    """Runs independent tasks over shared input arrays; yields `(index, result)` pairs in
    completion order, one per task."""

    def map(
        self, tasks: list[RunTask], arrays: dict[str, np.ndarray]
    ) -> Iterator[tuple[int, TaskResult]]: ...


class Session(Protocol):
    """An executor held open across submissions. `submit` numbers its tasks after the
    ones submitted before (0, 1, … over the session) and may start them at once;
    `results` yields `(number, result)` for tasks not yielded yet, in completion order:
    with `wait` every submitted task, without it only those already finished."""

    def submit(self, tasks: list[RunTask], arrays: dict[str, np.ndarray]) -> None: ...

    def results(self, wait: bool = True) -> Iterator[tuple[int, TaskResult]]: ...


class Deferred:
    """The session of an executor that has only `map`: submissions wait, and run as one
    batch (one process pool, say) when their results are asked for with `wait`."""

    def __init__(self, executor: Executor):
        self.executor = executor
        self.queued: list[RunTask] = []
        self.arrays: dict[str, np.ndarray] = {}
        self.done = 0  # tasks before the queue: already run

    def submit(self, tasks: list[RunTask], arrays: dict[str, np.ndarray]) -> None:
        self.queued += tasks
        self.arrays.update({t.x_key: arrays[t.x_key] for t in tasks})

    def results(self, wait: bool = True) -> Iterator[tuple[int, TaskResult]]:
        if not wait or not self.queued:
            return
        tasks, arrays, offset = self.queued, self.arrays, self.done
        self.queued, self.arrays, self.done = [], {}, offset + len(tasks)
        for i, done in self.executor.map(tasks, arrays):
            yield offset + i, done


@contextlib.contextmanager
def open_session(executor: Executor) -> Iterator[Session]:
    """The executor's own session where it has one, else a `Deferred` one; closed (its
    unfinished tasks dropped) when the block ends."""
    opener = getattr(executor, "session", None)
    if opener is None:
        yield Deferred(executor)
        return
    with opener() as session:
        yield session


def _factory(module: str, make: str) -> Callable[[SweepConfig], Executor]:
    def build(sweep: SweepConfig) -> Executor:  # imported on use: dask only when asked for
        return getattr(importlib.import_module(f"generator.executors.{module}"), make)(sweep)

    return build


EXECUTORS: dict[str, Callable[[SweepConfig], Executor]] = {
    "sequential": _factory("local", "sequential"),
    "processes": _factory("local", "processes"),
    "dask": _factory("dask", "from_config"),
}


def make_executor(sweep: SweepConfig) -> Executor:
    """The executor `sweep.executor` names, set up from the sweep section."""
    return EXECUTORS[sweep.executor](sweep)
