"""Hierarchies: smart equals artlib.SMART, nested has one parent per child, batches equal one fit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.art import SMART, CosineART, FuzzyART, Hierarchy, ParamError

artlib = pytest.importorskip("artlib")


def unit_rows(n, d, seed=0):
    X = np.random.default_rng(seed).standard_normal((n, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def increasing_rhos(k):
    return (
        st.lists(st.floats(0.05, 0.95), min_size=k, max_size=k, unique=True)
        .map(sorted)
        .filter(lambda r: all(b - a > 1e-6 for a, b in zip(r, r[1:])))
    )


def assert_one_parent(labels_deep, model):
    for k in range(1, labels_deep.shape[1]):
        pairs = set(zip(labels_deep[:, k].tolist(), labels_deep[:, k - 1].tolist()))
        assert len(pairs) == len(np.unique(labels_deep[:, k])), (
            f"level {k} has a child with two parents"
        )
        np.testing.assert_array_equal(model.parents_(k)[labels_deep[:, k]], labels_deep[:, k - 1])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(5, 80),
    d=st.integers(1, 5),
    rhos=st.integers(2, 3).flatmap(increasing_rhos),
)
def test_smart_float64_equals_artlib_smart(seed, n, d, rhos):
    X = np.random.default_rng(seed).uniform(-1, 1, (n, d))
    ref = artlib.SMART(artlib.FuzzyART, rhos, {"alpha": 0.01, "beta": 1.0})
    Xp = ref.prepare_data(X)
    ref.fit(Xp)
    ours = SMART(FuzzyART, rhos, {"alpha": 0.01, "beta": 1.0, "dtype": "float64", "block_size": 4})
    np.testing.assert_array_equal(ours.prepare_data(X), Xp)
    ours.fit(Xp)
    np.testing.assert_array_equal(ours.labels_deep_, ref.labels_deep_)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    deep = ours.labels_deep_
    for k, layer in enumerate(ours.layers):  # every child category maps to one parent
        assert layer.map == ref.layers[k].map
        np.testing.assert_array_equal([layer.map[c] for c in deep[:, k + 1]], deep[:, k])


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), rhos=st.integers(2, 3).flatmap(increasing_rhos))
def test_nested_float64_equals_artlib_modules_run_per_parent(seed, rhos):
    Xp = FuzzyART().prepare_data(unit_rows(60, 4, seed))
    ours = Hierarchy("fuzzy", rhos, mode="nested", params={"alpha": 0.01, "dtype": "float64"}).fit(
        Xp
    )
    ref = Hierarchy("artlib.FuzzyART", rhos, mode="nested", params={"alpha": 0.01}).fit(Xp)
    np.testing.assert_array_equal(ours.labels_deep_, ref.labels_deep_)
    assert_one_parent(ours.labels_deep_, ours)


@pytest.mark.parametrize("mode", ["nested", "smart"])
@pytest.mark.parametrize("module", ["fuzzy", "cosine"])
def test_partial_fit_in_batches_equals_one_fit_and_children_have_one_parent(mode, module):
    X = unit_rows(900, 16, 5)
    rhos = [0.3, 0.6, 0.85] if module == "fuzzy" else [0.1, 0.3, 0.5]
    prep = FuzzyART() if module == "fuzzy" else CosineART()
    Xp = prep.prepare_data(X)
    one = Hierarchy(module, rhos, mode=mode).fit(Xp)
    parts = Hierarchy(module, rhos, mode=mode)
    for chunk in np.array_split(Xp, 4):
        parts.partial_fit(chunk)
    np.testing.assert_array_equal(parts.labels_deep_, one.labels_deep_)
    assert one.n_clusters_[0] < one.n_clusters_[1] < one.n_clusters_[2]
    assert_one_parent(one.labels_deep_, one)
    assert one.match_deep_.shape == (900, 3)


def test_nested_fragments_less_than_smart():
    """The notebook's observation: MT+ SMART fragments deep levels far more."""
    Xp = FuzzyART().prepare_data(unit_rows(1500, 32, 7))
    s = Hierarchy("fuzzy", [0.2, 0.5, 0.8], mode="smart").fit(Xp)
    n = Hierarchy("fuzzy", [0.2, 0.5, 0.8], mode="nested").fit(Xp)
    assert s.n_clusters_[0] == n.n_clusters_[0]
    assert n.n_clusters_[2] < s.n_clusters_[2]


