"""The artlib drop-ins: FuzzyART and SMART are artlib's classes with the block kernels
inside. Checked against artlib itself on the same data: labels, weights, counters and
every attribute artlib sets; the per-sample path when a hook asks for it; composition
with artlib's compound modules; artlib's errors, with messages."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_blobs

from generator.art import SMART, FuzzyART, Hierarchy, ParamError
from generator.errors import DataError
from tests.conftest import fresh_python

artlib = pytest.importorskip("artlib")
from artlib.common.BaseART import BaseART  # noqa: E402
from artlib.supervised.SimpleARTMAP import SimpleARTMAP  # noqa: E402


def blobs(n=600, d=16, seed=0):
    return make_blobs(n, d, centers=6, random_state=seed)[0]


def same_weights(a, b):
    assert len(a.W) == len(b.W)
    for wa, wb in zip(a.W, b.W):
        np.testing.assert_array_equal(wa, wb)


def same_module(ours, ref):
    """Every attribute artlib's module carries, equal (ours adds only the kernel choices)."""
    assert set(vars(ours)) - set(vars(ref)) == {"dtype", "device", "block_size"}
    assert set(vars(ref)) <= set(vars(ours))
    for key, value in vars(ref).items():
        if key == "W":
            same_weights(ours, ref)
        else:
            np.testing.assert_array_equal(np.asarray(vars(ours)[key]), np.asarray(value), key)


# ---------------------------------------------------------------------- FuzzyART


