"""Stage `selection`: junk flags from each feature's top tokens, then the (optionally
subsampled) features that are clustered, in SAE order."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generator.config import JunkConfig
from generator.errors import DataError
from generator.stages.lens import LensOut

NAME = "selection"
VERSION = 1


@dataclass(frozen=True, eq=False)
class SelectionIn:
    lens: LensOut
    lens_key: str
    junk: JunkConfig
    max_features: int | None
    seed: int


@dataclass
class Selection:
    junk_count: np.ndarray  # (n_features,) junk tokens among each feature's top_n
    junk: np.ndarray  # (n_features,) bool
    selected: np.ndarray  # feature ids that are clustered, ascending

    @property
    def n_features(self) -> int:
        return len(self.junk)


@dataclass(frozen=True, eq=False)
class SelectedRows:
    """The decoder rows of the selected features, with the hashes they derive from (what
    the stages downstream of the selection are keyed on)."""

    W: np.ndarray  # (n_selected, d_in), selection order
    w_key: str  # content hash of the whole decoder
    selection_key: str

    def hashes(self) -> dict[str, str]:
        return {"W_dec": self.w_key, "selection": self.selection_key}


def key(inp: SelectionIn) -> tuple[dict, dict]:
    params = {
        "junk": inp.junk.model_dump(mode="json"),
        "max_features": inp.max_features,
        "seed": inp.seed,
    }
    return params, {"lens": inp.lens_key}


def compute(inp: SelectionIn) -> Selection:
    from generator.lens import junk_counts

    j = inp.junk
    counts = junk_counts(inp.lens.table.top_ids, inp.lens.classes, list(j.classes), j.top_n)
    junk = counts >= j.min_junk
    kept = np.flatnonzero(~junk)
    if inp.max_features is not None and len(kept) > inp.max_features:
        rng = np.random.default_rng(inp.seed)
        kept = np.sort(rng.choice(kept, size=inp.max_features, replace=False))
    if len(kept) < 2:
        raise DataError(
            f"only {len(kept)} of {len(junk)} features remain after the junk filter "
            f"(selection.junk: {j.min_junk} of top {j.top_n} in {list(j.classes)}); "
            "at least 2 are needed. Loosen selection.junk or check the lens model."
        )
    return Selection(counts, junk, kept.astype(np.int64))


def save(out: Selection, folder: Path) -> None:
    np.savez(
        folder / "selection.npz", junk_count=out.junk_count, junk=out.junk, selected=out.selected
    )


def load(folder: Path) -> Selection:
    with np.load(folder / "selection.npz") as z:
        return Selection(z["junk_count"], z["junk"], z["selected"])
