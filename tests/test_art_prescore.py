"""Pre-scoring from rounded rows (bf16, int16): their rounding bounds hold, and cosine
ART's results do not depend on them."""

from __future__ import annotations

import numpy as np
import pytest

from generator.art import CosineART, Hierarchy, ParamError, bf16, int16, prescore
from generator.art import _kernels as K
from generator.errors import SaetaxError
from tests.conftest import fresh_python

needs_avx2 = pytest.mark.skipif(not int16.available(), reason="this CPU has no AVX2")
KINDS = [
    pytest.param("int16", marks=needs_avx2),
    pytest.param("bf16", marks=pytest.mark.skipif(not bf16.available(), reason="no oneDNN")),
]
SCORERS = {"int16": int16.Int16Scorer, "bf16": bf16.Bf16Scorer}


def unit_rows(n, d, seed=0, dtype=np.float32):
    X = np.random.default_rng(seed).standard_normal((n, d))
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(dtype)


def quantized(X):
    rows = int16._rows(len(X), X.shape[1])
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


def test_bf16_rounding_is_to_nearest_even_flushes_subnormals_and_bounds_its_error():
    torch = pytest.importorskip("torch")
    X = np.concatenate([unit_rows(200, 300, 1), awkward_rows(300), 3 * unit_rows(5, 300, 2)])
    X[-1, :5] = [1e-39, -1e-40, 2.0**-126, 2.0**-127, 1 + 2.0**-8]  # subnormal; a tie
    r = prescore.Rows(len(X), 300, np.float32, bf16.round_rows)
    r.fill(X, np.arange(len(X)))
    want = torch.from_numpy(X).to(torch.bfloat16).float().numpy()
    want[np.abs(want) < 2.0**-126] = 0.0
    np.testing.assert_array_equal(r.Q, want)
    assert list(r.Q[-1, :5]) == [0.0, 0.0, 2.0**-126, 0.0, 1.0]  # the tie goes to even
    err = np.linalg.norm(X.astype(np.float64) - r.Q, axis=1)
    assert np.all(err <= r.err) and np.all(r.err <= err * 1.001 + 1e-9)
    assert r.err[:200].max() < 2.0**-8  # about 2⁻⁹ for unit rows
    # the same for float64 rows (the exact mode), rounded through float32
    r64 = prescore.Rows(len(X), 300, np.float32, bf16.round_rows)
    X64 = X.astype(np.float64) + 1e-12
    r64.fill(X64, np.arange(len(X)))
    assert np.all(np.linalg.norm(X64 - r64.Q, axis=1) <= r64.err)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("exact", [False, True])
def test_block_scores_are_within_the_claimed_bound_of_the_kernel(kind, exact):
    dt = np.float64 if exact else np.float32
    X = np.concatenate([unit_rows(40, 200, 3, dt), awkward_rows(200).astype(dt)])
    W = np.concatenate([unit_rows(301, 200, 4, dt), awkward_rows(200).astype(dt), X[:7]])
    kernel = np.zeros((len(X), len(W)), dt)
    K.score_block(X, W, len(X), len(W), kernel, K.DOT, exact)

    class St:  # the two fields of engine.State the scorer reads
        n_cat = len(W)

    St.W = W
    sc = SCORERS[kind](200, exact)
    approx = np.zeros_like(kernel)
    eps = sc.scores(X, St, approx)
    gap = np.abs(approx - kernel).max()
    assert 0 < gap <= eps < (2e-3 if kind == "int16" else 6e-3)
    # the flat row with itself is the largest possible dot product: still within the bound
    assert abs(approx[40, len(W) - 12] - 1.0) <= eps
    M, width, eps_m = sc.strip_maxima(X, St)
    if kind == "bf16":  # one category per strip: M is the score matrix itself, padded
        assert width == 1 and eps_m == eps
        assert M.shape == (bf16.padded(len(X)), bf16.padded(len(W))) == (48, 320)
        np.testing.assert_array_equal(M[: len(X), : len(W)], approx)
    else:
        assert width == int16.TILE_C and eps_m == eps
        pad = -len(W) % width
        strips = np.pad(approx, ((0, 0), (0, pad)), constant_values=-np.inf)
        np.testing.assert_allclose(M, strips.reshape(len(X), -1, width).max(axis=2), atol=1e-6)


def fit_both(X, kind, **kw):
    plain = CosineART(prescore="none", **kw).fit(X)
    pre = CosineART(prescore=kind, **kw).fit(X)
    return plain, pre


def assert_same(a, b):
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.weights_, b.weights_)
    np.testing.assert_array_equal(a.match_, b.match_)
    np.testing.assert_array_equal(a.margin_, b.margin_)


