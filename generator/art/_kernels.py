"""Compiled kernels of the ART engine (numba).

Two ideas make ART fast without changing a single label:

1. **One scoring routine.** Every score — FuzzyART's |x ∧ w| or cosine ART's x · w — is
   computed by `_tile`, a 3×3 register-tiled loop. A pair's value does not depend on which
   tile or call it came from, so a score computed for a whole block equals the score the
   sequential definition would compute for that sample at that moment.
2. **Block commit.** Samples are sequential in ART, categories are not. A block of samples
   is scored against all categories at once (in parallel); then the samples are committed
   in order, and after each commit only the one category that changed (or was created)
   is re-scored for the rest of the block. Categories untouched inside the block still
   hold their block-start weights, so their block-start scores are exact.

`exact=True` kernels are compiled without fast-math: sums run strictly left to right in
float64, which is what artlib's numba code does, so labels and weights match artlib
bit for bit. `exact=False` kernels let LLVM vectorise the sums (float32, ~30× more
throughput); they are still deterministic and identical between block sizes.
"""

from __future__ import annotations

import math
import types

import numba as nb
import numpy as np

MINSUM = 0  # FuzzyART: S = |x ∧ w| (sum of element-wise minima)
DOT = 1  # cosine ART: S = x · w

KIND_FUZZY = 0
KIND_COSINE = 1
KIND_MEAN = 2  # mean ART: the prototype is the mean of its unit members, match = x · mean

MODE_PLAIN = 0  # no constraint
MODE_SMART = 1  # parent constraint enforced by MT+ match tracking (artlib SMART)


def _tile_py(X, W, r0, r1, c0, c1, S, op):
    """S[r, c] = score(X[r], W[c]) for r in [r0, r1), c in [c0, c1), in 3×3 register tiles."""
    D = X.shape[1]
    zero = np.zeros(1, dtype=X.dtype)[0]
    for cb in range(c0, c1, 3):
        j0 = cb
        j1 = min(cb + 1, c1 - 1)
        j2 = min(cb + 2, c1 - 1)
        w0 = W[j0]
        w1 = W[j1]
        w2 = W[j2]
        for rb in range(r0, r1, 3):
            i0 = rb
            i1 = min(rb + 1, r1 - 1)
            i2 = min(rb + 2, r1 - 1)
            x0 = X[i0]
            x1 = X[i1]
            x2 = X[i2]
            s00 = s01 = s02 = s10 = s11 = s12 = s20 = s21 = s22 = zero
            if op == MINSUM:
                for d in range(D):
                    a0 = w0[d]
                    a1 = w1[d]
                    a2 = w2[d]
                    u = x0[d]
                    s00 += min(u, a0)
                    s01 += min(u, a1)
                    s02 += min(u, a2)
                    u = x1[d]
                    s10 += min(u, a0)
                    s11 += min(u, a1)
                    s12 += min(u, a2)
                    u = x2[d]
                    s20 += min(u, a0)
                    s21 += min(u, a1)
                    s22 += min(u, a2)
            else:
                for d in range(D):
                    a0 = w0[d]
                    a1 = w1[d]
                    a2 = w2[d]
                    u = x0[d]
                    s00 += u * a0
                    s01 += u * a1
                    s02 += u * a2
                    u = x1[d]
                    s10 += u * a0
                    s11 += u * a1
                    s12 += u * a2
                    u = x2[d]
                    s20 += u * a0
                    s21 += u * a1
                    s22 += u * a2
            # clamped duplicates rewrite the same value into the same cell
            S[i0, j0] = s00
            S[i0, j1] = s01
            S[i0, j2] = s02
            S[i1, j0] = s10
            S[i1, j1] = s11
            S[i1, j2] = s12
            S[i2, j0] = s20
            S[i2, j1] = s21
            S[i2, j2] = s22


def _renamed(fn, name):
    """A copy of `fn` under another name, so a second jit variant gets its own cache entry."""
    code = fn.__code__.replace(co_name=name)
    if hasattr(code, "co_qualname"):  # Python 3.11+
        code = code.replace(co_qualname=name)
    out = types.FunctionType(code, fn.__globals__, name, fn.__defaults__, fn.__closure__)
    out.__qualname__ = name
    return out


