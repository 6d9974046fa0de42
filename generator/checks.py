"""Problems the metrics can flag, by name: what `saetax build --fail-on NAME` fails on,
what build.json and the CI summary report, and (for `random-structure`) what the site's
home page says.

Every check is computed from the artifacts alone, on every build; `--fail-on` only
decides which of them end the build with exit code 4.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from generator.recommend import MAX_SINGLETONS
from generator.records import DecoderStructure, LevelMetrics

if TYPE_CHECKING:
    from generator.artifacts import Artifacts, ModelArtifacts

RANDOM_MARGIN = 0.05  # decoder NN cosine within this of random directions: no structure
MIN_STABILITY = 0.5  # the weakest ARI of the recommended run's level 0


@dataclass(frozen=True)
class CheckResult:
    name: str
    failed: bool
    detail: str  # the numbers behind the verdict, in words

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "failed": self.failed, "detail": self.detail}


@dataclass(frozen=True)
class Check:
    name: str
    summary: str  # what failing means, for --help and docs/publishing.md
    run: Callable[[Artifacts], CheckResult]


def on_random_baseline(ds: DecoderStructure) -> bool:
    """The decoder's median nearest-neighbour cosine is within RANDOM_MARGIN of what random
    unit vectors of its shape give: its directions look like noise."""
    return ds.decoder.median <= ds.random.median + RANDOM_MARGIN


def _random_structure(arts: Artifacts) -> CheckResult:
    ds = arts.manifest.decoder_structure
    return CheckResult(
        "random-structure",
        on_random_baseline(ds),
        f"median nearest-neighbour cosine {ds.decoder.median:.3f} against "
        f"{ds.random.median:.3f} for random directions (fails within {RANDOM_MARGIN})",
    )


def _level0(arts: Artifacts) -> tuple[str, LevelMetrics] | None:
    rec = arts.manifest.recommended
    return None if rec is None else (rec.run, arts.run(rec.run).meta.metrics[0])


def _baseline_recommended(arts: Artifacts) -> CheckResult:
    rec = arts.manifest.recommended
    if rec is None:
        return CheckResult("baseline-recommended", False, "no runs")
    return CheckResult(
        "baseline-recommended",
        rec.method != "art",
        f"recommended run {rec.run} ({rec.method}); best ART run {rec.best_art}",
    )


def _unstable(arts: Artifacts) -> CheckResult:
    found = _level0(arts)
    if found is None:
        return CheckResult("unstable", False, "no runs")
    run, lv = found
    if lv.weakest is None:
        return CheckResult("unstable", False, f"{run}: stability not measured")
    kind, ari = lv.weakest
    return CheckResult(
        "unstable",
        ari < MIN_STABILITY,
        f"{run} level 0: weakest ARI {ari:.2f} ({kind}; fails below {MIN_STABILITY})",
    )


def _no_families(arts: Artifacts) -> CheckResult:
    found = _level0(arts)
    if found is None:
        return CheckResult("no-families", False, "no runs")
    run, lv = found
    return CheckResult(
        "no-families",
        lv.singleton_share > MAX_SINGLETONS,
        f"{run} level 0: {lv.singleton_share:.0%} of features alone (fails above "
        f"{MAX_SINGLETONS:.0%})",
    )


CHECKS: dict[str, Check] = {
    c.name: c
    for c in (
        Check(
            "random-structure",
            "the decoder's directions sit on the random baseline (nothing to cluster)",
            _random_structure,
        ),
        Check(
            "baseline-recommended",
            "a plain baseline (agglomerative, k-means) beats every ART run",
            _baseline_recommended,
        ),
        Check(
            "unstable",
            f"the recommended run's level 0 has an order, seed or subsample ARI below "
            f"{MIN_STABILITY}",
            _unstable,
        ),
        Check(
            "no-families",
            f"the recommended run leaves more than {MAX_SINGLETONS:.0%} of features alone at "
            "level 0",
            _no_families,
        ),
    )
}


def run_checks(arts: Artifacts) -> list[CheckResult]:
    """Every check, in CHECKS order."""
    return [c.run(arts) for c in CHECKS.values()]


def run_model_checks(model: ModelArtifacts) -> list[CheckResult]:
    """Every check over a model build: it fails when it fails on any hookpoint, and says
    on which (with each one's numbers)."""
    per = {h: run_checks(model.hookpoint(h)) for h in model.hookpoints}
    out = []
    for k, name in enumerate(CHECKS):
        failing = [(h, r[k]) for h, r in per.items() if r[k].failed]
        if failing:
            detail = "; ".join(f"{h}: {r.detail}" for h, r in failing)
            detail = f"{len(failing)} of {len(per)} hookpoints: {detail}"
        else:
            detail = f"passes on all {len(per)} hookpoints"
        out.append(CheckResult(name, bool(failing), detail))
    return out
