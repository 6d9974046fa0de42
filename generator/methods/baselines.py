"""Plain baselines that every ART run is compared with: agglomerative clustering and
k-means, each run at explicit K per level or at the K of every ART run's levels
("matched K": `params: {k: matched}`).

- `agglomerative`: average linkage on cosine distance (SciPy, which scikit-learn's
  AgglomerativeClustering also uses for this linkage); one dendrogram cut at each
  level's K, so levels nest by construction.
- `kmeans`: scikit-learn's k-means on unit vectors (spherical up to the centroid's norm),
  nested: level 0 has K₀ clusters; each level-k cluster is split by its own k-means into
  a share of K_{k+1} proportional to its size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from generator.errors import DataError
from generator.methods.base import Description, Fit, parents_of
from generator.metrics import unit

if TYPE_CHECKING:
    from generator.config import SweepConfig

MAX_AGGLOMERATIVE_ROWS = 25_000  # the condensed distance matrix holds n²/2 float64


class _KBaseline:
    """What both baselines share: params `{k: matched}` or `{k: [[K₀, K₁, …], …]}`."""

    name = ""
    label = ""
    version = 1

    def check_params(self, params: dict[str, Any]) -> None:
        from generator.art.base import check_levels, check_names

        check_names(f"method {self.name!r}", ("k", "matched_to"), params)
        k = params.get("k", "matched")
        if k == "matched":
            return
        if not isinstance(k, list) or not k or not all(isinstance(ks, list) for ks in k):
            raise ValueError(
                f"method {self.name!r}: k must be 'matched' (the K of every ART run's levels) "
                f"or a list of K lists, one K per level, e.g. [[50, 200]]; got {k!r}"
            )
        for i, ks in enumerate(k):
            if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in ks):
                raise ValueError(f"method {self.name!r}: k[{i}] must hold integers ≥ 1; got {ks!r}")
            check_levels(ks, f"method {self.name!r}: k[{i}]")

    def expand(self, sweep: SweepConfig, params: dict[str, Any]) -> list[dict[str, Any]]:
        k = params.get("k", "matched")
        return [] if k == "matched" else [{"k": list(ks)} for ks in k]

    def matched(self, params: dict[str, Any]) -> bool:
        return params.get("k", "matched") == "matched"

    def run_name(self, params: dict[str, Any]) -> tuple[str, str]:
        return self.name, "k" + "-".join(str(k) for k in params["k"])

    def describe(self, params: dict[str, Any]) -> Description:
        label = self.label + (
            f", matched to {params['matched_to']}" if "matched_to" in params else ""
        )
        return Description(label, "K", list(params["k"]))

    @staticmethod
    def _ks(params: dict[str, Any], n: int) -> list[int]:
        return [min(int(k), n) for k in params["k"]]


class Agglomerative(_KBaseline):
    name = "agglomerative"
    label = "agglomerative, cosine, average linkage"
    summary = (
        "average-linkage agglomerative clustering on cosine distance, one dendrogram cut at "
        "each level's K (params: k: matched, or k: [[K0, K1, ...]])"
    )

    def fit(self, X: np.ndarray, params: dict[str, Any], seed: int) -> Fit:
        from scipy.cluster.hierarchy import cut_tree, linkage
        from scipy.spatial.distance import pdist

        n = len(X)
        if n > MAX_AGGLOMERATIVE_ROWS:
            raise DataError(
                f"agglomerative: {n:,} rows need a {n * (n - 1) / 2 * 8 / 2**30:.1f} GB distance "
                f"matrix; at most {MAX_AGGLOMERATIVE_ROWS:,} rows are accepted (use "
                "selection.max_features, or leave the baseline out)."
            )
        from generator.methods.consensus import canonical_order

        canon = canonical_order(X)  # ties in the linkage fall the same way for any input order
        Z = linkage(pdist(unit(X[canon]), "cosine"), "average")
        labels = np.empty((n, len(params["k"])), np.int64)
        labels[canon] = cut_tree(Z, n_clusters=self._ks(params, n))
        return Fit(labels, parents_of(labels))


class NestedKMeans(_KBaseline):
    name = "kmeans"
    label = "k-means on unit vectors, nested"
    summary = (
        "k-means on unit vectors (scikit-learn), nested: each cluster split by its own "
        "k-means, K shared by size (params: k: matched, or k: [[K0, K1, ...]])"
    )

    def fit(self, X: np.ndarray, params: dict[str, Any], seed: int) -> Fit:
        Xu = unit(X).astype(np.float32)
        ks = self._ks(params, len(X))
        levels = [_kmeans(Xu, ks[0], seed)]
        for K in ks[1:]:
            prev = levels[-1]
            share = _allot(np.bincount(prev), K)
            lab = np.empty(len(Xu), np.int64)
            next_id = 0
            for p in range(len(share)):
                idx = np.flatnonzero(prev == p)
                local = _kmeans(Xu[idx], share[p], seed + p)
                lab[idx] = local + next_id
                next_id += int(local.max()) + 1
            levels.append(lab)
        labels = np.stack(levels, axis=1)
        return Fit(labels, parents_of(labels))


def _kmeans(X: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Labels 0..C−1 of k-means with k clusters (all in one when k is 1)."""
    from sklearn.cluster import KMeans

    k = min(k, len(X))
    if k <= 1:
        return np.zeros(len(X), np.int64)
    lab = KMeans(k, n_init=1, random_state=seed % 2**32).fit(X).labels_
    return np.unique(lab, return_inverse=True)[1].astype(np.int64)


def _allot(sizes: np.ndarray, K: int) -> np.ndarray:
    """K clusters shared among groups in proportion to their sizes (largest remainders),
    each group at least 1 and at most its size."""
    K = int(min(max(K, len(sizes)), sizes.sum()))
    raw = sizes / sizes.sum() * K
    share = np.clip(np.floor(raw).astype(np.int64), 1, sizes)
    order = np.argsort(-(raw - np.floor(raw)), kind="stable")
    i = 0
    while share.sum() < K:
        g = order[i % len(order)]
        if share[g] < sizes[g]:
            share[g] += 1
        i += 1
    while share.sum() > K:
        g = int(np.argmax(share))
        share[g] -= 1
    return share