# float32, vectorised sums (reassociation allowed inside one pair's sum)
_tile_fast = nb.njit(fastmath=True, cache=True, nogil=True)(_tile_py)
# strict left-to-right sums per pair: artlib's summation order, bit for bit
_tile_exact = nb.njit(fastmath=False, cache=True, nogil=True)(_renamed(_tile_py, "_tile_exact"))


@nb.njit(cache=True, nogil=True)
def score_range(X, W, r0, r1, c0, c1, S, op, exact):
    """Scores of X[r0:r1] against W[c0:c1] with the kernel every other score uses."""
    if exact:
        _tile_exact(X, W, r0, r1, c0, c1, S, op)
    else:
        _tile_fast(X, W, r0, r1, c0, c1, S, op)


def _score_block_py(X, W, n_rows, n_cats, S, op, exact):
    """All of X[:n_rows] against W[:n_cats], strips of 3 categories spread over threads."""
    n_strips = (n_cats + 2) // 3
    for t in nb.prange(n_strips):
        c0 = 3 * t
        c1 = min(c0 + 3, n_cats)
        if exact:
            _tile_exact(X, W, 0, n_rows, c0, c1, S, op)
        else:
            _tile_fast(X, W, 0, n_rows, c0, c1, S, op)


PARALLEL_WORK = 2**18  # a block's multiply-adds from which starting the threads pays


def threads_pay(work: int) -> bool:
    """Whether `work` multiply-adds are worth starting numba's threads for (and there
    are several): below PARALLEL_WORK, one thread finishes first."""
    return work >= PARALLEL_WORK and nb.get_num_threads() > 1


_score_block_parallel = nb.njit(parallel=True, cache=True, nogil=True)(_score_block_py)
_score_block_serial = nb.njit(cache=True, nogil=True)(
    _renamed(_score_block_py, "_score_block_serial")
)


def score_block(X, W, n_rows, n_cats, S, op, exact) -> None:
    """All of X[:n_rows] against W[:n_cats] into S: on numba's threads when the block
    has PARALLEL_WORK multiply-adds or more, else on this thread alone. A nested level
    scores thousands of blocks of a few rows against a few categories, where starting
    the threads (system calls each time) costs more than the scores; each score is
    computed by the same code either way, so S is the same."""
    if threads_pay(n_rows * n_cats * X.shape[1]):
        _score_block_parallel(X, W, n_rows, n_cats, S, op, exact)
    else:
        _score_block_serial(X, W, n_rows, n_cats, S, op, exact)


@nb.njit(cache=True, nogil=True)
def l1_norm(w):
    """|w| summed strictly left to right (artlib's l1norm order)."""
    s = 0.0
    for d in range(w.shape[0]):
        s += abs(w[d])
    return s


@nb.njit(cache=True, nogil=True)
def row_l1_norms(W):
    """`l1_norm` of every row, as the kernels store it after creating or updating it."""
    out = np.empty(W.shape[0])
    for r in range(W.shape[0]):
        out[r] = l1_norm(W[r])
    return out


@nb.njit(cache=True, nogil=True)
def _choice_and_match(s, wn, kind, alpha, d_norm):
    """(choice T, match M) of one category from its score s and |w| (fuzzy) or s alone."""
    if kind == KIND_FUZZY:
        return s / (alpha + wn), s / d_norm
    return s, s


@nb.njit(cache=True, nogil=True)
def _learn(x, W, c, wnorm, kind, beta):
    """Update category c with sample x: fuzzy fast/slow learning, the cosine moving
    average, or (mean ART, beta = 1/count after the update) the running mean."""
    w = W[c]
    D = w.shape[0]
    if kind == KIND_MEAN:
        for d in range(D):
            w[d] += beta * (x[d] - w[d])
        wnorm[c] = 1.0
        return
    if kind == KIND_FUZZY:
        b = beta
        nb_ = 1.0 - beta
        for d in range(D):
            m = min(x[d], w[d])
            w[d] = b * m + nb_ * w[d]
        wnorm[c] = l1_norm(w)
    else:
        ss = 0.0
        for d in range(D):
            v = beta * x[d] + (1.0 - beta) * w[d]
            w[d] = v
            ss += v * v
        inv = 1.0 / math.sqrt(ss)
        for d in range(D):
            w[d] = w[d] * inv
        wnorm[c] = 1.0


