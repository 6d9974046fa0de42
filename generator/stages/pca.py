"""Stage `pca`: one full-spectrum PCA of the selected decoder rows; every PCA setting of
the sweep is a truncation of it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generator.reduce import PcaFit
from generator.stages.selection import SelectedRows

NAME = "pca"
VERSION = 1


@dataclass(frozen=True, eq=False)
class PcaIn:
    rows: SelectedRows
    seed: int


def key(inp: PcaIn) -> tuple[dict, dict]:
    return {"seed": inp.seed}, inp.rows.hashes()


def compute(inp: PcaIn) -> PcaFit:
    from generator.reduce import fit_pca

    return fit_pca(inp.rows.W, inp.seed)


def save(out: PcaFit, folder: Path) -> None:
    np.savez(
        folder / "pca.npz",
        mean=out.mean,
        components=out.components,
        evr=out.explained_variance_ratio,
    )


def load(folder: Path) -> PcaFit:
    with np.load(folder / "pca.npz") as z:
        return PcaFit(z["mean"], z["components"], z["evr"])