@pytest.mark.parametrize("rho", [0.3, 0.6, 0.85])
@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_fit_epochs_then_partial_fit_leave_artlibs_state(rho, beta):
    X = blobs()
    ref = artlib.FuzzyART(rho, 1e-3, beta)
    ours = FuzzyART(rho, 1e-3, beta)
    Xp = ref.prepare_data(X)
    np.testing.assert_array_equal(ours.prepare_data(X), Xp)
    with mock.patch.object(BaseART, "step_fit", side_effect=AssertionError("per sample")):
        ours.fit(Xp, max_iter=3)  # the kernels, not artlib's loop
        ours.partial_fit(Xp[:150])
    ref.fit(Xp, max_iter=3)
    ref.partial_fit(Xp[:150])
    same_module(ours, ref)
    assert ours.sample_counter_ == 3 * len(X) + 150
    np.testing.assert_array_equal(ours.predict(Xp), ref.predict(Xp))
    far = ours.prepare_data(X * 1.5)  # beyond the fitted bounds
    np.testing.assert_array_equal(ours.predict(far, clip=True), ref.predict(np.clip(far, 0, 1)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(2, 60),
    d=st.integers(1, 4),
    rho=st.floats(0.05, 0.95),
    mt=st.sampled_from(["MT+", "MT-", "MT0", "MT1", "MT~"]),
)
def test_any_data_and_match_tracking_give_artlibs_labels(seed, n, d, rho, mt):
    X = np.random.default_rng(seed).uniform(-1, 1, (n, d)).round(1)  # ties are common
    ref, ours = artlib.FuzzyART(rho, 0.01, 1.0), FuzzyART(rho, 0.01, 1.0, block_size=3)
    Xp = ref.prepare_data(X)
    np.testing.assert_array_equal(ours.prepare_data(X), Xp)
    ref.fit(Xp, match_tracking=mt, epsilon=0.01)
    ours.fit(Xp, match_tracking=mt, epsilon=0.01)
    same_module(ours, ref)


def test_a_match_reset_func_runs_artlibs_per_sample_loop():
    X = blobs(300, 8)

    def no_category_zero(x, w, c, params, cache):
        return c != 0

    ref, ours = artlib.FuzzyART(0.5, 1e-3, 1.0), FuzzyART(0.5, 1e-3, 1.0)
    Xp = ref.prepare_data(X)
    ours.prepare_data(X)
    ref.fit(Xp, match_reset_func=no_category_zero)
    ours.fit(Xp, match_reset_func=no_category_zero)
    same_module(ours, ref)
    assert (ours.labels_ == 0).sum() == 1  # only the founder joined category 0
    ref.partial_fit(Xp[:50], match_reset_func=no_category_zero, match_tracking="MT-")
    ours.partial_fit(Xp[:50], match_reset_func=no_category_zero, match_tracking="MT-")
    same_module(ours, ref)


def test_a_replaced_per_sample_method_is_honoured_on_the_instance_and_in_a_subclass():
    X = FuzzyART().prepare_data(blobs(200, 4))
    m = FuzzyART(0.7, 1e-3, 1.0)
    m.add_weight = mock.MagicMock(
        side_effect=lambda w: (m.W.append(w), m.weight_sample_counter_.append(1))
    )
    m.fit(X)
    assert m.add_weight.call_count == len(m.W) > 1  # artlib's loop called it per category

    class Halfway(FuzzyART):  # a different learning rule, per sample
        def update(self, i, w, params, cache=None):
            return (w + np.minimum(i, w)) / 2

    class RefHalfway(artlib.FuzzyART):
        def update(self, i, w, params, cache=None):
            return (w + np.minimum(i, w)) / 2

    ours, ref = Halfway(0.7, 1e-3, 1.0).fit(X), RefHalfway(0.7, 1e-3, 1.0).fit(X)
    same_module(ours, ref)
    plain = FuzzyART(0.7, 1e-3, 1.0).fit(X)
    assert any(not np.array_equal(a, b) for a, b in zip(ours.W, plain.W))


def test_the_per_sample_api_is_artlibs():
    X = FuzzyART().prepare_data(blobs(100, 3))
    ours, ref = FuzzyART(0.6, 0.01, 0.5).fit(X), artlib.FuzzyART(0.6, 0.01, 0.5).fit(X)
    x, w = X[7], ours.W[0]
    assert ours.category_choice(x, w, ours.params) == ref.category_choice(x, w, ref.params)
    assert ours.match_criterion(x, w, ours.params) == ref.match_criterion(x, w, ref.params)
    np.testing.assert_array_equal(ours.update(x, w, ours.params), ref.update(x, w, ref.params))
    np.testing.assert_array_equal(ours.new_weight(x, ours.params), ref.new_weight(x, ref.params))
    assert ours.step_fit(x) == ref.step_fit(x) and ours.step_pred(x) == ref.step_pred(x)
    same_weights(ours, ref)
    assert ours.get_bounding_boxes() == ref.get_bounding_boxes()


def test_weights_are_settable_and_later_calls_start_from_them():
    X = FuzzyART().prepare_data(blobs(400, 6))
    ours, ref = FuzzyART(0.6, 1e-3, 1.0).fit(X), artlib.FuzzyART(0.6, 1e-3, 1.0).fit(X)
    for m in (ours, ref):
        assert m.merge(0, 1) == 0  # artlib's merge edits W, counters and labels
        m.W[2] = np.minimum(m.W[2], m.W[3])  # a hand edit
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
    ours.partial_fit(X[:100])
    ref.partial_fit(X[:100])
    same_module(ours, ref)
    fresh = FuzzyART(0.6, 1e-3, 1.0)
    fresh.W = []
    with pytest.raises(Exception, match="not fitted"):
        fresh.predict(X)


def test_parameters_are_artlibs():
    m = FuzzyART(0.5, 0.0, 1.0)
    assert m.get_params() == m.params == {"rho": 0.5, "alpha": 0.0, "beta": 1.0}
    m.set_params(rho=0.7, beta=0.9)
    assert (m.rho, m.beta, m.get_params()["rho"]) == (0.7, 0.9, 0.7)
    from sklearn.base import clone

    assert clone(m).get_params() == m.get_params()
    assert isinstance(m, BaseART) and isinstance(m, artlib.FuzzyART)
    with pytest.raises(AttributeError):
        m.gamma  # noqa: B018
    assert FuzzyART().dtype == "float64"  # exact by default: that is what drop-in means


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"rho": 1.5}, r"The 'rho' parameter of FuzzyART must be a float in \[0, 1\]\. Got 1\.5"),
        ({"alpha": -1.0}, r"'alpha' parameter of FuzzyART must be a float in \[0, inf\]"),
        ({"beta": 0.0}, r"'beta' parameter of FuzzyART must be a float in \(0, 1\]"),
        ({"rho": "high"}, r"'rho' parameter of FuzzyART must be a float"),
    ],
)
def test_bad_parameters_raise_artlibs_assertion_with_a_message(params, message):
    for exc in (ParamError, AssertionError):
        with pytest.raises(exc, match=message):
            FuzzyART(**params)
    m = FuzzyART()
    with pytest.raises(AssertionError, match=message):
        m.set_params(**params)


