"""Compiled kernels of cosine ART's fast commit (numba): candidate ranking from rounded
block scores, and a commit that scores only the categories that could decide a sample.

See `commit_cosine` for the argument, and `_kernels` for the shared scoring routine and
why block commits give the sequential definition's labels.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from generator.art import _kernels as K
from generator.art._kernels import DOT, KIND_COSINE, _place, _renamed, score_range

GROUP = 8  # values per group when looking for a row's m-th highest
RANK_DEPTH = 4  # categories ranked ahead per row: room for 2 changed ones (see commit_cosine)


@nb.njit(cache=True, nogil=True)
def _rank_row(M, b, n_strips, eps_s, m, skip, any_skip, cand, n_cand):
    """Row b's strips of block-start categories that can hold its top two unchanged
    categories even if m - 2 of the others change first, highest first.

    M[b, t] is row b's highest score over the categories of strip t (one category per
    strip when M is the score matrix itself), within eps_s of the kernel's scores. T is
    the m-th highest maximum of the strips not flagged in `skip` (strips holding a
    changed category, read only when any_skip), so m distinct unchanged categories score
    at least T - eps_s, while a strip whose maximum is below T - 2·eps_s holds none
    scoring that much. cand[b, :n_cand[b]] lists the other strips by descending maximum;
    n_cand[b] = -1 when they do not fit (the commit then scores the whole row).
    """
    cap = cand.shape[1]
    n_groups = (n_strips + GROUP - 1) // GROUP
    gmax = np.empty(n_groups)  # per group of strips: the highest maximum, flagged or not
    top = np.full(m, -np.inf)  # the m highest unflagged group maxima so far, ascending
    for g in range(n_groups):
        t0 = g * GROUP
        mx = -np.inf
        ok = -np.inf
        for t in range(t0, min(t0 + GROUP, n_strips)):
            v = M[b, t]
            mx = max(mx, v)
            if not (any_skip and skip[t]):
                ok = max(ok, v)
        gmax[g] = mx
        if ok > top[0]:
            i = 1
            while i < m and top[i] < ok:
                top[i - 1] = top[i]
                i += 1
            top[i - 1] = ok
    # group maxima are distinct strips' maxima, so m unflagged strips reach top[0]
    low = top[0] - 2.0 * eps_s
    cnt = 0
    for g in range(n_groups):
        if gmax[g] < low:
            continue
        for t in range(g * GROUP, min(g * GROUP + GROUP, n_strips)):
            v = M[b, t]
            if v < low:
                continue
            if cnt == cap:
                cnt += 1
                break
            i = cnt  # insertion into the descending list
            while i > 0 and M[b, cand[b, i - 1]] < v:
                cand[b, i] = cand[b, i - 1]
                i -= 1
            cand[b, i] = t
            cnt += 1
        if cnt > cap:
            break
    n_cand[b] = cnt if cnt <= cap else -1


def _rank_candidates_py(M, n_rows, n_strips, eps_s, cand, n_cand):
    """`_rank_row` for every row of a block before any commit, RANK_DEPTH deep (the
    first rows need less: row b commits after only b others)."""
    none = np.zeros(0, np.bool_)
    for b in nb.prange(n_rows):
        _rank_row(M, b, n_strips, eps_s, min(b + 2, RANK_DEPTH), none, False, cand, n_cand)


_rank_parallel = nb.njit(parallel=True, cache=True, nogil=True)(_rank_candidates_py)
_rank_serial = nb.njit(cache=True, nogil=True)(_renamed(_rank_candidates_py, "_rank_serial"))


def rank_candidates(M, n_rows, n_strips, eps_s, cand, n_cand) -> None:
    """`_rank_row` for every row of a block, on numba's threads for a large block, else
    on this thread (see `_kernels.score_block`; rows are ranked independently)."""
    if K.threads_pay(64 * n_rows * n_strips):  # a row-strip counted as 64 multiply-adds
        _rank_parallel(M, n_rows, n_strips, eps_s, cand, n_cand)
    else:
        _rank_serial(M, n_rows, n_strips, eps_s, cand, n_cand)


@nb.njit(cache=True, nogil=True)
def _top2(t, c, t1, c1, t2):
    """Add score t of category c to the best (t1, c1) and runner-up score t2 seen so far.
    Equal scores go to the lower index, as in a scan by index; t2 may equal t1."""
    if c1 < 0 or t > t1 or (t == t1 and c < c1):
        return t, c, t1
    return t1, c1, max(t2, t)


@nb.njit(cache=True, nogil=True)
def commit_cosine(
    X,
    n_rows,
    W,
    wnorm,
    n_cat,
    S,
    M,
    width,
    eps_s,
    cand,
    n_cand,
    cat_parent,
    sample_parent,
    counts,
    exact,
    rho,
    beta,
    labels,
    match,
    margin,
    created,
    changed,
    in_block,
    G,
):
    """commit_block for cosine ART without a parent constraint, scoring few categories.

    For cosine, choice and match are one score, so a sample's fate is fixed by its two
    highest scores (winner and runner-up). `rank_candidates` listed, for row b, the
    strips of `width` block-start categories that can hold them, by descending
    approximate maximum M, allowing for RANK_DEPTH - 2 of their categories to change
    before row b commits (when more did, the row is ranked again leaving out the strips
    that hold them); changed or new categories have exact scores in S. Strips are scored
    with the kernel in that order until the next one's maximum + eps_s is below the
    runner-up so far, so every decision and diagnostic equals the full scan's. With
    width 1 and eps_s = 0, M is S and holds the kernel's scores already.
    `changed` (n_rows slots) and `in_block` (one flag per category slot, all False) are
    scratch space. G[r, b] is the kernel's score of row r against row b of the block
    (`score_block` of the block with itself): a category row b founds is a copy of it, so
    G holds its exact scores until it changes, the same values score_range would give.
    """
    k0 = n_cat
    n_strips = (k0 + width - 1) // width
    n_changed = 0
    n_old = 0  # block-start categories among the changed ones
    strip_changed = np.zeros(n_strips, np.bool_)  # strips holding one of those
    given = width == 1 and eps_s == 0.0
    for b in range(n_rows):
        t1 = -np.inf
        t2 = -np.inf
        c1 = -1
        for i in range(n_changed):
            c = changed[i]
            t = S[b, c]
            t1, c1, t2 = _top2(t, c, t1, c1, t2)
        if n_old > min(b + 2, RANK_DEPTH) - 2:  # rank again, around the changed strips
            _rank_row(M, b, n_strips, eps_s, 2, strip_changed, True, cand, n_cand)
        nc = n_cand[b]
        n_visit = n_strips if nc < 0 else nc
        for i in range(n_visit):
            st = i if nc < 0 else cand[b, i]
            lo = st * width
            hi = min(lo + width, k0)
            if width == 1 and in_block[lo]:
                continue  # its M entry is its new exact score, not the ranked one
            if nc >= 0 and M[b, st] + eps_s < t2:
                break  # nothing further down the list can reach the top two
            if not given:
                score_range(X, W, b, b + 1, lo, hi, S, DOT, exact)
            for c in range(lo, hi):
                if in_block[c]:
                    continue
                t = S[b, c]
                t1, c1, t2 = _top2(t, c, t1, c1, t2)
        best = c1 if c1 >= 0 and t1 >= rho else -1
        m = t1 if best >= 0 else 1.0
        gap = t1 - t2 if best >= 0 and t2 > -np.inf else np.nan
        c_changed = _place(
            X,
            b,
            W,
            wnorm,
            n_cat,
            best,
            sample_parent[b],
            cat_parent,
            counts,
            KIND_COSINE,
            beta,
        )
        labels[b], match[b], margin[b], created[b] = c_changed, m, gap, best < 0
        n_cat += best < 0
        if best < 0:  # a new category is a copy of row b: its scores are the block's own
            for r in range(b + 1, n_rows):
                S[r, c_changed] = G[r, b]
        elif b + 1 < n_rows:
            score_range(X, W, b + 1, n_rows, c_changed, c_changed + 1, S, DOT, exact)
        if not in_block[c_changed]:
            in_block[c_changed] = True
            changed[n_changed] = c_changed
            n_changed += 1
            if c_changed < k0:
                n_old += 1
                strip_changed[c_changed // width] = True
    for i in range(n_changed):
        in_block[changed[i]] = False
    return n_cat
