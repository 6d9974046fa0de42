"""The `art` method: a hierarchy of ART modules, one vigilance per level.

Its runs come from the sweep's ART grid (`sweep.modules` × `sweep.rho_sets` ×
`sweep.hierarchy`). ART depends on the order samples arrive in, so a run presents the
selected features in the order `input_order(n, seed)` gives; labels are reported in
selection order. A fitted hierarchy can be saved into a cache entry and continued later
with `partial_fit` (`save_state`, `load_state`).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from generator.methods.base import Description, Diagnostics, Fit

if TYPE_CHECKING:
    from generator.art import Hierarchy
    from generator.config import SweepConfig

# module parameters that change speed or precision, not the taxonomy: left out of run ids
_NOT_IN_ID = ("dtype", "device", "block_size")
STATE_FILE = "hierarchy.npz"


def input_order(n: int, seed: int) -> np.ndarray:
    """The order a run presents the selected features in (ART depends on it)."""
    return np.random.default_rng(seed).permutation(n)


class ArtMethod:
    """ART hierarchies (nested or SMART) of any registered ART module."""

    name = "art"
    summary = (
        "Adaptive Resonance Theory: one ART module per vigilance level, coarse to fine "
        "(grid: sweep.modules × sweep.rho_sets × sweep.hierarchy)"
    )

    def check_params(self, params: dict[str, Any]) -> None:
        if params:
            raise ValueError(
                f"method 'art' takes no params (got {sorted(params)}); its runs come from "
                "sweep.modules, sweep.rho_sets and sweep.hierarchy"
            )

    def expand(self, sweep: SweepConfig, params: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {
                "module": mod.name,
                "module_params": dict(sorted(mod.params.items())),
                "rho_values": list(rhos),
                "hierarchy": mode,
            }
            for rhos, mod, mode in itertools.product(sweep.rho_sets, sweep.modules, sweep.hierarchy)
        ]

    def run_name(self, params: dict[str, Any]) -> tuple[str, str]:
        rho = "-".join(f"{r:g}" for r in params["rho_values"])
        extra = "".join(
            f"-{k}{v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else f"-{k}{v}"
            for k, v in params["module_params"].items()
            if k not in _NOT_IN_ID
        )
        prefix = f"{params['module'].replace('.', '_')}-{params['hierarchy']}"
        return prefix, f"rho{rho}{extra}"

    def describe(self, params: dict[str, Any]) -> Description:
        return Description(
            f"{params['module']} ART, {params['hierarchy']} hierarchy",
            "vigilance ρ",
            list(params["rho_values"]),
        )

    def hierarchy(self, params: dict[str, Any]) -> Hierarchy:
        """The unfitted hierarchy a run with these parameters fits."""
        from generator.art import Hierarchy

        return Hierarchy(
            params["module"],
            list(params["rho_values"]),
            mode=params["hierarchy"],
            params=dict(params["module_params"]),
        )

    def fit(self, X: np.ndarray, params: dict[str, Any], seed: int) -> Fit:
        n = X.shape[0]
        order = input_order(n, seed)
        h = self.hierarchy(params)
        h.fit(h.prepare_data(X[order]))
        inv = np.empty(n, np.int64)
        inv[order] = np.arange(n)
        L = len(h.n_clusters_)
        parents = [np.full(h.n_clusters_[0], -1, np.int64)] + [h.parents_(k) for k in range(1, L)]
        return Fit(
            h.labels_deep_[inv],
            parents,
            Diagnostics(h.match_deep_[inv], h.margin_deep_[inv], h.created_deep_[inv]),
        )


def save_state(h: Hierarchy, folder: Path) -> None:
    """Write a fitted hierarchy into a (cache entry) folder."""
    np.savez(Path(folder) / STATE_FILE, **h.get_state())


def load_state(folder: Path) -> Hierarchy:
    """The hierarchy `save_state` wrote, ready to continue with `partial_fit`."""
    from generator.art import Hierarchy

    with np.load(Path(folder) / STATE_FILE) as z:
        return Hierarchy.from_state({k: z[k] for k in z.files})
