"""Reading clusters: the differential logit lens and the per-cluster table of a run.

A cluster's direction is the mean decoder row of its members minus the mean of all
decoder rows; read through the lens, its top tokens say what the members share beyond
what every feature shares. Directions are taken in the SAE's own space (never PCA's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from generator import metrics
from generator.artifacts import CLUSTER_COLUMNS, LevelMetrics
from generator.lens import LensTable, NormMode, lens_topk
from generator.methods import RunResult
from generator.sources.lens import LensModel


@dataclass
class LevelTable:
    """Per-cluster columns of one level (index = cluster id)."""

    level: int
    size: np.ndarray
    parent: np.ndarray
    n_children: np.ndarray
    token_ids: np.ndarray  # (C, k)
    token_scores: np.ndarray  # (C, k)
    bottom_ids: np.ndarray  # (C, k) the most negative logits of the differential direction
    bottom_scores: np.ndarray  # (C, k)
    nearest: np.ndarray  # (C, m) the same level's families nearest by centre cosine
    nearest_cos: np.ndarray  # (C, m)
    cohesion: np.ndarray
    distinctiveness: np.ndarray
    global_overlap: np.ndarray
    mean_match: np.ndarray
    mean_margin: np.ndarray
    stability: np.ndarray  # best-match Jaccard across subsample refits (NaN: not measured)
    cohesion_chance: np.ndarray
    token_coherence: np.ndarray
    token_coherence_chance: np.ndarray
    catch_all: np.ndarray  # bool
    member_cos: np.ndarray  # (n_features,) cosine of each member to its cluster mean


def differential_tokens(
    W_sel: np.ndarray,
    labels: np.ndarray,
    n_clusters: int,
    global_mean: np.ndarray,
    lens: LensModel,
    mode: NormMode,
    k: int,
    device: str = "cpu",
    singles: LensTable | None = None,
) -> tuple[np.ndarray, LensTable]:
    """(cluster means, top and bottom tokens) of mean(members) − global mean.

    `singles` (a LensTable of every feature's own differential direction) answers the
    one-member clusters, which at fine levels are most of them, without a second lens pass.
    """
    means = metrics.cluster_means(W_sel, labels, n_clusters)
    size = np.bincount(labels, minlength=n_clusters)
    todo = np.flatnonzero(size != 1) if singles is not None else np.arange(n_clusters)
    out = LensTable(
        np.empty((n_clusters, k), np.int32),
        np.empty((n_clusters, k), np.float32),
        np.empty((n_clusters, k), np.int32),
        np.empty((n_clusters, k), np.float32),
    )
    fields = ("top_ids", "top_logits", "bottom_ids", "bottom_logits")
    if len(todo):
        table = lens_topk(
            (means[todo] - global_mean).astype(np.float32), lens, mode, k, device=device
        )
        for f in fields:
            getattr(out, f)[todo] = getattr(table, f)
    if singles is not None:
        one = np.flatnonzero(size == 1)
        member = np.empty(n_clusters, np.int64)
        member[labels] = np.arange(len(labels))  # the (only) member of a one-member cluster
        for f in fields:
            getattr(out, f)[one] = getattr(singles, f)[member[one]]
    return means, out


COHERENCE_K = 10  # tokens compared for token coherence, whatever interpret.top_k shows
NEAREST_FAMILIES = 5  # families of the same level listed as nearest, by centre cosine


def interpret_run(
    result: RunResult,
    W_sel: np.ndarray,
    own_ids: np.ndarray,
    global_mean: np.ndarray,
    lens: LensModel,
    mode: NormMode,
    k: int,
    global_tokens: set[int],
    device: str = "cpu",
    seed: int = 0,
) -> list[LevelTable]:
    """Tokens, metrics and evidence of every cluster at every level of one run.

    `own_ids` (n_selected, ≥ 10) are each feature's own top token ids: token coherence is
    computed on the first COHERENCE_K of theirs and of the family's, so it does not change
    with how many tokens a page shows."""
    out = []
    L = result.labels.shape[1]
    kc = max(k, COHERENCE_K)
    singles = None
    if any(np.any(np.bincount(result.labels[:, lv]) == 1) for lv in range(L)):
        singles = lens_topk((W_sel - global_mean).astype(np.float32), lens, mode, kc, device=device)
    for lv in range(L):
        lab = result.labels[:, lv]
        C = result.n_clusters[lv]
        means, toks = differential_tokens(
            W_sel, lab, C, global_mean, lens, mode, kc, device, singles
        )
        ids, scores = toks.top_ids, toks.top_logits
        near_ids, near_cos = (
            metrics.top_cosines(means, NEAREST_FAMILIES)
            if C > 1
            else (
                np.zeros((C, 0), np.int64),
                np.zeros((C, 0), np.float32),
            )
        )
        size = np.bincount(lab, minlength=C)
        parent = result.parents[lv]
        children = (
            np.bincount(result.parents[lv + 1], minlength=C)
            if lv + 1 < L
            else np.zeros(C, np.int64)
        )
        cos = metrics.member_cosines(W_sel, lab, means)
        cohesion = np.bincount(lab, weights=cos, minlength=C) / np.maximum(size, 1)
        chance = metrics.chance_cohesion(W_sel, lab, C, seed=seed)
        coherence, coherence_chance = metrics.token_coherence(
            own_ids[:, :COHERENCE_K], lab, ids[:, :COHERENCE_K]
        )
        sets = [set(row) for row in ids[:, :k].tolist()]
        distinct, glob = metrics.distinctiveness(sets, parent, global_tokens)
        mean_match, mean_margin = _mean_diagnostics(result, lv, C)
        stab = result.stability
        out.append(
            LevelTable(
                level=lv,
                size=size,
                parent=parent,
                n_children=children,
                token_ids=ids[:, :k],
                token_scores=scores[:, :k],
                bottom_ids=toks.bottom_ids[:, :k],
                bottom_scores=toks.bottom_logits[:, :k],
                nearest=near_ids,
                nearest_cos=near_cos,
                cohesion=cohesion,
                distinctiveness=distinct,
                global_overlap=glob,
                mean_match=mean_match,
                mean_margin=mean_margin,
                stability=np.full(C, np.nan) if stab is None else stab.family_jaccard[lv],
                cohesion_chance=chance,
                token_coherence=coherence,
                token_coherence_chance=coherence_chance,
                catch_all=metrics.catch_all(size, cohesion, chance),
                member_cos=cos,
            )
        )
    return out


def _mean_diagnostics(result: RunResult, lv: int, C: int) -> tuple[np.ndarray, np.ndarray]:
    """Per cluster: mean ART match and choice margin of the members that joined it
    (NaN where none joined, or for a method without ART diagnostics)."""
    d = result.diagnostics
    if d is None:
        return np.full(C, np.nan), np.full(C, np.nan)
    lab = result.labels[:, lv]
    joined = ~d.created[:, lv]
    match_sum = np.bincount(lab[joined], weights=d.match[joined, lv], minlength=C)
    n_joined = np.bincount(lab[joined], minlength=C)
    mg = d.margin[:, lv]
    ok = joined & np.isfinite(mg)
    margin_sum = np.bincount(lab[ok], weights=mg[ok], minlength=C)
    n_margin = np.bincount(lab[ok], minlength=C)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_match = np.where(n_joined > 0, match_sum / np.maximum(n_joined, 1), np.nan)
        mean_margin = np.where(n_margin > 0, margin_sum / np.maximum(n_margin, 1), np.nan)
    return mean_match, mean_margin


def level_metrics(
    tables: list[LevelTable],
    result: RunResult,
    X_reduced: np.ndarray,
    silhouette_sample: int,
    seed: int,
) -> list[LevelMetrics]:
    """Headline numbers per level (silhouette on the data the run clustered)."""
    return [
        metrics.level_summary(
            t,
            metrics.silhouette(X_reduced, result.labels[:, t.level], silhouette_sample, seed),
            result.stability,
            t.level,
            result.diagnostics,
        )
        for t in tables
    ]


def cluster_frame(tables: list[LevelTable]) -> pd.DataFrame:
    """clusters.parquet without its token strings (added from the lens's vocabulary)."""
    cols: dict[str, list[Any]] = {
        c: [] for c in CLUSTER_COLUMNS if c not in ("tokens", "bottom_tokens")
    }
    for t in tables:
        C = len(t.size)
        cols["cluster"] += range(C)
        cols["level"] += [t.level] * C
        cols["parent"] += t.parent.astype(int).tolist()
        cols["size"] += t.size.astype(int).tolist()
        cols["n_children"] += t.n_children.astype(int).tolist()
        cols["token_ids"] += t.token_ids.tolist()
        cols["token_scores"] += t.token_scores.astype(float).tolist()
        cols["bottom_token_ids"] += t.bottom_ids.tolist()
        cols["bottom_scores"] += t.bottom_scores.astype(float).tolist()
        cols["nearest"] += t.nearest.tolist()
        cols["nearest_cos"] += t.nearest_cos.astype(float).tolist()
        for name in (
            "cohesion",
            "distinctiveness",
            "global_overlap",
            "mean_match",
            "mean_margin",
            "stability",
            "cohesion_chance",
            "token_coherence",
            "token_coherence_chance",
        ):
            cols[name] += getattr(t, name).astype(float).tolist()
        cols["catch_all"] += t.catch_all.astype(bool).tolist()
    return pd.DataFrame(cols)
