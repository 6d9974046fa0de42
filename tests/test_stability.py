"""Stability: refits compared by ARI per level, families by best-match Jaccard."""

from __future__ import annotations

import numpy as np

from generator.stability import Settings, best_match_jaccard, measure


def test_a_method_that_ignores_order_seed_and_missing_rows_scores_one():
    truth = np.repeat(np.arange(20), 10)  # 20 families of 10

    def fit(rows, seed):  # finds the true families whatever it is shown
        return np.stack([truth[rows] // 4, truth[rows]], axis=1)

    labels = fit(np.arange(200), 0)
    s = measure(fit, 200, labels, 0, Settings(orders=2, seeds=2, subsamples=3))
    assert s.order_ari == [1.0, 1.0] and s.seed_ari == [1.0, 1.0]
    assert s.subsample_ari == [1.0, 1.0]
    assert np.allclose(s.family_jaccard[1], 1.0) and len(s.family_jaccard[0]) == 5


def test_a_method_that_follows_the_seed_is_caught_by_the_seed_refits_only():
    truth = np.repeat(np.arange(20), 10)

    def fit(rows, seed):
        rng = np.random.default_rng(seed)
        return (
            rng.permutation(20)[truth[rows]][:, None]
            if seed == 0
            else rng.integers(0, 20, (len(rows), 1))
        )

    labels = fit(np.arange(200), 0)
    s = measure(fit, 200, labels, 0, Settings(orders=2, seeds=2, subsamples=3))
    assert s.order_ari == [1.0] and s.subsample_ari == [1.0]
    assert s.seed_ari[0] < 0.2


def test_no_refits_measure_nothing():
    s = measure(
        lambda r, s: np.zeros((len(r), 1), int), 10, np.zeros((10, 1), int), 0, Settings(0, 0, 0)
    )
    assert (s.order_ari, s.seed_ari, s.subsample_ari) == ([None], [None], [None])
    assert np.isnan(s.family_jaccard[0]).all()


def test_best_match_jaccard_counts_only_the_rows_a_refit_saw():
    labels = np.array([0, 0, 0, 1, 1, 2])
    rows = np.array([0, 1, 3, 4, 5])  # row 2 (of family 0) is missing from the refit
    refit = np.array([0, 0, 1, 2, 2])  # family 0 whole; 1 split off one of its rows
    j = best_match_jaccard(labels, [rows], [refit])
    # family 0 on the rows seen, {0,1}, is refit cluster {0,1}: 1. Family 1, {3,4}: against
    # {3} 1/2, against {4,5} 1/3, best 1/2. Family 2, {5}: against {4,5} 1/2.
    np.testing.assert_allclose(j, [1.0, 1 / 2, 1 / 2])
    assert np.isnan(best_match_jaccard(labels, [np.array([0, 1])], [np.array([0, 0])])[1])
