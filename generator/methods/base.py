"""What a clustering method is to the rest of the tool: the `Method` protocol and the
values a fit returns.

A method turns the reduced decoder rows X (one row per selected feature) into labels per
level, coarse to fine, with every level-k cluster inside one level-(k−1) cluster. ART is
one method; baselines are others. Nothing outside `generator/methods/` knows which method
a run used: the artifacts carry the method's own description of itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from generator.config import SweepConfig


@dataclass(frozen=True)
class Description:
    """How the site names a run of a method (written into run.json)."""

    label: str
    """What ran, e.g. "cosine ART, nested hierarchy"."""
    level_param: str | None
    """What sets each level's granularity, e.g. "vigilance ρ" or "K"; None if nothing."""
    level_values: list[Any]
    """That setting per level, coarse to fine (empty when `level_param` is None)."""


@dataclass
class Diagnostics:
    """ART's per-sample facts per level (rows in selection order): the match value with
    the category joined, the choice margin to the runner-up, and whether the sample
    founded its category."""

    match: np.ndarray  # (n, L) float
    margin: np.ndarray  # (n, L) float
    created: np.ndarray  # (n, L) bool


@dataclass
class Fit:
    """One fit: labels per level (rows in selection order) and each cluster's parent."""

    labels: np.ndarray  # (n, L) int64; level k's ids are 0 … C_k − 1
    parents: list[np.ndarray]  # per level: parent of each cluster (all −1 at level 0)
    diagnostics: Diagnostics | None = None
    level_values: list[float] | None = None  # the setting each level used, once resolved


class Method(Protocol):
    """A clustering method the sweep can run; register it in `generator.methods.METHODS`."""

    name: str
    summary: str
    version: int  # bump when the method's code changes what it fits (cached runs refit)

    def check_params(self, params: dict[str, Any]) -> None:
        """Raise ValueError naming a bad parameter and what is accepted."""

    def expand(self, sweep: SweepConfig, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The parameters of each run this method contributes to the sweep (JSON-able)."""

    def run_name(self, params: dict[str, Any]) -> tuple[str, str]:
        """(prefix, suffix) of the run id around its PCA label; the suffix may be empty."""

    def describe(self, params: dict[str, Any]) -> Description:
        """How pages name a run with these parameters."""

    def fit(self, X: np.ndarray, params: dict[str, Any], seed: int) -> Fit:
        """Cluster the rows of X; `seed` is the run's seed (ART: its input order).

        A method may also define `matched(params) -> bool`: True when the entry asks for
        runs at the K of every ART run (they are made after the ART runs are fitted)."""


def parents_of(labels: np.ndarray) -> list[np.ndarray]:
    """Each cluster's parent per level, read off nested labels (n, L) (−1 at level 0)."""
    out = [np.full(int(labels[:, 0].max()) + 1, -1, np.int64)]
    for k in range(1, labels.shape[1]):
        par = np.empty(int(labels[:, k].max()) + 1, np.int64)
        par[labels[:, k]] = labels[:, k - 1]
        out.append(par)
    return out


def check_fit(fit: Fit, n: int, method: str) -> list[int]:
    """Clusters per level, after checking that a method kept the contract (labels 0 …
    C − 1 all used, one parent per cluster, every child inside its parent)."""
    labels = np.asarray(fit.labels)
    if labels.ndim != 2 or labels.shape[0] != n or labels.shape[1] < 1:
        raise ValueError(
            f"method {method!r} returned labels of shape {labels.shape}; expected ({n}, levels)"
        )
    if len(fit.parents) != labels.shape[1]:
        raise ValueError(
            f"method {method!r} returned {len(fit.parents)} parent arrays for {labels.shape[1]} levels"
        )
    counts = []
    for k in range(labels.shape[1]):
        lab = labels[:, k]
        C = int(lab.max()) + 1
        if lab.min() < 0 or np.bincount(lab, minlength=C).min() == 0:
            raise ValueError(f"method {method!r}: level {k} labels are not 0 … C−1 with none empty")
        parents = np.asarray(fit.parents[k])
        if len(parents) != C:
            raise ValueError(
                f"method {method!r}: level {k} has {C} clusters but {len(parents)} parents"
            )
        if k == 0 and (parents != -1).any():
            raise ValueError(f"method {method!r}: level-0 clusters must have parent -1")
        if k > 0 and (parents[lab] != labels[:, k - 1]).any():
            raise ValueError(f"method {method!r}: a level-{k} cluster spans several parents")
        counts.append(C)
    return counts
