"""ART hierarchies: one module per vigilance level, coarse to fine, every child with one parent.

- `smart`: Bartfai's SMART as artlib builds it (an ARTMAP chain): level 0 is plain ART;
  level k searches all its categories by choice and, when a category resonates but
  belongs to another parent, raises vigilance to that match (MT+) and searches on.
  In float64 labels equal `artlib.SMART` label for label.
- `nested`: the seed notebook's rule: a level-k category only ever sees samples of the
  parent it was created under; no match tracking. Each parent's samples form an
  independent ART run, which is what makes deep levels cheap.

Levels are fitted one after the other over the whole batch (as artlib does), so
`partial_fit` over k batches equals one `fit`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from generator.art import _kernels as K
from generator.art.base import BlockART, ParamError, check_levels

MODES = ("smart", "nested")


def _check_rhos(rho_values: Sequence[float], owner: str) -> list[float]:
    try:
        rhos = [float(r) for r in rho_values]
    except (TypeError, ValueError):
        raise ParamError(
            f"The 'rho_values' parameter of {owner} must be a list of floats. Got {rho_values!r} instead."
        ) from None
    return check_levels(rhos, f"The 'rho_values' parameter of {owner}")


class Hierarchy:
    """A stack of ART modules, one per vigilance, joined by the `smart` or `nested` rule."""

    def __init__(
        self,
        module: Any = "cosine",
        rho_values: Sequence[float] = (0.2, 0.5, 0.8),
        *,
        mode: str = "nested",
        params: dict[str, Any] | None = None,
        epsilon: float = 0.0,
    ):
        self.module = module
        self.rho_values = rho_values
        self.mode = mode
        self.params = params
        self.epsilon = epsilon

    # ------------------------------------------------------------------ building
    def _make_levels(self) -> list[Any]:
        from generator.art.registry import make_module

        owner = type(self).__name__
        rhos = _check_rhos(self.rho_values, owner)
        if self.mode not in MODES:
            raise ParamError(
                f"The 'mode' parameter of {owner} must be one of {MODES}. Got {self.mode!r} instead."
            )
        return [make_module(self.module, {**(self.params or {}), "rho": r}) for r in rhos]

    def _epsilon(self) -> float:
        e = self.epsilon
        if isinstance(e, bool) or not isinstance(e, (int, float, np.floating)) or not 0 <= e < 1:
            raise ParamError(
                f"The 'epsilon' parameter of {type(self).__name__} must be a float in [0, 1). Got {e!r} instead."
            )
        return float(e)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {
            "module": self.module,
            "rho_values": self.rho_values,
            "mode": self.mode,
            "params": self.params,
            "epsilon": self.epsilon,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(module={self.module!r}, rho_values={list(self.rho_values)!r}, mode={self.mode!r})"

    # ------------------------------------------------------------------ data
    def prepare_data(self, X: Any) -> np.ndarray:
        """Prepare once with level 0's module; every level shares the same preparation."""
        return self._preparer().prepare_data(X)

    def prepare_rows(self, X: Any, rows: np.ndarray | None = None) -> np.ndarray:
        """`prepare_data(X)[rows]` as the array `fit` takes: for this package's modules
        in their working dtype, made in one pass where the module allows."""
        prep = self._preparer()
        if isinstance(prep, BlockART):
            return prep.prepare_rows(X, rows)
        Xp = np.asarray(prep.prepare_data(X))
        return Xp if rows is None else Xp[rows]

    def _preparer(self) -> Any:
        """Level 0's module, kept for preparing data (FuzzyART keeps its bounds there)."""
        if not hasattr(self, "_prep"):
            self._prep = self._make_levels()[0]
        return self._prep

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any = None) -> Hierarchy:
        self.levels_ = self._make_levels()
        self._fit_levels(X, first=True)
        return self

    def partial_fit(self, X: Any, y: Any = None) -> Hierarchy:
        first = not hasattr(self, "levels_")
        if first:
            self.levels_ = self._make_levels()
        self._fit_levels(X, first=first)
        return self

    def _fit_levels(self, X: Any, first: bool) -> None:
        checked = isinstance(self.levels_[0], BlockART)
        if checked:  # the levels share a module and dtype: one check and cast for all
            X = self.levels_[0].validate_data(X)
        parents = None
        for k, level in enumerate(self.levels_):
            if first:
                level._start(X, checked=checked)
            if k == 0:
                level._fit_sequence(X)
            else:
                level._fit_sequence(
                    X,
                    parents,
                    mode=K.MODE_SMART if self.mode == "smart" else K.MODE_PLAIN,
                    epsilon=self._epsilon(),
                    nested=self.mode == "nested",
                )
            parents = level.labels_[-len(X) :] if len(X) else level.labels_[:0]

    # ------------------------------------------------------------------ saved state
    def state_config(self) -> np.ndarray:
        """The parameters part of a saved state (a 0-d string array of JSON)."""
        if not isinstance(self.module, str):
            raise ParamError(
                f"Only a hierarchy of a registry module (a name such as 'cosine') can be saved; "
                f"got module={self.module!r}."
            )
        config = {
            "module": self.module,
            "rho_values": [float(r) for r in self.rho_values],
            "mode": self.mode,
            "params": self.params or {},
            "epsilon": self.epsilon,
        }
        return np.array(json.dumps(config, sort_keys=True))

    def get_state(self) -> dict[str, np.ndarray]:
        """Every level's categories and counters (and the data preparation's bounds) as
        named arrays, e.g. for `np.savez`; `Hierarchy.from_state` continues from them."""
        state = {"config": self.state_config()}
        for k, level in enumerate(self._fitted()):
            for name, arr in level.get_state().items():
                state[f"level{k}.{name}"] = arr
        prep = getattr(self, "_prep", None)
        if getattr(prep, "d_min_", None) is not None:
            state["prep.d_min"], state["prep.d_max"] = prep.d_min_, prep.d_max_
        return state

    @staticmethod
    def from_state(state: Mapping[str, np.ndarray]) -> Hierarchy:
        """A fitted hierarchy rebuilt from `get_state`'s arrays: `partial_fit` on it gives
        what `partial_fit` on the saved one would have given."""
        config = json.loads(str(state["config"][()]))
        h = Hierarchy(
            config["module"],
            config["rho_values"],
            mode=config["mode"],
            params=config["params"],
            epsilon=config["epsilon"],
        )
        h.levels_ = h._make_levels()
        for k, level in enumerate(h.levels_):
            prefix = f"level{k}."
            level.set_state({n[len(prefix) :]: a for n, a in state.items() if n.startswith(prefix)})
        if "prep.d_min" in state:
            h._prep = h._make_levels()[0]
            h._prep.set_data_bounds(state["prep.d_min"], state["prep.d_max"])
        return h

    # ------------------------------------------------------------------ results
    def _fitted(self) -> list[Any]:
        if not hasattr(self, "levels_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call fit or partial_fit first."
            )
        return self.levels_

    @property
    def n_levels(self) -> int:
        return len(self._fitted())

    @property
    def labels_(self) -> np.ndarray:
        """Level-0 (coarsest) labels, as artlib's SMART reports them."""
        return self._fitted()[0].labels_

    @property
    def labels_deep_(self) -> np.ndarray:
        """(n_samples, n_levels) labels, coarse to fine (artlib's layout)."""
        return np.stack([lv.labels_ for lv in self._fitted()], axis=1)

    @property
    def match_deep_(self) -> np.ndarray:
        return np.stack([lv.match_ for lv in self._fitted()], axis=1)

    @property
    def margin_deep_(self) -> np.ndarray:
        return np.stack([lv.margin_ for lv in self._fitted()], axis=1)

    @property
    def created_deep_(self) -> np.ndarray:
        """(n_samples, n_levels): True where the sample founded its category."""
        return np.stack([lv.diagnostics_.created for lv in self._fitted()], axis=1)

    @property
    def n_clusters_(self) -> list[int]:
        return [lv.n_clusters for lv in self._fitted()]

    def parents_(self, level: int) -> np.ndarray:
        """Parent (level-1 category) of every category of `level` (≥ 1)."""
        if level < 1:
            raise ValueError("level 0 categories have no parent")
        return self._fitted()[level].category_parent_
