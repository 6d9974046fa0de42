"""Thin adapters that let artlib's elementary ART modules stand in any hierarchy.

They run artlib's own per-sample code (slow but authoritative): `step_fit` with a
match-reset function for SMART, and one artlib module per parent for nested levels.
Parameters that artlib wants as arrays (GaussianART's sigma, BayesianART's covariance)
are given as one number and expanded to the data's width.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from generator.art.base import Diagnostics, Param, ParamError, check_names
from generator.errors import DataError


@dataclass(frozen=True)
class ArtlibSpec:
    """How to build one artlib module from scalar parameters."""

    cls_name: str
    params: tuple[Param, ...]
    note: str
    arrays: tuple[str, ...] = ()  # scalar params expanded to the data width


def _p(
    name: str,
    default: float,
    low: float | None = 0.0,
    high: float | None = None,
    low_open: bool = False,
    help: str = "",
) -> Param:
    return Param(name, "real", low, high, low_open=low_open, default=default, help=help)


ARTLIB_SPECS: dict[str, ArtlibSpec] = {
    "artlib.FuzzyART": ArtlibSpec(
        "FuzzyART",
        (_p("rho", 0.8, 0.0, 1.0), _p("alpha", 1e-3), _p("beta", 1.0, 0.0, 1.0, True)),
        "artlib's reference FuzzyART (Python per sample)",
    ),
    "artlib.ART2A": ArtlibSpec(
        "ART2A",
        (_p("rho", 0.5, 0.0, 1.0), _p("alpha", 0.0), _p("beta", 0.5, 0.0, 1.0, True)),
        "ART 2-A on min-max scaled data",
    ),
    "artlib.HypersphereART": ArtlibSpec(
        "HypersphereART",
        (
            _p("rho", 0.5, 0.0, 1.0),
            _p("alpha", 1e-3),
            _p("beta", 1.0, 0.0, 1.0, True),
            _p("r_hat", 1.0, 0.0, None, True),
        ),
        "hyperspheres of radius at most r_hat",
    ),
    "artlib.EllipsoidART": ArtlibSpec(
        "EllipsoidART",
        (
            _p("rho", 0.5, 0.0, 1.0),
            _p("alpha", 1e-3),
            _p("beta", 1.0, 0.0, 1.0, True),
            _p("mu", 0.8, 0.0, 1.0, True),
            _p("r_hat", 1.0, 0.0, None, True),
        ),
        "hyper-ellipsoids",
    ),
    "artlib.GaussianART": ArtlibSpec(
        "GaussianART",
        (_p("rho", 0.1, 0.0, 1.0), _p("sigma_init", 0.5, 0.0, None, True), _p("alpha", 1e-10)),
        "Gaussian categories; sigma_init is expanded to every column",
        arrays=("sigma_init",),
    ),
    "artlib.QuadraticNeuronART": ArtlibSpec(
        "QuadraticNeuronART",
        (
            _p("rho", 0.5, 0.0, 1.0),
            _p("s_init", 0.5),
            _p("lr_b", 0.1),
            _p("lr_w", 0.1),
            _p("lr_s", 0.1),
        ),
        "quadratic neurons",
    ),
}


def _artlib_class(cls_name: str) -> type:
    import artlib

    return getattr(artlib, cls_name)


class ArtlibModule:
    """An artlib elementary module behind this package's estimator API."""

    def __init__(self, name: str = "artlib.FuzzyART", **params: Any):
        if name not in ARTLIB_SPECS:
            raise ParamError(
                f"Unknown artlib module {name!r}; available: {', '.join(ARTLIB_SPECS)}."
            )
        self.name = name
        self.params = params

    @property
    def spec(self) -> ArtlibSpec:
        return ARTLIB_SPECS[self.name]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"name": self.name, **self.params}

    def _validated(self) -> dict[str, Any]:
        check_names(self.name, (p.name for p in self.spec.params), self.params)
        out = {}
        for p in self.spec.params:
            out[p.name] = p.check(self.name, self.params.get(p.name, p.default))
        return out

    def _build(self, dim: int) -> Any:
        kw = self._validated()
        for a in self.spec.arrays:
            kw[a] = np.full(dim, kw[a])
        mod = _artlib_class(self.spec.cls_name)(**kw)
        mod.check_dimensions(np.zeros((1, dim)))  # artlib sets its width bookkeeping here
        mod.W = []
        mod.is_fitted_ = True
        return mod

    # the estimator surface
    def prepare_data(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if not hasattr(self, "prep_"):
            self.prep_ = self._build(X.shape[1])
        return self.prep_.prepare_data(X)

    def _reset(self, dim: int) -> None:
        self.dim_ = dim
        self.module_ = self._build(dim)
        self.labels_ = np.zeros(0, dtype=np.int64)
        self.diagnostics_ = Diagnostics()
        self._parent_of: dict[int, int] = {}
        self._per_parent: dict[int, tuple[Any, list[int]]] = {}
        self._n_cat = 0

    def _check(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or not np.isfinite(X).all():
            raise DataError(f"{self.name} expects a finite 2-D array of prepared samples.")
        if hasattr(self, "dim_") and X.shape[1] != self.dim_:
            raise DataError(
                f"{self.name} was fitted on {self.dim_} prepared features but got {X.shape[1]}."
            )
        return X

    def _start(self, X: Any, checked: bool = False) -> np.ndarray:
        X = X if checked else self._check(X)
        self._reset(X.shape[1])
        if checked:
            return X
        try:
            self.module_.validate_data(X)  # artlib's own checks (asserts)
        except AssertionError as e:
            raise DataError(f"{self.name}: {e}") from None
        return X

    def fit(self, X: Any, y: Any = None) -> ArtlibModule:
        return self._fit_sequence(self._start(X))

    def partial_fit(self, X: Any, y: Any = None) -> ArtlibModule:
        X = self._check(X) if hasattr(self, "module_") else self._start(X)
        return self._fit_sequence(X)

    @property
    def n_clusters(self) -> int:
        return getattr(self, "_n_cat", 0)

    @property
    def category_parent_(self) -> np.ndarray:
        return np.array([self._parent_of.get(c, -1) for c in range(self._n_cat)], dtype=np.int64)

    @property
    def match_(self) -> np.ndarray:
        return self.diagnostics_.match

    @property
    def margin_(self) -> np.ndarray:
        return self.diagnostics_.margin

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.module_.predict(self._check(X)), dtype=np.int64)

    def _fit_sequence(
        self,
        X: np.ndarray,
        sample_parent: np.ndarray | None = None,
        *,
        mode: int = 0,
        epsilon: float = 0.0,
        nested: bool = False,
    ) -> ArtlibModule:
        X = self._check(X)
        parents = (
            np.full(len(X), -1, np.int64)
            if sample_parent is None
            else np.asarray(sample_parent, np.int64)
        )
        labels = np.empty(len(X), np.int64)
        created = np.zeros(len(X), bool)
        m = self.module_
        for i, (x, pb) in enumerate(zip(X, parents)):
            if nested:
                c, new = self._nested_step(x, int(pb))
            else:
                before = len(m.W)
                if mode == 1:

                    def reset(_i, _w, c, params=None, cache=None, _pb=int(pb)):
                        return self._parent_of.get(c, _pb) == _pb

                    c = m.step_fit(x, match_reset_func=reset, match_tracking="MT+", epsilon=epsilon)
                else:
                    c = m.step_fit(x)
                new = len(m.W) > before
                if new:
                    self._parent_of[c] = int(pb)
                    self._n_cat += 1
            labels[i], created[i] = c, new
        self.labels_ = np.concatenate([self.labels_, labels])
        n = len(X)
        d = self.diagnostics_
        self.diagnostics_ = Diagnostics(
            np.concatenate([d.match, np.full(n, np.nan)]),
            np.concatenate([d.margin, np.full(n, np.nan)]),
            np.concatenate([d.created, created]),
        )
        return self

    def _nested_step(self, x: np.ndarray, pb: int) -> tuple[int, bool]:
        """One artlib module per parent; its local categories get global ids by creation."""
        if pb not in self._per_parent:
            mod = self._build(self.dim_)
            self._per_parent[pb] = (mod, [])
        mod, ids = self._per_parent[pb]
        before = len(mod.W)
        local = mod.step_fit(x)
        if len(mod.W) > before:
            ids.append(self._n_cat)
            self._parent_of[self._n_cat] = pb
            self._n_cat += 1
            return ids[local], True
        return ids[local], False
