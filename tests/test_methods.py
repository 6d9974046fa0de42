"""The method registry: a new method plugs in through `METHODS` alone, and `fit_run`
holds every method to the same contract."""

from __future__ import annotations

import numpy as np
import pytest

from generator import artifacts, methods, pipeline
from generator.errors import ConfigError
from generator.methods import Description, Fit, fit_run
from generator.methods.base import check_fit
from generator.sweep import RunSpec, grid
from tests.conftest import fixture_config


class EachItsOwn:
    """A toy method: level 0 puts every feature in its own cluster, level 1 copies it."""

    name = "singletons"
    summary = "every feature its own cluster (a test method)"

    def check_params(self, params):
        if set(params) - {"levels"}:
            raise ValueError(f"method 'singletons' accepts only 'levels'; got {sorted(params)}")

    def expand(self, sweep, params):
        return [{"levels": params.get("levels", 2)}]

    def run_name(self, params):
        return "singletons", f"L{params['levels']}"

    def describe(self, params):
        return Description("each feature alone", None, [])

    def fit(self, X, params, seed):
        n = len(X)
        labels = np.repeat(np.arange(n)[:, None], params["levels"], axis=1)
        parents = [np.full(n, -1)] + [np.arange(n)] * (params["levels"] - 1)
        return Fit(labels, parents)


@pytest.fixture
def with_toy_method(monkeypatch):
    monkeypatch.setitem(methods.METHODS, "singletons", EachItsOwn())


def test_a_method_added_to_the_registry_reaches_the_artifacts_and_the_site(
    with_toy_method, tmp_path, sae_root, tiny_lm
):
    from generator.site import render_site

    cfg = fixture_config(
        sae_root,
        tiny_lm,
        pca={"dims": [None]},
        sweep={
            "methods": ["art", {"name": "singletons", "params": {"levels": 2}}],
            "rho_sets": [[0.3, 0.6]],
            "hierarchy": ["nested"],
        },
    )
    a = artifacts.load(pipeline.analyze(cfg, tmp_path))
    assert a.run_ids == ["cosine-nested-raw-rho0.3-0.6-s0", "singletons-raw-L2-s0"]
    toy = a.run("singletons-raw-L2-s0")
    n = a.manifest.selection.n_selected
    assert toy.meta.method == "singletons" and toy.meta.label == "each feature alone"
    assert toy.meta.clusters_per_level == [n, n] and toy.meta.level_param is None
    for lv in toy.meta.metrics:  # a deterministic method agrees with itself
        assert lv.order_ari == lv.seed_ari == lv.subsample_ari == 1.0
    assert toy.meta.metrics[0].singletons == n and toy.meta.metrics[0].mean_match is None
    assert artifacts.Col.match(0) not in toy.assignments  # no ART diagnostics to report
    assert (toy.labels()[:, 0] == toy.labels()[:, 1]).all()
    site = render_site(tmp_path, strict=True)
    page = (site / "runs" / "singletons-raw-L2-s0" / "index.html").read_text()
    assert "each feature alone" in page and "vigilance" not in page
    assert "singletons-raw-L2-s0" in (site / "sweep.html").read_text()
    art_page = (site / "runs" / "cosine-nested-raw-rho0.3-0.6-s0" / "index.html").read_text()
    assert "vigilance" in art_page


def test_an_unknown_method_or_parameter_is_one_clear_config_error(
    with_toy_method, sae_root, tiny_lm
):
    with pytest.raises(
        ConfigError, match=r"unknown method 'singleton'\. Did you mean 'singletons'\?"
    ):
        fixture_config(sae_root, tiny_lm, sweep={"methods": ["singleton"]})
    with pytest.raises(ConfigError, match=r"accepts only 'levels'; got \['depth'\]"):
        fixture_config(
            sae_root, tiny_lm, sweep={"methods": [{"name": "singletons", "params": {"depth": 1}}]}
        )
    with pytest.raises(
        ConfigError,
        match=r"Invalid parameter\(s\) \['rho'\] for method 'art'\. Valid parameters are: "
        r"\['auto_levels', 'fraction', 'members', 'order'\]",
    ):
        fixture_config(
            sae_root, tiny_lm, sweep={"methods": [{"name": "art", "params": {"rho": 1}}]}
        )


