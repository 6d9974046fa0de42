"""The recommender: level-wise quality, level 0 first, no credit for singletons, and no
dependence on how many tokens the pages show."""

from __future__ import annotations

from generator import artifacts, pipeline
from generator.artifacts import LevelMetrics
from generator.recommend import level_quality, run_score
from tests.conftest import fixture_config


def level(**kw) -> LevelMetrics:
    base = dict(
        clusters=100, singletons=10, singleton_share=0.05, largest_share=0.02, gini=0.3,
        cohesion=0.7, cohesion_chance=0.4, distinctiveness=0.9, token_coherence=0.2,
        token_coherence_chance=0.01, catch_all=0, catch_all_share=0.0, silhouette=0.05,
        mean_match=None, mean_margin=None, order_ari=0.9, seed_ari=0.8, subsample_ari=0.6,
    )  # fmt: skip
    return LevelMetrics(**{**base, **kw})


def test_a_level_is_as_trustworthy_as_its_weakest_stability():
    q, f = level_quality(level())
    assert f["stability"] == 0.6 and abs(f["excess"] - 0.5) < 1e-12
    assert abs(q - 0.6 * 0.5 * 0.95 * 1.0) < 1e-12


def test_a_level_of_singletons_forms_no_taxonomy_however_stable():
    assert level_quality(level(singleton_share=0.61, order_ari=1.0, subsample_ari=1.0))[0] == 0.0


def test_catch_alls_and_cohesion_at_chance_cost_quality():
    assert level_quality(level(catch_all_share=0.5))[0] < level_quality(level())[0]
    assert level_quality(level(cohesion=0.4))[0] == 0.0


def test_level_zero_counts_most():
    good, bad = level(), level(subsample_ari=0.1)
    assert run_score([good, bad]) > run_score([bad, good])


def test_how_many_tokens_are_shown_does_not_change_the_recommendation(tmp_path, sae_root, tiny_lm):
    picks = []
    for k in (3, 10):
        cfg = fixture_config(
            sae_root,
            tiny_lm,
            interpret={"top_k": k},
            sweep={"stability": {"orders": 1, "seeds": 1, "subsamples": 2}},
        )
        a = artifacts.load(pipeline.analyze(cfg, tmp_path / f"k{k}"))
        picks.append(
            (a.manifest.recommended, {r: run_score(a.run(r).meta.metrics) for r in a.run_ids})
        )
    (rec3, scores3), (rec10, scores10) = picks
    assert rec3.run == rec10.run and scores3 == scores10


def test_a_recommendation_names_the_best_art_run_even_when_a_baseline_wins():
    from generator.recommend import recommend

    def run(run_id, method, lv):
        meta = artifacts.RunMeta(
            run_id=run_id,
            method=method,
            params={},
            label=run_id,
            level_param=None,
            level_values=[],
            pca_dims=None,
            explained_variance=1.0,
            seed=0,
            stability={},
            n_levels=1,
            clusters_per_level=[lv.clusters],
            metrics=[lv],
        )
        return artifacts.RunArtifacts(meta, None, None)

    runs = [
        run("art-a", "art", level(subsample_ari=0.3)),
        run("art-b", "art", level(subsample_ari=0.4)),
        run("agg", "agglomerative", level(subsample_ari=0.5)),
    ]
    rec = recommend(runs)
    assert (rec.run, rec.method, rec.best_art) == ("agg", "agglomerative", "art-b")
    assert rec.why.startswith("highest level-weighted quality")
