"""Drop-ins for artlib's FuzzyART and SMART: artlib's own classes, with the block kernels
behind the whole-batch calls.

Why subclasses rather than look-alikes: artlib's compound modules (SMART,
DualVigilanceART, SimpleARTMAP, …) accept only `BaseART` instances and drive them through
the per-sample API (`step_fit` with a match-reset hook, `category_choice`, `update`, …).
Deriving from artlib's FuzzyART gives every one of those methods, attributes and checks
exactly as artlib has them. The kernels (`BlockFuzzyART`) take over `fit`, `partial_fit`
and `predict` only when nothing per-sample was asked for: no `match_reset_func`, and no
per-sample method replaced on the class or on the instance (a subclass, a test's
MagicMock). Otherwise artlib's own loop runs, so the answer is artlib's either way.

The categories live where artlib keeps them (`W`, `weight_sample_counter_`), so they may be
edited between calls: each block call loads them into the kernels and writes them back.

float64 is the default: labels and weights are artlib's, bit for bit. `dtype="float32"` is
faster and may differ where a match ties the vigilance to within float32 rounding.

Importing this module imports artlib (about 3 s, matplotlib included), which is why
`generator.art` loads it only when `FuzzyART` or `SMART` is asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from artlib.elementary.FuzzyART import FuzzyART as _ArtlibFuzzyART
from artlib.hierarchical.SMART import SMART as _ArtlibSMART
from tqdm import tqdm

from generator.art import _kernels as K
from generator.art.base import ParamError, check_fit_options
from generator.art.fuzzy import BlockFuzzyART, check_raw_data
from generator.art.hierarchy import _check_rhos
from generator.errors import DataError

# What artlib's fit/partial_fit loop calls per sample, and what predict calls: replacing
# any of them (on the class or the instance) asks for the per-sample path.
FIT_HOOKS = (
    "step_fit",
    "pre_step_fit",
    "post_step_fit",
    "category_choice",
    "match_criterion",
    "match_criterion_bin",
    "update",
    "new_weight",
    "add_weight",
    "set_weight",
    "_post_weight_update",
    "_match_tracking",
    "_match_tracking_operator",
    "_deep_copy_params",
    "_set_params",
)
PREDICT_HOOKS = ("step_pred", "category_choice")


class ArtlibParamError(ParamError, AssertionError):
    """A parameter artlib would refuse: one clear message, and still the AssertionError
    artlib's `validate_params` raises, for code that catches that."""


class ArtlibDataError(DataError, AssertionError):
    """Data artlib would refuse (not prepared, wrong width): one clear message, and still
    the AssertionError artlib's `validate_data` raises."""


