"""The run grid (PCA settings × vigilance sets × modules × hierarchy modes × seeds) and the
executor that runs it.

A run is a pure function of its `RunSpec` and its input arrays; `fit_run` is what an
executor calls. `SequentialExecutor` is the default; anything with the same `map`
(a process pool, a cluster client) can replace it, because tasks and results pickle.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

from generator.config import Config

log = logging.getLogger(__name__)

STABILITY_SEED_OFFSET = 1_000_003  # the second input order of the stability fit


@dataclass(frozen=True)
class RunSpec:
    """Everything that defines one run of the sweep."""

    pca_dims: int | None
    rho_values: tuple[float, ...]
    module: str
    params: tuple[tuple[str, Any], ...]
    hierarchy: str
    seed: int
    stability: bool

    @property
    def run_id(self) -> str:
        """Readable, unique within a sweep, safe as a folder and URL name."""
        pca = "raw" if self.pca_dims is None else f"pca{self.pca_dims}"
        rho = "-".join(f"{r:g}" for r in self.rho_values)
        extra = "".join(
            f"-{k}{v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else f"-{k}{v}"
            for k, v in self.params
            if k not in ("dtype", "device", "block_size")
        )
        return (
            f"{self.module.replace('.', '_')}-{self.hierarchy}-{pca}-rho{rho}{extra}-s{self.seed}"
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["rho_values"] = list(self.rho_values)
        d["params"] = dict(self.params)
        return d


def grid(cfg: Config) -> list[RunSpec]:
    """The sweep's runs in a fixed order."""
    runs = []
    for dims, rhos, mod, mode, seed in itertools.product(
        cfg.pca.dims, cfg.sweep.rho_sets, cfg.sweep.modules, cfg.sweep.hierarchy, cfg.sweep.seeds
    ):
        params = tuple(sorted(mod.params.items()))
        runs.append(RunSpec(dims, tuple(rhos), mod.name, params, mode, seed, cfg.sweep.stability))
    ids = [r.run_id for r in runs]
    if len(set(ids)) != len(ids):  # e.g. the same module listed twice with equal params
        from generator.errors import ConfigError

        dup = next(i for i in ids if ids.count(i) > 1)
        raise ConfigError(f"sweep: run {dup!r} appears twice; make the sweep's entries distinct.")
    return runs


def input_order(n: int, seed: int) -> np.ndarray:
    """The order a run presents the selected features in (ART depends on it)."""
    return np.random.default_rng(seed).permutation(n)


@dataclass
class RunResult:
    """Labels and ART diagnostics per level, indexed like the selection (not the order)."""

    labels: np.ndarray  # (n, L) int64
    match: np.ndarray  # (n, L)
    margin: np.ndarray  # (n, L)
    created: np.ndarray  # (n, L) bool: the sample founded its category
    parents: list[np.ndarray]  # per level: parent of each category (-1 at level 0)
    n_clusters: list[int]
    fit_seconds: float
    stability_ari: list[float] | None


def _fit_hierarchy(spec: RunSpec, X: np.ndarray, order: np.ndarray) -> tuple[Any, float]:
    from generator.art import Hierarchy

    h = Hierarchy(spec.module, list(spec.rho_values), mode=spec.hierarchy, params=dict(spec.params))
    Xp = h.prepare_data(X[order])
    t0 = time.perf_counter()
    h.fit(Xp)
    return h, time.perf_counter() - t0


def fit_run(spec: RunSpec, X: np.ndarray) -> RunResult:
    """Fit one run on reduced data X (rows = selected features, selection order)."""
    n = X.shape[0]
    order = input_order(n, spec.seed)
    h, seconds = _fit_hierarchy(spec, X, order)
    inv = np.empty(n, np.int64)
    inv[order] = np.arange(n)
    labels = h.labels_deep_[inv]
    L = labels.shape[1]
    parents = [np.full(h.n_clusters_[0], -1, np.int64)] + [h.parents_(k) for k in range(1, L)]
    ari = None
    if spec.stability:
        from sklearn.metrics import adjusted_rand_score

        order2 = input_order(n, spec.seed + STABILITY_SEED_OFFSET)
        h2, _ = _fit_hierarchy(spec, X, order2)
        inv2 = np.empty(n, np.int64)
        inv2[order2] = np.arange(n)
        other = h2.labels_deep_[inv2]
        ari = [float(adjusted_rand_score(labels[:, k], other[:, k])) for k in range(L)]
    return RunResult(
        labels,
        h.match_deep_[inv],
        h.margin_deep_[inv],
        h.created_deep_[inv],
        parents,
        list(h.n_clusters_),
        seconds,
        ari,
    )


class Executor(Protocol):
    """Runs independent tasks; results come back in task order."""

    def map(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]: ...


class SequentialExecutor:
    """One task after another in this process (the default)."""

    def map(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        for t in tasks:
            yield fn(t)


class ProcessExecutor:
    """Tasks spread over local processes (each compiled kernel is loaded from disk cache)."""

    def __init__(self, workers: int):
        self.workers = workers

    def map(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        with ProcessPoolExecutor(self.workers) as pool:
            yield from pool.map(fn, tasks)


def make_executor(name: str, workers: int) -> Executor:
    return ProcessExecutor(workers) if name == "processes" else SequentialExecutor()
