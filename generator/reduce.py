"""PCA of the selected decoder rows: one full fit, then every setting is a truncation.

The full spectrum gives the variance landscape (dims needed for 50/80/90/95/99 % of the
variance) that tells a reader what each PCA setting throws away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LANDSCAPE_LEVELS = (0.5, 0.8, 0.9, 0.95, 0.99)


@dataclass
class PcaFit:
    """Mean, principal axes (rows) and explained-variance ratios of a full PCA."""

    mean: np.ndarray  # (d,)
    components: np.ndarray  # (n_components, d)
    explained_variance_ratio: np.ndarray  # (n_components,)

    def landscape(self) -> dict[str, int | None]:
        """Smallest number of dims reaching each variance level (None if never)."""
        cum = np.cumsum(self.explained_variance_ratio)
        out: dict[str, int | None] = {}
        for level in LANDSCAPE_LEVELS:
            i = int(np.searchsorted(cum, level - 1e-12))
            out[f"{int(round(level * 100))}%"] = i + 1 if i < len(cum) else None
        return out

    def explained(self, dims: int | None) -> float:
        """Fraction of variance kept by `dims` components (1.0 for raw dims)."""
        if dims is None:
            return 1.0
        return float(np.sum(self.explained_variance_ratio[:dims]))

    def project(self, X: np.ndarray, dims: int | None) -> np.ndarray:
        """X in the first `dims` principal coordinates; raw X for None."""
        if dims is None:
            return np.asarray(X, dtype=np.float32)
        Z = (np.asarray(X, dtype=np.float64) - self.mean) @ self.components[:dims].T
        return Z.astype(np.float32)


def fit_pca(X: np.ndarray, seed: int) -> PcaFit:
    """Full-spectrum PCA (min(n, d) components) of the rows of X."""
    from sklearn.decomposition import PCA

    n_comp = int(min(X.shape))
    # many more rows than columns: the d×d covariance's eigh is exact and far cheaper
    solver = "covariance_eigh" if X.shape[0] >= 2 * X.shape[1] else "full"
    pca = PCA(n_components=n_comp, svd_solver=solver, random_state=seed)
    # rows that are all the same direction have zero total variance: the ratios are NaN,
    # which the artifacts record as null, not a numpy warning on the user's terminal
    with np.errstate(invalid="ignore", divide="ignore"):
        pca.fit(np.asarray(X, dtype=np.float64))
    return PcaFit(
        pca.mean_.astype(np.float64),
        pca.components_.astype(np.float64),
        pca.explained_variance_ratio_.astype(np.float64),
    )
