"""How much a run's families depend on accidents: refits of the same method compared.

Three kinds of refit, each compared per level with the adjusted Rand index (ARI), as the
mean over all pairs (the main fit included where it is one of the pair):

- **order**: the same rows in other input orders, same seed. A method whose result does
  not depend on the input order scores 1.0 here by construction.
- **seed**: the same rows with other seeds (ART's random order, k-means' starts, the
  consensus's bags).
- **subsample**: fits on random subsets of `fraction` of the rows, compared pair by pair
  on the rows both contain. Each family of the main fit also gets its mean best-match
  Jaccard against these fits (on the members each one contains): 1.0 means the family
  came back whole every time.

A level where almost every feature is alone is "stable" by ARI's arithmetic only; read the
singleton share beside these numbers (the recommender does).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

SEED_OFFSET = 1_000_003  # seeds of the seed refits: seed + k · SEED_OFFSET


@dataclass(frozen=True)
class Settings:
    """How many refits of each kind (0 skips that kind)."""

    orders: int = 2
    seeds: int = 2
    subsamples: int = 3
    fraction: float = 0.9

    @property
    def any(self) -> bool:
        return self.orders + self.seeds + self.subsamples > 0


@dataclass
class Stability:
    """Per level: ARI means (None where not measured); per family: best-match Jaccard."""

    order_ari: list[float | None]
    seed_ari: list[float | None]
    subsample_ari: list[float | None]
    family_jaccard: list[np.ndarray]  # per level: one value per cluster (NaN: not measured)


Fitter = Callable[[np.ndarray, int], np.ndarray]  # (rows of X, seed) -> (len(rows), L) labels


def measure(fit: Fitter, n: int, labels: np.ndarray, seed: int, s: Settings) -> Stability:
    """Refit with `fit(rows, seed)` and compare with the main fit's `labels` (n, L)."""
    from sklearn.metrics import adjusted_rand_score as ari

    L = labels.shape[1]
    rng = np.random.default_rng([seed, 7])
    order_fits = [labels]
    for _ in range(s.orders):
        perm = rng.permutation(n)
        back = np.empty((n, L), np.int64)
        back[perm] = fit(perm, seed)
        order_fits.append(back)
    seed_fits = [labels] + [fit(np.arange(n), seed + (k + 1) * SEED_OFFSET) for k in range(s.seeds)]
    subs = [
        np.sort(rng.choice(n, max(2, round(s.fraction * n)), replace=False))
        for _ in range(s.subsamples)
    ]
    sub_fits = [fit(rows, seed) for rows in subs]

    def pairs(fits: list[np.ndarray], k: int) -> float | None:
        if len(fits) < 2:
            return None
        return float(np.mean([ari(a[:, k], b[:, k]) for a, b in itertools.combinations(fits, 2)]))

    def sub_pairs(k: int) -> float | None:
        vals = []
        for (i, a), (j, b) in itertools.combinations(enumerate(sub_fits), 2):
            _, ia, ib = np.intersect1d(subs[i], subs[j], return_indices=True)
            vals.append(ari(a[ia, k], b[ib, k]))
        return float(np.mean(vals)) if vals else None

    return Stability(
        [pairs(order_fits, k) for k in range(L)],
        [pairs(seed_fits, k) for k in range(L)],
        [sub_pairs(k) for k in range(L)],
        [best_match_jaccard(labels[:, k], subs, [f[:, k] for f in sub_fits]) for k in range(L)],
    )


def best_match_jaccard(
    labels: np.ndarray, subsets: list[np.ndarray], refits: list[np.ndarray]
) -> np.ndarray:
    """For each cluster of `labels`: the mean over refits (each on rows `subsets[j]`) of its
    best Jaccard overlap with a refit cluster, counting only the rows the refit saw."""
    from scipy import sparse

    C = int(labels.max()) + 1
    total = np.zeros(C)
    seen = np.zeros(C)
    for rows, other in zip(subsets, refits):
        a = labels[rows]
        m = int(other.max()) + 1
        inter = sparse.coo_matrix((np.ones(len(rows)), (a, other)), shape=(C, m)).tocsr()
        size_a = np.bincount(a, minlength=C).astype(float)
        size_b = np.bincount(other, minlength=m).astype(float)
        inter.sum_duplicates()
        coo = inter.tocoo()
        jac = coo.data / (size_a[coo.row] + size_b[coo.col] - coo.data)
        best = np.zeros(C)
        np.maximum.at(best, coo.row, jac)
        present = size_a > 0
        total[present] += best[present]
        seen[present] += 1
    with np.errstate(invalid="ignore"):
        return np.where(seen > 0, total / np.maximum(seen, 1), np.nan)