def test_the_art_grid_and_run_ids_follow_the_config_order(sae_root, tiny_lm):
    cfg = fixture_config(
        sae_root,
        tiny_lm,
        pca={"dims": [None, 8]},
        sweep={"rho_sets": [[0.2, 0.5], [0.3]], "hierarchy": ["nested", "smart"], "seeds": [0, 1]},
    )
    ids = [s.run_id for s in grid(cfg)]
    assert ids[:4] == [
        "cosine-nested-raw-rho0.2-0.5-s0",
        "cosine-nested-raw-rho0.2-0.5-s1",
        "cosine-smart-raw-rho0.2-0.5-s0",
        "cosine-smart-raw-rho0.2-0.5-s1",
    ]
    assert len(ids) == 2 * 2 * 2 * 2 and ids[-1] == "cosine-smart-pca8-rho0.3-s1"


def _broken(labels, parents):
    class Broken(EachItsOwn):
        def fit(self, X, params, seed):
            return Fit(np.asarray(labels), [np.asarray(p) for p in parents])

    return Broken()


@pytest.mark.parametrize(
    ("labels", "parents", "message"),
    [
        ([[0], [2], [2]], [[-1, -1, -1]], r"level 0 labels are not 0 … C−1 with none empty"),
        ([[0], [1], [1]], [[-1]], r"level 0 has 2 clusters but 1 parents"),
        ([[0, 0], [0, 1], [1, 1]], [[-1, -1], [0, 0]], r"a level-1 cluster spans several parents"),
        ([[0], [1], [1]], [[-1, 0]], r"level-0 clusters must have parent -1"),
        ([0, 1, 1], [[-1, -1]], r"returned labels of shape \(3,\); expected \(3, levels\)"),
    ],
)
def test_a_method_that_breaks_the_contract_is_named(monkeypatch, labels, parents, message):
    monkeypatch.setitem(methods.METHODS, "broken", _broken(labels, parents))
    spec = RunSpec("broken", {"levels": 1}, None, 0, False)
    with pytest.raises(ValueError, match=rf"method 'broken'.*{message}"):
        fit_run(spec, np.zeros((3, 2)))


def test_check_fit_counts_clusters_per_level():
    fit = Fit(np.array([[0, 0], [0, 1], [1, 2]]), [np.array([-1, -1]), np.array([0, 0, 1])])
    assert check_fit(fit, 3, "x") == [2, 3]


# ---------------------------------------------------------------------------------------
# ART that does not depend on order, and the baselines


def _planted(per_leaf=12, seed=3):
    from generator.synthetic import make_planted_hierarchy

    return make_planted_hierarchy((5, 3, 3), d=48, per_leaf=per_leaf, seed=seed)


CONSENSUS = {
    "module": "mean",
    "module_params": {"max_iter": 4},
    "rho_values": [0.3, 0.6, 0.8],
    "hierarchy": "nested",
    "order": "density",
    "members": 6,
    "fraction": 0.9,
}


def test_consensus_art_gives_the_same_families_whatever_the_input_order():
    from generator.methods.art import ArtMethod

    p = _planted()
    art = ArtMethod()
    fit = art.fit(p.X, CONSENSUS, seed=0)
    perm = np.random.default_rng(1).permutation(len(p.X))
    again = art.fit(p.X[perm], CONSENSUS, seed=0)
    np.testing.assert_array_equal(again.labels, fit.labels[perm])  # ids too, not just partitions
    single = {**CONSENSUS, "members": 1}  # one densest-first fit: also order-free
    np.testing.assert_array_equal(
        art.fit(p.X[perm], single, 0).labels, art.fit(p.X, single, 0).labels[perm]
    )


def test_consensus_art_recovers_a_planted_tree_and_records_its_vigilance():
    from sklearn.metrics import adjusted_rand_score

    from generator.methods.art import ArtMethod

    p = _planted()
    fit = ArtMethod().fit(p.X, CONSENSUS, seed=0)
    aris = [adjusted_rand_score(p.labels[:, k], fit.labels[:, k]) for k in range(3)]
    assert min(aris) >= 0.9, aris
    assert fit.level_values == [0.3, 0.6, 0.8]


