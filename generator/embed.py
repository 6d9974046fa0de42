"""A 2-D map of the kept features: UMAP on cosine distance, seeded, computed once per selection."""

from __future__ import annotations

import logging
import os

import numpy as np

log = logging.getLogger(__name__)


def umap_2d(X: np.ndarray, *, n_neighbors: int, min_dist: float, seed: int) -> np.ndarray:
    """(n, 2) float32 coordinates; tiny inputs fall back to the first two PCA axes."""
    n = X.shape[0]
    if n < max(n_neighbors + 2, 10):
        log.info("only %d features: using PCA instead of UMAP for the map", n)
        Z = X - X.mean(axis=0)
        _, _, vt = np.linalg.svd(Z, full_matrices=False)
        out = Z @ vt[:2].T
        return np.pad(out, ((0, 0), (0, 2 - out.shape[1]))).astype(np.float32)
    os.environ.setdefault("NUMBA_DISABLE_PERFORMANCE_WARNINGS", "1")
    import umap

    from generator.progress import bar_disabled

    reducer = umap.UMAP(
        n_components=2,
        n_neighbors=n_neighbors,
        min_dist=min_dist,
        metric="cosine",
        random_state=seed,
        n_jobs=1,
        low_memory=True,
        tqdm_kwds={"disable": bar_disabled(), "desc": "umap epochs", "leave": False},
    )
    return reducer.fit_transform(np.asarray(X, dtype=np.float32)).astype(np.float32)
