"""Compiled kernel of mean ART's epochs (numba): a block of samples re-presented in order.

An epoch presents every sample again as if it were new: it leaves its category (whose
mean forgets it) and then resonates like any sample: it joins the category of highest
match x · mean among those of its parent that reach the vigilance, or founds one. The
block's scores against the categories come in G (`_kernels.score_block`); after each
sample only the categories it left and joined change, and their columns are re-scored
for the rest of the block with the same kernel (`score_range`: a pair's score has the
same bits whatever the tile), so the result is that of presenting the samples one by one
and does not depend on the block size.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from generator.art._kernels import DOT, score_range


@nb.njit(cache=True, nogil=True)
def epoch_block(Xb, rows, G, W, counts, cat_parent, sample_parent, labels, rho, n_cat, exact):
    """Re-present the block's samples (rows of the full data, in order). G[:, :n_cat] holds
    the block's scores against the categories at block start and has room for one new
    category per sample. Returns (number of categories, samples whose category changed)."""
    D = Xb.shape[1]
    changed = 0
    for r in range(Xb.shape[0]):
        i = rows[r]
        x = Xb[r]
        old = labels[i]
        k = counts[old]
        if k > 1:  # the category forgets the sample: mean over the others
            for d in range(D):
                W[old, d] = (k * W[old, d] - x[d]) / (k - 1)
            counts[old] = k - 1
            score_range(Xb, W, r, Xb.shape[0], old, old + 1, G, DOT, exact)
        else:
            counts[old] = 0
        best = -1
        best_m = -np.inf
        p = sample_parent[r]
        for c in range(n_cat):
            if counts[c] > 0 and cat_parent[c] == p and G[r, c] > best_m:
                best_m = G[r, c]
                best = c
        if best >= 0 and best_m >= rho:
            counts[best] += 1
            inv = 1.0 / counts[best]
            for d in range(D):
                W[best, d] += inv * (x[d] - W[best, d])
            new = best
        else:  # found a category: its own old slot when it left it empty
            new = old if counts[old] == 0 else n_cat
            for d in range(D):
                W[new, d] = x[d]
            counts[new] = 1
            cat_parent[new] = p
            if new == n_cat:
                n_cat += 1
        labels[i] = new
        if new != old:
            changed += 1
        score_range(Xb, W, r + 1, Xb.shape[0], new, new + 1, G, DOT, exact)
    return n_cat, changed
