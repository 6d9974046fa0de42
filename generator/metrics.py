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

from typing import Any

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
    sample of `max_siblings` siblings in big families; NaN for a cluster without siblings:
    a level that copies its parent earns no credit), and its overlap with the global top
    tokens. Overlaps come from one sparse product per family, not a loop over pairs."""
    from scipy import sparse

    n = len(token_sets)
    distinct = np.full(n, np.nan)
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


def chance_cohesion(
    X: np.ndarray, labels: np.ndarray, n_clusters: int, shuffles: int = 5, seed: int = 0
) -> np.ndarray:
    """Per cluster: the cohesion a random set of features of the same size has (labels
    shuffled `shuffles` times, seeded; the mean). A family is only as real as its margin
    over this."""
    rng = np.random.default_rng(seed)
    size = np.maximum(np.bincount(labels, minlength=n_clusters), 1)
    total = np.zeros(n_clusters)
    for _ in range(shuffles):
        lab = rng.permutation(labels)
        cos = member_cosines(X, lab, cluster_means(X, lab, n_clusters))
        total += np.bincount(lab, weights=cos, minlength=n_clusters) / size
    return total / shuffles


def token_coherence(
    own_ids: np.ndarray, labels: np.ndarray, family_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per cluster: the mean share of its top tokens (`family_ids`, (C, k)) that are among
    a member's own top tokens (`own_ids`, (n, k)), and the same for a random feature
    (the chance level: how common those tokens are among all features' own tokens)."""
    from scipy import sparse

    n, C = len(own_ids), len(family_ids)
    V = int(max(own_ids.max(initial=0), family_ids.max(initial=0))) + 1
    k_own, k_fam = own_ids.shape[1], family_ids.shape[1]
    Own = sparse.csr_matrix(
        (np.ones(n * k_own), (np.repeat(np.arange(n), k_own), own_ids.ravel())), shape=(n, V)
    )
    Own.data[:] = 1.0  # a token listed twice counts once
    T = sparse.csr_matrix(
        (np.ones(C * k_fam), (np.repeat(np.arange(C), k_fam), family_ids.ravel())), shape=(C, V)
    )
    T.data[:] = 1.0
    per_member = np.asarray(Own.multiply(T[labels]).sum(axis=1)).ravel() / k_fam
    size = np.maximum(np.bincount(labels, minlength=C), 1)
    coherence = np.bincount(labels, weights=per_member, minlength=C) / size
    freq = np.asarray(Own.sum(axis=0)).ravel() / n  # share of features holding each token
    chance = np.asarray(T @ freq).ravel() / k_fam
    return coherence, chance


CATCH_ALL_SHARE = 0.02  # a family this large a share of the features …
CATCH_ALL_MARGIN = 0.1  # … whose cohesion is less than this above chance is a catch-all


def catch_all(size: np.ndarray, cohesion: np.ndarray, chance: np.ndarray) -> np.ndarray:
    """Large families that are barely more cohesive than a random set of their size."""
    big = size >= max(10, CATCH_ALL_SHARE * size.sum())
    return big & (cohesion - chance < CATCH_ALL_MARGIN)


