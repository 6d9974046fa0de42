"""`evolution` sections of the config: each snapshot through the lens, selection and
evolution stages (and decoder matching between neighbours), then the evolution's
artifacts. Called by the pipeline after the sweep, whose best ART run sets the method."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from generator.artifacts import (
    Agreement,
    EvolutionArtifacts,
    EvolutionMeta,
    SnapshotCounts,
    SnapshotInfo,
)
from generator.cache import Cache, Entry, text_hash
from generator.config import Config, EvolutionConfig
from generator.errors import ConfigError
from generator.evolution import Matching, Step
from generator.sources.lens import LensHandle
from generator.stages import evolution, lens, matching, pca, selection
from generator.sweep import RunSpec

Timed = Callable[[str, Entry], Entry]


def chosen_run(ev: EvolutionConfig, specs: dict[str, RunSpec], best_art: str | None) -> RunSpec:
    """The run whose method the evolution follows: the named one, else the best ART run."""
    run_id = ev.run or best_art
    if run_id not in specs or specs[run_id].method != "art":
        arts = [r for r, s in specs.items() if s.method == "art"]
        raise ConfigError(
            f"evolution {ev.name!r}: run {run_id!r} is not an ART run of this sweep; only ART "
            f"continues with partial_fit. ART runs: {', '.join(arts) or 'none'}."
        )
    return specs[run_id]


def follow(
    cache: Cache,
    cfg: Config,
    ev: EvolutionConfig,
    spec: RunSpec,
    handle: LensHandle,
    device: str,
    timed: Timed,
) -> EvolutionArtifacts:
    """Every snapshot of one evolution, in order, through the cache."""
    from generator.pipeline import load_decoder

    lc, sc = cfg.lens, cfg.selection
    snaps: list[dict[str, Any]] = []
    for snap in ev.snapshots:
        dec = load_decoder(cfg, snap.sae)
        W, w_key = dec.W_dec, dec.content_hash
        lens_in = lens.LensIn(
            W, w_key, dec.identity.label, handle, lc.layernorm, lc.top_k, lc.chunk_rows, device
        )
        lens_e = timed("lens", cache.run(lens, lens_in, label=snap.label))
        sel_in = selection.SelectionIn(lens_e.value, lens_e.key, sc.junk, sc.max_features, cfg.seed)
        sel_e = timed("selection", cache.run(selection, sel_in, label=snap.label))
        selected = sel_e.value.selected
        rows = selection.SelectedRows(np.ascontiguousarray(W[selected]), w_key, sel_e.key)
        snaps.append({"dec": dec, "W": W, "lens": lens_e, "sel": sel_e, "rows": rows})
    project, x_tag = _projection(cache, cfg, spec, snaps[0]["rows"], timed)
    steps: list[Entry[Step]] = []
    for i, s in enumerate(snaps):
        prev = steps[-1] if steps else None
        inp = evolution.EvolutionIn(
            spec.params, spec.seed, i, None if prev is None else prev.value,
            None if prev is None else prev.key, project(s["rows"].W),
            text_hash(x_tag, s["sel"].key), s["rows"].W, s["W"].mean(axis=0, dtype=np.float64),
            handle, s["lens"].key, lc.layernorm, cfg.interpret.top_k, device,
        )  # fmt: skip
        steps.append(timed("evolution", cache.run(evolution, inp, label=f"{ev.name} {i}")))
    matches = [
        timed(
            "matching",
            cache.run(
                matching,
                matching.MatchingIn(a["rows"].W, a["sel"].key, b["rows"].W, b["sel"].key),
            ),
        ).value
        for a, b in zip(snaps, snaps[1:])
    ]
    return assemble(ev, spec, snaps, [e.value for e in steps], matches)


def _projection(cache: Cache, cfg: Config, spec: RunSpec, first: Any, timed: Timed):
    """Rows as the run clusters them: raw, or projected on the first snapshot's PCA."""
    if spec.pca_dims is None:
        return (lambda W: np.asarray(W, np.float32)), "raw"
    fit = timed("pca", cache.run(pca, pca.PcaIn(first, cfg.seed))).value
    return (lambda W: fit.project(W, spec.pca_dims)), f"pca{spec.pca_dims}|{first.selection_key}"


