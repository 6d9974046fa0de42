"""Which run to read first: a ranking of the sweep's runs from their level metrics."""

from __future__ import annotations

import numpy as np

from generator.artifacts import Recommendation, RunArtifacts


def recommend(runs: list[RunArtifacts]) -> Recommendation | None:
    """The run with the best balance of stability, distinct tokens and no catch-all cluster."""
    best, best_score = None, -np.inf
    for r in runs:
        levels = r.meta.metrics
        ari = np.mean([lv.stability_ari for lv in levels if lv.stability_ari is not None] or [0.0])
        distinct = np.mean(
            [lv.distinctiveness for lv in levels if lv.distinctiveness is not None] or [0.0]
        )
        share = levels[0].largest_share
        score = float(ari * distinct * (1.0 - share))
        if score > best_score:
            best, best_score = (r, ari, distinct, share), score
    if best is None:
        return None
    r, ari, distinct, share = best
    return Recommendation(
        r.run_id,
        round(best_score, 4),
        f"highest stability x distinctiveness x (1 - largest level-0 share): mean stability ARI "
        f"{ari:.2f}, mean token distinctiveness {distinct:.2f}, largest level-0 cluster {share:.0%} "
        "of features",
    )
