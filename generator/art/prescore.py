"""Approximate block scores for cosine ART from rounded rows, each with a proven error bound.

When nearly every sample founds a category (high vigilance, or weakly structured data)
cosine ART computes N²d/2 dot products, ~2·10¹² multiply-adds for 65,536 × 1,024, and the
fp32 kernel cannot go faster than the CPU's FMA rate. A cosine commit needs only each
sample's winner and runner-up, so the engine scores a block first with faster, rounded
arithmetic and then scores with the fp32 kernel every category whose approximate score
could be one of those two (`_cosine_kernels.rank_candidates` and `.commit_cosine`;
SMART refines in `_kernels._refine_row`). Labels, weights and diagnostics are therefore those
of the kernel alone; only the time changes. Two kinds of rounded arithmetic:

- `bf16` (bf16.py): rows rounded to bfloat16 and multiplied by oneDNN with float32
  accumulation; fast where the CPU multiplies bfloat16 in hardware (AMX).
- `int16` (int16.py): rows rounded to int16 with a per-row scale and multiplied by an
  AVX2 `vpmaddwd` tile; twice the multiply-adds of fp32 FMA per instruction.

Both bound a score's error the same way. With x̂ the rounded row and e = x − x̂,
|x·w − x̂·ŵ| ≤ ‖e_x‖‖w‖ + ‖x̂‖‖e_w‖; the computed x̂·ŵ is within
`arith`·‖x̂‖‖ŵ‖ + `absolute` of the exact one (each scorer's own arithmetic); and the
kernel's own score is within γ_d‖x‖‖w‖ of x·w.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from generator.art.engine import Scratch, gamma


class Rows:
    """Rounded copies of some rows, with per row the scale, a bound on ‖x − x̂‖ and ‖x‖.

    `fill(X, rows, Q, scale, err, norm)` is the rounding kernel of one arithmetic; Q has
    `width` columns (the row width, or more for zero padding)."""

    def __init__(self, n: int, width: int, dtype, fill: Callable):
        self.Q = np.zeros((n, width), dtype)
        self.scale = np.zeros(n)
        self.err = np.zeros(n)
        self.norm = np.zeros(n)
        self.max_err = 0.0  # running maxima over rows ever filled: never lowered, a safe bound
        self.max_norm = 0.0
        self._fill = fill

    def grow(self, need: int) -> None:
        if need <= len(self.Q):
            return
        new = max(need, 2 * len(self.Q))
        Q = np.zeros((new, self.Q.shape[1]), self.Q.dtype)
        Q[: len(self.Q)] = self.Q
        self.Q = Q
        for name in ("scale", "err", "norm"):
            a = getattr(self, name)
            setattr(self, name, np.concatenate([a, np.zeros(new - len(a))]))

    def fill(self, X: np.ndarray, rows: np.ndarray) -> None:
        self._fill(X, rows, self.Q, self.scale, self.err, self.norm)
        if len(rows):
            self.max_err = max(self.max_err, float(self.err[rows].max()))
            self.max_norm = max(self.max_norm, float(self.norm[rows].max()))


class RoundedScorer:
    """Block scores from rounded copies of the block's rows and of the categories.

    Has the interface of `engine.Scorer`. Subclasses set `arith` and `absolute` (the
    rounding of their products, see the module docstring), provide `_new_rows(n)` and
    either `scores` (fill S[:, :k0], return the bound) or `strip_maxima`.
    """

    name = ""  # the `prescore` value that selects this scorer
    arith = 0.0  # error of the computed product, in units of ‖x̂‖‖ŵ‖
    absolute = 0.0  # and its part that does not scale (underflow)

    def __init__(self, dim: int, exact: bool):
        self.dim = dim
        self.gamma = gamma(dim, 2.0**-53 if exact else 2.0**-24)  # the kernel's rounding
        self.cats = self._new_rows(64)
        self.synced = 0
        self._dirty: set[int] = set()
        self._scratch = Scratch()

    def _new_rows(self, n: int) -> Rows:
        raise NotImplementedError

    def worth_it(self, n_rows: int, n_cats: int) -> bool:
        return n_cats >= 64 and n_rows * n_cats * self.dim >= 1_000_000

    def changed(self, labels: np.ndarray) -> None:
        """Categories that learned from a block: those rounded already (below `synced`)
        are rounded again at the next sync; newer ones are rounded then anyway. Nothing
        to note while none is rounded (a nested level's small groups never are)."""
        if self.synced:
            self._dirty.update(int(c) for c in np.unique(labels[labels < self.synced]))

    def _sync(self, W: np.ndarray, k0: int) -> None:
        """Round new categories and those changed since the last block."""
        self.cats.grow(k0)
        old = [c for c in self._dirty if c < self.synced]
        self._dirty = {c for c in self._dirty if c >= k0}
        todo = np.array(sorted(old) + list(range(self.synced, k0)), dtype=np.int64)
        self.cats.fill(W, todo)
        self.synced = k0

    def _rows(self, Xb: np.ndarray, state, n: int = 0) -> Rows:
        """The block's rounded rows (then n - len(Xb) zero rows); categories synced."""
        self._sync(state.W, state.n_cat)
        rows = self._new_rows(max(n, len(Xb)))
        rows.fill(Xb, np.arange(len(Xb)))
        return rows

    def _bound(self, rows: Rows) -> float:
        ex, nx = rows.max_err, rows.max_norm
        ew, nw = self.cats.max_err, self.cats.max_norm
        return (
            ex * nw
            + (nx + ex) * ew
            + self.gamma * nx * nw
            + self.arith * (nx + ex) * (nw + ew)
            + self.absolute
            + 1e-12
        )


def scorer_for(dim: int, exact: bool, mode: str) -> RoundedScorer | None:
    """The rounded scorer `mode` asks for ("bf16", "int16") or, for "auto", the fastest
    this machine has: bf16 where the CPU multiplies bfloat16 in hardware, else int16
    where it has AVX2, else none (the kernel scores every block itself)."""
    from generator.art import bf16, int16
    from generator.errors import SaetaxError

    if mode == "none":
        return None
    if mode == "auto":
        if bf16.fast():
            return bf16.Bf16Scorer(dim, exact)
        return int16.Int16Scorer(dim, exact) if int16.supports(dim) else None
    if mode == "bf16":
        if not bf16.available():
            raise SaetaxError(
                "prescore='bf16' was asked for but torch has no oneDNN (mkldnn) here; "
                "use prescore='auto' or 'none'."
            )
        return bf16.Bf16Scorer(dim, exact)
    if not int16.supports(dim):
        why = (
            "this CPU has no AVX2"
            if not int16.available()
            else f"the width {dim} is outside [16, {int16.MAX_DIM}]"
        )
        raise SaetaxError(
            f"prescore='int16' was asked for but {why}; use prescore='auto' or 'none'."
        )
    return int16.Int16Scorer(dim, exact)
