"""Taxonomy evolution: one ART hierarchy followed across SAE snapshots.

The hierarchy is fitted on the first snapshot (as the chosen run fits: a consensus is
turned into the mean-ART model of its families) and every later snapshot's features are
presented to it with `partial_fit`, never refitting. A feature that joins a category
that existed before its snapshot *resonated* (the family is stable); one that founds a
category is *new* (the taxonomy is plastic); a category no feature of a snapshot joins
is *dormant* there. Decoder matching between consecutive snapshots (mutual nearest
neighbours by cosine) is an independent view of which features persist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from generator.metrics import cluster_means, top_cosines, unit


@dataclass
class Step:
    """The hierarchy after one snapshot, and what that snapshot did to it."""

    state: dict[str, np.ndarray]  # Hierarchy.get_state() after this snapshot
    level_values: list[float]
    labels: np.ndarray  # (n, L) category of each of the snapshot's features
    resonated: np.ndarray  # (n, L) joined a category that existed before this snapshot
    n_before: np.ndarray  # (L,) categories per level before this snapshot
    n_after: np.ndarray  # (L,)
    members: list[np.ndarray]  # per level: this snapshot's members of every category
    drift: list[np.ndarray]  # per level: cosine of each older prototype before and after
    tokens: list[np.ndarray]  # per level: (n_after, k) top token ids (−1: no members here)


def _order(X: np.ndarray, params: dict[str, Any], seed: int) -> np.ndarray:
    """The presentation order the run's rule gives (densest first, or a seeded shuffle)."""
    from generator.methods import consensus
    from generator.methods.art import input_order

    if params.get("order", "random") == "density":
        return consensus.presentation_order(X, consensus.density(X))
    return input_order(len(X), seed)


def first_step(X: np.ndarray, params: dict[str, Any], seed: int) -> tuple[Any, np.ndarray]:
    """(fitted hierarchy, labels in row order) of the first snapshot, as the run fits."""
    from generator.art import Hierarchy
    from generator.methods.art import ArtMethod

    art = ArtMethod()
    rhos = art.levels(X, params)
    fixed = {**params, "rho_values": rhos}
    if params.get("members", 1) > 1:
        fit = art.fit(X, fixed, seed)
        return art.model(X, fit, fixed), fit.labels
    h: Hierarchy = art.hierarchy(fixed, rhos)
    Xp = h.prepare_data(X)
    order = _order(Xp, fixed, seed)
    h.fit(Xp[order])
    labels = np.empty_like(h.labels_deep_)
    labels[order] = h.labels_deep_
    return h, labels


def next_step(h: Any, X: np.ndarray, params: dict[str, Any], seed: int) -> np.ndarray:
    """Present a later snapshot's rows to the hierarchy (partial_fit); labels in row order."""
    Xp = h.prepare_data(X)
    order = _order(Xp, params, seed)
    h.partial_fit(Xp[order])
    new = h.labels_deep_[-len(X) :]
    labels = np.empty_like(new)
    labels[order] = new
    return labels


def prototypes(h: Any) -> list[np.ndarray]:
    return [np.asarray(level.weights_, np.float64).copy() for level in h.levels_]


def drift(before: list[np.ndarray], after: list[np.ndarray]) -> list[np.ndarray]:
    """Per level: cosine between each older category's prototype before and after."""
    out = []
    for b, a in zip(before, after):
        a = a[: len(b)]
        out.append(np.einsum("ij,ij->i", unit(b), unit(a)))
    return out


def family_tokens(
    W_rows: np.ndarray,
    labels: np.ndarray,
    n_cat: int,
    global_mean: np.ndarray,
    lens: Any,
    layernorm: str,
    k: int,
    device: str,
) -> np.ndarray:
    """(n_cat, k) differential top tokens of each category's members in this snapshot
    (−1 rows for categories without members here)."""
    from generator.lens import lens_topk

    out = np.full((n_cat, k), -1, np.int64)
    present = np.flatnonzero(np.bincount(labels, minlength=n_cat) > 0)
    if len(present):
        means = cluster_means(W_rows, labels, n_cat)[present]
        t = lens_topk((means - global_mean).astype(np.float32), lens, layernorm, k, device=device)
        out[present] = t.top_ids
    return out


@dataclass
class Matching:
    """Decoder matching between two snapshots a (earlier) and b (later)."""

    b_to_a: np.ndarray  # (n_b,) each later feature's best earlier feature (row index)
    b_cos: np.ndarray  # (n_b,) its cosine
    a_to_b: np.ndarray  # (n_a,)
    a_cos: np.ndarray  # (n_a,)

    def persists(self, min_cos: float) -> np.ndarray:
        """(n_b,) the later feature and its best match are each other's nearest, at a cosine
        of at least min_cos: the same feature, carried over."""
        mutual = self.a_to_b[self.b_to_a] == np.arange(len(self.b_to_a))
        return mutual & (self.b_cos >= min_cos)


def match(W_a: np.ndarray, W_b: np.ndarray) -> Matching:
    """Best cosine match of every row of W_b among W_a, and of W_a among W_b."""
    A, B = unit(W_a).astype(np.float32), unit(W_b).astype(np.float32)
    ids_ba, cos_ba = top_cosines(B, 1, other=A)
    ids_ab, cos_ab = top_cosines(A, 1, other=B)
    return Matching(ids_ba[:, 0], cos_ba[:, 0], ids_ab[:, 0], cos_ab[:, 0])
