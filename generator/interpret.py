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
from generator.lens import NormMode, lens_topk
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
    cohesion: np.ndarray
    distinctiveness: np.ndarray
    global_overlap: np.ndarray
    mean_match: np.ndarray
    mean_margin: np.ndarray
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
    singles: Any = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cluster means, top token ids, scores) of mean(members) − global mean.

    `singles` (a LensTable of every feature's own differential direction) answers the
    one-member clusters, which at fine levels are most of them, without a second lens pass.
    """
    means = metrics.cluster_means(W_sel, labels, n_clusters)
    size = np.bincount(labels, minlength=n_clusters)
    todo = np.flatnonzero(size != 1) if singles is not None else np.arange(n_clusters)
    ids = np.empty((n_clusters, k), np.int32)
    scores = np.empty((n_clusters, k), np.float32)
    if len(todo):
        table = lens_topk(
            (means[todo] - global_mean).astype(np.float32), lens, mode, k, device=device
        )
        ids[todo], scores[todo] = table.top_ids, table.top_logits
    if singles is not None:
        one = np.flatnonzero(size == 1)
        member = np.empty(n_clusters, np.int64)
        member[labels] = np.arange(len(labels))  # the (only) member of a one-member cluster
        ids[one], scores[one] = singles.top_ids[member[one]], singles.top_logits[member[one]]
    return means, ids, scores


def interpret_run(
    result: RunResult,
    W_sel: np.ndarray,
    global_mean: np.ndarray,
    lens: LensModel,
    mode: NormMode,
    k: int,
    global_tokens: set[int],
    device: str = "cpu",
) -> list[LevelTable]:
    """Tokens and metrics of every cluster at every level of one run."""
    out = []
    L = result.labels.shape[1]
    singles = None
    if any(np.any(np.bincount(result.labels[:, lv]) == 1) for lv in range(L)):
        singles = lens_topk((W_sel - global_mean).astype(np.float32), lens, mode, k, device=device)
    for lv in range(L):
        lab = result.labels[:, lv]
        C = result.n_clusters[lv]
        means, ids, scores = differential_tokens(
            W_sel, lab, C, global_mean, lens, mode, k, device, singles
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
        sets = [set(row) for row in ids.tolist()]
        distinct, glob = metrics.distinctiveness(sets, parent, global_tokens)
        mean_match, mean_margin = _mean_diagnostics(result, lv, C)
        out.append(
            LevelTable(
                lv,
                size,
                parent,
                children,
                ids,
                scores,
                cohesion,
                distinct,
                glob,
                mean_match,
                mean_margin,
                cos,
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
    out = []
    d = result.diagnostics
    for t in tables:
        lv = t.level
        sil = metrics.silhouette(X_reduced, result.labels[:, lv], silhouette_sample, seed)
        ari = None if result.stability_ari is None else result.stability_ari[lv]
        out.append(
            metrics.level_summary(
                t.size,
                t.cohesion,
                t.distinctiveness,
                sil,
                ari,
                *(() if d is None else (d.match[:, lv], d.margin[:, lv], d.created[:, lv])),
            )
        )
    return out


def cluster_frame(tables: list[LevelTable]) -> pd.DataFrame:
    """clusters.parquet without its token strings (added from the lens's vocabulary)."""
    cols: dict[str, list[Any]] = {c: [] for c in CLUSTER_COLUMNS if c != "tokens"}
    for t in tables:
        C = len(t.size)
        cols["cluster"] += range(C)
        cols["level"] += [t.level] * C
        cols["parent"] += t.parent.astype(int).tolist()
        cols["size"] += t.size.astype(int).tolist()
        cols["n_children"] += t.n_children.astype(int).tolist()
        cols["token_ids"] += t.token_ids.tolist()
        cols["token_scores"] += t.token_scores.astype(float).tolist()
        for name in ("cohesion", "distinctiveness", "global_overlap", "mean_match", "mean_margin"):
            cols[name] += getattr(t, name).astype(float).tolist()
    return pd.DataFrame(cols)