def test_auto_vigilance_sits_at_fractions_of_the_median_nearest_neighbour_cosine():
    from generator.methods.art import ArtMethod
    from generator.metrics import nearest_neighbour_cosines

    p = _planted()
    params = {**CONSENSUS, "rho_values": "auto", "auto_levels": [0.25, 0.5, 0.75]}
    fit = ArtMethod().fit(p.X, params, seed=0)
    med = float(np.median(nearest_neighbour_cosines(p.X, len(p.X), 0)))
    assert fit.level_values == [round(f * med, 3) for f in (0.25, 0.5, 0.75)]


def test_a_fitted_taxonomy_becomes_an_art_model_that_new_features_join_or_extend():
    from generator.methods.art import ArtMethod

    p = _planted(per_leaf=12)
    art = ArtMethod()
    fit = art.fit(p.X, CONSENSUS, seed=0)
    model = art.model(p.X, fit, CONSENSUS)
    assert model.n_clusters_ == [int(c.max()) + 1 for c in fit.labels.T]
    rng = np.random.default_rng(5)
    near = p.X[:10] + 0.05 * rng.standard_normal((10, p.X.shape[1]))  # old families' kin
    far = rng.standard_normal((3, p.X.shape[1]))  # nothing like them
    before = list(model.n_clusters_)
    model.partial_fit(model.prepare_data(np.vstack([near, far])))
    new = model.labels_deep_[-13:]
    np.testing.assert_array_equal(new[:10, 0], fit.labels[:10, 0])  # they join their families
    assert model.n_clusters_[0] == before[0] + 3  # the strangers found their own


def test_agglomerative_cuts_one_tree_at_each_k_and_kmeans_nests_k_means():
    from generator.methods.baselines import Agglomerative, NestedKMeans

    p = _planted()
    for method in (Agglomerative(), NestedKMeans()):
        fit = method.fit(p.X, {"k": [5, 15, 45]}, seed=0)
        assert check_fit(fit, len(p.X), method.name) == [5, 15, 45]
    from sklearn.metrics import adjusted_rand_score

    agg = Agglomerative().fit(p.X, {"k": [5, 15, 45]}, 0)
    assert min(adjusted_rand_score(p.labels[:, k], agg.labels[:, k]) for k in range(3)) > 0.99


def test_baselines_at_matched_k_follow_every_art_run(tmp_path, sae_root, tiny_lm):
    cfg = fixture_config(
        sae_root,
        tiny_lm,
        pca={"dims": [None, 8]},
        sweep={
            "methods": ["art", {"name": "agglomerative", "params": {"k": "matched"}}],
            "rho_sets": [[0.3, 0.6]],
            "hierarchy": ["nested"],
            "stability": {"orders": 1, "seeds": 0, "subsamples": 2},
        },
    )
    a = artifacts.load(pipeline.analyze(cfg, tmp_path))
    arts = [a.run(r) for r in a.run_ids if a.run(r).meta.method == "art"]
    aggs = [a.run(r) for r in a.run_ids if a.run(r).meta.method == "agglomerative"]
    assert len(arts) == len(aggs) == 2
    for art_run in arts:
        match = next(g for g in aggs if g.meta.matched_to == art_run.run_id)
        assert match.meta.clusters_per_level == art_run.meta.clusters_per_level
        assert match.meta.pca_dims == art_run.meta.pca_dims
        assert match.meta.level_param == "K"
    from generator.site import render_site

    site = render_site(tmp_path, strict=True)
    home = (site / "index.html").read_text()
    best = a.manifest.recommended.best_art
    assert "ART against plain baselines at the same number of families" in home
    assert best in home and "agglomerative, cosine, average linkage" in home
    baseline_won = a.manifest.recommended.method != "art"
    assert ("A baseline is recommended" in home) == baseline_won
    family = next((site / "runs" / best / "L0").glob("c*.html")).read_text()
    assert "Token coherence" in family and "best-match Jaccard" in family
