"""Stage `run`: one run of the sweep (a method with its parameters on one PCA setting),
and `Sweep`, which sends the runs the cache does not have to an executor session.

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
from generator.executors import RunTask, Session, TaskResult
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


class Sweep:
    """Runs sent to an executor session as their inputs become ready: each `add` looks
    the runs up in the cache and submits the missing ones at once; results are stored as
    they arrive (`store_ready` between other work, `wait` at the end), so an interrupted
    sweep keeps every run that was read back."""

    def __init__(self, cache: Cache, session: Session):
        self.cache, self.session = cache, session
        self.inputs: list[RunIn] = []
        self.entries: list[Entry[RunResult] | None] = []
        self.submitted: list[int] = []  # the session's task number → input position
        self.waited = 0  # inputs counted by an earlier `wait`'s bar

    def add(self, inputs: list[RunIn]) -> range:
        """Look these runs up and submit the misses; their positions in `entries`."""
        start = len(self.inputs)
        for inp in inputs:
            self.inputs.append(inp)
            self.entries.append(self.cache.lookup(_stage(), inp, label=inp.spec.run_id))
        todo = [i for i in range(start, len(self.inputs)) if self.entries[i] is None]
        if todo:
            tasks = [RunTask(self.inputs[i].spec, self.inputs[i].x_key) for i in todo]
            self.session.submit(tasks, {self.inputs[i].x_key: self.inputs[i].X for i in todo})
            self.submitted += todo
        return range(start, len(self.inputs))

    def store_ready(self) -> None:
        """Store the results that have arrived, without waiting for the others."""
        for t, done in self.session.results(wait=False):
            self._store(t, done)

    def wait(self, positions: range) -> list[Entry[RunResult]]:
        """Every run added so far fitted and stored; the entries at `positions`."""
        total = len(self.inputs) - self.waited
        with progress(total, "runs", unit="run", lines=True) as bar:
            bar.update(sum(e is not None for e in self.entries[self.waited :]))
            for t, done in self.session.results(wait=True):
                self._store(t, done)
                bar.update(1)
        self.waited = len(self.inputs)
        out = [self.entries[i] for i in positions]
        missing = [self.inputs[i].spec.run_id for i, e in zip(positions, out) if e is None]
        if missing:  # an executor that broke its contract: a bug, not bad input
            raise RuntimeError(f"the executor returned no result for runs {missing}")
        return out  # type: ignore[return-value]

    def _store(self, t: int, done: TaskResult) -> None:
        i = self.submitted[t]
        self.entries[i] = self.cache.store(_stage(), self.inputs[i], done.result, done.seconds)


def _stage() -> object:
    return sys.modules[__name__]  # this module is the stage
