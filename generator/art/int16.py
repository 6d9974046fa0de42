"""Integer pre-scoring of cosine ART blocks on AVX2 CPUs, with a proven error bound.

When nearly every sample founds a category (high vigilance, or weakly structured data)
cosine ART computes N²/2 dot products, ~2·10¹² multiply-adds for 65,536 × 1,024. The fp32
kernel cannot go faster than the CPU's FMA rate; AVX2's `vpmaddwd` does twice as many
16-bit multiply-adds per instruction, from half the bytes. So a block's scores are first
computed from rows rounded to int16, and the engine scores with the fp32 kernel every
pair whose approximate score could change a decision or diagnostic
(`_kernels.commit_cosine`; `_kernels._refine_row` under SMART). Labels, weights and
diagnostics are therefore those of the kernel alone; only the time changes.

Rounding: a row x becomes q = round(x / s) with s = max(‖x‖ / 46000, max|xᵢ| / 32767), so
|qᵢ| ≤ 32767 and ‖q‖ ≤ 46000 + √d / 2. Every partial sum of q_x·q_w is then below
‖q_x‖‖q_w‖ < 2³¹ (Cauchy–Schwarz), so the int32 lanes cannot overflow in any order. With
x̂ = s q and e = x − x̂, |x·w − x̂·ŵ| ≤ ‖e_x‖‖w‖ + ‖x̂‖‖e_w‖, about 4·10⁻⁴ for unit rows.
"""

from __future__ import annotations

import math
from functools import cache

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from generator.art.engine import Scratch

LANES = 16  # int16 values per 256-bit register; rows are zero-padded to a multiple
NORM_CAP = 46000.0  # ‖q‖ cap: (46000 + √d/2)² < 2³¹ for d < 460,000
INT16_MAX = 32767.0
MAX_DIM = 400_000  # widest rows the cap above keeps safe, with margin
TILE_R, TILE_C = 2, 5  # rows × categories per register tile (fastest measured on Zen 3)


@cache
def available() -> bool:
    """Whether this CPU has AVX2 (the only instruction set the tile is written for)."""
    import llvmlite.binding as llb

    try:
        return bool(llb.get_host_cpu_features().get("avx2", False))
    except RuntimeError:  # pragma: no cover - feature detection unsupported
        return False


