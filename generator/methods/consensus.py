"""Order-free, stable ART: mean ART presented in a data-determined order, and a consensus
of such fits over bags of the data.

One sequential ART fit is path dependent: which feature founds a category decides where
its borders fall. Two things take that accident away:

- **Presentation order from the data.** Features are presented densest first (density:
  mean cosine to their `DENSITY_K` nearest neighbours), so the input order does not
  matter at all, and founders are the centres of dense regions.
- **Consensus over bags.** `members` nested mean-ART hierarchies each see a bag of
  `fraction` of the features (chosen by a key computed from each row's content and the
  seed, so a feature's membership does not depend on where it sits in the input). Two
  features' co-association at a level is the share of the bags holding both in which
  ART put them together there; a level's families are the average-linkage clusters of
  1 − co-association (evidence accumulation, Fred & Jain 2005), cut inside each family
  of the level above at the members' median number of categories there, so every child
  has one parent.

Each member is ART with its vigilance; the consensus keeps the pairs ART agrees on. The
result can be turned back into one mean-ART hierarchy whose categories are the families
(`methods.art.ArtMethod.model`), which `partial_fit` continues.
"""

from __future__ import annotations

import numpy as np

from generator.errors import DataError
from generator.methods.base import Diagnostics, Fit, parents_of
from generator.metrics import cluster_means

DENSITY_K = 10
MAX_ROWS = 25_000  # the level-0 co-association is dense: n² floats


def density(X: np.ndarray, k: int = DENSITY_K, chunk: int = 2048) -> np.ndarray:
    """Mean cosine of each row to its k nearest other rows (rows are unit vectors)."""
    n = len(X)
    k = min(k, n - 1)
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    out = np.empty(n)
    for s in range(0, n, chunk):
        S = X32[s : s + chunk] @ X32.T  # (chunk, n)
        S[np.arange(len(S)), np.arange(s, s + len(S))] = -np.inf  # not its own neighbour
        top = np.partition(S, n - k, axis=1)[:, n - k :]
        out[s : s + chunk] = top.mean(axis=1, dtype=np.float64)
    return out


def content_keys(X: np.ndarray, seed: int, m: int) -> np.ndarray:
    """(n, m) numbers in [0, 1) that depend only on each row's values, the seed and the
    column: a row keeps its keys wherever it sits in the input and whatever else is there."""
    U = np.random.default_rng(seed).standard_normal((X.shape[1], m))
    P = np.asarray(X, np.float64) @ U
    return np.mod(P * 9973.0, 1.0)


def canonical_order(X: np.ndarray) -> np.ndarray:
    """Rows sorted by a content key: working in this order makes every later tie (in a
    linkage, in a sort) fall the same way whatever order the input came in."""
    return np.argsort(content_keys(X, 0, 1)[:, 0], kind="stable")


def presentation_order(X: np.ndarray, dens: np.ndarray) -> np.ndarray:
    """Densest first; exact ties broken by a content key (never by input position)."""
    tie = content_keys(X, 0, 1)[:, 0]
    return np.lexsort((tie, -dens))


def _members(X, order, bags, rhos, params) -> np.ndarray:
    """(M, levels, n): each member's nested mean-ART hierarchy on its bag (rows presented
    densest first), −1 for rows outside the bag."""
    from generator.art import Hierarchy

    n, M = bags.shape
    member = np.full((M, len(rhos), n), -1, np.int64)
    for m in range(M):
        rows = order[bags[order, m]]
        h = Hierarchy("mean", [float(r) for r in rhos], mode="nested", params=params)
        member[m][:, rows] = h.fit(X[rows]).labels_deep_.T
    return member


def _share_of_categories(labels: np.ndarray, idx: np.ndarray) -> float:
    """How many of a member's categories fall in the group `idx`, each counted by the share
    of its members there (a category straddling two groups counts half in each)."""
    held = labels[labels >= 0]
    if not len(held):
        return 0.0
    inside = labels[idx]
    inside = inside[inside >= 0]
    total = np.bincount(held)
    return float((np.bincount(inside, minlength=len(total)) / np.maximum(total, 1)).sum())


