"""BlockFuzzyART, the kernels behind FuzzyART: artlib parity (float64, bit for bit),
block-size invariance, diagnostics, parameters and errors (messages name FuzzyART).
The drop-in itself: test_art_dropin.py."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from generator.art import BlockFuzzyART, ParamError
from generator.errors import DataError

artlib = pytest.importorskip("artlib")


def unit_rows(n, d, seed=0):
    X = np.random.default_rng(seed).standard_normal((n, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


data = st.integers(2, 40).flatmap(
    lambda n: st.integers(1, 6).flatmap(
        lambda d: arrays(np.float64, (n, d), elements=st.floats(-1, 1, allow_nan=False, width=32))
    )
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    X=data,
    rho=st.floats(0.05, 0.95),
    alpha=st.sampled_from([0.0, 1e-3, 0.5]),
    beta=st.sampled_from([1.0, 0.5]),
)
def test_float64_labels_and_weights_equal_artlib(X, rho, alpha, beta):
    ref = artlib.FuzzyART(rho=rho, alpha=alpha, beta=beta)
    Xp = ref.prepare_data(X)
    ref.fit(Xp)
    ours = BlockFuzzyART(rho, alpha, beta, dtype="float64", block_size=5)
    np.testing.assert_array_equal(ours.prepare_data(X), Xp)
    ours.fit(Xp)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    assert ours.n_clusters == ref.n_clusters
    for w_ours, w_ref in zip(ours.W, ref.W):
        np.testing.assert_array_equal(w_ours, w_ref)
    assert ours.weight_sample_counter_ == ref.weight_sample_counter_
    np.testing.assert_array_equal(ours.predict(Xp), ref.predict(Xp))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), rho=st.floats(0.3, 0.95), k=st.integers(2, 5))
def test_partial_fit_in_k_batches_equals_one_fit(seed, rho, k):
    X = BlockFuzzyART().prepare_data(unit_rows(120, 8, seed))
    one = BlockFuzzyART(rho, 0.01, 1.0).fit(X)
    parts = BlockFuzzyART(rho, 0.01, 1.0)
    for chunk in np.array_split(X, k):
        parts.partial_fit(chunk)
    np.testing.assert_array_equal(parts.labels_, one.labels_)
    np.testing.assert_array_equal(parts.weights_, one.weights_)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("rho", [0.5, 0.75, 0.85])
def test_labels_do_not_depend_on_block_size(dtype, rho):
    X = BlockFuzzyART().prepare_data(unit_rows(700, 48, 3))
    runs = [
        BlockFuzzyART(rho, 0.01, 1.0, dtype=dtype, block_size=b).fit(X) for b in (1, 3, 17, 64, 300)
    ]
    assert runs[0].n_clusters > 10
    for r in runs[1:]:
        np.testing.assert_array_equal(r.labels_, runs[0].labels_)
        np.testing.assert_array_equal(r.weights_, runs[0].weights_)


def test_float32_agrees_with_artlib_on_a_realistic_problem():
    X = unit_rows(600, 32, 1)
    ref = artlib.FuzzyART(rho=0.8, alpha=0.01, beta=1.0)
    Xp = ref.prepare_data(X)
    ref.fit(Xp)
    ours = BlockFuzzyART(0.8, 0.01, 1.0).fit(Xp)
    assert ours.n_clusters == ref.n_clusters
    assert (ours.labels_ == ref.labels_).mean() > 0.99


def test_diagnostics_and_boxes():
    X = BlockFuzzyART().prepare_data(unit_rows(300, 6, 2))
    m = BlockFuzzyART(0.6, 0.01, 1.0).fit(X)
    created = m.diagnostics_.created
    assert created.sum() == m.n_clusters
    assert np.all(m.match_[created] == 1.0) and np.all(np.isnan(m.margin_[created]))
    joined = ~created
    assert np.all(m.match_[joined] >= 0.6) and np.all(m.match_[joined] <= 1.0)
    # every joining sample's match equals |x ∧ w|/d against the weights before its update: replay
    replay = BlockFuzzyART(0.6, 0.01, 1.0, dtype="float64").fit(X)
    np.testing.assert_allclose(replay.match_, m.match_, atol=1e-5)
    widths = m.box_widths_
    assert widths.shape == (m.n_clusters, 6) and widths.min() >= -1e-6 and widths.max() <= 1 + 1e-6
    single = np.bincount(m.labels_) == 1
    np.testing.assert_allclose(widths[single], 0, atol=1e-6)  # a one-sample box is a point


def test_accepts_ints_and_numpy_floats_for_parameters():
    X = BlockFuzzyART().prepare_data(unit_rows(50, 4))
    a = BlockFuzzyART(np.float32(0.5), 0, np.float64(1.0)).fit(X)
    b = BlockFuzzyART(0.5, 0.0, 1).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"rho": 1.5},
            r"The 'rho' parameter of FuzzyART must be a float in \[0, 1\]\. Got 1\.5 instead\.",
        ),
        ({"rho": "high"}, r"'rho' parameter of FuzzyART must be a float"),
        ({"alpha": -1}, r"'alpha' parameter of FuzzyART must be a float in \[0, inf\]"),
        ({"beta": 0.0}, r"'beta' parameter of FuzzyART must be a float in \(0, 1\]"),
        (
            {"dtype": "float16"},
            r"'dtype' parameter of FuzzyART must be one of 'float32', 'float64'",
        ),
        ({"block_size": 0}, r"'block_size' parameter of FuzzyART must be an int"),
    ],
)
def test_bad_parameters_are_named(kwargs, message):
    X = BlockFuzzyART().prepare_data(unit_rows(10, 3))
    with pytest.raises(ParamError, match=message):
        BlockFuzzyART(**kwargs).fit(X)


def test_bad_data_is_named():
    m = BlockFuzzyART(0.5)
    X = m.prepare_data(unit_rows(20, 3))
    bad = X.copy()
    bad[4, 1] = np.nan
    with pytest.raises(DataError, match=r"1 row\(s\) contain NaN .* \(rows 4\)"):
        BlockFuzzyART(0.5).fit(bad)
    with pytest.raises(DataError, match=r"prepared values in \[0, 1\]; row 0 has values"):
        BlockFuzzyART(0.5).fit(X * 3 - 1)
    with pytest.raises(DataError, match="complement-coded data .* width 3"):
        BlockFuzzyART(0.5).fit(X[:, :3])
    with pytest.raises(DataError, match=r"row \d+ is not complement coded"):
        BlockFuzzyART(0.5).fit(np.hstack([X[:, :3], X[:, :3]]))
    fitted = BlockFuzzyART(0.5).fit(X)
    with pytest.raises(DataError, match="fitted on 6 prepared features but got 4"):
        fitted.predict(X[:, :4])
    with pytest.raises(
        DataError, match=r"prepare_data: 1 row\(s\) contain NaN or infinite values \(rows 2\)"
    ):
        BlockFuzzyART().prepare_data(np.array([[0.0], [1.0], [np.inf]]))


def test_predict_before_fit_is_a_clear_error():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="not fitted yet"):
        BlockFuzzyART().predict(np.zeros((2, 4)))


def test_set_data_bounds_is_used_and_frozen_after_fit():
    m = BlockFuzzyART(0.5)
    m.set_data_bounds(np.array([-2.0, -2.0]), np.array([2.0, 2.0]))
    Xp = m.prepare_data(np.array([[0.0, 1.0], [-2.0, 2.0]]))
    np.testing.assert_allclose(Xp, [[0.5, 0.75, 0.5, 0.25], [0.0, 1.0, 1.0, 0.0]])
    m.fit(Xp)
    with pytest.raises(ValueError, match="after fit"):
        m.set_data_bounds(np.zeros(2), np.ones(2))


def _same_as_artlib(X, rho, beta, **fit_kwargs):
    ref = artlib.FuzzyART(rho=rho, alpha=1e-3, beta=beta)
    Xp = ref.prepare_data(X)
    ref.fit(Xp, **fit_kwargs)
    ours = BlockFuzzyART(rho, 1e-3, beta, dtype=np.float64, block_size=7)
    ours.fit(ours.prepare_data(X), **fit_kwargs)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    assert len(ours.W) == len(ref.W)
    for w_ours, w_ref in zip(ours.W, ref.W):
        np.testing.assert_array_equal(w_ours, w_ref)
    return ours


@pytest.mark.parametrize("rho", [0.3, 0.6, 0.85])
@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_max_iter_runs_artlibs_epochs_bit_for_bit(rho, beta):
    from sklearn.datasets import make_blobs

    X, _ = make_blobs(2000, 32, centers=8, random_state=0)
    three = _same_as_artlib(X, rho, beta, max_iter=3)
    one = BlockFuzzyART(rho, 1e-3, beta, dtype="float64")
    one.fit(one.prepare_data(X))
    if beta < 1.0:  # slow learning: more epochs move the weights (artlib's too)
        assert not np.array_equal(np.array(one.W), np.array(three.W))
    assert len(three.labels_) == len(X)  # the last epoch's labels, one per sample


@pytest.mark.parametrize("mt", ["MT+", "MT-", "MT1", "MT0", "MT~"])
def test_match_tracking_sets_the_vigilance_test_as_artlib_does(mt):
    # the second sample matches the first category at exactly rho = 0.5:
    # MT0 and MT~ test match > rho (a new category), the others match >= rho
    X = np.array([[0.0], [0.5], [1.0], [0.25]])
    ours = _same_as_artlib(X, 0.5, 1.0, match_tracking=mt, epsilon=0.01)
    assert ours.labels_[1] == (1 if mt in ("MT0", "MT~") else 0)


def test_artlib_keywords_that_cannot_be_honoured_are_refused_not_ignored():
    X = BlockFuzzyART().prepare_data(unit_rows(20, 3))
    with pytest.raises(NotImplementedError, match="match_reset_func .* generator.art.FuzzyART"):
        BlockFuzzyART().fit(X, match_reset_func=lambda *a, **k: True)
    with pytest.raises(
        TypeError, match=r"unexpected keyword argument\(s\) n_epochs; accepted: max_iter"
    ):
        BlockFuzzyART().fit(X, n_epochs=3)
    with pytest.raises(TypeError, match="max_iter"):  # artlib's partial_fit has no epochs
        BlockFuzzyART().partial_fit(X, max_iter=2)
    with pytest.raises(ValueError, match=r"max_iter must be an integer ≥ 1; got 0"):
        BlockFuzzyART().fit(X, max_iter=0)
    with pytest.raises(ValueError, match=r"match_tracking must be one of MT\+, MT-, MT0, MT1, MT~"):
        BlockFuzzyART().fit(X, match_tracking="MT2")
    BlockFuzzyART().fit(X, verbose=False, leave_progress_bar=True)  # display only: accepted


def test_exact_by_default_and_takes_numpy_dtypes():
    assert BlockFuzzyART().dtype == "float64"  # artlib's numbers unless asked otherwise
    for spelling in (np.float32, np.dtype("float32"), "float32"):
        m = BlockFuzzyART(dtype=spelling).fit(BlockFuzzyART().prepare_data(unit_rows(30, 3)))
        assert m.weights_.dtype == np.float32


def test_counters_weights_and_dimensions_read_as_artlibs_before_and_after_fitting():
    X = unit_rows(50, 3)
    ref, ours = artlib.FuzzyART(rho=0.6, alpha=1e-3, beta=1.0), BlockFuzzyART(0.6, 1e-3, 1.0)
    assert ours.sample_counter_ == ref.sample_counter_ == 0
    assert ours.weight_sample_counter_ == ref.weight_sample_counter_ == []
    assert ours.W == []  # artlib has no W before its first fit; ours reads as empty
    Xp = ref.prepare_data(X)
    for m in (ref, ours):
        m.fit(Xp, max_iter=2)
        m.partial_fit(Xp[:10])
    assert ours.sample_counter_ == ref.sample_counter_ == 110
    assert ours.weight_sample_counter_ == ref.weight_sample_counter_
    fresh = BlockFuzzyART()
    fresh.check_dimensions(Xp)
    assert fresh.dim_ == 6
    with pytest.raises(DataError, match="data has 4 prepared features but the model has 6"):
        fresh.check_dimensions(Xp[:, :4])