@nb.njit(cache=True, nogil=True)
def _place(X, b, W, wnorm, n_cat, best, parent, cat_parent, counts, kind, beta):
    """Sample b joins category `best` (which learns from it) or, when best < 0, founds
    category n_cat under `parent`. Returns the category that changed."""
    x = X[b]
    if best >= 0:
        counts[best] += 1
        _learn(x, W, best, wnorm, kind, 1.0 / counts[best] if kind == KIND_MEAN else beta)
        return best
    for d in range(x.shape[0]):
        W[n_cat, d] = x[d]
    wnorm[n_cat] = l1_norm(W[n_cat]) if kind == KIND_FUZZY else 1.0
    cat_parent[n_cat] = parent
    counts[n_cat] = 1
    return n_cat


@nb.njit(cache=True, nogil=True)
def _smart_pick(
    S, b, n_cat, wnorm, cat_parent, pb, kind, rho, alpha, d_norm, epsilon, cand, cand_t
):
    """artlib's step_fit with MT+ and a parent map: search by choice, raise vigilance on
    a resonating category of the wrong parent. Returns the winner or -1."""
    n = 0
    for c in range(n_cat):
        t, m = _choice_and_match(S[b, c], wnorm[c], kind, alpha, d_norm)
        if m >= rho and not math.isnan(t):  # below rho a category can never resonate
            cand[n] = c
            cand_t[n] = -t
            n += 1
    if n == 0:
        return -1
    order = np.argsort(cand_t[:n], kind="mergesort")  # descending T, ties to lowest index
    r = rho
    for k in range(n):
        c = cand[order[k]]
        t, m = _choice_and_match(S[b, c], wnorm[c], kind, alpha, d_norm)
        if m >= r:
            if cat_parent[c] == pb:
                return c
            r = m + epsilon  # MT+
            if r > 1.0:
                return -1
    return -1


@nb.njit(cache=True, nogil=True)
def _refine_row(
    X, W, b, n_cat, S, col_exact, wnorm, kind, op, exact, rho, alpha, d_norm, eps_s, mode
):
    """Replace approximate scores of row b by kernel scores wherever they could decide.

    Scores from another device carry an error of at most eps_s. A category whose match
    is surely below rho never matters; in plain mode neither does one whose choice is
    surely below that of a surely-matching category. Everything else is re-scored, so
    the decision is the one the kernel's own scores give; so is every category that
    could be among the two highest choices, so the margin diagnostic is the kernel's too.
    """
    eps_m = eps_s / d_norm
    t_floor = -np.inf  # a choice value some surely-matching category surely reaches
    low1 = -np.inf  # the two highest lower bounds on a choice value: the true best and
    low2 = -np.inf  # runner-up choices (the margin's terms) are at least low2
    for c in range(n_cat):
        t, m = _choice_and_match(S[b, c], wnorm[c], kind, alpha, d_norm)
        e_t = 0.0 if col_exact[c] else eps_s / (alpha + wnorm[c]) if kind == KIND_FUZZY else eps_s
        e_m = 0.0 if col_exact[c] else eps_m
        if mode == MODE_PLAIN and m - e_m >= rho and t - e_t > t_floor:
            t_floor = t - e_t
        if t - e_t > low1:
            low2 = low1
            low1 = t - e_t
        elif t - e_t > low2:
            low2 = t - e_t
    for c in range(n_cat):
        if col_exact[c]:
            continue
        t, m = _choice_and_match(S[b, c], wnorm[c], kind, alpha, d_norm)
        e_t = eps_s / (alpha + wnorm[c]) if kind == KIND_FUZZY else eps_s
        if (m + eps_m >= rho and t + e_t >= t_floor) or t + e_t >= low2:
            score_range(X, W, b, b + 1, c, c + 1, S, op, exact)