def test_hierarchy_over_an_artlib_module_through_the_adapter():
    Xp = FuzzyART().prepare_data(unit_rows(80, 3, 2))
    h = Hierarchy("artlib.HypersphereART", [0.2, 0.5], mode="smart", params={"r_hat": 0.8}).fit(Xp)
    assert h.labels_deep_.shape == (80, 2)
    assert_one_parent(h.labels_deep_, h)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"rho_values": [0.5, 0.2]},
            r"'rho_values' parameter of Hierarchy must be strictly increasing",
        ),
        ({"rho_values": [0.5, 0.5]}, r"strictly increasing"),
        ({"rho_values": []}, r"needs at least one level"),
        ({"mode": "deep"}, r"'mode' parameter of Hierarchy must be one of \('smart', 'nested'\)"),
        ({"module": "kmeans"}, r"Unknown ART module 'kmeans'; available: cosine, mean, fuzzy"),
        ({"params": {"gamma": 1.0}}, r"Invalid parameter\(s\) \['gamma'\] for module 'cosine'"),
        ({"epsilon": -0.1}, r"'epsilon' parameter of Hierarchy must be a float in \[0, 1\)"),
    ],
)
def test_bad_hierarchy_parameters(kwargs, message):
    Xp = CosineART().prepare_data(unit_rows(10, 3))
    with pytest.raises(ParamError, match=message):
        Hierarchy(**{"module": "cosine", "rho_values": [0.2, 0.5], **kwargs}).fit(Xp)


def test_smart_keeps_artlib_signature():
    with pytest.raises(ParamError, match="strictly increasing"):
        SMART(FuzzyART, [0.8, 0.5], {"alpha": 0.01, "beta": 1.0})
    with pytest.raises(AssertionError, match="strictly increasing"):  # what artlib raises
        SMART(FuzzyART, [0.8, 0.5], {"alpha": 0.01, "beta": 1.0})


@pytest.mark.parametrize(
    ("module", "mode", "rhos", "params"),
    [
        ("cosine", "nested", [0.3, 0.6, 0.85], {"beta": 0.5}),
        ("cosine", "smart", [0.3, 0.6, 0.85], {"prescore": "none"}),
        ("fuzzy", "nested", [0.2, 0.5, 0.8], {"dtype": "float64"}),
        ("fuzzy", "smart", [0.2, 0.5, 0.8], {}),
    ],
)
def test_a_saved_hierarchy_continues_exactly_like_an_uninterrupted_one(
    tmp_path, module, mode, rhos, params
):
    from generator.methods.art import load_state, save_state
    from generator.synthetic import make_planted_hierarchy

    p = make_planted_hierarchy((5, 3, 3), d=32, per_leaf=12, seed=3)
    X = p.X[np.random.default_rng(0).permutation(len(p.X))]
    ref = Hierarchy(module, rhos, mode=mode, params=params)
    batches = np.array_split(ref.prepare_data(X), 3)
    for b in batches:
        ref.partial_fit(b)

    first = Hierarchy(module, rhos, mode=mode, params=params)
    first.partial_fit(np.array_split(first.prepare_data(X), 3)[0])  # bounds from all of X
    save_state(first, tmp_path)
    del first
    resumed = load_state(tmp_path)
    for b in np.array_split(resumed.prepare_data(X), 3)[1:]:  # FuzzyART: restored bounds
        resumed.partial_fit(b)

    assert resumed.n_clusters_ == ref.n_clusters_ and min(ref.n_clusters_) > 1
    np.testing.assert_array_equal(resumed.labels_deep_, ref.labels_deep_)
    for a, b in zip(resumed.levels_, ref.levels_):
        np.testing.assert_array_equal(a.weights_, b.weights_)
        assert a.weight_sample_counter_ == b.weight_sample_counter_
        np.testing.assert_array_equal(a.category_parent_, b.category_parent_)
        np.testing.assert_array_equal(a.match_, b.match_)


def test_restoring_state_with_another_dtype_is_refused(tmp_path):
    h = Hierarchy("cosine", [0.3, 0.6]).fit(unit_rows(40, 8))
    state = h.get_state()
    state["config"] = np.array(
        state["config"][()].replace('"params": {}', '"params": {"dtype": "float64"}')
    )
    with pytest.raises(
        ParamError, match=r"holds float32 weights but this module has dtype='float64'"
    ):
        Hierarchy.from_state(state)


def test_a_hierarchy_of_a_module_instance_cannot_be_saved():
    h = Hierarchy(CosineART(), [0.3, 0.6]).fit(unit_rows(20, 8))
    with pytest.raises(ParamError, match=r"Only a hierarchy of a registry module"):
        h.get_state()


@pytest.mark.parametrize("module", ["cosine", "fuzzy", "mean"])
def test_prepare_rows_is_prepare_then_validate_and_fits_alike(module):
    """`prepare_rows` (one pass, X[rows]) gives the array preparing and validating gives,
    and a fit on it gives the labels a fit on the prepared rows in that order gives."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((300, 6)) + 3
    order = rng.permutation(300)
    h = Hierarchy(module, [0.3, 0.7], mode="nested")
    Xw = h.prepare_rows(X, order)
    ref = Hierarchy(module, [0.3, 0.7], mode="nested")
    Xp = ref.prepare_data(X)
    assert np.array_equal(Xw, ref._make_levels()[0].validate_data(Xp[order]))
    assert np.array_equal(h.fit(Xw).labels_deep_, ref.fit(Xp[order]).labels_deep_)