@pytest.fixture
def scored(monkeypatch):
    """Categories per block scored by the rounded scorers (proof that they ran)."""
    calls = []
    real_strips = int16.strip_max

    def strips(*args):
        calls.append(args[5])
        return real_strips(*args)

    real_product = bf16.Bf16Scorer.strip_maxima

    def product(self, Xb, state):
        calls.append(state.n_cat)
        return real_product(self, Xb, state)

    monkeypatch.setattr(int16, "strip_max", strips)
    monkeypatch.setattr(bf16.Bf16Scorer, "strip_maxima", product)
    return calls


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("rho", [0.35, 0.45, 0.6])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_prescored_fit_equals_the_kernel_fit(scored, kind, rho, dtype):
    X = unit_rows(2500, 64, 5)
    plain, pre = fit_both(X, kind, rho=rho, dtype=dtype)
    assert scored and max(scored) > 300  # the rounded path really ran
    assert_same(plain, pre)


@pytest.mark.parametrize("kind", KINDS)
def test_prescored_fit_equals_the_kernel_fit_on_ties_and_structure(scored, kind):
    from generator.synthetic import make_planted_hierarchy

    dups = np.repeat(unit_rows(400, 32, 6), 5, axis=0)  # exact ties between categories
    planted = make_planted_hierarchy(
        (24, 4, 4), d=64, per_leaf=6, level_cos=(0.5, 0.6), sample_cos=0.5, seed=7
    ).X.astype(np.float32)
    for X, rho in [(dups, 0.2), (dups, 0.999), (planted, 0.3), (planted, 0.6)]:
        for block in (1, 64, 200):
            plain, pre = fit_both(X, kind, rho=rho, block_size=block)
            assert_same(plain, pre)
    assert scored


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mode", ["nested", "smart"])
def test_prescored_hierarchies_equal_the_kernel_ones(scored, kind, mode):
    X = unit_rows(3000, 64, 8)
    rhos = [0.35, 0.45, 0.6]
    a = Hierarchy("cosine", rhos, mode=mode, params={"prescore": "none"}).fit(X)
    b = Hierarchy("cosine", rhos, mode=mode, params={"prescore": kind}).fit(X)
    np.testing.assert_array_equal(a.labels_deep_, b.labels_deep_)
    assert scored


def test_bf16_scoring_leaves_torchs_matmul_precision_as_it_was():
    torch = pytest.importorskip("torch")
    mm = torch.backends.mkldnn.matmul
    before = mm.fp32_precision
    CosineART(0.3, prescore="bf16").fit(unit_rows(1500, 64, 10))
    assert mm.fp32_precision == before


def test_auto_picks_bf16_with_amx_else_int16_with_avx2_else_the_kernel(monkeypatch):
    monkeypatch.setattr(bf16, "fast", lambda: True)
    assert type(prescore.scorer_for(64, False, "auto")) is bf16.Bf16Scorer
    monkeypatch.setattr(bf16, "fast", lambda: False)
    monkeypatch.setattr(int16, "available", lambda: True)
    assert type(prescore.scorer_for(64, False, "auto")) is int16.Int16Scorer
    assert [prescore.scorer_for(64, False, k).name for k in ("bf16", "int16")] == ["bf16", "int16"]
    assert prescore.scorer_for(8, False, "auto") is None  # narrower than one int16 register
    monkeypatch.setattr(int16, "available", lambda: False)
    assert prescore.scorer_for(64, False, "auto") is None
    assert prescore.scorer_for(64, False, "none") is None


def test_without_amx_bf16_the_answer_needs_no_torch():
    """`fast()` reads the CPU's features before importing torch (a second in a fresh
    worker); a CPU with AMX-BF16 still asks torch whether the tiles are usable."""

    import llvmlite.binding as llb

    code = "import sys; from generator.art import bf16; print(bf16.fast(), 'torch' in sys.modules)"
    stdout = fresh_python(code)
    fast, imported = stdout.split()
    if llb.get_host_cpu_features().get("amx-bf16", False):
        assert imported == "True"
    else:
        assert (fast, imported) == ("False", "False")


def test_prescore_is_validated_and_an_unavailable_one_is_a_clear_error(monkeypatch):
    X = unit_rows(300, 32, 9)
    with pytest.raises(ParamError, match="'prescore' parameter of CosineART must be one of"):
        CosineART(0.2, prescore="int8").fit(X)
    monkeypatch.setattr(int16, "available", lambda: False)
    monkeypatch.setattr(bf16, "available", lambda: False)
    monkeypatch.setattr(bf16, "fast", lambda: False)
    with pytest.raises(
        SaetaxError, match="prescore='int16' was asked for but this CPU has no AVX2"
    ):
        CosineART(0.2, prescore="int16").fit(X)
    with pytest.raises(SaetaxError, match="prescore='bf16' was asked for but torch has no oneDNN"):
        CosineART(0.2, prescore="bf16").fit(X)
    # auto falls back to the kernel and gives the same result
    assert_same(CosineART(0.2).fit(X), CosineART(0.2, prescore="none").fit(X))
