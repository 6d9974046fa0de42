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


ORDERS = ("random", "density")
DEFAULTS = {"order": "random", "members": 1, "fraction": 0.9, "auto_levels": [0.3, 0.55, 0.8]}
AUTO_SAMPLE = 8192  # rows whose nearest-neighbour cosine places the `auto` levels


class ArtMethod:
    """ART hierarchies (nested or SMART) of any registered ART module."""

    name = "art"
    version = 2  # 2: consensus members are whole mean-ART hierarchies
    summary = (
        "Adaptive Resonance Theory: one ART module per vigilance level, coarse to fine "
        "(grid: sweep.modules × sweep.rho_sets × sweep.hierarchy; params: order, members, "
        "fraction, auto_levels)"
    )

    def check_params(self, params: dict[str, Any]) -> None:
        from generator.art.base import check_levels, check_names

        check_names("method 'art'", DEFAULTS, params)
        p = {**DEFAULTS, **params}
        if p["order"] not in ORDERS:
            raise ValueError(
                f"method 'art': order must be one of {', '.join(ORDERS)}; got {p['order']!r}"
            )
        m = p["members"]
        if isinstance(m, bool) or not isinstance(m, int) or m < 1:
            raise ValueError(f"method 'art': members must be an integer ≥ 1; got {m!r}")
        f = p["fraction"]
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f <= 1:
            raise ValueError(f"method 'art': fraction must be a number in (0, 1]; got {f!r}")
        levels = p["auto_levels"]
        if not isinstance(levels, list) or not all(
            isinstance(v, (int, float)) and 0 < v <= 1 for v in levels
        ):
            raise ValueError(
                "method 'art': auto_levels must be a list of fractions in (0, 1] of the "
                f"median nearest-neighbour cosine; got {levels!r}"
            )
        check_levels(levels, "method 'art': auto_levels")

    def expand(self, sweep: SweepConfig, params: dict[str, Any]) -> list[dict[str, Any]]:
        from generator.errors import ConfigError

        p = {**DEFAULTS, **params}
        runs = []
        for rhos, mod, mode in itertools.product(sweep.rho_sets, sweep.modules, sweep.hierarchy):
            if p["members"] > 1 and (mod.name != "mean" or mode != "nested"):
                raise ConfigError(
                    f"method 'art' with members: {p['members']} (a consensus) needs the 'mean' "
                    f"module and the nested hierarchy; got module {mod.name!r}, hierarchy "
                    f"{mode!r}. Use members: 1 for other modules."
                )
            runs.append(
                {
                    "module": mod.name,
                    "module_params": dict(sorted(mod.params.items())),
                    "rho_values": rhos if rhos == "auto" else list(rhos),
                    "hierarchy": mode,
                    **p,
                }
            )
        return runs

    def run_name(self, params: dict[str, Any]) -> tuple[str, str]:
        rhos = params["rho_values"]
        rho = "auto" if rhos == "auto" else "-".join(f"{r:g}" for r in rhos)
        extra = "".join(
            f"-{k}{v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else f"-{k}{v}"
            for k, v in params["module_params"].items()
            if k not in _NOT_IN_ID
        )
        if params.get("order", "random") != "random":
            extra += f"-{params['order']}"
        if params.get("members", 1) > 1:
            extra += f"-consensus{params['members']}"
        prefix = f"{params['module'].replace('.', '_')}-{params['hierarchy']}"
        return prefix, f"rho{rho}{extra}"

    def describe(self, params: dict[str, Any]) -> Description:
        label = f"{params['module']} ART, {params['hierarchy']} hierarchy"
        if params.get("members", 1) > 1:
            label += f", consensus of {params['members']}"
        if params.get("order", "random") == "density":
            label += ", densest first"
        rhos = params["rho_values"]
        return Description(label, "vigilance ρ", [] if rhos == "auto" else list(rhos))

    def levels(self, X: np.ndarray, params: dict[str, Any]) -> list[float]:
        """The vigilance per level; `auto` places them at fractions of the median cosine
        of a row to its nearest neighbour in X (rounded to 3 decimals). With mean ART a
        pair joins when its cosine reaches ρ, so the finest level (0.8 of the median)
        lets most features find their nearest neighbour, and the coarser ones ask for
        families held together at half that and less."""
        if params["rho_values"] != "auto":
            return [float(r) for r in params["rho_values"]]
        from generator.methods.consensus import canonical_order
        from generator.metrics import nearest_neighbour_cosines

        rows = np.sort(canonical_order(X)[:AUTO_SAMPLE])  # the same rows for any input order
        med = float(np.median(nearest_neighbour_cosines(X, AUTO_SAMPLE, 0, rows=rows)))
        return [round(f * med, 3) for f in params.get("auto_levels", DEFAULTS["auto_levels"])]

    def hierarchy(self, params: dict[str, Any], rhos: list[float] | None = None) -> Hierarchy:
        """The unfitted hierarchy a run with these parameters fits."""
        from generator.art import Hierarchy

        module_params = dict(params["module_params"])
        if params["module"] == "fuzzy":  # the drop-in's exact default is ~30x slower
            module_params.setdefault("dtype", "float32")
        return Hierarchy(
            params["module"],
            rhos if rhos is not None else list(params["rho_values"]),
            mode=params["hierarchy"],
            params=module_params,
        )

    def fit(self, X: np.ndarray, params: dict[str, Any], seed: int) -> Fit:
        from generator.methods import consensus

        p = {**DEFAULTS, **params}
        rhos = self.levels(X, p)
        if p["members"] > 1:
            Xu = self.hierarchy(p, rhos).prepare_data(X)
            fit = consensus.fit_consensus(
                Xu, rhos, dict(p["module_params"]), p["members"], p["fraction"], seed
            )
            fit.level_values = rhos
            return fit
        n = X.shape[0]
        h = self.hierarchy(p, rhos)
        if p["order"] == "density":
            Xp = h.prepare_data(X)
            order = consensus.presentation_order(Xp, consensus.density(Xp))
        else:
            order = input_order(n, seed)
        h.fit(h.prepare_rows(X, order))  # the working copy in presentation order, at once
        inv = np.empty(n, np.int64)
        inv[order] = np.arange(n)
        L = len(h.n_clusters_)
        parents = [np.full(h.n_clusters_[0], -1, np.int64)] + [h.parents_(k) for k in range(1, L)]
        return Fit(
            h.labels_deep_[inv],
            parents,
            Diagnostics(h.match_deep_[inv], h.margin_deep_[inv], h.created_deep_[inv]),
            rhos,
        )

    def model(self, X: np.ndarray, fit: Fit, params: dict[str, Any]) -> Hierarchy:
        """A fitted mean-ART hierarchy whose categories are the fit's families (the mean of
        their unit members and their sizes): `partial_fit` on it presents new features to
        this taxonomy, which they join or extend."""
        from generator.art import Hierarchy
        from generator.metrics import cluster_means

        if params["module"] != "mean":
            raise ValueError("only a mean-ART run can be turned into a model of its families")
        rhos = fit.level_values or self.levels(X, params)
        h = Hierarchy("mean", rhos, mode="nested", params=dict(params["module_params"]))
        Xu = h.prepare_data(X).astype(np.float32)
        state = {"config": h.state_config()}
        for k in range(fit.labels.shape[1]):
            lab = fit.labels[:, k]
            C = int(lab.max()) + 1
            W = cluster_means(Xu, lab, C).astype(np.float32)
            state.update(
                {
                    f"level{k}.W": W,
                    f"level{k}.wnorm": np.ones(C),
                    f"level{k}.parent": np.asarray(fit.parents[k], np.int64),
                    f"level{k}.counts": np.bincount(lab, minlength=C).astype(np.int64),
                    f"level{k}.labels": lab.astype(np.int64),
                    f"level{k}.match": np.einsum("ij,ij->i", Xu, W[lab]).astype(np.float64),
                    f"level{k}.margin": np.full(len(lab), np.nan),
                    f"level{k}.created": np.bincount(lab, minlength=C)[lab] == 1,
                }
            )
        return Hierarchy.from_state(state)


def save_state(h: Hierarchy, folder: Path) -> None:
    """Write a fitted hierarchy into a (cache entry) folder."""
    np.savez(Path(folder) / STATE_FILE, **h.get_state())


def load_state(folder: Path) -> Hierarchy:
    """The hierarchy `save_state` wrote, ready to continue with `partial_fit`."""
    from generator.art import Hierarchy

    with np.load(Path(folder) / STATE_FILE) as z:
        return Hierarchy.from_state({k: z[k] for k in z.files})
