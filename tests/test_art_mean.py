"""Mean ART: the sequential definition, epochs that end with every sample in its best
resonating category, block-size invariance, hierarchies and saved state."""

from __future__ import annotations

import numpy as np
import pytest

from generator.art import Hierarchy, MeanART, ParamError
from generator.synthetic import make_planted_hierarchy


def unit_rows(n, d, seed=0):
    X = np.random.default_rng(seed).standard_normal((n, d))
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)


def reference(X, rho, epochs, parents=None):
    """Mean ART one sample at a time, in float64: the definition the kernels must keep."""
    X = np.asarray(X, np.float64)
    n = len(X)
    pp = np.full(n, -1) if parents is None else parents
    sums, counts, cat_parent, lab = [], [], [], np.full(n, -1)

    def present(i):
        best, best_m = -1, -np.inf
        for c in range(len(sums)):
            if counts[c] > 0 and cat_parent[c] == pp[i]:
                m = X[i] @ sums[c] / counts[c]
                if m > best_m:
                    best, best_m = c, m
        if best >= 0 and best_m >= rho:
            sums[best] += X[i]
            counts[best] += 1
            return best
        old = lab[i]
        if old >= 0 and counts[old] == 0:  # re-found in the slot it left empty
            sums[old], counts[old], cat_parent[old] = X[i].copy(), 1, pp[i]
            return old
        sums.append(X[i].copy())
        counts.append(1)
        cat_parent.append(pp[i])
        return len(sums) - 1

    for i in range(n):
        lab[i] = present(i)
    for _ in range(epochs - 1):
        moved = 0
        for i in range(n):
            old = lab[i]
            sums[old] -= X[i]
            counts[old] -= 1
            lab[i] = present(i)
            moved += lab[i] != old
        if not moved:
            break
    return np.unique(lab, return_inverse=True)[1]


@pytest.mark.parametrize("epochs", [1, 2, 8])
def test_mean_art_is_its_sequential_definition(epochs):
    X = unit_rows(400, 12, seed=epochs)
    m = MeanART(rho=0.25, max_iter=epochs, dtype="float64").fit(X)
    ref = reference(X, 0.25, epochs)
    # the same partition (ids are compacted in creation order by both)
    assert len(np.unique(m.labels_)) == len(np.unique(ref))
    pairs = set(zip(m.labels_.tolist(), ref.tolist()))
    assert len(pairs) == len(np.unique(ref))


def test_after_the_epochs_every_sample_sits_in_its_best_resonating_category():
    X = unit_rows(500, 10, seed=3).astype(np.float64)
    m = MeanART(rho=0.3, max_iter=50, dtype="float64").fit(X)
    W = m.weights_
    sizes = np.bincount(m.labels_)
    sums = W * sizes[:, None]
    for i in range(len(X)):
        own = m.labels_[i]
        # what the sample would see if presented again: its own category without it
        scores = sums @ X[i] / np.maximum(sizes, 1)
        if sizes[own] > 1:
            scores[own] = (sums[own] - X[i]) @ X[i] / (sizes[own] - 1)
        else:
            scores[own] = -np.inf
        best = int(np.argmax(scores))
        if scores[best] >= 0.3:
            assert best == own or np.isclose(scores[best], scores[own]), i
        else:
            assert sizes[own] == 1, i  # nothing resonates: it stands alone


def test_labels_and_weights_do_not_depend_on_the_block_size():
    X = unit_rows(700, 16, seed=1)
    a = MeanART(rho=0.2, max_iter=6, block_size=7).fit(X)
    b = MeanART(rho=0.2, max_iter=6, block_size=256).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.weights_, b.weights_)
    assert a.weight_sample_counter_ == b.weight_sample_counter_


def test_nested_epochs_keep_every_child_under_one_parent_and_recover_a_planted_tree():
    from sklearn.metrics import adjusted_rand_score

    p = make_planted_hierarchy((5, 3, 3), d=64, per_leaf=20, seed=3)
    h = Hierarchy("mean", [0.3, 0.6, 0.75], params={"max_iter": 5}).fit(p.X)
    L = h.labels_deep_
    for k in range(1, 3):
        np.testing.assert_array_equal(h.parents_(k)[L[:, k]], L[:, k - 1])
    aris = [adjusted_rand_score(p.labels[:, k], L[:, k]) for k in range(3)]
    assert min(aris) >= 0.9, aris


def test_a_saved_mean_hierarchy_continues_like_an_uninterrupted_one(tmp_path):
    from generator.methods.art import load_state, save_state

    X = unit_rows(600, 12, seed=5)
    ref = Hierarchy("mean", [0.15, 0.3], params={"max_iter": 4})
    for part in np.array_split(X, 3):
        ref.partial_fit(part)
    h = Hierarchy("mean", [0.15, 0.3], params={"max_iter": 4})
    h.partial_fit(np.array_split(X, 3)[0])
    save_state(h, tmp_path)
    resumed = load_state(tmp_path)
    for part in np.array_split(X, 3)[1:]:
        resumed.partial_fit(part)
    np.testing.assert_array_equal(resumed.labels_deep_, ref.labels_deep_)
    for a, b in zip(resumed.levels_, ref.levels_):
        np.testing.assert_array_equal(a.weights_, b.weights_)


def test_epochs_are_refused_under_smart_match_tracking():
    with pytest.raises(ParamError, match=r"defined for nested hierarchies, not SMART"):
        Hierarchy("mean", [0.2, 0.4], mode="smart", params={"max_iter": 3}).fit(unit_rows(50, 6))