@nb.njit(cache=True, nogil=True)
def commit_block(
    X,
    n_rows,
    W,
    wnorm,
    n_cat,
    S,
    cat_parent,
    sample_parent,
    counts,
    mode,
    kind,
    op,
    exact,
    rho,
    alpha,
    beta,
    epsilon,
    d_norm,
    labels,
    match,
    margin,
    created,
    cand,
    cand_t,
    eps_s,
    col_exact,
):
    """Commit the block's samples in order; returns the new number of categories.

    S[:n_rows, :n_cat] must hold block-start scores: the kernel's own (eps_s = 0) or
    another device's within eps_s of them (see _refine_row). After each commit the changed
    or new category's column is re-scored for the remaining rows, with the kernel.
    """
    for b in range(n_rows):
        pb = sample_parent[b]
        if eps_s > 0.0:
            _refine_row(
                X,
                W,
                b,
                n_cat,
                S,
                col_exact,
                wnorm,
                kind,
                op,
                exact,
                rho,
                alpha,
                d_norm,
                eps_s,
                mode,
            )
        # runner-up bookkeeping (diagnostics): the two best choices overall
        t1 = -np.inf
        t2 = -np.inf
        c1 = -1
        best = -1
        best_t = -np.inf
        for c in range(n_cat):
            t, m = _choice_and_match(S[b, c], wnorm[c], kind, alpha, d_norm)
            if t > t1:
                t2 = t1
                t1 = t
                c1 = c
            elif t > t2:
                t2 = t
            if mode == MODE_PLAIN and m >= rho and t > best_t:
                best = c
                best_t = t
        if mode == MODE_SMART:
            best = _smart_pick(
                S, b, n_cat, wnorm, cat_parent, pb, kind, rho, alpha, d_norm, epsilon, cand, cand_t
            )
        m = 1.0
        gap = np.nan
        if best >= 0:
            t, m = _choice_and_match(S[b, best], wnorm[best], kind, alpha, d_norm)
            rival = t2 if best == c1 else t1
            gap = t - rival if rival > -np.inf else np.nan
        c_changed = _place(X, b, W, wnorm, n_cat, best, pb, cat_parent, counts, kind, beta)
        labels[b], match[b], margin[b], created[b] = c_changed, m, gap, best < 0
        n_cat += best < 0
        if b + 1 < n_rows:
            score_range(X, W, b + 1, n_rows, c_changed, c_changed + 1, S, op, exact)
        col_exact[c_changed] = True
    return n_cat


@nb.njit(cache=True, nogil=True)
def predict_block(S, n_rows, n_cat, wnorm, kind, alpha, d_norm, out):
    """artlib's step_pred: the highest choice over all categories (ties to lowest index)."""
    for b in range(n_rows):
        best = -1
        best_t = -np.inf
        for c in range(n_cat):
            t, m = _choice_and_match(S[b, c], wnorm[c], kind, alpha, d_norm)
            if t > best_t:
                best_t = t
                best = c
        out[b] = max(best, 0)


@nb.njit(parallel=True, cache=True, nogil=True)
def row_stats(X):
    """Per row: all finite?, min, max, sum, sum of squares (one pass to validate data)."""
    n, d = X.shape
    finite = np.empty(n, np.bool_)
    lo = np.empty(n)
    hi = np.empty(n)
    total = np.empty(n)
    sumsq = np.empty(n)
    for i in nb.prange(n):
        ok = True
        a = np.inf
        b = -np.inf
        s = 0.0
        q = 0.0
        for j in range(d):
            v = X[i, j]
            if not np.isfinite(v):
                ok = False
            a = min(a, v)
            b = max(b, v)
            s += v
            q += v * v
        finite[i] = ok
        lo[i] = a
        hi[i] = b
        total[i] = s
        sumsq[i] = q
    return finite, lo, hi, total, sumsq