def test_bad_data_raises_artlibs_assertion_with_a_message():
    m = FuzzyART(0.5)
    X = m.prepare_data(blobs(20, 3))
    for bad, message in [
        (X * 3 - 1, r"prepared values in \[0, 1\]; row \d+ has values in"),
        (X[:, :3], "complement-coded data .* width 3"),
        (np.hstack([X[:, :3], X[:, :3]]), r"row \d+ is not complement coded"),
    ]:
        for exc in (DataError, AssertionError):
            with pytest.raises(exc, match=message):
                FuzzyART(0.5).fit(bad)
    m.fit(X)
    with pytest.raises(AssertionError, match="data has 4 prepared features but the model has 6"):
        m.predict(FuzzyART().prepare_data(blobs(20, 2)))
    with pytest.raises(AssertionError, match="not the first batch"):
        m.partial_fit(X * 3 - 1)
    with pytest.raises(DataError, match=r"prepare_data: 1 row\(s\) contain NaN .* \(rows 2\)"):
        FuzzyART().prepare_data(np.array([[0.0], [1.0], [np.nan]]))


def test_fitting_keywords_are_checked_before_any_work():
    X = FuzzyART().prepare_data(blobs(20, 3))
    with pytest.raises(ValueError, match=r"max_iter must be an integer ≥ 1; got 0"):
        FuzzyART().fit(X, max_iter=0)
    with pytest.raises(ValueError, match=r"match_tracking must be one of MT\+, MT-, MT0, MT1, MT~"):
        FuzzyART().fit(X, match_tracking="MT2")
    with pytest.raises(ValueError, match="epsilon must be a finite number"):
        FuzzyART().partial_fit(X, epsilon=float("nan"))
    with pytest.raises(TypeError):
        FuzzyART().fit(X, n_epochs=3)


def test_float32_is_a_choice_and_close_to_artlib():
    X = blobs(600, 32, 1)
    ref = artlib.FuzzyART(0.8, 0.01, 1.0)
    Xp = ref.prepare_data(X)
    ref.fit(Xp)
    ours = FuzzyART(0.8, 0.01, 1.0, dtype=np.float32).fit(Xp)
    assert ours.n_clusters == ref.n_clusters
    assert (ours.labels_ == ref.labels_).mean() > 0.99
    assert all(w.dtype == np.float64 for w in ours.W)  # artlib's list of float64 rows


# ---------------------------------------------------------------------- composition


def test_artlibs_compound_modules_take_it_and_give_artlibs_labels():
    from artlib import DualVigilanceART, FuzzyARTMAP, SimpleARTMAP

    X, y = make_blobs(300, 4, centers=4, random_state=2)
    Xp = artlib.FuzzyART(0.5, 1e-3, 1.0).prepare_data(X)
    ours = DualVigilanceART(FuzzyART(0.8, 1e-3, 1.0), 0.5).fit(Xp)
    ref = DualVigilanceART(artlib.FuzzyART(0.8, 1e-3, 1.0), 0.5).fit(Xp)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    ours = SimpleARTMAP(FuzzyART(0.8, 1e-3, 1.0)).fit(Xp, y)
    ref = SimpleARTMAP(artlib.FuzzyART(0.8, 1e-3, 1.0)).fit(Xp, y)
    np.testing.assert_array_equal(ours.labels_a, ref.labels_a)
    np.testing.assert_array_equal(ours.predict(Xp), ref.predict(Xp))
    assert FuzzyARTMAP(0.8, 1e-3, 1.0).fit(Xp, y).labels_a.shape == (300,)
    smart_of_ours = artlib.SMART(FuzzyART, [0.3, 0.6, 0.85], {"alpha": 0.01, "beta": 1.0}).fit(Xp)
    smart_ref = artlib.SMART(artlib.FuzzyART, [0.3, 0.6, 0.85], {"alpha": 0.01, "beta": 1.0}).fit(
        Xp
    )
    np.testing.assert_array_equal(smart_of_ours.labels_deep_, smart_ref.labels_deep_)


def test_a_hierarchy_of_the_drop_in_runs_on_the_kernels():
    from generator.art import BlockFuzzyART

    X = FuzzyART().prepare_data(blobs(200, 4))
    h = Hierarchy(FuzzyART, [0.3, 0.6], mode="smart", params={"alpha": 0.01}).fit(X)
    assert all(type(level) is BlockFuzzyART for level in h.levels_)
    ref = artlib.SMART(artlib.FuzzyART, [0.3, 0.6], {"alpha": 0.01, "beta": 1.0}).fit(X)
    np.testing.assert_array_equal(h.labels_deep_, ref.labels_deep_)


# ---------------------------------------------------------------------- SMART


def same_smart(ours, ref):
    np.testing.assert_array_equal(ours.labels_deep_, ref.labels_deep_)
    for a, b in zip(ours.modules, ref.modules):
        same_module(a, b)
    assert [type(x) for x in ours.layers] == [type(x) for x in ref.layers]
    for a, b in zip(ours.layers, ref.layers):
        assert a.map == b.map
        np.testing.assert_array_equal(a.labels_, b.labels_)
        np.testing.assert_array_equal(a.classes_, b.classes_)
        assert set(vars(a)) == set(vars(b))


