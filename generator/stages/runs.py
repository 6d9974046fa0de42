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
from generator.methods import Diagnostics, RunResult
from generator.stages import progress
from generator.sweep import Executor, RunSpec, RunTask

log = logging.getLogger(__name__)

NAME = "run"
VERSION = 2  # 2: runs name a method (RunSpec.method, params)


@dataclass(frozen=True, eq=False)
class RunIn:
    spec: RunSpec
    X: np.ndarray  # (n_selected, dims) the run's input rows, selection order
    x_key: str  # content hash of X


def key(inp: RunIn) -> tuple[dict, dict]:
    return inp.spec.to_dict(), {"X": inp.x_key}


def compute(inp: RunIn) -> RunResult:
    from generator.methods import fit_run

    return fit_run(inp.spec, inp.X)


def save(out: RunResult, folder: Path) -> None:
    d = out.diagnostics
    diag = {} if d is None else {"match": d.match, "margin": d.margin, "created": d.created}
    np.savez(
        folder / "run.npz",
        labels=out.labels,
        parents=np.concatenate(out.parents),
        offsets=np.cumsum([0] + [len(p) for p in out.parents]),
        n_clusters=np.array(out.n_clusters),
        stability=np.array(out.stability_ari if out.stability_ari else [], float),
        fit_seconds=np.array(out.fit_seconds),
        **diag,
    )


def load(folder: Path) -> RunResult:
    with np.load(folder / "run.npz") as z:
        off = z["offsets"]
        parents = [z["parents"][off[i] : off[i + 1]] for i in range(len(off) - 1)]
        diag = Diagnostics(z["match"], z["margin"], z["created"]) if "created" in z.files else None
        return RunResult(
            z["labels"],
            parents,
            z["n_clusters"].tolist(),
            diag,
            round(float(z["fit_seconds"]), 3),
            z["stability"].tolist() or None,
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
    with progress(len(inputs), "runs", unit="run") as bar:
        bar.update(len(inputs) - len(todo))
        for i, done in zip(todo, executor.map(tasks, arrays)):
            entries[i] = cache.store(stage, inputs[i], done.result, done.seconds)
            bar.update(1)
    return [e for e in entries if e is not None]
