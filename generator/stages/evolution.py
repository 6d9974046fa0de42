"""Stage `evolution`: one snapshot presented to an evolving taxonomy.

The entry for snapshot i is keyed on the entry of snapshot i − 1 (and on the snapshot's
own rows), so appending a snapshot reuses every earlier step from the cache, and the
hierarchy's saved state in the previous entry is what `partial_fit` continues. The first
snapshot fits the hierarchy as the chosen run does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from generator.evolution import Step
from generator.lens import NormMode
from generator.sources.lens import LensHandle

NAME = "evolution"
VERSION = 1


@dataclass(frozen=True, eq=False)
class EvolutionIn:
    params: dict[str, Any]  # the chosen ART run's parameters
    seed: int
    index: int  # the snapshot's place in the evolution (0: the fit)
    prev: Step | None
    prev_key: str | None
    X: np.ndarray  # (n, dims) the snapshot's selected features as the run clusters them
    x_key: str
    W_rows: np.ndarray  # (n, d_in) the same features' decoder rows (for family tokens)
    global_mean: np.ndarray  # (d_in,) the snapshot's mean decoder row
    lens: LensHandle
    lens_key: str
    layernorm: NormMode
    top_k: int
    device: str


def key(inp: EvolutionIn) -> tuple[dict, dict]:
    params = {
        "params": inp.params,
        "seed": inp.seed,
        "index": inp.index,
        "layernorm": inp.layernorm,
        "top_k": inp.top_k,
    }
    return params, {"prev": inp.prev_key or "none", "X": inp.x_key, "lens": inp.lens_key}


def compute(inp: EvolutionIn) -> Step:
    from generator.art import Hierarchy
    from generator.evolution import drift, family_tokens, first_step, next_step, prototypes

    seed = inp.seed + inp.index  # each snapshot its own order, as a run's seed gives one
    if inp.prev is None:
        h, labels = first_step(inp.X, inp.params, seed)
        L = labels.shape[1]
        n_before = np.zeros(L, np.int64)
        moved: list[np.ndarray] = [np.zeros(0) for _ in range(L)]
    else:
        h = Hierarchy.from_state(inp.prev.state)
        n_before = np.array(h.n_clusters_, np.int64)
        before = prototypes(h)
        labels = next_step(h, inp.X, inp.params, seed)
        moved = drift(before, prototypes(h))
    n_after = np.array(h.n_clusters_, np.int64)
    L = labels.shape[1]
    lens = inp.lens.get()
    return Step(
        state=h.get_state(),
        level_values=[float(r) for r in h.rho_values],
        labels=labels.astype(np.int64),
        resonated=labels < n_before[None, :],
        n_before=n_before,
        n_after=n_after,
        members=[np.bincount(labels[:, k], minlength=n_after[k]) for k in range(L)],
        drift=moved,
        tokens=[
            family_tokens(
                inp.W_rows,
                labels[:, k],
                int(n_after[k]),
                inp.global_mean,
                lens,
                inp.layernorm,
                inp.top_k,
                inp.device,
            )  # fmt: skip
            for k in range(L)
        ],
    )


def _flat(arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate(arrays), np.cumsum([0] + [len(a) for a in arrays])


def save(out: Step, folder: Path) -> None:
    np.savez(folder / "state.npz", **out.state)
    members, m_off = _flat(out.members)
    drifts, d_off = _flat(out.drift)
    tokens, t_off = _flat(out.tokens)
    np.savez(
        folder / "step.npz",
        level_values=np.array(out.level_values),
        labels=out.labels,
        resonated=out.resonated,
        n_before=out.n_before,
        n_after=out.n_after,
        members=members,
        m_off=m_off,
        drift=drifts,
        d_off=d_off,
        tokens=tokens,
        t_off=t_off,
    )


def load(folder: Path) -> Step:
    with np.load(folder / "state.npz") as z:
        state = {k: z[k] for k in z.files}
    with np.load(folder / "step.npz") as z:

        def split(name: str, off: str) -> list[np.ndarray]:
            o = z[off]
            return [z[name][o[i] : o[i + 1]] for i in range(len(o) - 1)]

        return Step(
            state,
            z["level_values"].tolist(),
            z["labels"],
            z["resonated"],
            z["n_before"],
            z["n_after"],
            split("members", "m_off"),
            split("drift", "d_off"),
            split("tokens", "t_off"),
        )
