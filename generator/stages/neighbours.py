"""Stage `neighbours`: every feature's nearest features by decoder cosine (for its card).

All n² cosines are computed in chunks (memory: chunk × n floats); at 65,536 × 1,024 that
is about 4.4·10¹² multiply-adds, a minute or two on a laptop-class CPU, and it is cached
like every stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

NAME = "neighbours"
VERSION = 1


@dataclass(frozen=True, eq=False)
class NeighboursIn:
    W: np.ndarray  # (n_features, d_in), every feature
    w_key: str
    k: int


@dataclass
class Neighbours:
    ids: np.ndarray  # (n_features, k) the nearest other features, most similar first
    cos: np.ndarray  # (n_features, k) their cosines


def key(inp: NeighboursIn) -> tuple[dict, dict]:
    return {"k": inp.k}, {"W_dec": inp.w_key}


def compute(inp: NeighboursIn) -> Neighbours:
    from generator.metrics import top_cosines

    return Neighbours(*top_cosines(inp.W, inp.k))


def save(out: Neighbours, folder: Path) -> None:
    np.savez(folder / "neighbours.npz", ids=out.ids, cos=out.cos)


def load(folder: Path) -> Neighbours:
    with np.load(folder / "neighbours.npz") as z:
        return Neighbours(z["ids"], z["cos"])
