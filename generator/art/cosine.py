"""Cosine ART (ART2-A style) for unit-norm directions such as SAE decoder rows.

Choice and match are both the cosine x·w of a unit sample with a unit prototype; a sample
joins the most similar category if that cosine reaches the vigilance ρ, else it founds a
new one. Learning moves the prototype toward the sample and renormalises it:
w ← (βx + (1−β)w) / ‖βx + (1−β)w‖. Unlike FuzzyART's boxes this is rotation invariant,
the natural geometry for directions, and its scores are matrix products.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from generator.art import _kernels as K
from generator.art.base import _DTYPES, BlockART, Param, row_chunks
from generator.art.engine import Rule
from generator.errors import DataError, check_finite_rows

UNIT_TOL = 1e-3


class CosineART(BlockART):
    """Leader-follower clustering of unit vectors with vigilance on cosine similarity."""

    BLOCK_SIZE = 256  # a cosine block's product is one matrix product: larger runs faster
    PARAMS = (
        Param(
            "rho",
            "real",
            -1.0,
            1.0,
            default=0.5,
            help="vigilance: minimum cosine to join a category",
        ),
        Param(
            "beta",
            "real",
            0.0,
            1.0,
            low_open=True,
            default=0.5,
            help="learning rate of the prototype's moving average (1 = follow the last sample)",
        ),
        Param(
            "prescore",
            "choice",
            choices=("auto", "bf16", "int16", "none"),
            default="auto",
            help="score blocks first from rows rounded to bfloat16 (fast with AMX) or int16 "
            "(AVX2), then exactly only the pairs that could decide; labels do not depend on it",
        ),
    )

    def __init__(
        self,
        rho: float = 0.5,
        beta: float = 0.5,
        *,
        dtype: str = "float32",
        device: str = "auto",
        block_size: int = 256,
        prescore: str = "auto",
    ):
        self.rho = rho
        self.beta = beta
        self.prescore = prescore
        self.dtype = dtype
        self.device = device
        self.block_size = block_size

    def prepare_data(self, X: Any) -> np.ndarray:
        """Scale each row to unit length (a zero row has no direction and is rejected)."""
        return _unit_rows(X, None, np.float64, "CosineART.prepare_data")

    def prepare_rows(self, X: Any, rows: np.ndarray | None = None) -> np.ndarray:
        """`prepare_data(X)[rows]` in the working dtype, the same values, without the
        float64 copy of X: rows are scaled in float64 a chunk at a time and stored cast."""
        dtype = _DTYPES[self._validated()["dtype"]]
        return _unit_rows(X, rows, dtype, "CosineART.prepare_data")

    def restore_data(self, X: Any) -> np.ndarray:
        return np.asarray(X)

    def _check_rows(
        self, X: np.ndarray, lo: np.ndarray, hi: np.ndarray, total: np.ndarray, sumsq: np.ndarray
    ) -> None:
        off = np.abs(np.sqrt(sumsq) - 1.0)
        if (off > UNIT_TOL).any():
            i = int(np.argmax(off))
            raise DataError(
                f"CosineART expects unit-norm rows; row {i} has norm {np.sqrt(sumsq[i]):.4g}. Use prepare_data."
            )

    def _rule(self, p: dict[str, Any], mode: int = 0, epsilon: float = 0.0) -> Rule:
        return Rule(
            K.KIND_COSINE,
            K.DOT,
            p["dtype"] == "float64",
            p["rho"],
            0.0,
            p["beta"],
            1.0,
            p["block_size"],
            mode,
            epsilon,
            p["device"],
            p["prescore"],
        )

    def get_cluster_centers(self) -> list[np.ndarray]:
        return list(self.weights_.astype(np.float64))


def _unit_rows(X: Any, rows: np.ndarray | None, dtype: Any, where: str) -> np.ndarray:
    """X[rows] (X without rows) scaled to unit rows in float64 and stored as `dtype`, in
    row chunks (no temporary of X's size); rows with NaN or infinities, or all zeros,
    are named by their number in X."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise DataError(f"{where} expects a 2-D array; got shape {X.shape}.")
    n = len(X) if rows is None else len(rows)
    out = np.empty((n, X.shape[1]), dtype)
    finite = np.empty(n, bool)
    norms = np.empty(n)
    with np.errstate(invalid="ignore", divide="ignore"):  # bad rows are named below
        for part in row_chunks(n, 8 * X.shape[1]):
            x = X[part if rows is None else rows[part]].astype(np.float64)
            finite[part] = np.isfinite(x).all(axis=1)
            norms[part] = np.linalg.norm(x, axis=1)
            out[part] = np.divide(x, norms[part, None], out=x)
    at = np.arange(n) if rows is None else np.asarray(rows)
    bad = np.zeros(len(X), bool)
    bad[at[~finite]] = True
    check_finite_rows(~bad, where)
    bad[at[norms == 0]] = True
    if bad.any():
        zero = np.flatnonzero(bad)
        raise DataError(
            f"{where}: rows {', '.join(map(str, zero[:10]))} are all zeros and have no direction."
        )
    return out
