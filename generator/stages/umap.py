"""Stage `umap`: the 2-D map of the selected features (cosine UMAP, seeded)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generator.stages.selection import SelectedRows

NAME = "umap"
VERSION = 1


@dataclass(frozen=True, eq=False)
class UmapIn:
    rows: SelectedRows
    n_neighbors: int
    min_dist: float
    seed: int


def key(inp: UmapIn) -> tuple[dict, dict]:
    params = {"n_neighbors": inp.n_neighbors, "min_dist": inp.min_dist, "seed": inp.seed}
    return params, inp.rows.hashes()


def compute(inp: UmapIn) -> np.ndarray:
    """(n_selected, 2) float32 coordinates."""
    from generator.embed import umap_2d

    return umap_2d(inp.rows.W, n_neighbors=inp.n_neighbors, min_dist=inp.min_dist, seed=inp.seed)


def save(out: np.ndarray, folder: Path) -> None:
    np.save(folder / "xy.npy", out)


def load(folder: Path) -> np.ndarray:
    return np.load(folder / "xy.npy")
