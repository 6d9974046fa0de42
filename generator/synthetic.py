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


@dataclass
class PlantedEvolution:
    """Snapshots of a decoder whose families persist, drift, split, die and appear."""

    snapshots: list[np.ndarray]  # (n_i, d) unit rows
    family: list[np.ndarray]  # per snapshot: the true family of each row
    resonant: list[np.ndarray]  # per snapshot: the row belongs to a family seen before it
    dies: int  # the family with no row after the first snapshot
    persists: list[np.ndarray]  # per later snapshot: the row is a copy of a previous row


def make_planted_evolution(
    n_families: int = 10, per_family: int = 12, d: int = 64, noise: float = 0.02, seed: int = 0
) -> PlantedEvolution:
    """Two snapshots. Snapshot 1: `n_families` families of unit rows around random centres
    (cosine ~0.9 to the centre). Snapshot 2: every row of families 0 … n−4 again, slightly
    perturbed (the same features, still there); family n−3's centre drifts by ~10°; family
    n−2 splits: half its rows stay, half move to a fresh direction (a new family); family
    n−1 dies; two new families appear."""
    rng = np.random.default_rng(seed)

    def around(c: np.ndarray, k: int) -> np.ndarray:
        return _jitter(c[None], k, 0.9, rng)

    root = rng.standard_normal((1, d))
    centres = _jitter(root / np.linalg.norm(root), n_families, 0.05, rng)  # near-orthogonal
    first = np.vstack([around(c, per_family) for c in centres])
    fam1 = np.repeat(np.arange(n_families), per_family)

    def perturb(X: np.ndarray) -> np.ndarray:
        Y = X + noise * rng.standard_normal(X.shape)
        return Y / np.linalg.norm(Y, axis=1, keepdims=True)

    keep = fam1 < n_families - 3
    drift_fam, split_fam, dead_fam = n_families - 3, n_families - 2, n_families - 1
    drifted_centre = _jitter(centres[drift_fam][None], 1, 0.985, rng)[0]
    drifted = around(drifted_centre, per_family)
    split_rows = first[fam1 == split_fam]
    half = per_family // 2
    fresh = rng.standard_normal((3, d))
    fresh /= np.linalg.norm(fresh, axis=1, keepdims=True)
    moved = around(fresh[0], per_family - half)
    new_a, new_b = around(fresh[1], per_family), around(fresh[2], per_family)
    second = np.vstack(
        [perturb(first[keep]), drifted, perturb(split_rows[:half]), moved, new_a, new_b]
    )
    fam2 = np.concatenate(
        [
            fam1[keep],
            np.full(per_family, drift_fam),
            np.full(half, split_fam),
            np.full(per_family - half, n_families),
            np.full(per_family, n_families + 1),
            np.full(per_family, n_families + 2),
        ]
    )
    resonant2 = fam2 < n_families
    copies = np.concatenate(
        [np.ones(keep.sum() , bool), np.zeros(per_family, bool), np.ones(half, bool),
         np.zeros(per_family - half + 2 * per_family, bool)]
    )  # fmt: skip
    return PlantedEvolution(
        [first.astype(np.float32), second.astype(np.float32)],
        [fam1, fam2],
        [np.zeros(len(first), bool), resonant2],
        dead_fam,
        [copies],
    )
