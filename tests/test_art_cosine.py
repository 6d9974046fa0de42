"""CosineART: its definition, block invariance, and errors."""

from __future__ import annotations

import numpy as np
import pytest

from generator.art import CosineART
from generator.errors import DataError


def unit_rows(n, d, seed=0):
    X = np.random.default_rng(seed).standard_normal((n, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def reference_cosine_art(X, rho, beta):
    """The sequential definition, written plainly in float64."""
    W, labels = [], []
    for x in X:
        sims = [float(x @ w) for w in W]
        best = int(np.argmax(sims)) if sims else -1
        if best >= 0 and sims[best] >= rho:
            v = beta * x + (1 - beta) * W[best]
            W[best] = v / np.linalg.norm(v)
            labels.append(best)
        else:
            W.append(x.copy())
            labels.append(len(W) - 1)
    return np.array(labels), np.array(W)


@pytest.mark.parametrize("rho", [0.1, 0.3, 0.5])
def test_float64_follows_the_definition(rho):
    X = unit_rows(400, 12, 1)
    labels, W = reference_cosine_art(X, rho, 0.5)
    m = CosineART(rho, 0.5, dtype="float64").fit(X)
    np.testing.assert_array_equal(m.labels_, labels)
    np.testing.assert_allclose(m.weights_, W, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(m.weights_, axis=1), 1.0, atol=1e-12)


def test_float32_is_block_size_invariant_and_close_to_float64():
    X = unit_rows(1500, 64, 2).astype(np.float32)
    runs = [CosineART(0.25, block_size=b).fit(X) for b in (1, 8, 64, 200)]
    for r in runs[1:]:  # to the last bit: a pair's score is the same whichever path made it
        np.testing.assert_array_equal(r.labels_, runs[0].labels_)
        np.testing.assert_array_equal(r.weights_, runs[0].weights_)
        np.testing.assert_array_equal(r.match_, runs[0].match_)
        np.testing.assert_array_equal(r.margin_, runs[0].margin_)
    f64 = CosineART(0.25, dtype="float64").fit(X)
    assert (f64.labels_ == runs[0].labels_).mean() > 0.99


def test_a_row_whose_top_categories_moved_away_in_its_block_still_finds_the_rest():
    """Rows 0-3 of a block each take over one of row 4's four best categories (β = 1) and
    turn it away from row 4, whose top two are then E and F: further down its block-start
    ranking than the commit looks ahead, so it must rank that row again, deeper."""
    e = np.eye(64)
    top4 = [0.6 * e[0] + 0.8 * e[i] for i in (1, 2, 3, 4)]  # A-D: 0.6 to e0, 0.36 apart
    cats = []
    for j, c in enumerate(top4):  # orthogonal fillers put A-D in separate groups of 8
        cats += [c] + [e[10 + 7 * j + i] for i in range(7)]
    cats += [0.5 * e[0] + np.sqrt(0.75) * e[5], 0.45 * e[0] + np.sqrt(1 - 0.45**2) * e[6]]
    block = [e[1], e[2], e[3], e[4], e[0]]  # row 4 is e0
    X = np.array(cats + block)
    labels, _ = reference_cosine_art(X, 0.4, 1.0)
    assert list(labels[34:]) == [0, 8, 16, 24, 32]  # row 4 joins E at 0.5
    for dtype in ("float32", "float64"):
        m = CosineART(0.4, 1.0, dtype=dtype, prescore="none")
        m.partial_fit(X[:34]).partial_fit(X[34:])
        np.testing.assert_array_equal(m.labels_, labels)
        assert m.match_[-1] == pytest.approx(0.5) and m.margin_[-1] == pytest.approx(0.05)


def test_match_is_cosine_to_the_joined_prototype_and_margin_is_positive():
    X = unit_rows(500, 8, 3)
    m = CosineART(0.4).fit(X)
    joined = ~m.diagnostics_.created
    assert np.all(m.match_[joined] >= 0.4)
    # a cosine winner has the highest choice, so its margin to the runner-up is >= 0
    assert np.all(m.margin_[joined][~np.isnan(m.margin_[joined])] >= 0)
    assert np.array_equal(m.predict(X[:50]), np.argmax(X[:50] @ m.weights_.T, axis=1))


def test_prepare_data_normalises_and_rejects_zero_rows():
    m = CosineART()
    np.testing.assert_allclose(np.linalg.norm(m.prepare_data([[3.0, 4.0]]), axis=1), 1)
    with pytest.raises(DataError, match="rows 1 are all zeros"):
        m.prepare_data([[1.0, 0.0], [0.0, 0.0]])
    with pytest.raises(DataError, match="unit-norm rows; row 0 has norm 5"):
        CosineART().fit(np.array([[3.0, 4.0], [1.0, 0.0]]))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [1, 7, 3000])  # 3000 rows of 400: more than one chunk
def test_prepare_rows_equals_prepare_then_validate_bit_for_bit(monkeypatch, dtype, n):
    """The chunked path that gives a fit its working copy without a float64 copy of X
    holds the values preparing X whole and casting it would (labels depend on them)."""
    import generator.art.base as base

    monkeypatch.setattr(base, "CHUNK_BYTES", 2**16)  # many chunks even at this size
    rng = np.random.default_rng(5)
    X = (rng.standard_normal((n, 400)) * rng.uniform(0.1, 30, (n, 1))).astype(np.float32)
    order = rng.permutation(n)
    m = CosineART(dtype=dtype)
    whole = np.linalg.norm(X.astype(np.float64), axis=1)
    expected = (X.astype(np.float64) / whole[:, None])[order].astype(dtype)
    got = m.prepare_rows(X, order)
    assert got.dtype == np.dtype(dtype) and got.flags.c_contiguous
    assert np.array_equal(got, expected)
    assert np.array_equal(m.prepare_rows(X), expected[np.argsort(order)])
    assert np.array_equal(m.prepare_data(X), X.astype(np.float64) / whole[:, None])


def test_prepare_rows_names_bad_rows_by_their_number_in_x():
    X = np.ones((6, 3))
    X[4] = np.nan
    order = np.array([5, 4, 3, 2, 1, 0])
    with pytest.raises(DataError, match=r"1 row\(s\) contain NaN .* \(rows 4\)"):
        CosineART().prepare_rows(X, order)
    X[4] = 1.0
    X[1] = 0.0
    with pytest.raises(DataError, match="rows 1 are all zeros"):
        CosineART().prepare_rows(X, order)
    with pytest.raises(DataError, match="expects a 2-D array; got shape"):
        CosineART().prepare_rows(np.ones(3))
