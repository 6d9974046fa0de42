"""Numbers that tell a good taxonomy from a bad one, per cluster, per level and per SAE.

- cluster: size, cohesion (mean cosine of members to their mean direction), token
  distinctiveness (1 − mean Jaccard overlap of its top tokens with its siblings'),
  overlap with the global top tokens, mean ART match and choice margin.
- level: cluster count, singletons, largest-cluster share (the seed's 34 % catch-all),
  Gini of sizes, size-weighted cohesion, mean distinctiveness, cosine silhouette
  (sampled), mean match and margin; stability (ARI between two input orders) comes
  from the run.
- SAE: nearest-neighbour cosine of decoder rows beside random unit vectors of the same
  shape. An undertrained SAE sits on the random baseline: nothing to find.
"""

from __future__ import annotations

import numpy as np

from generator.artifacts import DecoderStructure, LevelMetrics, NnSummary


def unit(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    n = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(n == 0, 1, n)


def gini(sizes: np.ndarray) -> float:
    """Gini coefficient of cluster sizes (0: all equal; → 1: one cluster holds all)."""
    s = np.sort(np.asarray(sizes, dtype=np.float64))
    n = len(s)
    if n == 0 or s.sum() == 0:
        return 0.0
    return float((2 * np.arange(1, n + 1) - n - 1) @ s / (n * s.sum()))


def cluster_means(X: np.ndarray, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """Mean row of each cluster (n_clusters, d), summed in float64 after one sort."""
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    present, starts = np.unique(sorted_labels, return_index=True)
    sums = np.zeros((n_clusters, X.shape[1]))
    sums[present] = np.add.reduceat(X[order], starts, axis=0, dtype=np.float64)
    counts = np.bincount(labels, minlength=n_clusters).astype(np.float64)
    return sums / np.maximum(counts, 1)[:, None]


def member_cosines(
    X: np.ndarray, labels: np.ndarray, means: np.ndarray, chunk: int = 8192
) -> np.ndarray:
    """Cosine of each member to its cluster's mean direction (the member's centrality)."""
    M = unit(means)
    out = np.empty(len(X))
    for start in range(0, len(X), chunk):
        x = unit(X[start : start + chunk])
        out[start : start + chunk] = np.einsum("ij,ij->i", x, M[labels[start : start + chunk]])
    return np.clip(out, -1.0, 1.0)


def distinctiveness(
    token_sets: list[set[int]],
    parents: np.ndarray,
    global_tokens: set[int],
    max_siblings: int = 500,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Per cluster: 1 − mean Jaccard overlap of its top tokens with its siblings' (a seeded
    sample of `max_siblings` siblings in big families), and its overlap with the global
    top tokens. Overlaps come from one sparse product per family, not a loop over pairs."""
    from scipy import sparse

    n = len(token_sets)
    distinct = np.ones(n)
    sizes = np.array([len(t) for t in token_sets], dtype=np.float64)
    vocab = {t: i for i, t in enumerate(sorted({t for ts in token_sets for t in ts}))}
    rows = np.repeat(np.arange(n), sizes.astype(int))
    cols = np.array([vocab[t] for ts in token_sets for t in sorted(ts)], dtype=np.int64)
    T = sparse.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(n, max(len(vocab), 1)))
    rng = np.random.default_rng(seed)
    groups: dict[int, list[int]] = {}
    for c, p in enumerate(parents.tolist()):
        groups.setdefault(p, []).append(c)
    for sibs in groups.values():
        if len(sibs) < 2:
            continue
        members = np.array(sibs)
        ref = (
            members
            if len(members) <= max_siblings + 1
            else np.sort(rng.choice(members, max_siblings + 1, replace=False))
        )
        inter = (T[members] @ T[ref].T).toarray()  # (members, ref) shared tokens
        union = sizes[members][:, None] + sizes[ref][None, :] - inter
        jac = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
        self_mask = members[:, None] == ref[None, :]
        jac[self_mask] = 0.0
        n_other = len(ref) - self_mask.sum(axis=1)
        distinct[members] = 1.0 - jac.sum(axis=1) / np.maximum(n_other, 1)
    glob = np.array([len(ts & global_tokens) / max(len(ts), 1) for ts in token_sets])
    return distinct, glob


def silhouette(X: np.ndarray, labels: np.ndarray, sample: int, seed: int) -> float | None:
    """Cosine silhouette on a seeded sample; None when it is undefined (1 or n clusters)."""
    from sklearn.metrics import silhouette_score

    n = len(labels)
    k = len(np.unique(labels))
    if k < 2 or k >= n:
        return None
    idx = np.random.default_rng(seed).choice(n, size=min(sample, n), replace=False)
    if len(np.unique(labels[idx])) < 2 or len(np.unique(labels[idx])) >= len(idx):
        return None
    return float(silhouette_score(X[idx], labels[idx], metric="cosine"))


def level_summary(
    sizes: np.ndarray,
    cohesion: np.ndarray,
    distinct: np.ndarray,
    sil: float | None,
    ari: float | None,
    match: np.ndarray | None = None,
    margin: np.ndarray | None = None,
    created: np.ndarray | None = None,
) -> LevelMetrics:
    """One level's headline numbers (cohesion and distinctiveness over clusters of 2+);
    match and margin only where the method reports them (ART)."""
    multi = sizes >= 2
    joined = None if created is None else ~created
    has_joined = joined is not None and joined.any()
    return LevelMetrics(
        clusters=int(len(sizes)),
        singletons=int((sizes == 1).sum()),
        largest_share=float(sizes.max() / sizes.sum()),
        gini=gini(sizes),
        cohesion=float(np.average(cohesion[multi], weights=sizes[multi])) if multi.any() else None,
        distinctiveness=float(distinct[multi].mean()) if multi.any() else None,
        silhouette=sil,
        mean_match=float(np.nanmean(match[joined])) if has_joined else None,
        mean_margin=float(np.nanmean(margin[joined]))
        if has_joined and np.isfinite(margin[joined]).any()
        else None,
        stability_ari=ari,
    )


def nearest_neighbour_cosines(
    W: np.ndarray, sample: int, seed: int, chunk: int = 2048
) -> np.ndarray:
    """For `sample` random rows, the largest cosine to any other row of W."""
    U = unit(W).astype(np.float32)
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(U), size=min(sample, len(U)), replace=False)
    best = np.full(len(idx), -np.inf, dtype=np.float32)
    Q = U[idx]
    for start in range(0, len(U), chunk):
        S = Q @ U[start : start + chunk].T  # (sample, chunk)
        own = (idx >= start) & (idx < start + chunk)
        S[np.flatnonzero(own), idx[own] - start] = -np.inf  # not a row's own neighbour
        np.maximum(best, S.max(axis=1), out=best)
    return best.astype(np.float64)


def decoder_structure(W: np.ndarray, sample: int, seed: int) -> DecoderStructure:
    """Nearest-neighbour cosines of W beside random unit vectors of the same shape."""
    rng = np.random.default_rng(seed + 1)
    R = rng.standard_normal(W.shape).astype(np.float32)
    ours = nearest_neighbour_cosines(W, sample, seed)
    rand = nearest_neighbour_cosines(R, sample, seed)
    bins = np.linspace(-0.2, 1.0, 61)

    def summary(v: np.ndarray) -> NnSummary:
        q = np.quantile(v, [0.1, 0.5, 0.9])
        hist = np.histogram(np.clip(v, bins[0], bins[-1]), bins=bins)[0]
        return NnSummary(float(q[0]), float(q[1]), float(q[2]), hist.tolist())

    norms = np.linalg.norm(W, axis=1)
    return DecoderStructure(
        list(W.shape),
        int(len(ours)),
        bins.tolist(),
        summary(ours),
        summary(rand),
        {"min": float(norms.min()), "max": float(norms.max())},
    )
