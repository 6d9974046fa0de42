"""FuzzyART (Carpenter, Grossberg & Rosen 1991) on the block kernels, with artlib's semantics.

Per-column min-max scaling with stored bounds, complement coding, choice
|x∧w|/(α+|w|), match |x∧w|/d, learning w ← β(x∧w)+(1−β)w, ties to the lowest index.
`BlockFuzzyART` is the engine the pipeline and `Hierarchy` use (scikit-learn
conventions, saved state, diagnostics); in float64 its labels and weights are artlib's,
bit for bit. The drop-in for `artlib.FuzzyART` (artlib's own class, with this engine
behind `fit`, `partial_fit` and `predict`) is `generator.art.dropin.FuzzyART`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from generator.art import _kernels as K
from generator.art.base import BlockART, Param
from generator.art.engine import Rule
from generator.errors import DataError, check_finite_rows


def check_raw_data(X: Any) -> np.ndarray:
    """What `prepare_data` needs of raw data (2-D, every row finite), as float64."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise DataError(f"FuzzyART.prepare_data expects a 2-D array; got shape {X.shape}.")
    check_finite_rows(np.isfinite(X).all(axis=1), "FuzzyART.prepare_data")
    return X


class BlockFuzzyART(BlockART):
    """Fuzzy ART clustering of complement-coded samples (hyper-box categories).

    float64 by default: artlib's labels and weights, bit for bit. `dtype="float32"` is the fast choice (the pipeline's) and may differ from
    artlib where a match ties its vigilance to within float32 rounding."""

    DTYPE = "float64"
    OWNER = "FuzzyART"

    PARAMS = (
        Param("rho", "real", 0.0, 1.0, default=0.8, help="vigilance: minimum match |x∧w|/d"),
        Param("alpha", "real", 0.0, None, default=1e-3, help="choice parameter"),
        Param(
            "beta",
            "real",
            0.0,
            1.0,
            low_open=True,
            default=1.0,
            help="learning rate (1 = fast learning)",
        ),
    )

    def __init__(
        self,
        rho: float = 0.8,
        alpha: float = 1e-3,
        beta: float = 1.0,
        *,
        dtype: str = "float64",
        device: str = "auto",
        block_size: int = 64,
    ):
        self.rho = rho
        self.alpha = alpha
        self.beta = beta
        self.dtype = dtype
        self.device = device
        self.block_size = block_size
        self.d_min_: np.ndarray | None = None
        self.d_max_: np.ndarray | None = None

    # ------------------------------------------------------------------ data
    def set_data_bounds(self, lower_bounds: Any, upper_bounds: Any) -> None:
        """Fix the per-column bounds used by `prepare_data` (before fitting)."""
        if hasattr(self, "state_"):
            raise ValueError("Cannot change data limits after fit.")
        self.d_min_ = np.asarray(lower_bounds, dtype=np.float64)
        self.d_max_ = np.asarray(upper_bounds, dtype=np.float64)

    @staticmethod
    def find_data_bounds(*data_batches: Any) -> tuple[np.ndarray, np.ndarray]:
        """Column minima and maxima over several batches."""
        allx = np.vstack(data_batches)
        return allx.min(axis=0), allx.max(axis=0)

    def prepare_data(self, X: Any) -> np.ndarray:
        """Scale each column to [0, 1] with stored bounds, then complement-code."""
        X = check_raw_data(X)
        if self.d_min_ is None:
            self.d_min_ = X.min(axis=0)
        if self.d_max_ is None:
            self.d_max_ = X.max(axis=0)
        rng = self.d_max_ - self.d_min_
        flat = rng == 0
        norm = np.zeros_like(X)  # a constant column maps to 0, as in artlib
        norm[:, ~flat] = (X[:, ~flat] - self.d_min_[~flat]) / rng[~flat]
        return np.hstack([norm, 1.0 - norm])

    def restore_data(self, X: Any) -> np.ndarray:
        """Undo complement coding and scaling."""
        X = np.asarray(X, dtype=np.float64)
        m = X.shape[1] // 2
        mean = (X[:, :m] + 1 - X[:, m:]) / 2
        return mean * (self.d_max_ - self.d_min_) + self.d_min_

    def _check_rows(
        self, X: np.ndarray, lo: np.ndarray, hi: np.ndarray, total: np.ndarray, sumsq: np.ndarray
    ) -> None:
        if X.shape[1] % 2:
            raise DataError(
                f"FuzzyART expects complement-coded data (an even width); got width {X.shape[1]}. Use prepare_data."
            )
        if lo.min() < 0 or hi.max() > 1:
            where = int(np.argmin(lo)) if lo.min() < 0 else int(np.argmax(hi))
            raise DataError(
                f"FuzzyART expects prepared values in [0, 1]; row {where} has values in [{lo[where]:g}, {hi[where]:g}]. "
                + (
                    "Use set_data_bounds with bounds covering every batch before the first fit."
                    if hasattr(self, "state_")
                    else "Use prepare_data."
                )
            )
        off = np.abs(total - X.shape[1] / 2)
        if (off > 0.01).any():
            raise DataError(
                f"FuzzyART: row {int(np.argmax(off))} is not complement coded (x and 1-x halves). Use prepare_data."
            )

    # ------------------------------------------------------------------ saved state
    def get_state(self) -> dict[str, np.ndarray]:
        """Categories and counters, plus the data bounds `prepare_data` scales with."""
        state = super().get_state()
        if self.d_min_ is not None and self.d_max_ is not None:
            state["d_min"], state["d_max"] = self.d_min_.copy(), self.d_max_.copy()
        return state

    def set_state(self, state: dict[str, np.ndarray]) -> BlockFuzzyART:
        super().set_state(state)
        if "d_min" in state:
            self.d_min_ = np.asarray(state["d_min"], np.float64)
            self.d_max_ = np.asarray(state["d_max"], np.float64)
        return self

    # ------------------------------------------------------------------ engine
    def _norm_kind(self) -> bool:
        return True

    def _rule(self, p: dict[str, Any], mode: int = 0, epsilon: float = 0.0) -> Rule:
        return Rule(
            K.KIND_FUZZY,
            K.MINSUM,
            p["dtype"] == "float64",
            p["rho"],
            p["alpha"],
            p["beta"],
            float(self.dim_ // 2),
            p["block_size"],
            mode,
            epsilon,
            p["device"],
        )

    # ------------------------------------------------------------------ inspection
    @property
    def box_widths_(self) -> np.ndarray:
        """Per category and input column, the width of its box in prepared units."""
        W = self.weights_.astype(np.float64)
        m = W.shape[1] // 2
        return (1.0 - W[:, m:]) - W[:, :m]

    def get_bounding_boxes(self, n: int | None = None) -> list[tuple[list[float], list[float]]]:
        """artlib-style (reference point, widths) per category."""
        W = self.weights_.astype(np.float64)
        m = W.shape[1] // 2
        n = m if n is None else n
        return [(list(w[:n]), list((1 - w[m : m + n]) - w[:n])) for w in W]

    def get_cluster_centers(self) -> list[np.ndarray]:
        """Box centres in the original data space."""
        return list(self.restore_data(self.weights_.astype(np.float64)))
