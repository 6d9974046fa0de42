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

METHODS: dict[str, Method] = {"art": ArtMethod()}

STABILITY_SEED_OFFSET = 1_000_003  # the seed of a run's second fit (ART: another input order)


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
    stability_ari: list[float] | None  # per level: ARI against a second fit, if asked


def fit_run(spec: RunSpec, X: np.ndarray) -> RunResult:
    """Fit one run on reduced data X (rows = selected features, selection order) and, when
    the spec asks for stability, a second time with another seed, comparing per level."""
    method = get_method(spec.method)
    t0 = time.perf_counter()
    fit = method.fit(X, spec.params, spec.seed)
    seconds = time.perf_counter() - t0
    n_clusters = check_fit(fit, len(X), spec.method)
    ari = None
    if spec.stability:
        from sklearn.metrics import adjusted_rand_score

        other = method.fit(X, spec.params, spec.seed + STABILITY_SEED_OFFSET)
        ari = [
            float(adjusted_rand_score(fit.labels[:, k], other.labels[:, k]))
            for k in range(fit.labels.shape[1])
        ]
    return RunResult(
        np.asarray(fit.labels, np.int64),
        [np.asarray(p, np.int64) for p in fit.parents],
        n_clusters,
        fit.diagnostics,
        seconds,
        ari,
    )
