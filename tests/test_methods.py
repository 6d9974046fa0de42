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
    assert toy.meta.stability_ari == [1.0, 1.0]  # a deterministic method agrees with itself
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
    with pytest.raises(ConfigError, match=r"method 'art' takes no params"):
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
