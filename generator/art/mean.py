"""Mean ART: categories whose prototype is the mean of their unit members.

A category keeps the mean w of the unit vectors that joined it; a sample's choice and
match with it are both x · w, which is the sample's average cosine to the members. A
sample resonates when that average reaches the vigilance ρ, so ρ reads as "at least this
similar to the family on average" (cosine ART compares with a renormalised moving average
instead, which lets families drift and chain). Learning is the running mean
(w ← w + (x − w)/n), with no learning rate to choose.

`max_iter` > 1 adds epochs: every sample is presented again as if it were new (it leaves
its category, whose mean forgets it, then resonates like any sample), until no sample
moves or `max_iter` presentations are done. So a fitted model has every sample in a
category of its parent that resonates with it and, among those, its best match. This is
not artlib's max_iter, which presents samples again without forgetting them (a mean would
count them twice).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from generator.art import _kernels as K
from generator.art.base import Diagnostics, Param, ParamError
from generator.art.cosine import CosineART
from generator.art.engine import Rule


class MeanART(CosineART):
    """Clustering of unit vectors with vigilance on the average cosine to a category."""

    BLOCK_SIZE = 256
    PARAMS = (
        Param(
            "rho",
            "real",
            -1.0,
            1.0,
            default=0.2,
            help="vigilance: minimum average cosine of a sample to a category's members",
        ),
        Param(
            "max_iter",
            "int",
            1,
            1000,
            default=1,
            help="presentations of the data; after the first, samples leave their category "
            "and resonate again until none moves",
        ),
    )

    def __init__(
        self,
        rho: float = 0.2,
        max_iter: int = 1,
        *,
        dtype: str = "float32",
        device: str = "auto",
        block_size: int = 256,
    ):
        self.rho = rho
        self.max_iter = max_iter
        self.dtype = dtype
        self.device = device
        self.block_size = block_size

    def _rule(self, p: dict[str, Any], mode: int = 0, epsilon: float = 0.0) -> Rule:
        return Rule(
            K.KIND_MEAN,
            K.DOT,
            p["dtype"] == "float64",
            p["rho"],
            0.0,
            0.0,
            1.0,
            p["block_size"],
            mode,
            epsilon,
            p["device"],
            "none",
        )

    def _fit_sequence(
        self,
        X: np.ndarray,
        sample_parent: np.ndarray | None = None,
        *,
        mode: int = 0,
        epsilon: float = 0.0,
        nested: bool = False,
        strict: bool = False,
    ) -> MeanART:
        p = self._validated()
        if p["max_iter"] > 1 and mode == K.MODE_SMART:
            raise ParamError(
                "MeanART's epochs (max_iter > 1) keep every sample under its parent; they "
                "are defined for nested hierarchies, not SMART's match tracking. Use "
                "mode='nested' or max_iter=1."
            )
        super()._fit_sequence(
            X, sample_parent, mode=mode, epsilon=epsilon, nested=nested, strict=strict
        )
        if p["max_iter"] > 1 and len(X):
            parents = (
                np.full(len(X), -1, np.int64)
                if sample_parent is None
                else np.ascontiguousarray(sample_parent, np.int64)
            )
            self._epochs(np.ascontiguousarray(X, dtype=self.state_.W.dtype), parents, p)
        return self

    def _epochs(self, X: np.ndarray, parents: np.ndarray, p: dict[str, Any]) -> None:
        """Re-present the samples of this call until none moves. Samples only ever meet
        their parent's categories, so each parent's samples are re-presented on their own,
        against a copy of that parent's categories (as `engine.run_nested` does)."""
        from generator.art.engine import _group_indices

        s, n = self.state_, len(X)
        start = len(self.labels_) - n
        labels = self.labels_[start:].copy()
        cats_of = _group_indices(s.parent[: s.n_cat])
        for g, rows in _group_indices(parents).items():
            cats = cats_of.get(g, np.zeros(0, np.int64))
            sub = s.subset(cats)
            local = np.full(s.n_cat, -1, np.int64)
            local[cats] = np.arange(len(cats))
            lab = local[labels[rows]]
            self._epochs_group(np.ascontiguousarray(X[rows]), g, sub, lab, p)
            s.W[cats] = sub.W[: len(cats)]
            s.counts[cats] = sub.counts[: len(cats)]
            fresh = np.arange(len(cats), sub.n_cat)  # categories founded during the epochs
            s.grow(s.n_cat + len(fresh))
            ids = np.concatenate([cats, s.n_cat + np.arange(len(fresh))])
            s.W[ids[fresh]] = sub.W[fresh]
            s.wnorm[ids[fresh]] = 1.0
            s.counts[ids[fresh]] = sub.counts[fresh]
            s.parent[ids[fresh]] = g
            s.n_cat += len(fresh)
            labels[rows] = ids[lab]
        self._compact(start, labels, X)

    @staticmethod
    def _epochs_group(X: np.ndarray, g: int, sub: Any, lab: np.ndarray, p: dict[str, Any]) -> None:
        """Epochs of one parent's samples `X` (labels `lab`, local to `sub`), in place."""
        from generator.art._mean_kernels import epoch_block

        n, exact, B = len(X), p["dtype"] == "float64", p["block_size"]
        parent = np.full(min(B, n), g, np.int64)
        for _ in range(p["max_iter"] - 1):
            changed = 0
            for b0 in range(0, n, B):
                Xb = X[b0 : b0 + B]
                nb_ = len(Xb)
                sub.grow(sub.n_cat + nb_)
                G = np.empty((nb_, sub.n_cat + nb_), dtype=X.dtype)
                if nb_ * sub.n_cat * X.shape[1] >= 2_000_000:  # threads pay off
                    K.score_block(Xb, sub.W, nb_, sub.n_cat, G, K.DOT, exact)
                elif sub.n_cat:
                    K.score_range(Xb, sub.W, 0, nb_, 0, sub.n_cat, G, K.DOT, exact)
                rows = np.arange(b0, b0 + nb_)
                sub.n_cat, ch = epoch_block(
                    Xb, rows, G, sub.W, sub.counts, sub.parent, parent[:nb_], lab, p["rho"],
                    sub.n_cat, exact,
                )  # fmt: skip
                changed += ch
            if changed == 0:
                break

    def _compact(self, start: int, labels: np.ndarray, X: np.ndarray) -> None:
        """Drop the categories epochs emptied (ids stay in creation order) and set the
        diagnostics of the re-presented samples: match = x · mean of their category;
        `created` marks samples that stand alone."""
        s = self.state_
        keep = np.flatnonzero(s.counts[: s.n_cat] > 0)
        remap = np.full(s.n_cat, -1, np.int64)
        remap[keep] = np.arange(len(keep))
        for name in ("W", "wnorm", "parent", "counts"):
            arr = getattr(s, name)
            arr[: len(keep)] = arr[keep]
        s.n_cat = len(keep)
        self.labels_[:start] = remap[self.labels_[:start]]
        self.labels_[start:] = remap[labels]
        new = self.labels_[start:]
        d = self.diagnostics_
        match = np.einsum("ij,ij->i", X.astype(np.float64), s.W[new].astype(np.float64))
        self.diagnostics_ = Diagnostics(
            np.concatenate([d.match[:start], match]),
            np.concatenate([d.margin[:start], np.full(len(new), np.nan)]),
            np.concatenate([d.created[:start], s.counts[new] == 1]),
        )