def _cut(A: np.ndarray, k: int) -> np.ndarray:
    """Average-linkage clusters of 1 − A (a co-association block), k of them."""
    from scipy.cluster.hierarchy import cut_tree, linkage
    from scipy.spatial.distance import squareform

    n = len(A)
    if n == 1 or k >= n:
        return np.arange(n)
    D = 1.0 - A.astype(np.float64)
    np.fill_diagonal(D, 0.0)
    Z = linkage(squareform(D, checks=False), "average")
    return cut_tree(Z, n_clusters=[max(k, 1)])[:, 0].astype(np.int64)


def _level(member: np.ndarray, parents: np.ndarray | None) -> np.ndarray:
    """One consensus level from the members' labels at that level (M, n): inside each
    family of the level above, the average-linkage clusters of 1 − co-association, as many
    as the members have there (the median of their shares of categories)."""
    n = member.shape[1]
    groups = np.zeros(n, np.int64) if parents is None else parents
    out = np.empty(n, np.int64)
    next_id = 0
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        shares = [_share_of_categories(row, idx) for row in member]
        k = max(1, int(round(np.median([c for c in shares if c > 0] or [1]))))
        _, sub = np.unique(_cut(_coassociation(member[:, idx]), k), return_inverse=True)
        out[idx] = sub + next_id
        next_id += int(sub.max()) + 1
    return out


def _coassociation(lab: np.ndarray) -> np.ndarray:
    """(n, n): for each pair, the share of the members holding both that put them in
    one category (labels (M, n), −1 where a member does not hold a row)."""
    n = lab.shape[1]
    together = np.zeros((n, n), np.float32)
    both = np.zeros((n, n), np.float32)
    for row in lab:
        held = row >= 0
        together += (row[:, None] == row[None, :]) & held[:, None]
        both += held[:, None] & held[None, :]
    return together / np.maximum(both, 1.0)


def fit_consensus(
    X: np.ndarray,
    rhos: list[float],
    params: dict,
    members: int,
    fraction: float,
    seed: int,
) -> Fit:
    """Consensus mean-ART hierarchy of the rows of X (unit vectors), coarse to fine."""
    n = len(X)
    if n > MAX_ROWS:
        raise DataError(
            f"ART consensus (members: {members}) keeps an n × n co-association; {n:,} rows "
            f"need {2 * 4 * n * n / 2**30:.1f} GB. At most {MAX_ROWS:,} rows are accepted: "
            "use members: 1 or selection.max_features."
        )
    canon = canonical_order(X)
    X = X[canon]
    order = presentation_order(X, density(X))
    bags = content_keys(X, seed, members) < fraction
    member = _members(X, order, bags, rhos, params)
    labels: list[np.ndarray] = []
    for k in range(len(rhos)):
        labels.append(_level(member[:, k], labels[-1] if labels else None))
    L = np.empty((n, len(rhos)), np.int64)
    L[canon] = np.stack(labels, axis=1)
    return Fit(L, parents_of(L), family_diagnostics(X[np.argsort(canon)], L))


def family_diagnostics(X: np.ndarray, labels: np.ndarray) -> Diagnostics:
    """Mean-ART's view of final families: each feature's match is its average cosine to
    the family's members (x · mean); a feature alone in its family is its founder."""
    n, L = labels.shape
    match = np.empty((n, L))
    created = np.empty((n, L), bool)
    for k in range(L):
        lab = labels[:, k]
        C = lab.max() + 1
        means = cluster_means(X, lab, C)
        match[:, k] = np.einsum("ij,ij->i", X, means[lab])
        created[:, k] = np.bincount(lab, minlength=C)[lab] == 1
    return Diagnostics(match, np.full((n, L), np.nan), created)
