"""The block driver: feeds blocks of samples to the compiled kernels and keeps the state.

`run_sequence` is ART's sequential definition, executed block by block (see _kernels for
why labels cannot change). `run_nested` is the parent-constrained level of a nested
hierarchy: categories accept samples of one parent only, so each parent's samples form
an independent ART run; runs are executed per parent and their new categories numbered
by creation time, exactly as one sequential pass would number them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from generator.art import _cosine_kernels as CK
from generator.art import _kernels as K


@dataclass
class State:
    """Categories of one ART module: weights, |w|, parent, sample counts."""

    dim: int
    dtype: type
    n_cat: int = 0
    W: np.ndarray = field(init=False)
    wnorm: np.ndarray = field(init=False)
    parent: np.ndarray = field(init=False)
    counts: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.W = np.zeros((16, self.dim), dtype=self.dtype)
        self.wnorm = np.zeros(16)
        self.parent = np.full(16, -1, dtype=np.int64)
        self.counts = np.zeros(16, dtype=np.int64)

    def grow(self, need: int) -> None:
        cap = self.W.shape[0]
        if need <= cap:
            return
        new = max(need, 2 * cap)
        W = np.zeros((new, self.dim), dtype=self.dtype)
        W[:cap] = self.W
        self.W = W
        self.wnorm = np.concatenate([self.wnorm, np.zeros(new - cap)])
        self.parent = np.concatenate([self.parent, np.full(new - cap, -1, dtype=np.int64)])
        self.counts = np.concatenate([self.counts, np.zeros(new - cap, dtype=np.int64)])

    def subset(self, cats: np.ndarray) -> State:
        """A copy holding only categories `cats` (in that order)."""
        sub = State(self.dim, self.dtype)
        sub.grow(len(cats) + 1)
        sub.n_cat = len(cats)
        for mine, theirs in zip(sub.columns(), self.columns()):
            mine[: len(cats)] = theirs[cats]
        return sub

    def columns(self) -> tuple[np.ndarray, ...]:
        """The per-category arrays: weights, |w|, parent, counts."""
        return self.W, self.wnorm, self.parent, self.counts


@dataclass(frozen=True)
class Rule:
    """What the kernels need to know about a module and a level."""

    kind: int  # K.KIND_FUZZY | K.KIND_COSINE
    op: int  # K.MINSUM | K.DOT
    exact: bool
    rho: float
    alpha: float
    beta: float
    d_norm: float
    block_size: int
    mode: int = K.MODE_PLAIN
    epsilon: float = 0.0
    device: str = "cpu"
    prescore: str = "none"  # "auto" | "bf16" | "int16" | "none": rounded block scores (prescore.py)


def gamma(n: int, u: float) -> float:
    """γ_n = n·u / (1 − n·u): the relative error bound of a sum of n products computed in
    any order with unit roundoff u (2⁻²⁴ float32, 2⁻⁵³ float64)."""
    return n * u / (1 - n * u)


class Scorer:
    """Block scores computed off the kernels (e.g. on a GPU) with a bound on their error.

    Subclasses implement `_scores(Xb, W)`; the bound covers both this scorer's rounding
    and the kernels' (each at most n·u·Σ|terms| for n terms, u the unit roundoff).
    """

    def __init__(self, rule: Rule, dim: int, device: str):
        import torch

        self.rule, self.dim, self.device = rule, dim, torch.device(device)
        self.dtype = torch.float64 if rule.exact else torch.float32
        self._W = None
        self._dirty: set[int] = set()
        g = gamma(dim, 2.0**-53 if rule.exact else 2.0**-24)
        # fuzzy: S = (|x| + |w| - L1)/2 from three sums of at most `dim` each; cosine: Σ|x·w| ≤ 1
        terms = 3.0 * dim if rule.kind == K.KIND_FUZZY else 1.001
        self.eps = 2.0 * g * terms + (g * dim if rule.kind == K.KIND_FUZZY else 0.0)

    def worth_it(self, n_rows: int, n_cats: int) -> bool:
        """A device round trip pays off only for large blocks of work."""
        return n_rows * n_cats * self.dim >= 2_000_000

    def changed(self, labels: np.ndarray) -> None:
        self._dirty.update(int(c) for c in np.unique(labels))

    def _sync(self, state: State, k0: int):
        import torch

        if self._W is None or self._W.shape[0] < k0:
            cap = max(k0, 2 * (0 if self._W is None else self._W.shape[0]), 64)
            W = torch.zeros((cap, self.dim), dtype=self.dtype, device=self.device)
            W[:k0] = torch.from_numpy(np.ascontiguousarray(state.W[:k0])).to(
                self.device, self.dtype
            )
            self._W, self._dirty = W, set()
        elif self._dirty:
            idx = np.array(sorted(c for c in self._dirty if c < k0), dtype=np.int64)
            if len(idx):
                rows = torch.from_numpy(np.ascontiguousarray(state.W[idx])).to(
                    self.device, self.dtype
                )
                self._W[torch.from_numpy(idx).to(self.device)] = rows
            self._dirty = {c for c in self._dirty if c >= k0}
        return self._W[:k0]

    def scores(self, Xb: np.ndarray, state: State, S: np.ndarray) -> float:
        """Fill S[:, :k0] with approximate scores; return their error bound."""
        import torch

        k0 = state.n_cat
        W = self._sync(state, k0)
        x = torch.from_numpy(np.ascontiguousarray(Xb)).to(self.device, self.dtype)
        with torch.no_grad():
            if self.rule.op == K.DOT:
                out = x @ W.T
            else:
                out = (x.sum(1, keepdim=True) + W.sum(1)[None, :] - torch.cdist(x, W, p=1)) / 2
        S[:, :k0] = out.cpu().numpy()
        return self.eps


def device_scorer(rule: Rule, dim: int):
    """Where block scores come from when not from the kernel: the GPU when the rule asks
    for CUDA (or auto and one is present), else for cosine ART rounded rows on the CPU
    (`prescore.scorer_for`: bfloat16 or int16). None means the kernel scores every
    block itself."""
    from generator.errors import resolve_device

    if resolve_device(rule.device) == "cuda":
        return Scorer(rule, dim, "cuda")
    if rule.op == K.DOT:
        from generator.art import prescore

        return prescore.scorer_for(dim, rule.exact, rule.prescore)
    return None


class Scratch:
    """One buffer reused for every block's score matrix: a fresh array per block would
    fault in new pages each time (megabytes per block at 65k categories)."""

    def __init__(self) -> None:
        self.buf = np.empty(0, np.float64)

    def take(self, rows: int, cols: int, dtype) -> np.ndarray:
        n = rows * cols * np.dtype(dtype).itemsize
        if self.buf.nbytes < n:
            self.buf = np.empty(max(n, 2 * self.buf.nbytes) // 8 + 1, np.float64)
        return self.buf.view(np.uint8)[:n].view(dtype).reshape(rows, cols)


@dataclass
class Trace:
    """Per-sample results of one pass."""

    labels: np.ndarray
    match: np.ndarray
    margin: np.ndarray
    created: np.ndarray

    @classmethod
    def empty(cls, n: int) -> Trace:
        return cls(np.empty(n, np.int64), np.empty(n), np.empty(n), np.empty(n, bool))

    def rows(self, start: int, stop: int) -> tuple[np.ndarray, ...]:
        """Views of labels, match, margin and created for samples start..stop."""
        return tuple(a[start:stop] for a in (self.labels, self.match, self.margin, self.created))


def run_sequence(
    state: State, X: np.ndarray, parents: np.ndarray, rule: Rule, scorer: Scorer | None = None
) -> Trace:
    """Present X's rows in order to the categories in `state` (updated in place).

    `scorer` computes block scores elsewhere (a GPU); its results are refined by the
    kernels where they could decide, so labels do not depend on it.
    """
    n = len(X)
    out = Trace.empty(n)
    if scorer is None and (state.n_cat or n > _block_rows(rule, 0)):
        # (a sequence that fits in one block starting with no categories never asks one:
        # a nested level's small groups, thousands per fit)
        scorer = device_scorer(rule, X.shape[1])
    cosine = rule.kind == K.KIND_COSINE and rule.mode == K.MODE_PLAIN
    scratch = Scratch()
    start = 0
    while start < n:
        stop = min(start + _block_rows(rule, state.n_cat), n)
        nb_ = stop - start
        state.grow(state.n_cat + nb_)
        Xb = X[start:stop]
        k0 = state.n_cat
        S = scratch.take(nb_, k0 + nb_, X.dtype)
        use = k0 > 0 and scorer is not None and scorer.worth_it(nb_, k0)
        pb = parents[start:stop]
        if cosine:
            state.n_cat = _commit_cosine(
                state, Xb, pb, S, rule, out, start, scorer if use else None
            )
        else:
            eps = scorer.scores(Xb, state, S) if use else _kernel_scores(Xb, state, S, rule)
            state.n_cat = _commit_general(state, Xb, pb, S, eps, rule, out, start)
        if scorer is not None:
            scorer.changed(out.labels[start:stop])
        start = stop
    return out


def _block_rows(rule: Rule, n_cat: int) -> int:
    """Rows in the next block. Each commit re-scores one column for the rest of the block
    (~1.5 B pair scores per sample against ~K for the block itself): blocks stay small
    while categories are few."""
    return min(rule.block_size, max(8, n_cat // 16))


def _kernel_scores(Xb, state, S, rule) -> float:
    """Block-start scores from the kernel itself (error 0 by definition)."""
    if state.n_cat:
        K.score_block(Xb, state.W, len(Xb), state.n_cat, S, rule.op, rule.exact)
    return 0.0


def _commit_general(state, Xb, pb, S, eps, rule, out, start):
    nb_, k0 = len(Xb), state.n_cat
    col_exact = np.zeros(k0 + nb_, np.bool_) if eps > 0 else np.ones(k0 + nb_, np.bool_)
    cand = np.empty(k0 + nb_, np.int64)
    cand_t = np.empty(k0 + nb_)
    return K.commit_block(
        Xb,
        nb_,
        state.W,
        state.wnorm,
        state.n_cat,
        S,
        state.parent,
        pb,
        state.counts,
        rule.mode,
        rule.kind,
        rule.op,
        rule.exact,
        rule.rho,
        rule.alpha,
        rule.beta,
        rule.epsilon,
        rule.d_norm,
        *out.rows(start, start + nb_),
        cand,
        cand_t,
        eps,
        col_exact,
    )


def _commit_cosine(state, Xb, pb, S, rule, out, start, scorer=None):
    """Cosine commit on candidate lists: from the scorer's strip maxima when it offers
    them (int16), else from the block's scores in S (kernel, or bf16 or GPU scores
    within a bound)."""
    nb_, k0 = len(Xb), state.n_cat
    cand = np.empty((nb_, 16 * nb_ + 1024), np.int64)
    n_cand = np.empty(nb_, np.int64)
    if scorer is not None and hasattr(scorer, "strip_maxima"):
        M, width, eps = scorer.strip_maxima(Xb, state)
    elif scorer is not None:
        M, width, eps = S, 1, scorer.scores(Xb, state, S)
    else:
        M, width, eps = S, 1, _kernel_scores(Xb, state, S, rule)
    CK.rank_candidates(M, nb_, -(-k0 // width), eps, cand, n_cand)  # M may be padded wider
    G = np.empty((nb_, nb_), Xb.dtype)  # the block against itself: new categories' scores
    K.score_block(Xb, Xb, nb_, nb_, G, K.DOT, rule.exact)
    return CK.commit_cosine(
        Xb,
        nb_,
        state.W,
        state.wnorm,
        state.n_cat,
        S,
        M,
        width,
        eps,
        cand,
        n_cand,
        state.parent,
        pb,
        state.counts,
        rule.exact,
        rule.rho,
        rule.beta,
        *out.rows(start, start + nb_),
        np.empty(nb_, np.int64),
        np.zeros(k0 + nb_, np.bool_),
        G,
    )


def _group_indices(keys: np.ndarray) -> dict[int, np.ndarray]:
    """Ascending positions of each distinct key (one stable sort, not a scan per key)."""
    order = np.argsort(keys, kind="stable")
    uniq, starts = np.unique(keys[order], return_index=True)
    return {int(k): order[a:b] for k, a, b in zip(uniq, starts, list(starts[1:]) + [len(keys)])}


def run_nested(
    state: State, X: np.ndarray, parents: np.ndarray, rule: Rule, scorer: Scorer | None = None
) -> Trace:
    """A parent-constrained pass: each parent's samples only see that parent's categories.

    Each group runs on a copy of its parent's categories; of that copy only the categories
    the group founded are kept until they get their global ids, never the copy itself (at
    least 16 rows of weights: 4 GB for 65,536 one-feature groups of 1,024 dims)."""
    n = len(X)
    out = Trace.empty(n)
    rows_of = _group_indices(parents)
    cats_of = _group_indices(state.parent[: state.n_cat])
    first = {g: int(r[0]) for g, r in rows_of.items()}
    founders: list[tuple[int, int, int]] = []  # (position, group index, local id)
    # per group: its rows, its parent's categories, and what it founded (weights, |w|,
    # parent, counts: exact-size copies)
    groups: list[tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]] = []
    for gi, g in enumerate(sorted(rows_of, key=first.__getitem__)):
        rows = rows_of[g]
        cats = cats_of.get(g, np.zeros(0, np.int64))
        sub = state.subset(cats)
        tr = run_sequence(sub, np.ascontiguousarray(X[rows]), parents[rows], rule, scorer)
        out.match[rows], out.margin[rows], out.created[rows] = tr.match, tr.margin, tr.created
        # existing categories keep their global ids and take their updated weights
        state.W[cats] = sub.W[: len(cats)]
        state.wnorm[cats] = sub.wnorm[: len(cats)]
        state.counts[cats] = sub.counts[: len(cats)]
        founders.extend(
            (int(pos), gi, int(local))
            for pos, local in zip(rows[tr.created], tr.labels[tr.created])
        )
        founded = slice(len(cats), sub.n_cat)
        groups.append((rows, cats, tuple(a[founded].copy() for a in sub.columns())))
        out.labels[rows] = tr.labels  # local ids for now
    # new categories get global ids in order of their founding sample
    founders.sort()
    global_id: dict[tuple[int, int], int] = {}
    state.grow(state.n_cat + len(founders))
    for _pos, gi, local in founders:
        _, cats, new = groups[gi]
        c, j = state.n_cat, local - len(cats)
        for column, values in zip(state.columns(), new):
            column[c] = values[j]
        global_id[(gi, local)] = c
        state.n_cat += 1
    for gi, (rows, cats, _) in enumerate(groups):
        local = out.labels[rows]
        mapped = np.empty_like(local)
        old = local < len(cats)
        mapped[old] = cats[local[old]]
        mapped[~old] = [global_id[(gi, int(v))] for v in local[~old]]
        out.labels[rows] = mapped
    return out


def predict(state: State, X: np.ndarray, rule: Rule) -> np.ndarray:
    """Highest-choice category per row (no vigilance), in blocks to bound memory."""
    out = np.empty(len(X), np.int64)
    step = 1024
    for start in range(0, len(X), step):
        Xb = X[start : start + step]
        S = np.empty((len(Xb), state.n_cat), dtype=X.dtype)
        K.score_block(Xb, state.W, len(Xb), state.n_cat, S, rule.op, rule.exact)
        K.predict_block(
            S,
            len(Xb),
            state.n_cat,
            state.wnorm,
            rule.kind,
            rule.alpha,
            rule.d_norm,
            out[start : start + len(Xb)],
        )
    return out
