"""Planted hierarchies of unit directions: data whose true taxonomy is known.

Used by tests and benchmarks to check that a sweep can recover a tree, and by users to
calibrate vigilance: `make_planted_hierarchy(branching=(5, 3, 3))` makes 5 root
directions, 3 children each, 3 grandchildren each, then samples around the leaves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class PlantedHierarchy:
    """Rows of X and, per level, the index of the true family each row belongs to."""

    X: np.ndarray  # (n, d) float32 unit rows
    labels: np.ndarray  # (n, levels) int64, coarse to fine
    centres: list[np.ndarray]  # per level, (families, d) unit directions


def _jitter(parents: np.ndarray, k: int, cos: float, rng: np.random.Generator) -> np.ndarray:
    """k children per parent at (about) the given cosine to it."""
    d = parents.shape[1]
    s = np.sqrt(1.0 / cos**2 - 1.0)
    rep = np.repeat(parents, k, axis=0)
    g = rng.standard_normal(rep.shape) / np.sqrt(d)
    g -= (g * rep).sum(1, keepdims=True) * rep  # orthogonal to the parent
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    out = rep + s * g
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def make_planted_hierarchy(
    branching: tuple[int, ...] = (5, 3, 3),
    *,
    d: int = 64,
    per_leaf: int = 40,
    level_cos: tuple[float, ...] = (0.8, 0.9),
    sample_cos: float = 0.95,
    seed: int = 0,
) -> PlantedHierarchy:
    """A tree with `branching[i]` children per node at level i (roots at level 0)."""
    if len(level_cos) != len(branching) - 1:
        raise ValueError(
            f"level_cos needs {len(branching) - 1} values (one per level below the roots); got {level_cos}"
        )
    rng = np.random.default_rng(seed)
    roots = rng.standard_normal((branching[0], d))
    centres = [roots / np.linalg.norm(roots, axis=1, keepdims=True)]
    for k, cos in zip(branching[1:], level_cos):
        centres.append(_jitter(centres[-1], k, cos, rng))
    X = _jitter(centres[-1], per_leaf, sample_cos, rng)
    n = len(X)
    leaf = np.arange(n) // per_leaf
    labels = np.empty((n, len(branching)), np.int64)
    idx = leaf
    for lv in range(len(branching) - 1, -1, -1):
        labels[:, lv] = idx
        if lv > 0:
            idx = idx // branching[lv]
    return PlantedHierarchy(X.astype(np.float32), labels, [c.astype(np.float32) for c in centres])
