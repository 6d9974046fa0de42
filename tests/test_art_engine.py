"""The block engine: scores from another device are refined, so labels never depend on them."""

from __future__ import annotations

import numpy as np
import pytest

from generator.art import BlockFuzzyART, CosineART, Hierarchy, engine
from generator.art import _kernels as K


def unit_rows(n, d, seed=0):
    X = np.random.default_rng(seed).standard_normal((n, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


class NoisyScorer(engine.Scorer):
    """Block scores from torch on the CPU plus adversarial noise inside a claimed bound
    (a thousand times the rounding bound, loose enough for the noise to flip decisions)."""

    LOOSE = 1000.0

    def __init__(self, rule, dim, claim_exact=False, seed=0):
        super().__init__(rule, dim, "cpu")
        self.rng = np.random.default_rng(seed)
        self.claim_exact = claim_exact
        self.calls = 0

    def worth_it(self, n_rows, n_cats):
        return True

    def scores(self, Xb, state, S):
        eps = super().scores(Xb, state, S) * self.LOOSE
        k0 = state.n_cat
        S[:, :k0] += (self.rng.uniform(-0.9, 0.9, (len(Xb), k0)) * eps).astype(S.dtype)
        self.calls += 1
        return 0.0 if self.claim_exact else eps


@pytest.fixture
def noisy(monkeypatch):
    made = []

    def install(claim_exact=False):
        def factory(rule, dim):
            made.append(NoisyScorer(rule, dim, claim_exact))
            return made[-1]

        monkeypatch.setattr(engine, "device_scorer", factory)
        return made

    return install


@pytest.mark.parametrize(("cls", "rho"), [(BlockFuzzyART, 0.75), (CosineART, 0.2)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_device_scores_within_bound_give_the_kernel_labels(noisy, cls, rho, dtype):
    Xp = cls().prepare_data(unit_rows(1200, 24, 1))
    plain = cls(rho=rho, dtype=dtype, device="cpu").fit(Xp)
    made = noisy()
    refined = cls(rho=rho, dtype=dtype).fit(Xp)
    assert made and made[0].calls > 0
    np.testing.assert_array_equal(refined.labels_, plain.labels_)
    np.testing.assert_array_equal(refined.weights_, plain.weights_)


@pytest.mark.gpu
# vigilances that make thousands of categories, so blocks are large enough to send
@pytest.mark.parametrize(("cls", "rho"), [(BlockFuzzyART, 0.75), (CosineART, 0.4)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cuda_block_scores_give_the_cpu_labels(monkeypatch, cls, rho, dtype):
    """On a GPU, blocks are scored there (and refined by the kernels): the same labels and
    weights as the CPU's, bit for bit."""
    Xp = cls().prepare_data(unit_rows(6000, 64, 2))
    plain = cls(rho=rho, dtype=dtype, device="cpu").fit(Xp)
    where, scores = [], engine.Scorer.scores

    def counted(self, Xb, state, S):
        where.append(self.device.type)
        return scores(self, Xb, state, S)

    monkeypatch.setattr(engine.Scorer, "scores", counted)
    on_gpu = cls(rho=rho, dtype=dtype, device="cuda").fit(Xp)
    assert where and set(where) == {"cuda"}  # the GPU scored blocks, nothing else did
    np.testing.assert_array_equal(on_gpu.labels_, plain.labels_)
    np.testing.assert_array_equal(on_gpu.weights_, plain.weights_)


def test_the_refinement_is_what_keeps_labels_exact(noisy):
    Xp = BlockFuzzyART().prepare_data(unit_rows(1200, 24, 1))
    # float32: noise at 1000x float64's rounding bound would be too small to flip a label
    plain = BlockFuzzyART(0.75, dtype="float32", device="cpu").fit(Xp)
    noisy(claim_exact=True)  # same noise, but the engine is told to trust it
    trusted = BlockFuzzyART(0.75, dtype="float32").fit(Xp)
    assert not np.array_equal(trusted.labels_, plain.labels_)


def test_smart_with_device_scores_is_exact(noisy):
    Xp = BlockFuzzyART().prepare_data(unit_rows(600, 12, 4))
    f32 = {"dtype": "float32"}  # where the noise is large enough to flip decisions
    ref = Hierarchy("fuzzy", [0.3, 0.6, 0.8], mode="smart", params={**f32, "device": "cpu"})
    ref.fit(Xp)
    noisy()
    got = Hierarchy("fuzzy", [0.3, 0.6, 0.8], mode="smart", params=f32).fit(Xp)
    np.testing.assert_array_equal(got.labels_deep_, ref.labels_deep_)


def test_one_kernel_scores_a_pair_the_same_wherever_it_sits():
    rng = np.random.default_rng(0)
    X = rng.random((20, 37)).astype(np.float32)
    W = rng.random((23, 37)).astype(np.float32)
    for op in (K.MINSUM, K.DOT):
        full = np.zeros((20, 23), np.float32)
        K.score_block(X, W, 20, 23, full, op, False)
        for r0, r1, c0, c1 in [(0, 1, 5, 6), (3, 20, 7, 8), (11, 12, 0, 23), (2, 9, 4, 13)]:
            part = np.zeros((20, 23), np.float32)
            K.score_range(X, W, r0, r1, c0, c1, part, op, False)
            np.testing.assert_array_equal(part[r0:r1, c0:c1], full[r0:r1, c0:c1])


@pytest.mark.parametrize("exact", [False, True])
def test_small_blocks_on_one_thread_score_and_rank_as_on_all(monkeypatch, exact):
    """Blocks below PARALLEL_WORK skip starting numba's threads; the scores and the
    candidate lists are the same either way, so labels cannot depend on the split."""
    import numba as nb

    from generator.art import _cosine_kernels as CK

    rng = np.random.default_rng(4)
    X = rng.standard_normal((40, 64)).astype(np.float32)
    W = rng.standard_normal((301, 64)).astype(np.float32)
    outs = []
    for score, rank in [
        (K._score_block_parallel, CK._rank_parallel),
        (K._score_block_serial, CK._rank_serial),
    ]:
        S = np.zeros((40, 301), np.float32)
        score(X, W, 40, 301, S, K.DOT, exact)
        cand, n_cand = np.zeros((40, 1024), np.int64), np.zeros(40, np.int64)
        rank(S, 40, 301, 1e-3, cand, n_cand)
        outs.append((S, cand, n_cand))
    assert (outs[0][2] > 0).all()  # candidate lists were made
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)
    if nb.get_num_threads() > 1:  # the dispatch itself: which compiled kernel ran
        calls = []
        monkeypatch.setattr(K, "_score_block_serial", lambda *a: calls.append("serial"))
        monkeypatch.setattr(K, "_score_block_parallel", lambda *a: calls.append("parallel"))
        monkeypatch.setattr(K, "PARALLEL_WORK", 40 * 301 * 64)
        K.score_block(X, W, 40, 301, S, K.DOT, exact)
        K.score_block(X, W, 39, 301, S, K.DOT, exact)
        assert calls == ["parallel", "serial"]


def test_cuda_asked_for_without_a_gpu_is_a_clear_error():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    from generator.errors import SaetaxError

    X = unit_rows(300, 8)
    with pytest.raises(
        SaetaxError, match="device='cuda' was asked for but torch sees no CUDA device"
    ):
        CosineART(0.2, device="cuda").fit(X)


def test_a_nested_pass_keeps_only_what_its_groups_founded():
    """Each parent's group runs on its own small copy of categories (at least 16 rows of
    weights); keeping those copies until the end held 16 rows per group: for one-feature
    groups 16 times the level's weights (4 GB at 65,536 × 1,024). Only the founded
    categories are kept now; the whole fit's peak stays a few copies of X."""
    import tracemalloc

    X = unit_rows(2000, 256, 0).astype(np.float32)
    # The same fit once untraced first: a cold numba cache compiles kernels on first use,
    # and the compiler's own allocations would count against the traced fit's peak.
    Hierarchy("cosine", [0.2, 0.5], mode="nested").fit(X)
    tracemalloc.start()
    try:
        h = Hierarchy("cosine", [0.2, 0.5], mode="nested").fit(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert h.levels_[1].state_.n_cat == 2000  # every feature its own group's founder
    assert peak < 6 * X.nbytes, f"peak {peak / 2**20:.1f} MiB for X of {X.nbytes / 2**20:.1f} MiB"


def test_only_sequences_that_can_use_a_block_scorer_build_one(monkeypatch):
    """A sequence that fits in one block starting with no categories never consults a
    scorer (the block has no categories to score): a nested level's small groups, often
    thousands per fit, skip building one. Every other sequence builds one."""
    built = []
    monkeypatch.setattr(engine, "device_scorer", lambda rule, dim: built.append(dim))
    X = unit_rows(600, 16, 3)
    h = Hierarchy("cosine", [0.3, 0.9], mode="nested").fit(X)
    sizes = np.bincount(h.levels_[0].labels_)
    assert (sizes <= 8).any() and (sizes > 8).any()  # both kinds of group
    assert len(built) == 1 + int((sizes > 8).sum())  # level 0, then the larger groups
