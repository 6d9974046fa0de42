"""int16 pre-scoring of cosine ART blocks on AVX2 CPUs (see prescore.py for the scheme).

AVX2's `vpmaddwd` does twice the multiply-adds of fp32 FMA per instruction, from half the
bytes; this module rounds rows to int16 and multiplies them with a register tile of it.

Rounding: a row x becomes q = round(x / s) with s = max(‖x‖ / 46000, max|xᵢ| / 32767), so
|qᵢ| ≤ 32767 and ‖q‖ ≤ 46000 + √d / 2. Every partial sum of q_x·q_w is then below
‖q_x‖‖q_w‖ < 2³¹ (Cauchy–Schwarz), so the int32 lanes cannot overflow in any order and
the integer product is exact; only storing s_x·s_w·(q_x·q_w) rounds. With x̂ = s q and
e = x − x̂ the bound of prescore.py is about 4·10⁻⁴ for unit rows.
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

from generator.art.prescore import RoundedScorer, Rows

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
    (`_cosine_kernels.rank_candidates`, `_cosine_kernels.commit_cosine`)."""
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


def supports(dim: int) -> bool:
    """Whether int16 pre-scoring can run here for rows of width `dim`."""
    return available() and LANES <= dim <= MAX_DIM


def _rows(n: int, dim: int) -> Rows:
    return Rows(n, -(-dim // LANES) * LANES, np.int16, quantize)


class Int16Scorer(RoundedScorer):
    """Approximate block scores for cosine ART from int16 rows (see the module docstring).

    `scores` fills S[:, :k0]; `strip_maxima` gives only each row's highest score per
    strip of TILE_C categories, all a cosine commit needs.
    """

    name = "int16"
    arith = 2.0**-23  # the integer product is exact; storing it as float32 rounds

    def _new_rows(self, n: int) -> Rows:
        return _rows(n, self.dim)

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
