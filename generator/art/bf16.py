"""bfloat16 pre-scoring of cosine ART blocks (see prescore.py for the scheme).

Rows are rounded to bfloat16 (8 significant bits) and kept as float32 values; the block
product runs through torch's oneDNN matmul with its fp32 precision set to "bf16", which
lets oneDNN multiply those values as bfloat16 (exactly: they are bfloat16 already) and
accumulate in float32. On CPUs with AMX-BF16 that is several times the fp32 rate; on
others oneDNN computes in float32, slower but within the same bound.

Error: the products of bfloat16 values are exact in float32, so the float32 sums are
within γ_d·‖x̂‖‖ŵ‖ of x̂·ŵ (any order, any blocking: the result and every partial sum are
float32). AMX treats bfloat16 subnormals as zero, so the rounding flushes them itself;
products or sums that underflow add at most 2d·2⁻¹²⁶. ‖x − x̂‖ is about 2⁻⁹‖x‖.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from functools import cache

import numba as nb
import numpy as np

from generator.art.engine import gamma
from generator.art.prescore import RoundedScorer, Rows

TINY = 2.0**-126  # the smallest normal float32 (and bfloat16)


@cache
def available() -> bool:
    """Whether torch has oneDNN here, whose fp32 precision setting this module uses."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return bool(torch.backends.mkldnn.is_available())


@cache
def fast() -> bool:
    """Whether oneDNN multiplies bfloat16 in hardware here (AMX-BF16, and the operating
    system lets this process use the tiles), where the bfloat16 product beats every other
    way of scoring a block. The CPU's features are read first: without AMX-BF16 the
    answer is no, and a worker need not import torch (a second) to learn it."""
    try:
        import llvmlite.binding as llb

        has_bf16 = bool(llb.get_host_cpu_features().get("amx-bf16", False))
    except RuntimeError:  # pragma: no cover - feature detection unsupported
        has_bf16 = False
    if not has_bf16 or not available():
        return False
    import torch

    tiles = getattr(torch.cpu, "_is_amx_tile_supported", None)
    enable = getattr(torch.cpu, "_init_amx", None)  # asks the kernel for the tile state
    return bool(tiles is not None and tiles() and enable is not None and enable())


@nb.njit(parallel=True, cache=True, nogil=True)
def round_rows(X, rows, Q, scale, err, norm):
    """Round X's rows `rows` to bfloat16 (to nearest, ties to even; subnormals to zero)
    into the same rows of Q (float32); per row an upper bound on ‖x − x̂‖ and ‖x‖."""
    d = X.shape[1]
    for r in nb.prange(len(rows)):
        i = rows[r]
        q = Q[i]
        for k in range(d):
            q[k] = np.float32(X[i, k])
        u = q.view(np.uint32)
        for k in range(d):
            v = u[k]
            u[k] = (v + np.uint32(0x7FFF) + ((v >> np.uint32(16)) & np.uint32(1))) & np.uint32(
                0xFFFF0000
            )
        ss = 0.0
        e2 = 0.0
        for k in range(d):
            if abs(q[k]) < TINY:
                q[k] = 0.0
            v = np.float64(X[i, k])
            res = v - np.float64(q[k])  # exact: x̂ is within a factor 2 of x, or 0
            ss += v * v
            e2 += res * res
        scale[i] = 1.0
        err[i] = math.sqrt(e2) * (1.0 + 1e-9) + 1e-300
        norm[i] = math.sqrt(ss) * (1.0 + 1e-12)


def padded(n: int) -> int:
    """n rounded up to a multiple of 2^(bit length - 5), at least 8: a step of at most
    n/16, so under 6.25% more work, and 16 distinct sizes per doubling."""
    step = 1 << max(3, n.bit_length() - 5)
    return -(-n // step) * step


@contextmanager
def _bf16_products():
    """oneDNN may multiply float32 matrices as bfloat16 inside this block (and only here)."""
    import torch

    mm = torch.backends.mkldnn.matmul
    old = mm.fp32_precision
    mm.fp32_precision = "bf16"
    try:
        yield
    finally:
        mm.fp32_precision = old


class Bf16Scorer(RoundedScorer):
    """Approximate block scores for cosine ART from bfloat16 rows (module docstring)."""

    name = "bf16"

    def __init__(self, dim: int, exact: bool):
        super().__init__(dim, exact)
        self.arith = gamma(dim, 2.0**-24)  # float32 sums of exact products
        self.absolute = 2.0 * dim * TINY

    def _new_rows(self, n: int) -> Rows:
        return Rows(n, self.dim, np.float32, round_rows)

    def strip_maxima(self, Xb: np.ndarray, state) -> tuple[np.ndarray, int, float]:
        """(M, 1, eps): M[r, c] for r < len(Xb), c < k0 is row r's approximate score of
        category c, within eps of the kernel's.

        M is a matrix of its own, not S: oneDNN writes S's wider rows markedly slower. Its
        shape is padded with zero rows to one of a few recurring sizes, because oneDNN
        builds a kernel for every new shape and block shapes otherwise never repeat."""
        import torch

        k0 = state.n_cat
        bp, kp = padded(len(Xb)), padded(k0)
        rows = self._rows(Xb, state, bp)
        self.cats.grow(kp)  # rows past the synced categories were never filled: zeros
        M = self._scratch.take(bp, kp, np.float32)
        x, w = torch.from_numpy(rows.Q), torch.from_numpy(self.cats.Q[:kp])
        with _bf16_products(), torch.no_grad():
            torch.matmul(x, w.T, out=torch.from_numpy(M))
        return M, 1, self._bound(rows)

    def scores(self, Xb: np.ndarray, state, S: np.ndarray) -> float:
        M, _, eps = self.strip_maxima(Xb, state)
        S[:, : state.n_cat] = M[: len(Xb), : state.n_cat]  # float32 widens exactly
        return eps
