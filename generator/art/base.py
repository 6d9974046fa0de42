"""The estimator base shared by FuzzyART and CosineART: parameters, state, the block driver.

scikit-learn conventions: parameters are stored unchanged by `__init__` and validated
when fitting starts; learned state ends in `_`; `fit` resets and `partial_fit` continues,
both through `_fit_sequence`; `predict` checks the model is fitted and the width matches.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from generator.errors import DataError, check_finite_rows

_DTYPES = {"float32": np.float32, "float64": np.float64}


CHUNK_BYTES = 2**22  # size of the pieces whole-array conversions go through


def row_chunks(n: int, row_bytes: int) -> Iterator[slice]:
    """Slices of ~CHUNK_BYTES over n rows: whole-array work in such pieces needs no
    temporary of the array's size. Each full-size temporary is fresh memory the kernel
    must zero, which two fits side by side (a Dask worker per core) pay in bandwidth."""
    step = max(1, CHUNK_BYTES // max(1, row_bytes))
    for i in range(0, n, step):
        yield slice(i, min(i + step, n))


def working_copy(X: np.ndarray, dtype: Any, rows: np.ndarray | None = None) -> np.ndarray:
    """X (or X[rows]) as a C-contiguous array of `dtype`; X itself when it is one already."""
    if rows is None:
        return np.ascontiguousarray(X, dtype=dtype)
    rows = np.asarray(rows)
    out = np.empty((len(rows), *X.shape[1:]), dtype=dtype)
    for part in row_chunks(len(rows), X[:1].nbytes):
        out[part] = X[rows[part]]
    return out


class ParamError(ValueError):
    """A module parameter outside what the module accepts."""


def check_names(owner: str, known: Iterable[str], given: Iterable[str]) -> None:
    """The one message for parameter names a module (or method) does not have."""
    known = sorted(known)
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ParamError(
            f"Invalid parameter(s) {unknown} for {owner}. Valid parameters are: {known}."
        )


def check_levels(values: Iterable[float], where: str) -> list[float]:
    """The one rule for vigilance-like level settings: at least one, strictly increasing
    (coarse to fine)."""
    values = list(values)
    if not values:
        raise ParamError(f"{where} needs at least one level. Got {values!r} instead.")
    if any(not (b > a) for a, b in zip(values, values[1:])):
        raise ParamError(
            f"{where} must be strictly increasing (coarse to fine levels). Got {values} instead."
        )
    return values


@dataclass(frozen=True)
class Param:
    """One constraint: a real number in an interval, or one of a set of choices."""

    name: str
    kind: str  # "real" | "int" | "choice"
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[Any, ...] = ()
    default: Any = None
    help: str = ""

    def describe(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        lo = "(" if self.low_open else "["
        hi = ")" if self.high_open else "]"
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        word = "an int" if self.kind == "int" else "a float"
        return f"{word} in {lo}{low}, {high}{hi}"

    def check(self, owner: str, value: Any) -> Any:
        bad = ParamError(
            f"The {self.name!r} parameter of {owner} must be {self.describe()}. Got {value!r} instead."
        )
        if self.kind == "choice":
            if self.name == "dtype" and not isinstance(value, str):
                try:  # np.float64, np.dtype("float32"), "f8": numpy's own spellings
                    value = np.dtype(value).name
                except TypeError:
                    raise bad from None
            if value not in self.choices:
                raise bad
            return value
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise bad
        if self.kind == "int" and not isinstance(value, numbers.Integral):
            raise bad
        v = float(value)
        if not np.isfinite(v):
            raise bad
        if self.low is not None and (v < self.low or (self.low_open and v == self.low)):
            raise bad
        if self.high is not None and (v > self.high or (self.high_open and v == self.high)):
            raise bad
        return int(value) if self.kind == "int" else v


MATCH_TRACKING = ("MT+", "MT-", "MT0", "MT1", "MT~")
_ARTLIB_COMMON = ("match_reset_func", "match_tracking", "epsilon")
FIT_KEYWORDS = ("max_iter", *_ARTLIB_COMMON, "verbose", "leave_progress_bar")
PARTIAL_FIT_KEYWORDS = _ARTLIB_COMMON


def check_fit_options(owner: str, max_iter: Any, match_tracking: Any, epsilon: Any) -> bool:
    """artlib's fitting keywords, checked before any work (artlib itself runs zero epochs
    for max_iter=0 and finds a bad match_tracking only at the first reset). Returns whether
    the vigilance test is strict (match > ρ), which is how MT0 and MT~ act without a reset
    hook."""
    if match_tracking not in MATCH_TRACKING:
        raise ValueError(
            f"{owner}: match_tracking must be one of {', '.join(MATCH_TRACKING)}; "
            f"got {match_tracking!r}."
        )
    if (
        isinstance(epsilon, bool)
        or not isinstance(epsilon, numbers.Real)
        or not np.isfinite(epsilon)
    ):
        raise ValueError(f"{owner}: epsilon must be a finite number; got {epsilon!r}.")
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValueError(f"{owner}: max_iter must be an integer ≥ 1; got {max_iter!r}.")
    return match_tracking in ("MT0", "MT~")


COMMON_PARAMS: tuple[Param, ...] = (
    Param(
        "dtype",
        "choice",
        choices=("float32", "float64"),
        default="float32",
        help="float64 reproduces artlib bit for bit; float32 is ~30x faster",
    ),
    Param(
        "device",
        "choice",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="where block scores are computed; commits always run on the CPU",
    ),
    Param(
        "block_size",
        "int",
        low=1,
        high=4096,
        default=64,
        help="samples scored together; labels do not depend on it",
    ),
)


@dataclass
class Diagnostics:
    """Per-sample facts of one fit, in presentation order."""

    match: np.ndarray = field(default_factory=lambda: np.zeros(0))
    margin: np.ndarray = field(default_factory=lambda: np.zeros(0))
    created: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


class BlockART:
    """Common machinery of the compiled ART modules (use FuzzyART or CosineART)."""

    PARAMS: ClassVar[tuple[Param, ...]] = ()
    BLOCK_SIZE: ClassVar[int] = 64  # default block_size: the fastest measured for the module
    DTYPE: ClassVar[str] = "float32"  # default dtype (FuzzyART, artlib's drop-in: float64)
    OWNER: ClassVar[str] = ""  # the module's name in messages (default: the class name)

    @property
    def _owner(self) -> str:
        return self.OWNER or type(self).__name__

    # ---------------------------------------------------------------- parameters
    @classmethod
    def param_specs(cls) -> tuple[Param, ...]:
        own = {"block_size": cls.BLOCK_SIZE, "dtype": cls.DTYPE}
        common = tuple(
            replace(p, default=own[p.name]) if p.name in own else p for p in COMMON_PARAMS
        )
        return cls.PARAMS + common

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {p.name: getattr(self, p.name) for p in self.param_specs()}

    def set_params(self, **params: Any) -> BlockART:
        check_names(self._owner, (p.name for p in self.param_specs()), params)
        for k, v in params.items():
            setattr(self, k, v)
        return self

    @property
    def params(self) -> dict[str, Any]:
        """artlib-style parameter dict."""
        return {p.name: getattr(self, p.name) for p in self.PARAMS}

    def _validated(self) -> dict[str, Any]:
        owner = self._owner
        return {p.name: p.check(owner, getattr(self, p.name)) for p in self.param_specs()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # ---------------------------------------------------------------- state
    @property
    def n_clusters(self) -> int:
        return self.state_.n_cat if hasattr(self, "state_") else 0

    @property
    def weights_(self) -> np.ndarray:
        """Category weights, one row per category."""
        self._check_fitted()
        return self.state_.W[: self.state_.n_cat]

    @property
    def W(self) -> list[np.ndarray]:
        """artlib-style list of category weights (float64 copies); [] before fitting."""
        if not hasattr(self, "state_"):
            return []
        return [w.astype(np.float64) for w in self.weights_]

    @property
    def weight_sample_counter_(self) -> list[int]:
        """Samples each category has learnt from (artlib's); [] before fitting."""
        if not hasattr(self, "state_"):
            return []
        return self.state_.counts[: self.state_.n_cat].tolist()

    @property
    def sample_counter_(self) -> int:
        """Samples presented by `fit` and `partial_fit`, each of `max_iter`'s epochs
        counted; like artlib's, it keeps counting across calls to `fit`."""
        return getattr(self, "_samples_presented", 0)

    def check_dimensions(self, X: Any) -> None:
        """artlib's: the first data fix the width (`dim_`); later data must match it."""
        width = np.shape(X)[1]
        if not hasattr(self, "dim_"):
            self.dim_ = int(width)
        elif width != self.dim_:
            raise DataError(
                f"{self._owner}: data has {width} prepared features but the model has {self.dim_}."
            )

    @property
    def category_parent_(self) -> np.ndarray:
        """Parent label each category was created under (-1 when fitted without parents)."""
        self._check_fitted()
        return self.state_.parent[: self.state_.n_cat]

    def _check_fitted(self) -> None:
        if not hasattr(self, "state_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(
                f"This {self._owner} instance is not fitted yet; call fit or partial_fit first."
            )

    def _reset(self, dim: int, p: dict[str, Any]) -> None:
        from generator.art.engine import State

        self.dim_ = dim
        self.state_ = State(dim, _DTYPES[p["dtype"]])
        self.labels_ = np.zeros(0, dtype=np.int64)
        self.diagnostics_ = Diagnostics()
        self.is_fitted_ = True

    # ---------------------------------------------------------------- saved state
    STATE_KEYS: ClassVar[tuple[str, ...]] = (
        "W",
        "wnorm",
        "parent",
        "counts",
        "labels",
        "match",
        "margin",
        "created",
    )

    def get_state(self) -> dict[str, np.ndarray]:
        """Everything learned (categories, their counters, and the per-sample history) as
        arrays, so that `set_state` on a fresh module continues exactly where this one is."""
        self._check_fitted()
        s, d, n = self.state_, self.diagnostics_, self.state_.n_cat
        return {
            "W": s.W[:n].copy(),
            "wnorm": s.wnorm[:n].copy(),
            "parent": s.parent[:n].copy(),
            "counts": s.counts[:n].copy(),
            "labels": self.labels_.copy(),
            "match": d.match.copy(),
            "margin": d.margin.copy(),
            "created": d.created.copy(),
        }

    def set_state(self, state: dict[str, np.ndarray]) -> BlockART:
        """Restore what `get_state` saved (into a module with the same parameters)."""
        missing = [k for k in self.STATE_KEYS if k not in state]
        if missing:
            raise ParamError(f"{self._owner}.set_state: the state lacks {missing}.")
        p = self._validated()
        W = np.asarray(state["W"])
        if W.dtype != _DTYPES[p["dtype"]]:
            raise ParamError(
                f"{self._owner}.set_state: the state holds {W.dtype} weights but this "
                f"module has dtype={p['dtype']!r}; restore it with the dtype it was fitted with."
            )
        self._reset(W.shape[1], p)
        s, n = self.state_, len(W)
        s.grow(n + 1)
        s.n_cat = n
        s.W[:n], s.wnorm[:n] = W, state["wnorm"]
        s.parent[:n], s.counts[:n] = state["parent"], state["counts"]
        self.labels_ = np.asarray(state["labels"], dtype=np.int64)
        self.diagnostics_ = Diagnostics(
            np.asarray(state["match"]),
            np.asarray(state["margin"]),
            np.asarray(state["created"], dtype=bool),
        )
        return self

    def load_categories(self, dim: int, W: Any, counts: Any = None, parent: Any = None) -> BlockART:
        """Start from given categories and no sample history: how artlib's drop-ins hand
        their `W` list (and a SMART level's parent map) to the kernels for one call."""
        from generator.art import _kernels as K

        p = self._validated()
        self._reset(dim, p)
        s, n = self.state_, len(W)
        s.grow(n + 1)
        s.n_cat = n
        if n:
            s.W[:n] = np.asarray(W, dtype=s.dtype).reshape(n, dim)
            s.wnorm[:n] = K.row_l1_norms(s.W[:n]) if self._norm_kind() else 1.0
        s.counts[:n] = 0 if counts is None else counts
        s.parent[:n] = -1 if parent is None else parent
        return self

    def _norm_kind(self) -> bool:
        """Whether the kernels keep |w|₁ per category (FuzzyART) rather than 1 (unit rows)."""
        return False

    # ---------------------------------------------------------------- data
    def validate_data(self, X: Any) -> np.ndarray:
        """Check prepared data and return it as a contiguous array of the working dtype."""
        from generator.art._kernels import row_stats

        name = self._owner
        X = np.asarray(X)
        if X.ndim != 2:
            raise DataError(f"{name} expects a 2-D array (samples, features); got shape {X.shape}.")
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise DataError(f"{name} got an empty array of shape {X.shape}.")
        if not np.issubdtype(X.dtype, np.number):
            raise DataError(f"{name} expects numbers; got dtype {X.dtype}.")
        if hasattr(self, "dim_") and X.shape[1] != self.dim_:
            raise DataError(
                f"{name} was fitted on {self.dim_} prepared features but got {X.shape[1]}; "
                "prepare new data with the same model's prepare_data."
            )
        Xw = np.ascontiguousarray(X, dtype=_DTYPES[self._validated()["dtype"]])
        finite, lo, hi, total, sumsq = row_stats(Xw)
        check_finite_rows(finite, name)
        self._check_rows(Xw, lo, hi, total, sumsq)
        return Xw

    def prepare_rows(self, X: Any, rows: np.ndarray | None = None) -> np.ndarray:
        """`prepare_data(X)[rows]` in the working dtype, C-contiguous: the array a fit
        takes (and checks) without a copy, in presentation order `rows`. A module whose
        preparation goes row by row makes it without the intermediate copy."""
        return working_copy(self.prepare_data(X), _DTYPES[self._validated()["dtype"]], rows)

    def _check_rows(
        self, X: np.ndarray, lo: np.ndarray, hi: np.ndarray, total: np.ndarray, sumsq: np.ndarray
    ) -> None:
        """Module-specific checks on per-row statistics."""

    # ---------------------------------------------------------------- fitting
    def fit(self, X: Any, y: Any = None, **artlib_kwargs: Any) -> BlockART:
        """Cluster prepared samples in order, from scratch. artlib's keywords: `max_iter`
        epochs over X (the weights carry over; labels are the last epoch's, as artlib's),
        `match_tracking` (MT0 and MT~ make the vigilance test strict, as in artlib),
        `epsilon`, `verbose`, `leave_progress_bar`; `match_reset_func` is refused."""
        max_iter, strict = self._artlib_options(artlib_kwargs, "fit", FIT_KEYWORDS)
        X = self._start(X)
        for _ in range(max_iter):
            self._fit_sequence(X, strict=strict)
        if max_iter > 1:  # artlib keeps one label per sample: the last epoch's
            n, d = len(X), self.diagnostics_
            self.labels_ = self.labels_[-n:]
            self.diagnostics_ = Diagnostics(d.match[-n:], d.margin[-n:], d.created[-n:])
        return self

    def _artlib_options(
        self, kw: dict[str, Any], method: str, accepted: tuple[str, ...]
    ) -> tuple[int, bool]:
        """artlib's fitting keywords, honoured or refused, never ignored: (epochs, strict
        vigilance test). Without a `match_reset_func` artlib's match tracking acts only
        through the comparison operator, so `epsilon` changes nothing there either."""
        name = f"{self._owner}.{method}"
        unknown = sorted(set(kw) - set(accepted))
        if unknown:
            raise TypeError(
                f"{name}() got unexpected keyword argument(s) {', '.join(unknown)}; "
                f"accepted: {', '.join(accepted)}."
            )
        if kw.get("match_reset_func") is not None:
            raise NotImplementedError(
                f"{name}: match_reset_func (a per-sample reset hook) is not run by the block "
                "kernels; generator.art.FuzzyART (artlib's class, the kernels inside) runs "
                "artlib's per-sample loop when given one."
            )
        max_iter = kw.get("max_iter", 1)
        strict = check_fit_options(
            name, max_iter, kw.get("match_tracking", "MT+"), kw.get("epsilon", 0.0)
        )
        return int(max_iter), strict

    def _start(self, X: Any, checked: bool = False) -> np.ndarray:
        """Validate parameters and data, and reset to no categories. `checked`: X is
        already what `validate_data` returns for this module (a hierarchy checks once
        for all its levels)."""
        p = self._validated()
        X = X if checked else self.validate_data(X)
        self._reset(X.shape[1], p)
        return X

    def partial_fit(self, X: Any, y: Any = None, **artlib_kwargs: Any) -> BlockART:
        """Continue learning from the current state (the first call starts from scratch).
        artlib's keywords as in `fit`, without `max_iter` (artlib's has none)."""
        _, strict = self._artlib_options(artlib_kwargs, "partial_fit", PARTIAL_FIT_KEYWORDS)
        if not hasattr(self, "state_"):
            X = self._start(X)
        else:
            self._validated()
            X = self.validate_data(X)
        return self._fit_sequence(X, strict=strict)

    def fit_predict(self, X: Any, y: Any = None, **kw: Any) -> np.ndarray:
        return self.fit(X, y, **kw).labels_

    def _fit_sequence(
        self,
        X: np.ndarray,
        sample_parent: np.ndarray | None = None,
        *,
        mode: int = 0,
        epsilon: float = 0.0,
        nested: bool = False,
        strict: bool = False,
    ) -> BlockART:
        """Present validated rows in order; with parents, under a hierarchy's constraint.
        `strict`: a category resonates only with match > ρ (artlib's MT0 and MT~), which
        is match ≥ the next number above ρ in the working dtype."""
        from generator.art import engine

        p = self._validated()
        Xw = np.ascontiguousarray(X, dtype=_DTYPES[p["dtype"]])
        if sample_parent is None:
            parents = np.full(len(Xw), -1, dtype=np.int64)
        else:
            parents = np.ascontiguousarray(sample_parent, dtype=np.int64)
        rule = self._rule(p, mode=mode, epsilon=epsilon)
        if strict:
            t = _DTYPES[p["dtype"]]
            rule = replace(rule, rho=float(np.nextafter(t(rule.rho), t(np.inf))))
        run = engine.run_nested if nested else engine.run_sequence
        trace = run(self.state_, Xw, parents, rule)
        self._samples_presented = self.sample_counter_ + len(Xw)
        self.labels_ = np.concatenate([self.labels_, trace.labels])
        d = self.diagnostics_
        self.diagnostics_ = Diagnostics(
            np.concatenate([d.match, trace.match]),
            np.concatenate([d.margin, trace.margin]),
            np.concatenate([d.created, trace.created]),
        )
        return self

    def _rule(self, p: dict[str, Any], mode: int = 0, epsilon: float = 0.0):
        """The kernels' view of this module's parameters."""
        raise NotImplementedError

    def predict(self, X: Any) -> np.ndarray:
        """The category of highest choice for each prepared sample (artlib's step_pred)."""
        self._check_fitted()
        p = self._validated()
        X = self.validate_data(X)
        from generator.art import engine

        return engine.predict(self.state_, X, self._rule(p))

    # ---------------------------------------------------------------- diagnostics
    @property
    def match_(self) -> np.ndarray:
        """Match value of each sample with the category it joined (1.0 for founders)."""
        return self.diagnostics_.match

    @property
    def margin_(self) -> np.ndarray:
        """Choice of the winner minus the best other choice (NaN for founders or no rival).
        Negative when a higher-choice category failed vigilance."""
        return self.diagnostics_.margin
