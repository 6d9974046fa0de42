"""Which run to read first: a ranking of the sweep's runs, level by level.

A level's quality is the product of four numbers in [0, 1]:

- **stability**: the weakest of its order, seed and subsample ARIs (an accident of one of
  them is enough to distrust a family);
- **cohesion above chance**: (cohesion − chance) / (1 − chance), over families of 2+;
- **families formed**: 1 − the share of features left alone; a level with more than
  MAX_SINGLETONS of its features alone forms no taxonomy and scores 0;
- **no catch-all**: 1 − the share of features in catch-all families.

A run's score weighs its levels by 1, 1/2, 1/4, … (level 0, the one a reader meets first,
counts most), normalised. Nothing here depends on how many tokens the pages show. Any
method can win, a baseline included; `best_art` names the best ART run either way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from generator.records import LevelMetrics, Recommendation

if TYPE_CHECKING:
    from generator.artifacts import RunArtifacts

MAX_SINGLETONS = 0.6


def cohesion_excess(lv: LevelMetrics) -> float | None:
    """Cohesion above chance as a share of what was left above chance (1: perfect
    families); None when undefined (no families, or chance already 1: every direction
    the same)."""
    if lv.cohesion is None or lv.cohesion_chance is None or lv.cohesion_chance >= 1.0:
        return None
    return (lv.cohesion - lv.cohesion_chance) / (1.0 - lv.cohesion_chance)


def level_quality(lv: LevelMetrics) -> tuple[float, dict[str, float]]:
    """(quality, its factors) of one level."""
    weakest = lv.weakest_ari
    stability = 1.0 if weakest is None else max(0.0, weakest)
    excess = max(0.0, cohesion_excess(lv) or 0.0)
    formed = 0.0 if lv.singleton_share > MAX_SINGLETONS else 1.0 - lv.singleton_share
    clean = 1.0 - lv.catch_all_share
    factors = {"stability": stability, "excess": excess, "formed": formed, "clean": clean}
    return stability * excess * formed * clean, factors


def run_score(levels: list[LevelMetrics]) -> float:
    weights = [0.5**k for k in range(len(levels))]
    total = sum(w * level_quality(lv)[0] for w, lv in zip(weights, levels))
    return total / sum(weights)


def recommend(runs: list[RunArtifacts]) -> Recommendation | None:
    """The run with the best level-weighted quality (ties: the earlier run)."""
    if not runs:
        return None
    scored = [(run_score(r.meta.metrics), i, r) for i, r in enumerate(runs)]
    best_score, _, best = max(scored, key=lambda t: (t[0], -t[1]))
    arts = [t for t in scored if t[2].meta.method == "art"]
    best_art = max(arts, key=lambda t: (t[0], -t[1]))[2].run_id if arts else None
    _, f = level_quality(best.meta.metrics[0])
    measured = any(
        a is not None for a in (best.meta.metrics[0].order_ari, best.meta.metrics[0].subsample_ari)
    )
    why = (
        "highest level-weighted quality (stability × cohesion above chance × families formed "
        f"× no catch-all; level 0 counts most). Level 0: stability {f['stability']:.2f}"
        f"{'' if measured else ' (not measured)'}, cohesion above chance {f['excess']:.2f}, "
        f"{1 - best.meta.metrics[0].singleton_share:.0%} of features in families"
    )
    return Recommendation(best.run_id, round(best_score, 4), why, best_art, best.meta.method)
