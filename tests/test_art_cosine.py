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
    for r in runs[1:]:
        np.testing.assert_array_equal(r.labels_, runs[0].labels_)
    f64 = CosineART(0.25, dtype="float64").fit(X)
    assert (f64.labels_ == runs[0].labels_).mean() > 0.99


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