@pytest.mark.parametrize(
    ("rhos", "fit_kw"),
    [
        ([0.3, 0.6, 0.85], {}),
        ([0.2, 0.5, 0.7, 0.9], {"epsilon": 0.01}),
        ([0.3, 0.6, 0.85], {"max_iter": 3}),
    ],
)
def test_smart_on_the_kernels_leaves_artlibs_state(rhos, fit_kw):
    X = blobs(500, 8)
    ref = artlib.SMART(artlib.FuzzyART, rhos, {"alpha": 0.01, "beta": 0.8})
    ours = SMART(FuzzyART, rhos, {"alpha": 0.01, "beta": 0.8})
    Xp = ref.prepare_data(X)
    np.testing.assert_array_equal(ours.prepare_data(X), Xp)
    with mock.patch.object(SimpleARTMAP, "step_fit", side_effect=AssertionError("per sample")):
        ours.fit(Xp, **fit_kw)
        ours.partial_fit(Xp[:120], epsilon=fit_kw.get("epsilon", 0.0))
    ref.fit(Xp, **fit_kw)
    ref.partial_fit(Xp[:120], epsilon=fit_kw.get("epsilon", 0.0))
    same_smart(ours, ref)
    for a, b in zip(ours.predict(Xp), ref.predict(Xp)):
        np.testing.assert_array_equal(a, b)


def test_smart_partial_fit_from_nothing_and_other_match_tracking_equal_artlib():
    X = blobs(300, 6, 3)
    rhos, params = [0.3, 0.6, 0.85], {"alpha": 0.01, "beta": 1.0}
    ref, ours = artlib.SMART(artlib.FuzzyART, rhos, params), SMART(FuzzyART, rhos, params)
    Xp = ref.prepare_data(X)
    np.testing.assert_array_equal(ours.prepare_data(X), Xp)
    for batch in np.array_split(Xp, 3):
        ref.partial_fit(batch)
        ours.partial_fit(batch)
    same_smart(ours, ref)
    ref, ours = artlib.SMART(artlib.FuzzyART, rhos, params), SMART(FuzzyART, rhos, params)
    ref.prepare_data(X), ours.prepare_data(X)
    ref.fit(Xp, match_tracking="MT-", epsilon=0.01)  # artlib's chain runs this one
    ours.fit(Xp, match_tracking="MT-", epsilon=0.01)
    same_smart(ours, ref)
    ref, ours = artlib.SMART(artlib.FuzzyART, rhos, params), SMART(FuzzyART, rhos, params)
    for m in (ref, ours):  # a level fitted on its own first: artlib's partial_fit continues it
        m.prepare_data(X)
        m.modules[0].fit(Xp[:100])
        m.partial_fit(Xp[100:])
    same_smart(ours, ref)


def test_smart_keeps_artlibs_editing_and_signature():
    raw = np.array([[0.0], [0.2], [0.8], [1.0]])
    ours = SMART(FuzzyART, [0.2, 0.6, 1.0], {"alpha": 0.01, "beta": 1.0})
    ref = artlib.SMART(artlib.FuzzyART, [0.2, 0.6, 1.0], {"alpha": 0.01, "beta": 1.0})
    X = ours.prepare_data(raw)
    np.testing.assert_array_equal(ref.prepare_data(raw), X)
    for m in (ours, ref):
        m.fit(X)
        assert m.move_prototype(2, 0, 1, 1) == 1
        assert m.merge(0, 0, 1) == 0
        m.partial_fit(X[:1])
    same_smart(ours, ref)
    assert ours.n_modules == 3 and ours.n_layers == 2
    np.testing.assert_allclose(ours.restore_data(X), raw)
    for bad in ([0.8, 0.5], ["a", "b"]):
        with pytest.raises(AssertionError, match="rho_values"):
            SMART(FuzzyART, bad, {"alpha": 0.01, "beta": 1.0})


def test_the_pipeline_and_the_kernels_do_not_import_artlib():
    code = (
        "import sys, generator.art, generator.pipeline, generator.cli\n"
        "print('artlib' in sys.modules)\n"
        "from generator.art import FuzzyART\n"
        "print('artlib' in sys.modules, FuzzyART.__mro__[1].__module__)"
    )
    stdout = fresh_python(code)
    assert stdout.split("\n")[:2] == ["False", "True artlib.elementary.FuzzyART"]