def _tile_intrinsic(R: int, C: int):
    """An R×C tile of int16 dot products, `vpmaddwd` into int32 lanes, as one LLVM loop."""

    @intrinsic
    def madd_tile(typingctx, X, W, rows, cols):
        ret = types.UniTuple(types.int32, R * C)

        def codegen(context, builder, signature, args):
            xa, wa, rt, ct = args
            Xs = context.make_array(signature.args[0])(context, builder, xa)
            Ws = context.make_array(signature.args[1])(context, builder, wa)
            D = builder.extract_value(Xs.shape, 1)
            i16, i32 = ir.IntType(16), ir.IntType(32)
            v16, v8 = ir.VectorType(i16, LANES), ir.VectorType(i32, LANES // 2)
            xr = [
                builder.gep(Xs.data, [builder.mul(builder.extract_value(rt, i), D)])
                for i in range(R)
            ]
            wr = [
                builder.gep(Ws.data, [builder.mul(builder.extract_value(ct, j), D)])
                for j in range(C)
            ]
            zero = ir.Constant(v8, [0] * (LANES // 2))
            acc = [[cgutils.alloca_once_value(builder, zero) for _ in range(C)] for _ in range(R)]
            pmadd = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(v8, [v16, v16]), "llvm.x86.avx2.pmadd.wd"
            )
            hsum = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(i32, [v8]), "llvm.vector.reduce.add.v8i32"
            )
            step = ir.Constant(D.type, LANES)

            def vec(row, k):
                return builder.load(
                    builder.bitcast(builder.gep(row, [k]), v16.as_pointer()), align=2
                )

            with cgutils.for_range(builder, builder.sdiv(D, step)) as loop:
                k = builder.mul(loop.index, step)
                wv = [vec(wr[j], k) for j in range(C)]
                for i in range(R):
                    xv = vec(xr[i], k)
                    for j in range(C):
                        a = builder.load(acc[i][j])
                        builder.store(builder.add(a, builder.call(pmadd, [xv, wv[j]])), acc[i][j])
            sums = [
                builder.call(hsum, [builder.load(acc[i][j])]) for i in range(R) for j in range(C)
            ]
            return context.make_tuple(builder, ret, sums)

        return ret(X, W, rows, cols), codegen

    return madd_tile


_tile = _tile_intrinsic(TILE_R, TILE_C)


@nb.njit(cache=True, nogil=True)
def _strip(n_cats, t):
    """The TILE_C (= 5, written out) category indices of strip t."""
    c0 = TILE_C * t
    last = n_cats - 1  # clamped duplicates at the edge rewrite the same value
    return (c0, min(c0 + 1, last), min(c0 + 2, last), min(c0 + 3, last), min(c0 + 4, last))


@nb.njit(parallel=True, cache=True, nogil=True)
def dot_block(Xq, sx, Wq, sw, n_rows, n_cats, S):
    """S[r, c] = (q_x·q_w)·s_x·s_w for a block; strips of TILE_C categories per thread."""
    for t in nb.prange((n_cats + TILE_C - 1) // TILE_C):
        cols = _strip(n_cats, t)
        for rb in range(0, n_rows, TILE_R):
            rows = (rb, min(rb + 1, n_rows - 1))
            v = _tile(Xq, Wq, rows, cols)
            for i in range(TILE_R):
                for j in range(TILE_C):
                    S[rows[i], cols[j]] = v[i * TILE_C + j] * (sx[rows[i]] * sw[cols[j]])


@nb.njit(parallel=True, cache=True, nogil=True)
def strip_max(Xq, sx, Wq, sw, n_rows, n_cats, M):
    """M[r, t] = the highest score of row r over strip t's categories: all a cosine
    commit needs to find the few categories worth an exact score
    (`_kernels.rank_candidates`, `_kernels.commit_cosine`)."""
    for t in nb.prange((n_cats + TILE_C - 1) // TILE_C):
        cols = _strip(n_cats, t)
        for rb in range(0, n_rows, TILE_R):
            rows = (rb, min(rb + 1, n_rows - 1))
            v = _tile(Xq, Wq, rows, cols)
            for i in range(TILE_R):
                mx = v[i * TILE_C] * sw[cols[0]]
                for j in range(1, TILE_C):
                    mx = max(mx, v[i * TILE_C + j] * sw[cols[j]])
                M[rows[i], t] = mx * sx[rows[i]]


@nb.njit(parallel=True, cache=True, nogil=True)
def quantize(X, rows, Q, scale, err, norm):
    """Round X's rows `rows` into the same rows of Q (int16, zero-padded); per row the
    scale s, an upper bound on ‖x − s·q‖ and ‖x‖ (both in float64)."""
    d = X.shape[1]
    for r in nb.prange(len(rows)):
        i = rows[r]
        ss = 0.0
        amax = 0.0
        for k in range(d):
            v = np.float64(X[i, k])
            ss += v * v
            amax = max(amax, abs(v))
        nrm = math.sqrt(ss)
        s = max(nrm / NORM_CAP, amax / INT16_MAX)
        if s == 0.0:
            s = 1.0
        e2 = 0.0
        for k in range(d):
            v = np.float64(X[i, k])
            q = round(v / s)
            Q[i, k] = np.int16(q)
            res = v - s * q
            e2 += res * res
        for k in range(d, Q.shape[1]):
            Q[i, k] = 0
        scale[i] = s
        # the float64 arithmetic above is exact to ~1e-15 relative; pad generously
        err[i] = math.sqrt(e2) * (1.0 + 1e-9) + 1e-12 * (nrm + 1.0)
        norm[i] = nrm * (1.0 + 1e-12)


class _Rows:
    """int16 copies of some rows with their scales, error bounds and norms."""

    def __init__(self, n: int, dim: int):
        self.pad = -(-dim // LANES) * LANES
        self.Q = np.zeros((n, self.pad), np.int16)
        self.scale = np.zeros(n)
        self.err = np.zeros(n)
        self.norm = np.zeros(n)
        self.max_err = 0.0  # running maxima over rows ever filled: never lowered, a safe bound
        self.max_norm = 0.0

    def grow(self, need: int) -> None:
        if need <= len(self.Q):
            return
        new = max(need, 2 * len(self.Q))
        Q = np.zeros((new, self.pad), np.int16)
        Q[: len(self.Q)] = self.Q
        self.Q = Q
        for name in ("scale", "err", "norm"):
            a = getattr(self, name)
            setattr(self, name, np.concatenate([a, np.zeros(new - len(a))]))

    def fill(self, X: np.ndarray, rows: np.ndarray) -> None:
        quantize(X, rows, self.Q, self.scale, self.err, self.norm)
        if len(rows):
            self.max_err = max(self.max_err, float(self.err[rows].max()))
            self.max_norm = max(self.max_norm, float(self.norm[rows].max()))


class Int16Scorer:
    """Approximate block scores for cosine ART from int16 rows (see the module docstring).

    Has the interface of `engine.Scorer`: `scores` fills S[:, :k0] and returns a bound on
    the distance of every value from the fp32/fp64 kernel's score of the same pair.
    """

    def __init__(self, dim: int, exact: bool):
        self.dim = dim
        u = 2.0**-53 if exact else 2.0**-24
        self.gamma = dim * u / (1 - dim * u)  # kernel rounding, any summation order
        self.store = 2.0**-23  # float32 rounding of the stored score (and the float64 product)
        self.cats = _Rows(64, dim)
        self.synced = 0
        self._dirty: set[int] = set()
        self._scratch = Scratch()

    def worth_it(self, n_rows: int, n_cats: int) -> bool:
        return n_cats >= 64 and n_rows * n_cats * self.dim >= 1_000_000

    def changed(self, labels: np.ndarray) -> None:
        self._dirty.update(int(c) for c in np.unique(labels))

    def _sync(self, W: np.ndarray, k0: int) -> None:
        """Quantize new categories and those changed since the last block."""
        self.cats.grow(k0)
        old = [c for c in self._dirty if c < self.synced]
        self._dirty = {c for c in self._dirty if c >= k0}
        todo = np.array(sorted(old) + list(range(self.synced, k0)), dtype=np.int64)
        self.cats.fill(W, todo)
        self.synced = k0

    def _rows(self, Xb: np.ndarray, state) -> _Rows:
        self._sync(state.W, state.n_cat)
        rows = _Rows(len(Xb), self.dim)
        rows.fill(Xb, np.arange(len(Xb)))
        return rows

    def _bound(self, rows: _Rows) -> float:
        ex, nx = rows.max_err, rows.max_norm
        ew, nw = self.cats.max_err, self.cats.max_norm
        # |x·w − x̂·ŵ| ≤ ‖e_x‖‖w‖ + ‖x̂‖‖e_w‖, plus the kernel's and the store's rounding
        return (
            ex * nw
            + (nx + ex) * ew
            + self.gamma * nx * nw
            + self.store * (nx + ex) * (nw + ew)
            + 1e-12
        )

    def scores(self, Xb: np.ndarray, state, S: np.ndarray) -> float:
        rows = self._rows(Xb, state)
        dot_block(rows.Q, rows.scale, self.cats.Q, self.cats.scale, len(Xb), state.n_cat, S)
        return self._bound(rows)

    def strip_maxima(self, Xb: np.ndarray, state) -> tuple[np.ndarray, int, float]:
        """(M, width, eps): M[r, t] is row r's approximate highest score over categories
        [t·width, (t+1)·width), within eps of the kernel's score of that category."""
        rows = self._rows(Xb, state)
        k0 = state.n_cat
        M = self._scratch.take(len(Xb), -(-k0 // TILE_C), np.float64)
        strip_max(rows.Q, rows.scale, self.cats.Q, self.cats.scale, len(Xb), k0, M)
        return M, TILE_C, self._bound(rows)


def scorer_for(dim: int, exact: bool, mode: str) -> Int16Scorer | None:
    """The int16 scorer when `mode` asks for it ("int16") or allows it ("auto") here."""
    if mode == "none":
        return None
    ok = available() and dim <= MAX_DIM and dim >= LANES
    if mode == "int16" and not ok:
        from generator.errors import SaetaxError

        why = (
            "this CPU has no AVX2"
            if not available()
            else f"the width {dim} is outside [16, {MAX_DIM}]"
        )
        raise SaetaxError(
            f"prescore='int16' was asked for but {why}; use prescore='auto' or 'none'."
        )
    return Int16Scorer(dim, exact) if ok else None