def silhouette(
    X: np.ndarray, labels: np.ndarray, sample: int, seed: int, chunk: int = 1024
) -> float | None:
    """Mean cosine silhouette of a seeded sample of rows, each scored against all rows (not
    only the sampled ones); None when undefined (one cluster, or every row alone).

    With unit rows the mean cosine distance from x to a cluster's members is 1 − x · mean,
    so a(x) and b(x) come from the cluster means exactly; a row alone in its cluster
    scores 0, as in scikit-learn."""
    n = len(labels)
    C = int(labels.max()) + 1
    if C < 2 or C >= n:
        return None
    U = unit(X)
    size = np.bincount(labels, minlength=C).astype(np.float64)
    sums = cluster_means(U, labels, C) * size[:, None]  # (C, d)
    idx = np.sort(np.random.default_rng(seed).choice(n, size=min(sample, n), replace=False))
    out = []
    for s in range(0, len(idx), chunk):
        rows = idx[s : s + chunk]
        lab = labels[rows]
        dots = U[rows] @ sums.T  # (rows, C): x · (sum of each cluster's members)
        own = size[lab]
        a = 1.0 - (dots[np.arange(len(rows)), lab] - 1.0) / np.maximum(own - 1, 1)
        dots[np.arange(len(rows)), lab] = -np.inf
        b = 1.0 - (dots / size).max(axis=1)
        sil = np.where(own > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
        out.append(sil)
    return float(np.concatenate(out).mean())


def level_summary(t: Any, sil: float | None, stab: Any, k: int, diag: Any) -> LevelMetrics:
    """One level's headline numbers from its per-cluster table `t` (interpret.LevelTable).
    Cohesion, its chance level, distinctiveness and token coherence are means over the
    families of 2+ (a feature alone says nothing about them); match and margin only where
    the method reports ART diagnostics (`diag`, with `created` per sample)."""
    sizes = t.size
    multi = sizes >= 2

    def fam_mean(v: np.ndarray) -> float | None:
        vals = v[multi]
        vals = vals[np.isfinite(vals)]
        return float(vals.mean()) if len(vals) else None

    joined = None if diag is None else ~diag.created[:, k]
    has_joined = joined is not None and joined.any()
    margin = None if diag is None else diag.margin[joined, k]
    return LevelMetrics(
        clusters=int(len(sizes)),
        singletons=int((sizes == 1).sum()),
        singleton_share=float((sizes == 1).sum() / sizes.sum()),
        largest_share=float(sizes.max() / sizes.sum()),
        gini=gini(sizes),
        cohesion=fam_mean(t.cohesion),
        cohesion_chance=fam_mean(t.cohesion_chance),
        distinctiveness=fam_mean(t.distinctiveness),
        token_coherence=fam_mean(t.token_coherence),
        token_coherence_chance=fam_mean(t.token_coherence_chance),
        catch_all=int(t.catch_all.sum()),
        catch_all_share=float(sizes[t.catch_all].sum() / sizes.sum()),
        silhouette=sil,
        mean_match=float(np.nanmean(diag.match[joined, k])) if has_joined else None,
        mean_margin=float(np.nanmean(margin)) if has_joined and np.isfinite(margin).any() else None,
        order_ari=None if stab is None else stab.order_ari[k],
        seed_ari=None if stab is None else stab.seed_ari[k],
        subsample_ari=None if stab is None else stab.subsample_ari[k],
    )


def top_cosines(
    A: np.ndarray, k: int, chunk: int = 2048, other: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """For every row of A, its k most similar rows of `other` (default: the other rows of
    A) by cosine: (ids, cosines), both (n, k), most similar first (ties to the lower id).
    Chunked: memory is chunk × len(other)."""
    U = unit(A).astype(np.float32)
    V = U if other is None else unit(other).astype(np.float32)
    n, m = len(U), len(V)
    k = min(k, m - 1 if other is None else m)
    ids = np.empty((n, k), np.int64)
    cos = np.empty((n, k), np.float32)
    for s in range(0, n, chunk):
        S = U[s : s + chunk] @ V.T  # (chunk, m)
        if other is None:  # not its own neighbour
            S[np.arange(len(S)), np.arange(s, s + len(S))] = -np.inf
        part = np.argpartition(-S, k - 1, axis=1)[:, :k] if k < m else np.argsort(-S, axis=1)
        vals = np.take_along_axis(S, part, axis=1)
        order = np.lexsort((part, -vals), axis=1)
        ids[s : s + chunk] = np.take_along_axis(part, order, axis=1)
        cos[s : s + chunk] = np.take_along_axis(vals, order, axis=1)
    return ids, cos


def nearest_neighbour_cosines(
    W: np.ndarray, sample: int, seed: int, chunk: int = 2048, rows: np.ndarray | None = None
) -> np.ndarray:
    """For `sample` random rows (or the given `rows`), the largest cosine to any other row
    of W."""
    U = unit(W).astype(np.float32)
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(U), size=min(sample, len(U)), replace=False) if rows is None else rows
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
