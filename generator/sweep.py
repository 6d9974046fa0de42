"""The run grid (PCA settings × each method's runs × seeds), the task an executor runs, and
the executors.

The contract: a `RunTask` is a value (a `RunSpec` plus the content hash of its input
array); the arrays travel separately, once per worker, as `{hash: array}`; an executor
returns each task's `TaskResult` (a value) and never touches the cache. Only the driver
writes the cache, so an executor can be a process pool or a cluster without a shared
filesystem.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from generator.config import Config
from generator.errors import ConfigError

if TYPE_CHECKING:
    from generator.methods import RunResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSpec:
    """Everything that defines one run of the sweep: a method, its parameters, the PCA
    setting of its input, its seed, and whether to measure stability."""

    method: str
    params: dict[str, Any] = field(hash=False)  # JSON-able; the method's own parameters
    pca_dims: int | None
    seed: int
    stability: dict[str, Any] = field(hash=False)  # stability.Settings as a dict

    @property
    def run_id(self) -> str:
        """Readable, unique within a sweep, safe as a folder and URL name."""
        from generator.methods import get_method

        prefix, suffix = get_method(self.method).run_name(self.params)
        pca = "raw" if self.pca_dims is None else f"pca{self.pca_dims}"
        return "-".join(p for p in (prefix, pca, suffix, f"s{self.seed}") if p)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "params": self.params,
            "pca_dims": self.pca_dims,
            "seed": self.seed,
            "stability": self.stability,
        }


def grid(cfg: Config) -> list[RunSpec]:
    """The sweep's runs in a fixed order: PCA setting, then each method's runs, then seed."""
    from generator.methods import get_method

    runs = []
    for dims in cfg.pca.dims:
        for entry in cfg.sweep.methods:
            method = get_method(entry.name)
            for params in method.expand(cfg.sweep, entry.params):
                for seed in cfg.sweep.seeds:
                    stab = cfg.sweep.stability.model_dump()
                    runs.append(RunSpec(entry.name, params, dims, seed, stab))
    ids = [r.run_id for r in runs]
    if len(set(ids)) != len(ids):  # e.g. the same module listed twice with equal params
        dup = next(i for i in ids if ids.count(i) > 1)
        raise ConfigError(f"sweep: run {dup!r} appears twice; make the sweep's entries distinct.")
    return runs


def matched(cfg: Config, fitted: list[tuple[RunSpec, RunResult]]) -> list[RunSpec]:
    """The runs of methods asked for at matched K (`params: {k: matched}`): one per ART run,
    on the same PCA setting and seed, with K per level = that run's clusters per level.
    Runs that would be identical (the same K) appear once."""
    from generator.methods import get_method

    runs, seen = [], set()
    for entry in cfg.sweep.methods:
        method = get_method(entry.name)
        if not getattr(method, "matched", lambda p: False)(entry.params):
            continue
        for spec, result in fitted:
            if spec.method != "art":
                continue
            params = {"k": list(result.n_clusters), "matched_to": spec.run_id}
            run = RunSpec(entry.name, params, spec.pca_dims, spec.seed, spec.stability)
            if run.run_id not in seen:
                seen.add(run.run_id)
                runs.append(run)
    return runs


# ---------------------------------------------------------------------------------------
# tasks and executors


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
    """Runs independent tasks over shared input arrays; results come back in task order."""

    def map(self, tasks: list[RunTask], arrays: dict[str, np.ndarray]) -> Iterator[TaskResult]: ...


class SequentialExecutor:
    """One task after another in this process (the default)."""

    def map(self, tasks: list[RunTask], arrays: dict[str, np.ndarray]) -> Iterator[TaskResult]:
        for t in tasks:
            yield run_task(t, arrays)


_WORKER_ARRAYS: dict[str, np.ndarray] = {}


def _init_worker(arrays: dict[str, np.ndarray]) -> None:
    _WORKER_ARRAYS.update(arrays)


def _run_in_worker(task: RunTask) -> TaskResult:
    return run_task(task, _WORKER_ARRAYS)


class ProcessExecutor:
    """Tasks spread over local processes. Each worker receives the arrays once, at start;
    workers are spawned, not forked, because a fork after numba's OpenMP threads have
    started can deadlock (each compiled kernel is loaded from numba's disk cache)."""

    def __init__(self, workers: int):
        self.workers = workers

    def map(self, tasks: list[RunTask], arrays: dict[str, np.ndarray]) -> Iterator[TaskResult]:
        if not tasks:
            return
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            min(self.workers, len(tasks)),
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(arrays,),
        ) as pool:
            yield from pool.map(_run_in_worker, tasks)


EXECUTORS = {"sequential": lambda workers: SequentialExecutor(), "processes": ProcessExecutor}


def make_executor(name: str, workers: int) -> Executor:
    return EXECUTORS[name](workers)