class FuzzyART(_ArtlibFuzzyART):
    """artlib's FuzzyART, with the compiled block kernels behind `fit`, `partial_fit` and
    `predict` (see the module docstring for when artlib's own per-sample loop runs).

    `dtype`, `device` and `block_size` choose how the kernels compute; they are not artlib
    parameters, so `get_params()` is artlib's `{rho, alpha, beta}`."""

    def __init__(
        self,
        rho: float = 0.8,
        alpha: float = 1e-3,
        beta: float = 1.0,
        *,
        dtype: Any = "float64",
        device: str = "auto",
        block_size: int = 64,
    ):
        super().__init__(rho, alpha, beta)
        self.dtype = dtype
        self.device = device
        self.block_size = block_size

    # ------------------------------------------------------------------ checks
    @staticmethod
    def validate_params(params: dict) -> None:
        """artlib's rules for rho, alpha and beta, with a message naming the value (any real
        number is taken where artlib insists on a Python float)."""
        missing = [k for k in ("rho", "alpha", "beta") if k not in params]
        if missing:
            raise ArtlibParamError(
                f"FuzzyART needs the parameter(s) {missing}; got {sorted(params)}."
            )
        for spec in BlockFuzzyART.PARAMS:
            try:
                spec.check("FuzzyART", params[spec.name])
            except ParamError as e:
                raise ArtlibParamError(str(e)) from None

    def check_dimensions(self, X: np.ndarray) -> None:
        """The first data fix the width (`dim_`, `dim_original`); later data must match."""
        width = np.shape(X)[1]
        if not hasattr(self, "dim_"):
            self.dim_ = width
            self.dim_original = int(width // 2)
        elif width != self.dim_:
            raise ArtlibDataError(
                f"FuzzyART: data has {width} prepared features but the model has {self.dim_}; "
                "prepare new data with the same model's prepare_data."
            )

    def validate_data(self, X: np.ndarray) -> None:
        """Prepared data only: finite, in [0, 1], complement coded, the model's width."""
        try:
            BlockFuzzyART(dtype="float64").validate_data(X)
        except DataError as e:
            hint = (
                " This is not the first batch: bounds must cover every batch "
                "(set_data_bounds or find_data_bounds before the first fit)."
                if self.is_fitted_ and "[0, 1]" in str(e)
                else ""
            )
            raise ArtlibDataError(str(e) + hint) from None
        self.check_dimensions(X)

    def prepare_data(self, X: np.ndarray) -> np.ndarray:
        """artlib's scaling and complement coding, after naming any NaN or infinite row."""
        return super().prepare_data(check_raw_data(X))

    # ------------------------------------------------------------------ the block path
    def _replaced(self, names: tuple[str, ...]) -> list[str]:
        """Per-sample methods replaced on this instance or by a subclass."""
        return [
            n
            for n in names
            if n in vars(self) or getattr(type(self), n) is not getattr(FuzzyART, n)
        ]

    def _engine(self) -> BlockFuzzyART:
        return BlockFuzzyART(
            self.rho,
            self.alpha,
            self.beta,
            dtype=self.dtype,
            device=self.device,
            block_size=self.block_size,
        )

    def _loaded_engine(self, parent: Any = None) -> BlockFuzzyART:
        """The kernels holding this model's current categories (none before fitting)."""
        W = getattr(self, "W", [])
        return self._engine().load_categories(self.dim_, W, parent=parent)

    def _write_back(self, engine: BlockFuzzyART, n_before: int, reset: bool) -> None:
        """Categories back into artlib's lists. Counters follow artlib's bookkeeping: an
        update adds one at the category's index, a new category appends a one."""
        n = engine.n_clusters
        W = engine.state_.W[:n]
        self.W = [row.astype(np.float64) for row in W]
        counts = engine.state_.counts[:n]
        old = [] if reset else list(self.weight_sample_counter_)
        created = n - n_before
        new = old + [1] * created
        updates = counts.copy()
        updates[n_before:] -= 1  # the engine counts a founder's own sample
        for c in np.flatnonzero(updates):
            new[c] += int(updates[c])
        self.weight_sample_counter_ = new

    def _counters_line_up(self) -> bool:
        return len(getattr(self, "weight_sample_counter_", [])) >= len(getattr(self, "W", []))

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray | None = None,
        match_reset_func: Callable | None = None,
        max_iter: int = 1,
        match_tracking: str = "MT+",
        epsilon: float = 0.0,
        verbose: bool = False,
        leave_progress_bar: bool = True,
    ) -> FuzzyART:
        """Cluster prepared samples from scratch, `max_iter` epochs (weights carry over,
        labels are the last epoch's), as artlib's `fit`. `fit` also restarts
        `weight_sample_counter_` (artlib 0.1.12 keeps the old list, which then no longer
        lines up with `W`)."""
        strict = check_fit_options("FuzzyART.fit", max_iter, match_tracking, epsilon)
        if match_reset_func is not None or self._replaced(FIT_HOOKS):
            return super().fit(
                X,
                y,
                match_reset_func=match_reset_func,
                max_iter=max_iter,
                match_tracking=match_tracking,
                epsilon=epsilon,
                verbose=verbose,
                leave_progress_bar=leave_progress_bar,
            )
        X = np.asarray(X)
        self.validate_data(X)
        self.is_fitted_ = True
        engine = self._engine()
        Xw = engine._start(X)
        bar = tqdm(total=len(X) * max_iter, leave=leave_progress_bar, disable=not verbose)
        for _ in range(max_iter):
            engine._fit_sequence(Xw, strict=strict)
            bar.update(len(X))
        bar.close()
        self._write_back(engine, 0, reset=True)
        self.labels_ = np.asarray(engine.labels_[-len(X) :], dtype=int)
        self.sample_counter_ += len(X) * max_iter
        self.post_fit(X)
        return self

    def partial_fit(
        self,
        X: np.ndarray,
        match_reset_func: Callable | None = None,
        match_tracking: str = "MT+",
        epsilon: float = 0.0,
    ) -> FuzzyART:
        """Continue from the current categories (the first call starts from none)."""
        strict = check_fit_options("FuzzyART.partial_fit", 1, match_tracking, epsilon)
        if (
            match_reset_func is not None
            or self._replaced(FIT_HOOKS)
            or not self._counters_line_up()
        ):
            return super().partial_fit(
                X, match_reset_func=match_reset_func, match_tracking=match_tracking, epsilon=epsilon
            )
        X = np.asarray(X)
        self.validate_data(X)
        self.is_fitted_ = True
        first = not hasattr(self, "W")
        engine = self._loaded_engine()
        n_before = engine.n_clusters
        engine._fit_sequence(engine.validate_data(X), strict=strict)
        self._write_back(engine, n_before, reset=first)
        new = np.asarray(engine.labels_, dtype=int)
        self.labels_ = new if first else np.concatenate([self.labels_, new])
        self.sample_counter_ += len(X)
        return self

    def predict(self, X: np.ndarray, clip: bool = False) -> np.ndarray:
        """The category of highest choice for each prepared sample (ties: lowest index);
        `clip` first clips prepared values outside the fitted data's range into [0, 1]."""
        if self._replaced(PREDICT_HOOKS):
            return super().predict(X, clip=clip)
        if not getattr(self, "W", None):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(
                "This FuzzyART instance is not fitted yet; call fit or partial_fit first."
            )
        X = np.asarray(X)
        if clip:  # prepared values into [0, 1]: artlib 0.1.12 clips the prepared, doubled
            X = np.clip(X, 0.0, 1.0)  # width with the raw bounds and fails on the shapes
        self.validate_data(X)
        engine = self._loaded_engine()
        return np.asarray(engine.predict(X), dtype=int)


