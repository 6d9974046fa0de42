"""Stage `run`: one run of the sweep (a method with its parameters on one PCA setting),
and `fit_all`, which sends the runs the cache does not have to an executor.

The input array X is shared by every run of a PCA setting; tasks name it by content
hash and the executor receives each array once. Only this driver side writes the cache.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generator.cache import Cache, Entry
from generator.executors import Executor, RunTask
from generator.methods import Diagnostics, RunResult
from generator.progress import bar as progress
from generator.stability import Stability
from generator.sweep import RunSpec

log = logging.getLogger(__name__)

NAME = "run"
VERSION = 3  # 3: stability from refits on orders, seeds and subsamples


@dataclass(frozen=True, eq=False)
class RunIn:
    spec: RunSpec
    X: np.ndarray  # (n_selected, dims) the run's input rows, selection order
    x_key: str  # content hash of X


def key(inp: RunIn) -> tuple[dict, dict]:
    from generator.methods import get_method

    # the method's own code version: a changed method refits, like a changed stage
    version = getattr(get_method(inp.spec.method), "version", 1)
    return {**inp.spec.to_dict(), "method_version": version}, {"X": inp.x_key}


def compute(inp: RunIn) -> RunResult:
    from generator.methods import fit_run

    return fit_run(inp.spec, inp.X)


def _nan(values: list[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], float)


def _none(values: np.ndarray) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in values]


def save(out: RunResult, folder: Path) -> None:
    d, s = out.diagnostics, out.stability
    extra = {} if d is None else {"match": d.match, "margin": d.margin, "created": d.created}
    if s is not None:
        extra.update(
            order_ari=_nan(s.order_ari),
            seed_ari=_nan(s.seed_ari),
            subsample_ari=_nan(s.subsample_ari),
            family_jaccard=np.concatenate(s.family_jaccard),
        )
    if out.level_values is not None:
        extra["level_values"] = np.array(out.level_values, float)
    np.savez(
        folder / "run.npz",
        labels=out.labels,
        parents=np.concatenate(out.parents),
        offsets=np.cumsum([0] + [len(p) for p in out.parents]),
        n_clusters=np.array(out.n_clusters),
        fit_seconds=np.array(out.fit_seconds),
        **extra,
    )


def load(folder: Path) -> RunResult:
    with np.load(folder / "run.npz") as z:
        off = z["offsets"]

        def per_level(a: np.ndarray) -> list[np.ndarray]:
            return [a[off[i] : off[i + 1]] for i in range(len(off) - 1)]

        diag = Diagnostics(z["match"], z["margin"], z["created"]) if "created" in z.files else None
        stab = None
        if "order_ari" in z.files:
            stab = Stability(
                _none(z["order_ari"]),
                _none(z["seed_ari"]),
                _none(z["subsample_ari"]),
                per_level(z["family_jaccard"]),
            )
        return RunResult(
            z["labels"],
            per_level(z["parents"]),
            z["n_clusters"].tolist(),
            diag,
            round(float(z["fit_seconds"]), 3),
            stab,
            z["level_values"].tolist() if "level_values" in z.files else None,
        )


def fit_all(cache: Cache, inputs: list[RunIn], executor: Executor) -> list[Entry[RunResult]]:
    """Every run's entry, in input order: cached ones read back, the others fitted by the
    executor and stored as each result arrives (an interrupted sweep keeps what finished)."""
    stage = sys.modules[__name__]  # this module is the stage
    entries: list[Entry[RunResult] | None] = [
        cache.lookup(stage, inp, label=inp.spec.run_id) for inp in inputs
    ]
    todo = [i for i, e in enumerate(entries) if e is None]
    arrays = {inputs[i].x_key: inputs[i].X for i in todo}
    tasks = [RunTask(inputs[i].spec, inputs[i].x_key) for i in todo]
    with progress(len(inputs), "runs", unit="run", lines=True) as bar:
        bar.update(len(inputs) - len(todo))
        for t, done in executor.map(tasks, arrays):
            i = todo[t]
            entries[i] = cache.store(stage, inputs[i], done.result, done.seconds)
            bar.update(1)
    return [e for e in entries if e is not None]
