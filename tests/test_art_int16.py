"""int16 pre-scoring: its rounding bound holds, and cosine ART's results do not depend on it."""

from __future__ import annotations

import numpy as np
import pytest

from generator.art import CosineART, Hierarchy, ParamError, int16
from generator.art import _kernels as K
from generator.errors import SaetaxError

needs_avx2 = pytest.mark.skipif(not int16.available(), reason="this CPU has no AVX2")


def unit_rows(n, d, seed=0, dtype=np.float32):
    X = np.random.default_rng(seed).standard_normal((n, d))
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(dtype)


def quantized(X):
    rows = int16._Rows(len(X), X.shape[1])
    rows.fill(X, np.arange(len(X)))
    return rows


def awkward_rows(d):
    """Rows at the edges of the rounding rule: flat (the norm cap binds), one-hot (the
    int16 range binds), and one of each sign pattern."""
    flat = np.full(d, 1 / np.sqrt(d))
    one_hot = np.eye(1, d, 3)[0]
    spike = np.r_[0.8, np.full(d - 1, np.sqrt(0.36 / (d - 1)))]
    return np.stack([flat, -flat, one_hot, spike, -spike]).astype(np.float32)


def test_rounding_stays_in_range_and_its_error_is_bounded():
    X = np.concatenate([unit_rows(200, 300, 1), awkward_rows(300), 3 * unit_rows(5, 300, 2)])
    r = quantized(X)
    q = r.Q.astype(np.int64)
    assert r.Q.shape[1] == 304 and not q[:, 300:].any()  # padded to 16 lanes with zeros
    assert np.abs(q).max() <= 32767
    # every partial sum of q_x·q_w stays inside int32 (Cauchy-Schwarz)
    assert (np.linalg.norm(q, axis=1) ** 2).max() < 2**31
    err = np.linalg.norm(X.astype(np.float64) - r.scale[:, None] * q[:, :300], axis=1)
    assert np.all(err <= r.err) and np.all(r.err <= err * 1.001 + 1e-9)
    np.testing.assert_allclose(r.norm, np.linalg.norm(X.astype(np.float64), axis=1), rtol=1e-9)


@needs_avx2
@pytest.mark.parametrize("exact", [False, True])
def test_block_scores_are_within_the_claimed_bound_of_the_kernel(exact):
    dt = np.float64 if exact else np.float32
    X = np.concatenate([unit_rows(40, 200, 3, dt), awkward_rows(200).astype(dt)])
    W = np.concatenate([unit_rows(301, 200, 4, dt), awkward_rows(200).astype(dt), X[:7]])
    kernel = np.zeros((len(X), len(W)), dt)
    K.score_block(X, W, len(X), len(W), kernel, K.DOT, exact)

    class St:  # the two fields of engine.State the scorer reads
        n_cat = len(W)

    St.W = W
    sc = int16.Int16Scorer(200, exact)
    approx = np.zeros_like(kernel)
    eps = sc.scores(X, St, approx)
    gap = np.abs(approx - kernel).max()
    assert 0 < gap <= eps < 2e-3
    # the flat row with itself is the largest possible integer dot product: still exact
    assert abs(approx[40, len(W) - 12] - 1.0) <= eps
    M, width, eps_m = sc.strip_maxima(X, St)
    assert width == int16.TILE_C and eps_m == eps
    pad = -len(W) % width
    strips = np.pad(approx, ((0, 0), (0, pad)), constant_values=-np.inf)
    np.testing.assert_allclose(M, strips.reshape(len(X), -1, width).max(axis=2), atol=1e-6)


def fit_both(X, **kw):
    plain = CosineART(prescore="none", **kw).fit(X)
    pre = CosineART(prescore="int16", **kw).fit(X)
    return plain, pre


def assert_same(a, b):
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.weights_, b.weights_)
    np.testing.assert_array_equal(a.match_, b.match_)
    np.testing.assert_array_equal(a.margin_, b.margin_)


@pytest.fixture
def strip_calls(monkeypatch):
    calls = []
    real = int16.strip_max

    def counted(*args):
        calls.append(args[5])  # number of categories scored
        return real(*args)

    monkeypatch.setattr(int16, "strip_max", counted)
    return calls


@needs_avx2
@pytest.mark.parametrize("rho", [0.35, 0.45, 0.6])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_prescored_fit_equals_the_kernel_fit(strip_calls, rho, dtype):
    X = unit_rows(2500, 48, 5)
    plain, pre = fit_both(X, rho=rho, dtype=dtype)
    assert strip_calls and max(strip_calls) > 300  # the int16 path really ran
    assert_same(plain, pre)


@needs_avx2
def test_prescored_fit_equals_the_kernel_fit_on_ties_and_structure(strip_calls):
    from generator.synthetic import make_planted_hierarchy

    dups = np.repeat(unit_rows(400, 32, 6), 5, axis=0)  # exact ties between categories
    planted = make_planted_hierarchy(
        (24, 4, 4), d=64, per_leaf=6, level_cos=(0.5, 0.6), sample_cos=0.5, seed=7
    ).X.astype(np.float32)
    for X, rho in [(dups, 0.2), (dups, 0.999), (planted, 0.3), (planted, 0.6)]:
        for block in (1, 64, 200):
            plain, pre = fit_both(X, rho=rho, block_size=block)
            assert_same(plain, pre)
    assert strip_calls


@needs_avx2
def test_prescored_nested_hierarchy_equals_the_kernel_one():
    X = unit_rows(3000, 40, 8)
    a = Hierarchy("cosine", [0.1, 0.25, 0.4], mode="nested", params={"prescore": "none"}).fit(X)
    b = Hierarchy("cosine", [0.1, 0.25, 0.4], mode="nested", params={"prescore": "int16"}).fit(X)
    np.testing.assert_array_equal(a.labels_deep_, b.labels_deep_)


def test_prescore_is_validated_and_int16_without_avx2_is_a_clear_error(monkeypatch):
    X = unit_rows(300, 32, 9)
    with pytest.raises(ParamError, match="'prescore' parameter of CosineART must be one of"):
        CosineART(0.2, prescore="int8").fit(X)
    monkeypatch.setattr(int16, "available", lambda: False)
    with pytest.raises(
        SaetaxError, match="prescore='int16' was asked for but this CPU has no AVX2"
    ):
        CosineART(0.2, prescore="int16").fit(X)
    # auto falls back to the kernel and gives the same result
    assert_same(CosineART(0.2).fit(X), CosineART(0.2, prescore="none").fit(X))
