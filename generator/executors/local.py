"""Executors on this machine: one task after another, or a pool of local processes."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import TYPE_CHECKING

import numpy as np

from generator.executors import RunTask, TaskResult, run_task

if TYPE_CHECKING:
    from generator.config import SweepConfig


class SequentialExecutor:
    """One task after another in this process (the default)."""

    def map(
        self, tasks: list[RunTask], arrays: dict[str, np.ndarray]
    ) -> Iterator[tuple[int, TaskResult]]:
        for i, t in enumerate(tasks):
            yield i, run_task(t, arrays)


_WORKER_ARRAYS: dict[str, np.ndarray] = {}


def _init_worker(arrays: dict[str, np.ndarray]) -> None:
    from generator.quick_exit import freeze_at_exit

    _WORKER_ARRAYS.update(arrays)
    exit_with_parent()
    freeze_at_exit()  # the pool waits for its workers to end


def exit_with_parent(every: float = 1.0) -> None:
    """End this worker when the process that started it is gone (kill -9, a crash): its
    parent id changes then. Without this the worker would run on as an orphan."""
    import os
    import threading
    import time

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="saetax-exit-with-parent", daemon=True).start()


def _run_in_worker(task: RunTask) -> TaskResult:
    return run_task(task, _WORKER_ARRAYS)


class ProcessExecutor:
    """Tasks spread over local processes. Each worker receives the arrays once, at start;
    workers are spawned, not forked, because a fork after numba's OpenMP threads have
    started can deadlock (each compiled kernel is loaded from numba's disk cache)."""

    def __init__(self, workers: int):
        self.workers = workers

    def map(
        self, tasks: list[RunTask], arrays: dict[str, np.ndarray]
    ) -> Iterator[tuple[int, TaskResult]]:
        if not tasks:
            return
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            min(self.workers, len(tasks)),
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(arrays,),
        ) as pool:
            futures = {pool.submit(_run_in_worker, t): i for i, t in enumerate(tasks)}
            for f in as_completed(futures):
                yield futures[f], f.result()


def sequential(sweep: SweepConfig) -> SequentialExecutor:
    return SequentialExecutor()


def processes(sweep: SweepConfig) -> ProcessExecutor:
    return ProcessExecutor(sweep.workers)