class SMART(_ArtlibSMART):
    """artlib's SMART, fitted by the block kernels when every level is this package's
    FuzzyART with nothing per-sample replaced and the match tracking is MT+ (artlib's
    default); otherwise artlib's own ARTMAP chain runs. Either way the fitted model is
    artlib's: `modules`, `layers` (ARTMAP, SimpleARTMAP) with their maps, `labels_deep_`,
    `predict`, `merge`, `move_prototype`."""

    def __init__(
        self,
        base_ART_class: type,
        rho_values: Any,
        base_params: dict | None = None,
        **kwargs: Any,
    ):
        if getattr(base_ART_class, "__name__", "") != "BayesianART":  # artlib's exception
            try:
                _check_rhos(rho_values, "SMART")
            except ParamError as e:
                raise ArtlibParamError(str(e)) from None
        super().__init__(base_ART_class, rho_values, base_params or {}, **kwargs)

    def _block_ok(self, y: Any, match_tracking: str, epsilon: float) -> bool:
        return (
            y is None
            and match_tracking == "MT+"
            and 0.0 <= float(epsilon) < 1.0
            and all(
                type(m) is FuzzyART and not m._replaced(FIT_HOOKS) and m._counters_line_up()
                for m in self.modules
            )
        )

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray | None = None,
        max_iter: int = 1,
        match_tracking: str = "MT+",
        epsilon: float = 0.0,
    ) -> SMART:
        check_fit_options("SMART.fit", max_iter, match_tracking, epsilon)
        if not self._block_ok(y, match_tracking, epsilon):
            return super().fit(
                X, y, max_iter=max_iter, match_tracking=match_tracking, epsilon=epsilon
            )
        X = np.asarray(X)
        self.validate_data([X] * self.n_modules)
        for m in self.modules:
            m.validate_data(X)
        self._fit_levels(X, max_iter, float(epsilon), fresh=True, partial=False)
        return self

    def partial_fit(
        self,
        X: np.ndarray,
        y: np.ndarray | None = None,
        match_tracking: str = "MT+",
        epsilon: float = 0.0,
    ) -> SMART:
        check_fit_options("SMART.partial_fit", 1, match_tracking, epsilon)
        fresh = len(self.layers) == 0
        if (
            not self._block_ok(y, match_tracking, epsilon)
            or (not fresh and self.is_supervised)
            or (fresh and any(hasattr(m, "W") for m in self.modules))  # artlib continues them
        ):
            return super().partial_fit(X, y, match_tracking=match_tracking, epsilon=epsilon)
        X = np.asarray(X)
        self.validate_data([X] * self.n_modules)
        for m in self.modules:
            m.validate_data(X)
        self._fit_levels(X, 1, float(epsilon), fresh=fresh, partial=True)
        return self

    def _fit_levels(
        self, X: np.ndarray, epochs: int, epsilon: float, fresh: bool, partial: bool
    ) -> None:
        """Every level over the whole batch, coarse to fine (as artlib's chain does), then
        the result written into artlib's modules and layers."""
        from artlib.supervised.ARTMAP import ARTMAP
        from artlib.supervised.SimpleARTMAP import SimpleARTMAP

        n = len(X)
        parents = None
        engines, before = [], []
        for k, module in enumerate(self.modules):
            if fresh:
                engine = module._engine()
                Xw = engine._start(X)
            else:
                parent = (
                    None if k == 0 else [self.layers[k - 1].map[c] for c in range(len(module.W))]
                )
                engine = module._loaded_engine(parent)
                Xw = engine.validate_data(X)
            before.append(engine.n_clusters)
            for _ in range(epochs):
                if k == 0:
                    engine._fit_sequence(Xw)
                else:
                    engine._fit_sequence(Xw, parents, mode=K.MODE_SMART, epsilon=epsilon)
            parents = engine.labels_[-n:]
            engines.append(engine)

        for module, engine, n_before in zip(self.modules, engines, before):
            module._write_back(engine, n_before, reset=fresh)
            new = np.asarray(engine.labels_[-n:], dtype=int)
            module.labels_ = new if fresh else np.concatenate([module.labels_, new])
            module.sample_counter_ += n * epochs
        self.modules[0].is_fitted_ = True  # fitted by ARTMAP's module_b.fit in artlib

        if fresh:
            self.is_supervised = False
            self.layers = [ARTMAP(self.modules[1], self.modules[0])] + [
                SimpleARTMAP(m) for m in self.modules[2:]
            ]
        for k, layer in enumerate(self.layers):
            child = engines[k + 1]
            layer.map.update(
                {int(c): int(p) for c, p in enumerate(child.category_parent_) if c >= before[k + 1]}
            )
            y = self.modules[k].labels_
            layer.labels_ = y
            layer.classes_ = np.unique(y)
        if partial:  # as artlib's DeepARTMAP.partial_fit ends
            self._refresh_layer_labels()
