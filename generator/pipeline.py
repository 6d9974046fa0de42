"""`saetax analyze`: every stage of the data flow, cached, then the artifacts.

    Source ─► LensTable ─► Selection ─► PCA ─► Run (per spec) ─► Interpretation ─► Artifacts
                                   └──► UMAP, decoder structure

Each stage is keyed by its inputs' hashes and its config section (see cache.py), so a
changed vigilance recomputes one run and its interpretation, nothing else; a killed
analysis resumes from the stages it finished. The lens model is loaded only when a
stage that needs it misses the cache.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from generator import __version__
from generator.artifacts import ArtifactSet, RunArtifacts, write
from generator.cache import Cache
from generator.config import Config, check_against_data
from generator.errors import DataError, SourceError
from generator.lens import decode
from generator.sweep import RunResult, RunSpec, fit_run, grid, make_executor

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------
# shared context


@dataclass
class Context:
    """What every stage may read: config, cache, the decoder, and the lens on demand."""

    cfg: Config
    cache: Cache
    W: np.ndarray
    w_hash: str
    device: str
    seconds: dict[str, float] = field(default_factory=dict)
    _lens: Any = None

    def lens(self):
        if self._lens is None:
            from generator.sources.lens import load_lens

            lc = self.cfg.lens
            self._lens = load_lens(lc.model, lc.kind, lc.revision)
        return self._lens

    def lens_key(self) -> str:
        from generator.sources.lens import lens_fingerprint

        lc = self.cfg.lens
        fp = lens_fingerprint(lc.model, lc.kind, lc.revision)
        if fp is None:  # a hub model not cached yet: loading it caches it
            self.lens()
            fp = lens_fingerprint(lc.model, lc.kind, lc.revision) or f"{lc.model}|{lc.revision}"
        return fp

    def record(self, stage: str, folder: Path) -> None:
        self.seconds[stage] = round(self.seconds.get(stage, 0.0) + Cache.meta(folder)["seconds"], 3)


def resolve_device(name: str) -> str:
    if name == "cpu":
        return "cpu"
    import torch

    if name == "cuda" and not torch.cuda.is_available():
        raise SourceError(
            "device: cuda was asked for but torch sees no CUDA device; use auto or cpu."
        )
    return "cuda" if torch.cuda.is_available() else "cpu"


def _progress(total: int, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="row", leave=False, disable=None)


# ---------------------------------------------------------------------------------------
# stages


def stage_lens(ctx: Context) -> tuple[str, dict[str, np.ndarray]]:
    """Top/bottom tokens of every feature through the lens."""
    lc = ctx.cfg.lens
    params = {"layernorm": lc.layernorm, "top_k": lc.top_k}

    def compute(folder: Path) -> dict[str, Any]:
        from generator.lens import lens_topk
        from generator.sources.lens import check_widths

        lens = ctx.lens()
        check_widths(ctx.W.shape[1], lens, ctx.cfg.sae.repo or str(ctx.cfg.sae.path))
        with _progress(len(ctx.W), "logit lens") as bar:
            t = lens_topk(
                ctx.W,
                lens,
                lc.layernorm,
                lc.top_k,
                chunk_rows=lc.chunk_rows,
                device=ctx.device,
                progress=bar,
            )
        np.savez(
            folder / "table.npz",
            top_ids=t.top_ids,
            top_logits=t.top_logits,
            bottom_ids=t.bottom_ids,
            bottom_logits=t.bottom_logits,
        )
        (folder / "tokens.json").write_text(json.dumps(lens.token_strings))
        _save_token_classes(folder, lens)
        return {"d_model": lens.d_model, "lens": lens.identity.to_dict()}

    key, folder = ctx.cache.get_or_compute(
        "lens", params, {"W_dec": ctx.w_hash, "lens": ctx.lens_key()}, compute
    )
    ctx.record("lens", folder)
    meta = Cache.meta(folder)
    if meta["d_model"] != ctx.W.shape[1]:
        raise SourceError(
            f"SAE has d_in {ctx.W.shape[1]} but lens model {ctx.cfg.lens.model!r} has hidden width "
            f"{meta['d_model']}; pick the lens model the SAE was trained on."
        )
    with np.load(folder / "table.npz") as z:
        table = {k: z[k] for k in z.files}
    return key, table


def _save_token_classes(folder: Path, lens: Any) -> None:
    from generator.lens import token_classes

    np.savez(folder / "classes.npz", **token_classes(lens))


def stage_selection(
    ctx: Context, lens_key: str, table: dict[str, np.ndarray]
) -> tuple[str, dict[str, np.ndarray]]:
    """Junk flags, then the (optionally subsampled) set of features to cluster."""
    sc = ctx.cfg.selection
    params = {
        "junk": sc.junk.model_dump(mode="json"),
        "max_features": sc.max_features,
        "seed": ctx.cfg.seed,
    }

    def compute(folder: Path) -> dict[str, Any]:
        from generator.lens import junk_counts

        with np.load(ctx.cache.path("lens", lens_key) / "classes.npz") as z:
            classes = {k: z[k] for k in z.files}
        counts = junk_counts(table["top_ids"], classes, list(sc.junk.classes), sc.junk.top_n)
        junk = counts >= sc.junk.min_junk
        kept = np.flatnonzero(~junk)
        if sc.max_features is not None and len(kept) > sc.max_features:
            rng = np.random.default_rng(ctx.cfg.seed)
            kept = np.sort(rng.choice(kept, size=sc.max_features, replace=False))
        np.savez(
            folder / "selection.npz", junk_count=counts, junk=junk, selected=kept.astype(np.int64)
        )
        return {
            "n_features": int(len(junk)),
            "n_junk": int(junk.sum()),
            "n_selected": int(len(kept)),
        }

    key, folder = ctx.cache.get_or_compute("selection", params, {"lens": lens_key}, compute)
    ctx.record("selection", folder)
    with np.load(folder / "selection.npz") as z:
        sel = {k: z[k] for k in z.files}
    if len(sel["selected"]) < 2:
        raise DataError(
            f"only {len(sel['selected'])} of {len(sel['junk'])} features remain after the junk filter "
            f"(selection.junk: {sc.junk.min_junk} of top {sc.junk.top_n} in {list(sc.junk.classes)}); "
            "at least 2 are needed. Loosen selection.junk or check the lens model."
        )
    return key, sel


def stage_pca(ctx: Context, sel_key: str, W_sel: np.ndarray):
    from generator.reduce import PcaFit, fit_pca

    def compute(folder: Path) -> dict[str, Any]:
        fit = fit_pca(W_sel, ctx.cfg.seed)
        np.savez(
            folder / "pca.npz",
            mean=fit.mean,
            components=fit.components,
            evr=fit.explained_variance_ratio,
        )
        return {"landscape": fit.landscape()}

    key, folder = ctx.cache.get_or_compute(
        "pca", {"seed": ctx.cfg.seed}, {"W_dec": ctx.w_hash, "selection": sel_key}, compute
    )
    ctx.record("pca", folder)
    with np.load(folder / "pca.npz") as z:
        return key, PcaFit(z["mean"], z["components"], z["evr"])


def stage_umap(ctx: Context, sel_key: str, W_sel: np.ndarray) -> np.ndarray | None:
    uc = ctx.cfg.umap
    if not uc.enabled:
        return None
    params = {"n_neighbors": uc.n_neighbors, "min_dist": uc.min_dist, "seed": ctx.cfg.seed}

    def compute(folder: Path) -> None:
        from generator.embed import umap_2d

        np.save(
            folder / "xy.npy",
            umap_2d(W_sel, n_neighbors=uc.n_neighbors, min_dist=uc.min_dist, seed=ctx.cfg.seed),
        )

    _, folder = ctx.cache.get_or_compute(
        "umap", params, {"W_dec": ctx.w_hash, "selection": sel_key}, compute
    )
    ctx.record("umap", folder)
    return np.load(folder / "xy.npy")


def stage_decoder_stats(ctx: Context) -> dict[str, Any]:
    params = {"sample": ctx.cfg.metrics.nn_sample, "seed": ctx.cfg.seed}

    def compute(folder: Path) -> None:
        from generator.metrics import decoder_structure

        (folder / "stats.json").write_text(
            json.dumps(decoder_structure(ctx.W, ctx.cfg.metrics.nn_sample, ctx.cfg.seed))
        )

    _, folder = ctx.cache.get_or_compute("decoder_stats", params, {"W_dec": ctx.w_hash}, compute)
    ctx.record("decoder_stats", folder)
    return json.loads((folder / "stats.json").read_text())


@dataclass(frozen=True)
class RunTask:
    """A picklable unit of work for an executor: fit one spec into the cache."""

    spec: RunSpec
    X: np.ndarray
    cache_root: Path
    inputs: tuple[tuple[str, str], ...]


def run_task(task: RunTask) -> str:
    """Fit (or find) one run in the cache; returns its key."""
    cache = Cache(task.cache_root)

    def compute(folder: Path) -> dict[str, Any]:
        r = fit_run(task.spec, task.X)
        np.savez(
            folder / "run.npz",
            labels=r.labels,
            match=r.match,
            margin=r.margin,
            created=r.created,
            parents=np.concatenate(r.parents),
            offsets=np.cumsum([0] + [len(p) for p in r.parents]),
            n_clusters=np.array(r.n_clusters),
            stability=np.array(r.stability_ari if r.stability_ari else [], float),
        )
        return {"fit_seconds": round(r.fit_seconds, 3)}

    key, _ = cache.get_or_compute(
        "run", task.spec.to_dict(), dict(task.inputs), compute, label=task.spec.run_id
    )
    return key


def load_run(folder: Path) -> RunResult:
    with np.load(folder / "run.npz") as z:
        off = z["offsets"]
        parents = [z["parents"][off[i] : off[i + 1]] for i in range(len(off) - 1)]
        stab = z["stability"].tolist() or None
        return RunResult(
            z["labels"],
            z["match"],
            z["margin"],
            z["created"],
            parents,
            z["n_clusters"].tolist(),
            Cache.meta(folder)["fit_seconds"],
            stab,
        )


def stage_interpret(
    ctx: Context,
    run_key: str,
    spec: RunSpec,
    result: RunResult,
    W_sel: np.ndarray,
    X: np.ndarray,
    lens_key: str,
) -> tuple[pd.DataFrame, list[dict[str, Any]], np.ndarray]:
    """Differential tokens and metrics of every cluster of one run."""
    ic, mc = ctx.cfg.interpret, ctx.cfg.metrics
    params = {
        "top_k": ic.top_k,
        "layernorm": ctx.cfg.lens.layernorm,
        "silhouette_sample": mc.silhouette_sample,
        "seed": ctx.cfg.seed,
    }

    def compute(folder: Path) -> None:
        from generator.interpret import interpret_run, level_metrics
        from generator.lens import lens_topk

        lens = ctx.lens()
        global_mean = ctx.W.mean(axis=0, dtype=np.float64)
        g = lens_topk(
            global_mean[None].astype(np.float32),
            lens,
            ctx.cfg.lens.layernorm,
            ic.top_k,
            device=ctx.device,
        )
        tables = interpret_run(
            result,
            W_sel,
            global_mean,
            lens,
            ctx.cfg.lens.layernorm,
            ic.top_k,
            set(g.top_ids[0].tolist()),
            device=ctx.device,
        )
        levels = level_metrics(tables, result, X, mc.silhouette_sample, ctx.cfg.seed)
        rows = []
        for t in tables:
            for c in range(len(t.size)):
                rows.append(
                    {
                        "cluster": c,
                        "level": t.level,
                        "parent": int(t.parent[c]),
                        "size": int(t.size[c]),
                        "n_children": int(t.n_children[c]),
                        "token_ids": t.token_ids[c].tolist(),
                        "token_scores": t.token_scores[c].astype(float).tolist(),
                        "cohesion": float(t.cohesion[c]),
                        "distinctiveness": float(t.distinctiveness[c]),
                        "global_overlap": float(t.global_overlap[c]),
                        "mean_match": float(t.mean_match[c]),
                        "mean_margin": float(t.mean_margin[c]),
                    }
                )
        pd.DataFrame(rows).to_parquet(folder / "clusters.parquet", index=False)
        np.save(folder / "member_cos.npy", np.stack([t.member_cos for t in tables], axis=1))
        (folder / "levels.json").write_text(json.dumps(levels))

    _, folder = ctx.cache.get_or_compute(
        "interpret", params, {"run": run_key, "lens": lens_key}, compute, label=spec.run_id
    )
    ctx.record("interpret", folder)
    return (
        pd.read_parquet(folder / "clusters.parquet"),
        json.loads((folder / "levels.json").read_text()),
        np.load(folder / "member_cos.npy"),
    )


# ---------------------------------------------------------------------------------------
# the whole analysis


def load_decoder(cfg: Config):
    from generator.sources.sae import load_sae

    s = cfg.sae
    return load_sae(
        repo=s.repo,
        path=None if s.path is None else cfg.resolve_path(s.path),
        hookpoint=s.hookpoint,
        revision=s.revision,
        tensor=s.tensor,
    )


def analyze(cfg: Config, out_dir: Path) -> Path:
    """Run every stage (cached under OUT/cache) and write OUT/artifacts."""
    out_dir = Path(out_dir)
    dec = load_decoder(cfg)
    ctx = Context(
        cfg, Cache(out_dir / "cache"), dec.W_dec, dec.content_hash, resolve_device(cfg.device)
    )
    lens_key, table = stage_lens(ctx)
    sel_key, sel = stage_selection(ctx, lens_key, table)
    selected = sel["selected"]
    check_against_data(cfg, n_rows=len(selected), d_in=ctx.W.shape[1])
    W_sel = np.ascontiguousarray(ctx.W[selected])
    pca_key, pca = stage_pca(ctx, sel_key, W_sel)
    xy = stage_umap(ctx, sel_key, W_sel)
    structure = stage_decoder_stats(ctx)
    runs = _run_sweep(
        ctx,
        grid(cfg),
        W_sel,
        pca,
        {"W_dec": ctx.w_hash, "selection": sel_key, "pca": pca_key},
        lens_key,
        selected,
    )
    tokens = json.loads((ctx.cache.path("lens", lens_key) / "tokens.json").read_text())
    features = _features_frame(table, sel, xy, tokens)
    for r in runs:
        r.clusters = _with_token_strings(r.clusters, tokens)
    manifest = _manifest(ctx, dec, lens_key, sel_key, pca, structure, runs)
    return write(out_dir, ArtifactSet(manifest, features, runs))


def _run_sweep(
    ctx: Context,
    specs: list[RunSpec],
    W_sel: np.ndarray,
    pca: Any,
    inputs: dict[str, str],
    lens_key: str,
    selected: np.ndarray,
) -> list[RunArtifacts]:
    from tqdm.auto import tqdm

    sc = ctx.cfg.sweep
    tasks = [
        RunTask(s, pca.project(W_sel, s.pca_dims), ctx.cache.root, tuple(sorted(inputs.items())))
        for s in specs
    ]
    keys = list(
        tqdm(
            make_executor(sc.executor, sc.workers).map(run_task, tasks),
            total=len(tasks),
            desc="runs",
            leave=False,
            disable=None,
        )
    )
    out = []
    for task, key in zip(tasks, keys):
        folder = ctx.cache.path("run", key)
        ctx.record("runs", folder)
        result = load_run(folder)
        clusters, levels, member_cos = stage_interpret(
            ctx, key, task.spec, result, W_sel, task.X, lens_key
        )
        out.append(_run_artifacts(task.spec, result, clusters, levels, member_cos, pca, selected))
    return out


def _run_artifacts(
    spec: RunSpec,
    r: RunResult,
    clusters: pd.DataFrame,
    levels: list[dict[str, Any]],
    member_cos: np.ndarray,
    pca: Any,
    selected: np.ndarray,
) -> RunArtifacts:
    L = r.labels.shape[1]
    assign = {"feature": selected.astype(np.int64)}
    for k in range(L):
        assign[f"level_{k}"] = r.labels[:, k]
    for k in range(L):
        assign[f"match_{k}"] = r.match[:, k]
        assign[f"margin_{k}"] = r.margin[:, k]
        assign[f"created_{k}"] = r.created[:, k]
        assign[f"cos_{k}"] = member_cos[:, k]
    meta = {
        **spec.to_dict(),
        "explained_variance": pca.explained(spec.pca_dims),
        "n_levels": L,
        "clusters_per_level": list(r.n_clusters),
        "fit_seconds": r.fit_seconds,
        "stability_ari": r.stability_ari,
        "metrics": levels,
    }
    return RunArtifacts(spec.run_id, meta, pd.DataFrame(assign), clusters)


def _with_token_strings(clusters: pd.DataFrame, tokens: list[str]) -> pd.DataFrame:
    c = clusters.copy()
    c.insert(
        c.columns.get_loc("token_ids"),
        "tokens",
        decode(c["token_ids"], tokens),
    )
    return c


def _features_frame(
    table: dict[str, np.ndarray],
    sel: dict[str, np.ndarray],
    xy: np.ndarray | None,
    tokens: list[str],
) -> pd.DataFrame:
    n = len(sel["junk"])
    kept = np.zeros(n, bool)
    kept[sel["selected"]] = True
    ux = np.full(n, np.nan, np.float32)
    uy = np.full(n, np.nan, np.float32)
    if xy is not None:
        ux[sel["selected"]], uy[sel["selected"]] = xy[:, 0], xy[:, 1]
    return pd.DataFrame(
        {
            "feature": np.arange(n, dtype=np.int64),
            "kept": kept,
            "junk": sel["junk"].astype(bool),
            "junk_count": sel["junk_count"].astype(np.int32),
            "top_tokens": decode(table["top_ids"], tokens),
            "top_logits": [row for row in table["top_logits"].astype(float).tolist()],
            "bottom_tokens": decode(table["bottom_ids"], tokens),
            "bottom_logits": [row for row in table["bottom_logits"].astype(float).tolist()],
            "umap_x": ux,
            "umap_y": uy,
        }
    )


def recommend(runs: list[RunArtifacts]) -> dict[str, Any] | None:
    """The run with the best balance of stability, distinct tokens and no catch-all cluster."""
    best, best_score = None, -np.inf
    for r in runs:
        levels = r.meta["metrics"]
        ari = np.mean(
            [lv["stability_ari"] for lv in levels if lv["stability_ari"] is not None] or [0.0]
        )
        distinct = np.mean(
            [lv["distinctiveness"] for lv in levels if lv["distinctiveness"] is not None] or [0.0]
        )
        share = levels[0]["largest_share"]
        score = float(ari * distinct * (1.0 - share))
        if score > best_score:
            best, best_score = (r, ari, distinct, share), score
    if best is None:
        return None
    r, ari, distinct, share = best
    return {
        "run": r.run_id,
        "score": round(best_score, 4),
        "why": (
            f"highest stability x distinctiveness x (1 - largest level-0 share): mean stability ARI "
            f"{ari:.2f}, mean token distinctiveness {distinct:.2f}, largest level-0 cluster {share:.0%} "
            "of features"
        ),
    }


def _manifest(
    ctx: Context,
    dec: Any,
    lens_key: str,
    sel_key: str,
    pca: Any,
    structure: dict[str, Any],
    runs: list[RunArtifacts],
) -> dict[str, Any]:
    lens_meta = Cache.meta(ctx.cache.path("lens", lens_key))
    sel_meta = Cache.meta(ctx.cache.path("selection", sel_key))
    return {
        "generator": {"name": "art-sae-taxonomy", "version": __version__, "packages": _versions()},
        "config": ctx.cfg.model_dump(mode="json"),
        "sae": dec.identity.to_dict(),
        "lens": lens_meta["lens"],
        "selection": {k: sel_meta[k] for k in ("n_features", "n_junk", "n_selected")},
        "pca": {
            "landscape": pca.landscape(),
            "explained_variance_ratio": pca.explained_variance_ratio[:256].tolist(),
        },
        "decoder_structure": structure,
        "stage_seconds": dict(sorted(ctx.seconds.items())),
        "recommended": recommend(runs),
    }


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in (
        "torch",
        "numpy",
        "numba",
        "scikit-learn",
        "umap-learn",
        "transformers",
        "eai-sparsify",
        "artlib",
        "pandas",
        "pyarrow",
    ):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out