def assemble(
    ev: EvolutionConfig,
    spec: RunSpec,
    snaps: list[dict[str, Any]],
    steps: list[Step],
    matches: list[Matching],
) -> EvolutionArtifacts:
    """The evolution's three artifacts from its steps and matchings."""
    L = steps[-1].labels.shape[1]
    n_final = steps[-1].n_after
    features = []
    for i, (s, step) in enumerate(zip(snaps, steps)):
        f = {"snapshot": np.full(len(step.labels), i, np.int64), "feature": s["sel"].value.selected}
        for k in range(L):
            f[f"level_{k}"] = step.labels[:, k]
            f[f"resonated_{k}"] = step.resonated[:, k]
        m = matches[i - 1] if i else None
        prev_ids = snaps[i - 1]["sel"].value.selected if i else None
        f["match"] = np.full(len(step.labels), -1, np.int64) if m is None else prev_ids[m.b_to_a]
        f["match_cos"] = np.full(len(step.labels), np.nan) if m is None else m.b_cos.astype(float)
        f["persists"] = np.zeros(len(step.labels), bool) if m is None else m.persists(ev.match_cos)
        features.append(pd.DataFrame(f))
    tokens = snaps[0]["lens"].value.tokens
    cats = []
    for k in range(L):
        C = int(n_final[k])
        members = np.zeros((len(steps), C), np.int64)
        drifts = np.full((len(steps), C), np.nan)
        for i, step in enumerate(steps):
            members[i, : len(step.members[k])] = step.members[k]
            drifts[i, : len(step.drift[k])] = step.drift[k]
        first = np.array([_first_snapshot(steps, k, c) for c in range(C)])
        seen = members > 0
        last = np.where(seen.any(axis=0), len(steps) - 1 - np.argmax(seen[::-1], axis=0), -1)
        parents = _category_parents(steps[-1].state, k, C)
        ids = np.stack([_pad(step.tokens[k], C) for step in steps], axis=1)  # (C, snapshots, k)
        words = [
            [[tokens[t] for t in row] if row[0] >= 0 else [] for row in per_snapshot]
            for per_snapshot in ids.tolist()
        ]
        cats.append(
            pd.DataFrame(
                {
                    "level": np.full(C, k, np.int64),
                    "category": np.arange(C, dtype=np.int64),
                    "parent": parents,
                    "first": first,
                    "last": last,
                    "members": members.T.tolist(),
                    "drift": drifts.T.tolist(),
                    "tokens": words,
                }
            )
        )
    meta = EvolutionMeta(
        name=ev.name,
        run=spec.run_id,
        params=spec.params,
        level_values=steps[0].level_values,
        n_levels=L,
        snapshots=[
            SnapshotInfo(
                snap.label,
                snap.sae.repo or snap.sae.path or s["dec"].identity.location,
                s["dec"].content_hash,
                int(len(s["W"])),
                int(len(s["sel"].value.selected)),
            )
            for snap, s in zip(ev.snapshots, snaps)
        ],
        counts=[_counts(steps, i) for i in range(len(steps))],
        agreement=[
            _agreement(steps[i - 1], steps[i], matches[i - 1], ev.match_cos)
            for i in range(1, len(steps))
        ],
    )
    return EvolutionArtifacts(meta, pd.concat(features, ignore_index=True), pd.concat(cats))


def _pad(tokens: np.ndarray, C: int) -> np.ndarray:
    out = np.full((C, tokens.shape[1]), -1, np.int64)
    out[: len(tokens)] = tokens
    return out


def _first_snapshot(steps: list[Step], k: int, c: int) -> int:
    return next(i for i, s in enumerate(steps) if c < s.n_after[k])


def _category_parents(state: dict[str, np.ndarray], k: int, C: int) -> np.ndarray:
    return np.asarray(state[f"level{k}.parent"][:C], np.int64)


def _counts(steps: list[Step], i: int) -> list[SnapshotCounts]:
    step = steps[i]
    out = []
    for k in range(step.labels.shape[1]):
        before = int(step.n_before[k])
        members = step.members[k]
        out.append(
            SnapshotCounts(
                features=int(len(step.labels)),
                resonant=int(step.resonated[:, k].sum()),
                new_categories=int(step.n_after[k] - before),
                categories=int(step.n_after[k]),
                dormant=int((members[:before] == 0).sum()) if i else 0,
            )
        )
    return out


def _agreement(prev: Step, cur: Step, m: Matching, min_cos: float) -> Agreement:
    """How ART's "resonant" compares with "this feature persists" by decoder matching."""
    persists = m.persists(min_cos)
    resonant = cur.resonated[:, 0]
    kept = [
        float(np.mean(cur.labels[persists, k] == prev.labels[m.b_to_a[persists], k]))
        if persists.any()
        else None
        for k in range(cur.labels.shape[1])
    ]
    return Agreement(
        persisting=int(persists.sum()),
        resonant=int(resonant.sum()),
        both=int((persists & resonant).sum()),
        agreement=float(np.mean(persists == resonant)),
        family_kept=kept,
    )
