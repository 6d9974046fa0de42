"""Per-family evidence: chance levels, token coherence, catch-alls, distinctiveness."""

from __future__ import annotations

import numpy as np

from generator import metrics


def test_a_real_family_beats_its_chance_cohesion_and_a_random_one_does_not():
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((10, 32))
    X = np.repeat(centres, 20, axis=0) + 0.3 * rng.standard_normal((200, 32))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    real = np.repeat(np.arange(10), 20)
    cos = metrics.member_cosines(X, real, metrics.cluster_means(X, real, 10))
    cohesion = np.bincount(real, weights=cos) / 20
    chance = metrics.chance_cohesion(X, real, 10)
    assert (cohesion > chance + 0.3).all()
    shuffled = rng.permutation(real)
    cos = metrics.member_cosines(X, shuffled, metrics.cluster_means(X, shuffled, 10))
    assert abs(np.mean(np.bincount(shuffled, weights=cos) / 20) - chance.mean()) < 0.05
    assert metrics.catch_all(np.full(10, 20), np.bincount(shuffled, weights=cos) / 20, chance).all()
    assert not metrics.catch_all(np.full(10, 20), cohesion, chance).any()


def test_token_coherence_and_its_chance_level():
    own = np.array([[1, 2, 3], [1, 2, 4], [5, 6, 7], [5, 8, 9]])
    labels = np.array([0, 0, 1, 1])
    fam = np.array([[1, 2], [5, 6]])
    coherence, chance = metrics.token_coherence(own, labels, fam)
    np.testing.assert_allclose(coherence, [1.0, 0.75])  # (2/2 + 2/2)/2, (2/2 + 1/2)/2
    # token 1 and 2 are each held by 2 of 4 features: (0.5 + 0.5)/2; 5: 2/4, 6: 1/4
    np.testing.assert_allclose(chance, [0.5, 0.375])


def test_a_cluster_without_siblings_gets_no_distinctiveness():
    sets = [{1, 2}, {3, 4}, {1, 5}]
    parents = np.array([0, 1, 1])  # cluster 0 is an only child
    distinct, _ = metrics.distinctiveness(sets, parents, set())
    assert np.isnan(distinct[0]) and distinct[1] == 1.0 and distinct[2] == 1.0


def test_the_silhouette_of_all_rows_equals_scikit_learns():
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(2)
    X = rng.standard_normal((300, 8))
    labels = rng.integers(0, 12, 300)
    labels[0] = 12  # one cluster of a single row
    ours = metrics.silhouette(X, labels, sample=300, seed=0)
    assert abs(ours - silhouette_score(X, labels, metric="cosine")) < 1e-9
    sampled = metrics.silhouette(X, labels, sample=100, seed=0)
    assert abs(sampled - ours) < 0.05  # a sample scored against every row
