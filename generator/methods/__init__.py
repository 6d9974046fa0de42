"""Clustering methods: the one registry the sweep reads, and `fit_run`, which executors call.

Adding a method is one module implementing `Method` (see `base.py`) and one entry in
`METHODS`; the config, the sweep, the artifacts and the site then know it by name.
"""

from __future__ import annotations

import difflib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from generator.methods.art import ArtMethod
from generator.methods.base import Description, Diagnostics, Fit, Method, check_fit
from generator.methods.baselines import Agglomerative, NestedKMeans
from generator.stability import Settings, Stability, measure

if TYPE_CHECKING:
    from generator.sweep import RunSpec

__all__ = [
    "METHODS",
    "Description",
    "Diagnostics",
    "Fit",
    "Method",
    "RunResult",
    "fit_run",
    "get_method",
]

METHODS: dict[str, Method] = {
    "art": ArtMethod(),
    "agglomerative": Agglomerative(),
    "kmeans": NestedKMeans(),
}


def get_method(name: str) -> Method:
    """The registered method called `name`, or one clear error listing the others."""
    if name not in METHODS:
        close = difflib.get_close_matches(name, list(METHODS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown method {name!r}.{hint} Available: {', '.join(METHODS)}")
    return METHODS[name]


@dataclass
class RunResult:
    """A fitted run: labels per level (selection order), parents, and how it was fitted."""

    labels: np.ndarray  # (n, L) int64
    parents: list[np.ndarray]  # per level: parent of each cluster (−1 at level 0)
    n_clusters: list[int]
    diagnostics: Diagnostics | None  # ART's per-sample facts; None for other methods
    fit_seconds: float
    stability: Stability | None  # refits compared (None when not measured)
    level_values: list[float] | None = None  # each level's setting as the method resolved it


def fit_run(spec: RunSpec, X: np.ndarray) -> RunResult:
    """Fit one run on reduced data X (rows = selected features, selection order) and, as
    the spec asks, refit it on other orders, seeds and subsamples to measure stability."""
    method = get_method(spec.method)
    t0 = time.perf_counter()
    fit = method.fit(X, spec.params, spec.seed)
    seconds = time.perf_counter() - t0
    n_clusters = check_fit(fit, len(X), spec.method)
    settings = Settings(**spec.stability)
    stab = None
    if settings.any:
        stab = measure(
            lambda rows, seed: method.fit(X[rows], spec.params, seed).labels,
            len(X),
            np.asarray(fit.labels, np.int64),
            spec.seed,
            settings,
        )
    return RunResult(
        np.asarray(fit.labels, np.int64),
        [np.asarray(p, np.int64) for p in fit.parents],
        n_clusters,
        fit.diagnostics,
        seconds,
        stab,
        fit.level_values,
    )
